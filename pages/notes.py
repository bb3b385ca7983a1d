"""What people write beside the numbers: annotations on every time axis, the decision log.

The store is the one `[notes]` names (metrics.writeback), opened once per browser session; its
connections are given back after each read or write, so nothing is held open between reruns.
Without sign-in the author is the OS user, as the sidebar says. Whatever people wrote is shown
inert: Markdown of escaped text (no HTML runs), and escaped again in a chart's hover.
A refused write shows the store's one line (the field and the reason) and writes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from metrics import session, writeback
from metrics.filters import Filters
from pages import signin
from pages.charts import COLOURS, axis_names
from pages.loaders import TTL_SECONDS, config, reading, warehouse_path

POINT_LABEL = "✎"
FLASH = "notes_flash"
STORE = "notes_store"
COMPANY = "The company"
HOVER_CHARACTERS = 300


def inert(text: str) -> str:
    """Text someone wrote, safe for st.markdown: every HTML character escaped, so Markdown
    still reads (bold, lists, links) and no tag or script runs."""
    return html.escape(text, quote=False)


def actor() -> Any:
    """Who writes: the signed-in person (an admin of the notes when an admin of Tandem), else
    the OS user."""
    scope = signin.current()
    if scope.signed_in:
        return writeback.actor(config(), scope.who, scope.admin)
    return writeback.actor(config())


def sidebar_author() -> None:
    """The sidebar line that says who the notes are written as (signed in: the sign-in's)."""
    if not signin.current().signed_in:
        st.sidebar.caption(f"Notes are written as **{inert(actor().name)}** (no sign-in)")


@contextlib.contextmanager
def store() -> Iterator[Any]:
    """The session's notes store; its connections are closed again when the block ends."""
    opened = st.session_state.get(STORE)
    if opened is None:
        opened = writeback.open_store(config())
        st.session_state[STORE] = opened
    try:
        yield opened
    finally:
        # Back to an empty pool: no connection outlives the rerun (the engine stays usable).
        opened.engine.dispose()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=64)
def _known(path: str, version: tuple | None, figures: tuple[str, ...], scope: Any) -> Any:
    # `version` is in the arguments so that a sync shows up. Read on the run's connection
    # (a connection of its own costs 0.05-0.1 s at the reference scale).
    with reading(Path(path), version, scope) as con:
        return writeback.known_from(con, figures, scope)


def known(figures: Sequence[str] = ()) -> Any:
    """The teams and models (and the retro's figure keys) a write is checked against and a
    read is limited to: the warehouse's, as the signed-in person's scope shows them, cached
    while the warehouse is unchanged."""
    path = warehouse_path()
    return _known(str(path), session.warehouse_version(path), tuple(figures), signin.current())


def read(what: Callable[[Any], list[Any]]) -> list[Any]:
    """`what(store)`, or nothing before anyone wrote a note (reading would create the file);
    a store that cannot be opened is said on the page, and the page goes on."""
    try:
        if not writeback.has_store(config()):
            return []
        with store() as notes:
            return what(notes)
    except (writeback.NotesError, writeback.ConfigError) as error:
        st.warning(f"The notes cannot be read: {error}")
        return []


def write(what: Callable[[Any], Any], done: str) -> bool:
    """Run one write; on success remember `done` for the next run and rerun (so every chart
    shows it), else show the store's one line. Returns False when refused."""
    try:
        with store() as notes:
            what(notes)
    except (writeback.NotesError, writeback.ConfigError) as error:
        st.error(str(error))
        return False
    st.session_state[FLASH] = done
    st.rerun()
    return True  # not reached: st.rerun stops the script


def flash() -> None:
    """What the last write did, once."""
    done = st.session_state.pop(FLASH, None)
    if done:
        st.success(done)


# --- annotations ------------------------------------------------------------------------------


def annotations(window: Filters) -> list[Any]:
    """The annotations overlapping the window that show in its team's and model's view."""
    return read(
        lambda notes: notes.annotations(
            window.since, window.until, known(), window.team, window.model
        )
    )


def _x(instant: dt.datetime) -> str:
    # A naive UTC time: Plotly.js reads no offset, and every time axis here is UTC.
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def when(note: Any) -> str:
    """An annotation's time in words: "Tue 18 Nov 14:00 UTC", or "… to … UTC"."""
    if note.ends_at is None:
        return f"{note.starts_at:%a %d %b %H:%M} UTC"
    return f"{note.starts_at:%a %d %b %H:%M} to {note.ends_at:%a %d %b %H:%M} UTC"


def scope_name(note: Any) -> str:
    return f"model {note.model}" if note.model else f"team {note.team}" if note.team else "company"


def _hover(note: Any) -> str:
    text = note.text if len(note.text) <= HOVER_CHARACTERS else note.text[:HOVER_CHARACTERS] + "…"
    lines = [inert(line) for line in text.splitlines()]
    head = f"{POINT_LABEL} {when(note)} · {scope_name(note)} · {inert(note.author)}"
    return "<br>".join([head, *lines])


def annotation_marks(fig: go.Figure, notes: Sequence[Any], row: int | None = None) -> go.Figure:
    """Annotations on a figure's time axis: a point as a dashed grey line, a range as a light
    grey band with a dotted edge, each labelled ✎ at the top with its text on hover; over the
    whole figure's height, or over its `row` only (one column, rows sharing the x axis).

    Deployments (solid green or red), incidents (dashed purple) and the retro's week (blue band)
    keep their own marks; every colour here is written out, none comes from Plotly's defaults.
    """
    xref, yref = "x", "paper"
    if row is not None:
        xref, yaxis = axis_names(row)
        yref = f"{yaxis} domain"
    shapes, labels = [], []
    for note in notes:
        if note.ends_at is None:
            shapes.append(
                {
                    "type": "line",
                    "xref": xref,
                    "yref": yref,
                    "x0": _x(note.starts_at),
                    "x1": _x(note.starts_at),
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": COLOURS["annotation"], "width": 1.5, "dash": "dash"},
                }
            )
        else:
            shapes.append(
                {
                    "type": "rect",
                    "xref": xref,
                    "yref": yref,
                    "x0": _x(note.starts_at),
                    "x1": _x(note.ends_at),
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": COLOURS["annotation_range"],
                    "opacity": 0.35,
                    "layer": "below",
                    "line": {"color": COLOURS["annotation"], "width": 1, "dash": "dot"},
                }
            )
        labels.append(
            {
                "x": _x(note.starts_at),
                "xref": xref,
                "y": 1,
                "yref": yref,
                "yanchor": "top",
                "xanchor": "left" if note.ends_at is not None else "center",
                "text": POINT_LABEL,
                "showarrow": False,
                "font": {"color": COLOURS["annotation"], "size": 14},
                "hovertext": _hover(note),
                "hoverlabel": {"bgcolor": "#ffffff", "bordercolor": COLOURS["annotation"]},
            }
        )
    if shapes:
        fig.update_layout(
            shapes=list(fig.layout.shapes) + shapes,
            annotations=list(fig.layout.annotations) + labels,
        )
    return fig


def _scopes(window: Filters) -> list[tuple[str | None, str | None]]:
    """The scopes an annotation may take here: the company, each team, each model; the view's
    own scope first."""
    catalog = known()
    scopes = [(None, None)]
    scopes += [(team, None) for team in sorted(catalog.teams)]
    scopes += [(None, model) for model in sorted(catalog.models)]
    own = (None, window.model) if window.model else (window.team, None)
    if own in scopes:
        scopes.remove(own)
        scopes.insert(0, own)
    return scopes


def _scope_label(scope: tuple[str | None, str | None]) -> str:
    team, model = scope
    return f"Model: {model}" if model else f"Team: {team}" if team else COMPANY


def _instant(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=dt.UTC)


def _annotation_fields(key: str, window: Filters, note: Any | None) -> dict[str, Any]:
    """The fields of the add and edit forms; returns what the store's write takes."""
    default = note.starts_at if note else min(window.until, session.now()) - dt.timedelta(hours=1)
    ends = note.ends_at if note and note.ends_at else default + dt.timedelta(days=1)
    kinds = ["A point in time", "A range"]
    kind = st.radio(
        "Mark",
        kinds,
        index=1 if note and note.ends_at else 0,
        horizontal=True,
        key=f"{key}-kind",
    )
    left, right = st.columns(2)
    start_day = left.date_input("Date (UTC)", default.date(), key=f"{key}-day")
    start_time = right.time_input("Time (UTC)", default.time().replace(second=0), key=f"{key}-time")
    left, right = st.columns(2)
    end_day = left.date_input("Range ends (UTC)", ends.date(), key=f"{key}-end-day")
    end_time = right.time_input(
        "Ends at (UTC)", ends.time().replace(second=0), key=f"{key}-end-time"
    )
    scopes = _scopes(window)
    if note is not None and (note.team, note.model) in scopes:
        scopes.remove((note.team, note.model))
        scopes.insert(0, (note.team, note.model))
    team, model = st.selectbox("For", scopes, format_func=_scope_label, key=f"{key}-scope")
    text = st.text_area(
        f"Text (Markdown, shown as text; up to {writeback.TEXT_LIMIT:,} characters)",
        note.text if note else "",
        key=f"{key}-text",
    )
    starts = _instant(start_day, start_time)
    # Only the point or only the range: an edit keeps what it is not given, and reads a
    # given `at` (None included) as "make it a point".
    if kind == kinds[0]:
        where = {"at": starts}
    else:
        where = {"starts_at": starts, "ends_at": _instant(end_day, end_time)}
    return {"text": text, "team": team, "model": model, **where}


def annotation_form(window: Filters, key: str) -> None:
    """Add an annotation: a point or a range, for the company, a team or a model."""
    with st.form(f"{key}-add"):
        fields = _annotation_fields(f"{key}-add", window, None)
        if st.form_submit_button("Add the annotation"):
            write(
                lambda notes: notes.add_annotation(actor(), known(), **fields),
                "Annotation added.",
            )


def annotation_list(notes: Sequence[Any], window: Filters, key: str) -> None:
    """The annotations shown on the charts above, each in words; their author (or an admin)
    may edit or delete them."""
    me = actor()
    st.markdown(f"**{POINT_LABEL} Annotations on these charts ({len(notes)})**")
    if not notes:
        st.caption("None in this window yet.")
    for note in notes:
        st.markdown(
            f"{POINT_LABEL} **{when(note)}** · {scope_name(note)} · written by {inert(note.author)}"
        )
        st.markdown(inert(note.text))
        if not (me.is_admin or me.name == note.author):
            continue
        with st.popover("Edit or delete"), st.form(f"{key}-edit-{note.annotation_id}"):
            fields = _annotation_fields(f"{key}-edit-{note.annotation_id}", window, note)
            save, delete = st.columns(2)
            if save.form_submit_button("Save"):
                write(
                    lambda s, n=note, f=fields: s.edit_annotation(
                        me, known(), n.annotation_id, **f
                    ),
                    "Annotation changed.",
                )
            if delete.form_submit_button("Delete"):
                write(
                    lambda s, n=note: s.delete_annotation(me, n.annotation_id),
                    "Annotation deleted.",
                )


def annotations_section(notes: Sequence[Any], window: Filters, key: str) -> None:
    """The page's annotations in words (read at the retro without hovering), then the form to
    add one, folded."""
    annotation_list(notes, window, key)
    with st.expander(f"{POINT_LABEL} Add an annotation"):
        annotation_form(window, key)


# --- decisions --------------------------------------------------------------------------------


def decisions_list(decided: Sequence[Any], empty: str) -> None:
    """Decisions in words, newest first: title, what was decided, why, what else was on the
    table, who owns it, its links."""
    if not decided:
        st.caption(empty)
    for d in decided:
        st.markdown(
            f"**{inert(d.title)}** ({d.model}, {d.decided_on:%a %d %b %Y}, owner "
            f"{inert(d.owner)}; logged by {inert(d.author)})"
        )
        st.markdown(inert(d.decision))
        if d.context:
            st.markdown("*Context:* " + inert(d.context))
        if d.options:
            st.markdown("*Options considered:* " + inert(d.options))
        for link in d.links:
            st.markdown(f"- <{inert(link)}>")


def decision_log(model: str | None, key: str = "decisions") -> None:
    """A model's decision log and the form to add to it (Model overview calls this)."""
    st.subheader("Decision log")
    if model is None:
        st.caption("Pick a model in the sidebar to read and write its decision log.")
        return
    decided = read(lambda notes: notes.decisions(known(), model))
    decisions_list(decided, f"No decision logged for {model} yet.")
    with st.expander("Log a decision"), st.form(f"{key}-add"):
        title = st.text_input("Title", key=f"{key}-title")
        decision = st.text_area("Decision", key=f"{key}-decision")
        context = st.text_area("Context", key=f"{key}-context")
        options = st.text_area("Options considered", key=f"{key}-options")
        left, right = st.columns(2)
        owner = left.text_input("Owner (a team, or a person who chose to be named)", key=f"{key}-o")
        decided_on = right.date_input("Decided on", session.now().date(), key=f"{key}-on")
        links = st.text_area(
            "Links, one a line (a Tandem view with its filters, a ticket, a release)",
            key=f"{key}-links",
        )
        if st.form_submit_button("Log the decision"):
            write(
                lambda notes: notes.add_decision(
                    actor(),
                    known(),
                    model=model,
                    title=title,
                    decision=decision,
                    context=context,
                    options=options,
                    owner=owner,
                    decided_on=decided_on,
                    links=[line.strip() for line in links.splitlines() if line.strip()],
                ),
                "Decision logged.",
            )
