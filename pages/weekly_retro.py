"""How did this week go, against last week and the last four weeks?

The team's retro screen: delivery (DORA) and flow figures with their change and level, the
week's deployments, incidents, finished work and waits, highlights in plain words, and the
rows behind every number; the actions earlier retros made, each with its figure then and now,
and the week's annotations and decisions. Downloadable as Markdown and HTML for the retro notes.
"""

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from metrics import actions as retro_actions
from metrics import formats, privacy, session
from metrics import retro as retro_metrics
from metrics.filters import Filters, describe
from metrics.registry import label
from metrics.retro import Retro
from metrics.status import DORA_LEVEL_COLOURS
from pages import charts, loaders, notes, signin
from pages.charts import COLOURS, figure
from pages.filters import current_filters
from pages.loaders import load
from pages.tables import table, withheld

ROLLING = "The last 7 days"


def controls(filters: Filters) -> tuple[Filters, Filters, str]:
    """The week picked (the last 7 days or an ISO week), the 28 days ending with it, its name.

    The retro picks its own week, so it honours the sidebar's team and model, not its window.
    "The last 7 days" are Tandem's: the 7 whole UTC days ending with today, as in `retro`.
    """
    rolling = retro_metrics.rolling_week()
    choice = st.selectbox(
        "Week", [ROLLING, *retro_metrics.recent_weeks(rolling.until)], key="retro_week"
    )
    week = rolling if choice == ROLLING else retro_metrics.iso_week(choice)
    name = retro_metrics.week_label(week)
    week = Filters(week.since, week.until, filters.team, filters.model)
    month = Filters(week.until - dt.timedelta(days=28), week.until, filters.team, filters.model)
    return week, month, name


ARROWS = {"up": "up", "down": "down", "unchanged": "off", None: "off"}
GOOD_WORDS = {
    "higher": "Higher is better.",
    "lower": "Lower is better.",
    None: "Neither way is better by itself.",
}


def figures(retro: Retro, written: dict[str, list]) -> None:
    """The figures with their change against last week and DORA level, the highlights (against
    last week too), the downloads.

    Each card shows what `retro --format json` says: the figure, its change in the figure's
    unit, the verdict from the one table of good directions, and the basis next to it.
    """
    # Three to a row: at 1440 px a card then holds its change and "vs last week" uncut.
    for start in range(0, len(retro.figures), 3):
        for column, shown in zip(st.columns(3), retro.figures[start : start + 3], strict=False):
            change = shown.change
            column.metric(
                shown.label,
                shown.shown("this_week"),
                delta=change.text,
                delta_color=retro_metrics.VERDICT_COLOURS[change.verdict],
                delta_arrow=ARROWS[change.direction],
                delta_description=f"vs {change.basis}" if change.compared else None,
                help=(
                    f"{shown.withheld[0].upper()}{shown.withheld[1:]} ([privacy] min_people)."
                    if shown.withheld
                    else f"This week {shown.shown('this_week')}; {change.basis} "
                    f"{shown.shown('last_week')}; 4 weeks {shown.shown('four_weeks')}. "
                    f"{GOOD_WORDS[shown.good]}"
                ),
            )
            if shown.detail:
                column.caption(shown.detail)
            if shown.level:
                column.badge(
                    f"DORA 2023 bands: {shown.level}", color=DORA_LEVEL_COLOURS[shown.level]
                )
            elif shown.key == "rework_rate":
                column.badge("No DORA band", color="gray")
    st.caption(" ".join(retro.notes))

    st.subheader(label("highlights"))
    st.caption(
        f"The biggest moves against {retro_metrics.BASIS}, as on the cards: "
        f"{retro_metrics.HIGHLIGHT_SHARE:.0%} or more of {retro_metrics.BASIS}'s figure."
    )
    for sentence in retro.highlights:
        st.markdown(f"- {sentence}")
    if not retro.has_history:
        st.info(
            "These tickets have no status history (a Jira CSV export has none): cycle time, "
            "flow efficiency, blocked time and hand-off waits need the transitions."
        )

    everything = loaders.scope().everything  # read now: the downloads are written on click
    left, right = st.columns(2)
    signin.download_button(
        left,
        "Download the summary (Markdown)",
        # Written when clicked, not on every run.
        lambda: retro_metrics.to_markdown(
            retro, written["annotations"], written["actions"], everything
        ),
        file_name="retro.md",
        mime="text/markdown",
    )
    signin.download_button(
        right,
        "Download the summary (HTML)",
        lambda: retro_metrics.to_html(
            retro, written["annotations"], written["actions"], everything
        ),
        file_name="retro.html",
        mime="text/html",
    )


def timeline(week: Filters, month: Filters, marks: list) -> go.Figure:
    """The last four weeks' deployments and incidents per model, the week shaded, the
    annotations marked."""
    deployments = load("delivery_deployments", month)
    incidents = load("delivery_incidents", month)
    fig = figure()
    # Deployments withheld (metrics.privacy): the incidents alone.
    shown = (
        ()
        if isinstance(deployments, privacy.Withheld)
        else (
            (False, COLOURS["success"], "deployment"),
            (True, COLOURS["failure"], "change failure"),
        )
    )
    for failed, colour, name in shown:
        rows = deployments[deployments["is_change_failure"] == failed]
        fig.add_scatter(
            x=rows["finished_at"],
            y=rows["model"],
            mode="markers",
            name=name,
            marker={"color": colour, "size": 10, "symbol": "circle"},
            text=rows["deployment_id"] + " " + rows["status"],
        )
    fig.add_scatter(
        x=incidents["opened_at"],
        y=incidents["model"],
        mode="markers",
        name="incident",
        marker={"color": COLOURS["incident"], "size": 12, "symbol": "x"},
        text=incidents["incident_id"] + " " + incidents["title"].fillna(""),
    )
    fig.add_vrect(
        x0=week.since, x1=week.until, fillcolor=COLOURS["week"], opacity=0.15, line_width=0
    )
    notes.annotation_marks(fig, marks)
    # The legend over the plot: under it, it hid the year below the first date.
    fig.update_layout(
        height=340,
        margin={"t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
    )
    return fig


def delivery(week: Filters, month: Filters, marks: list) -> None:
    """Deployments and incidents over four weeks, lead times, this week's incidents."""
    st.subheader("Deployments and incidents, last four weeks")
    st.plotly_chart(timeline(week, month, marks), key="retro-timeline")
    st.caption(
        "Dots: deployments (green), change failures (red); crosses: incidents. "
        f"{notes.POINT_LABEL} dashed grey lines and grey bands: annotations (hover for the text)."
    )
    withheld(load("delivery_deployments", month))
    notes.annotations_section(marks, month, "retro-notes")

    left, right = st.columns(2)
    with left:
        st.subheader(label("shipped_lead_times"))
        shipped = load("shipped_lead_times", month)
        if not withheld(shipped):
            lead_time_chart(shipped)
    with right:
        st.subheader(label("delivery_incidents"))
        table(
            load("delivery_incidents", week),
            [
                "opened_at",
                "model",
                "severity",
                "title",
                "attributed_deployment_id",
                "recovery_time_hours",
            ],
            "incidents_this_week",
            week,
            empty="No incident was opened this week.",
        )


def lead_time_chart(shipped) -> None:
    """The lead times of the changes shipped in the last four weeks, in days."""
    days = shipped["lead_time_hours"].dropna() / 24
    fig = figure()
    if not days.empty:
        # Binned here (30 bins of equal width): the browser gets 30 bars, not a row per
        # change to bin itself.
        counts = pd.cut(days, 30).value_counts(sort=False)
        bins = pd.IntervalIndex(counts.index)
        fig.add_bar(
            x=bins.mid,
            y=counts.to_numpy(),
            width=bins.length,
            customdata=list(zip(bins.left, bins.right, strict=True)),
            hovertemplate="%{customdata[0]:.1f} to %{customdata[1]:.1f} days: "
            "%{y} changes<extra></extra>",
            name="changes",
        )
    fig.update_layout(
        height=260,
        margin={"t": 10, "b": 10},
        xaxis_title="days",
        yaxis_title="changes",
        bargap=0,
    )
    st.plotly_chart(fig, key="retro-lead-time")
    st.caption(
        "First commit to the successful production deployment that shipped it, for the "
        "changes shipped in the last four weeks."
    )


def cycle_time_chart(finished, four_weeks: dict, marks: list) -> None:
    """The cycle time of each ticket finished in the last four weeks (or, for many, each
    day's median and 85th percentile), the four weeks' median and p85 (`four_weeks`, hours)."""
    timed = finished[finished["cycle_time_hours"].notna()]
    fig = figure(*charts.cycle_time_traces(timed))
    for name, value in four_weeks.items():
        if value is not None:
            fig.add_hline(
                y=value / 24,
                line_dash="dot",
                line_color=COLOURS["threshold"],
                annotation_text=name,
                annotation_font_color=COLOURS["threshold"],
            )
    notes.annotation_marks(fig, marks)
    fig.update_layout(height=280, margin={"t": 10, "b": 10}, yaxis_title="days")
    st.plotly_chart(fig, key="retro-cycle-time")
    per_day = (
        f" {len(timed):,} tickets: each day's median and 85th percentile, not a point per "
        "ticket (this week's tickets are listed under the rows behind the numbers)."
        if len(timed) > charts.TICKET_POINTS
        else ""
    )
    st.caption(
        "First move into an active status to done, pauses included; a ticket moved back "
        "keeps its first start. Dotted lines: median and 85th percentile of the four weeks."
        + per_day
    )


def flow(retro: Retro, week: Filters, month: Filters, marks: list) -> None:
    """Cycle time, aging work, the work mix, where work waited and the experiments decided."""
    left, right = st.columns(2)
    with left:
        st.subheader(label("finished_tickets"))
        finished = load("finished_tickets", month)
        if not withheld(finished):
            cycle_time_chart(finished, retro.cycle_time_four_weeks, marks)
    with right:
        st.subheader(label("aging_wip"))
        wip = retro.aging_wip
        if not withheld(wip):
            table(
                wip.head(15),
                ["ticket_id", "title", "status", "age_days", "days_in_status", "model", "role"],
                "aging_wip",
                week,
                caption="The 15 oldest tickets in progress.",
                empty="Nothing in progress.",
            )

    flow_hidden = retro.hidden_text("assignees")
    left, right = st.columns(2)
    with left:
        st.subheader(label("work_mix_groups"))
        mix = retro.work_mix
        if flow_hidden:
            st.caption(flow_hidden)
        fig = figure()
        fig.add_bar(x=mix["group"], y=mix["share"], name="this week")
        fig.add_bar(x=mix["group"], y=mix["target"], name="target")
        fig.update_layout(
            height=260,
            margin={"t": 10, "b": 10},
            yaxis_tickformat=".0%",
            barmode="group",
            legend={"orientation": "h"},
        )
        if not flow_hidden:
            st.plotly_chart(fig, key="retro-mix")
    with right:
        st.subheader(label("handoffs"))
        if flow_hidden:
            st.caption(flow_hidden)
        elif not retro.handoffs:
            st.write("No hand-off between roles this week.")
        for name, wait in retro.handoffs.items():
            st.markdown(
                f"**{formats.handoff(name)}**: {wait['count']} hand-offs, median wait "
                f"{retro_metrics.format_value(wait['median'], 'hours')}"
            )
        table(
            load("status_split", week),
            ["status", "kind", "hours", "tickets"],
            "cycle_time_by_status",
            week,
            caption="Where the cycle time of this week's finished work went, per status.",
            empty="No work finished this week, so no time per status.",
        )

    st.subheader(label("experiments"))
    table(
        retro.experiments,
        ["ticket_id", "title", "model", "outcome", "finished_at"],
        "experiments",
        week,
        empty="No experiment was decided this week.",
    )


# The two folded sections below are drawn when opened, not on every run: closed, they are a
# third of the page's cold loads at the reference scale (the per-team and per-model delivery
# alone is ~1.8 s). Their state is in the URL (`?by_group=true`, `?rows=true`), so a link can
# open them.
BY_GROUP, ROWS = "by_group", "rows"


def rows(week: Filters, month: Filters) -> None:
    """Delivery per team and per model, and the rows behind this week's numbers, each
    computed when its section is open."""
    by_group = st.expander(
        "Delivery per team and per model, last four weeks", key=BY_GROUP, bind="query-params"
    )
    if by_group.open:
        with by_group:
            delivery_by_group(month)
    behind = st.expander("The rows behind the numbers", key=ROWS, bind="query-params")
    if behind.open:
        with behind:
            rows_behind(week)


def delivery_by_group(month: Filters) -> None:
    """Delivery per team and per model over the 28 days ending with the week."""
    st.caption("The same definitions as above, over the 28 days ending with the week.")
    by = [
        "deployments",
        "deployments_per_week",
        "lead_time_median_hours",
        "change_failure_rate",
        "rework_rate",
        "recovery_median_hours",
        "unattributed_incidents",
    ]
    for column in ("team", "model"):
        rows_ = load(f"delivery_by_{column}", month)
        table(
            rows_,
            [column, *by],
            f"delivery_by_{column}",
            month,
            caption=privacy.rows_note(rows_, column),
        )


def rows_behind(week: Filters) -> None:
    """This week's deployments, changes and finished tickets."""
    st.caption(
        "This week's production deployments (a change failure is failed, rolled back, "
        "or has an attributed incident), the changes they shipped, and the tickets "
        "finished."
    )
    st.write(f"**{label('delivery_deployments')}**")
    table(
        load("delivery_deployments", week),
        [
            "deployment_id",
            "model",
            "version",
            "finished_at",
            "status",
            "is_change_failure",
            "incidents",
            "recovery_time_hours",
            "team",
            "started_at",
            "is_failed",
            "restored_at",
        ],
        "delivery_deployments",
        week,
        empty="No production deployment finished this week.",
    )
    st.write(f"**{label('delivery_changes')}**")
    table(
        load("delivery_changes", week),
        [
            "change_id",
            "title",
            "lead_time_hours",
            "shipped_at",
            "shipping_deployment_id",
            "model",
            "author",
            "first_commit_at",
            "merged_at",
            "team",
            "named_deployment_id",
            "is_left_out",
        ],
        "delivery_changes",
        week,
        empty="No change shipped to production this week.",
    )
    st.write(f"**{label('finished_tickets')}**")
    table(
        load("finished_tickets", week),
        [
            "ticket_id",
            "title",
            "cycle_time_hours",
            "finished_at",
            "model",
            "work_category",
            "active_hours",
            "waiting_hours",
            "blocked_hours",
            "is_reopened",
            "team",
            "started_at",
        ],
        "finished_tickets",
        week,
        empty="No ticket was finished this week.",
    )


def _overlaps(note, window: Filters) -> bool:
    ends = note.ends_at or note.starts_at
    return note.starts_at < window.until and ends >= window.since


def in_words(action, retro: Retro, week: Filters, name: str) -> str | None:
    """The action's figure when it was made and in this week's retro of the action's own
    team and model (the retro on screen when they are the view's)."""
    if action.figure_key is None:
        return None
    built = retro
    if (action.team, action.model) != (week.team, week.model):
        built = load("retro", Filters(week.since, week.until, action.team, action.model), name)
    return retro_actions.in_words(action, retro_actions.reading(built, action.figure_key))


def action_line(action, sentence: str | None) -> str:
    made = f"{action.created_at:%a %d %b}"
    line = (
        f"**{notes.inert(action.text)}**: owner {notes.inert(action.owner)}, due "
        f"{action.due_week}, made {made} by {notes.inert(action.author)}."
    )
    if sentence:
        line += f" {sentence}"
    if action.status == "closed":
        line += (
            f" Closed {action.closed_at:%a %d %b} by {notes.inert(action.closed_by)}: "
            f"{notes.inert(action.outcome)}"
        )
    return line


def action_section(retro: Retro, week: Filters, made: list, sentences: dict) -> None:
    """Retro actions: those of earlier retros still open when the week began first, each with
    its figure then and now in words and a form to close it with its outcome; then the ones
    made this week; then the form to make one."""
    st.subheader("Retro actions")
    earlier = [a for a in made if a.created_at < week.since]
    this_week = [a for a in made if a.created_at >= week.since]
    if not made:
        st.caption("No action is open from an earlier retro, and none was made this week.")
    for title, group in (("From earlier retros", earlier), ("Made this week", this_week)):
        if group:
            st.markdown(f"**{title}**")
        for action in group:
            st.markdown("- " + action_line(action, sentences[action.action_id]))
            if action.status == "open":
                close_form(action)
    new_action_form(retro, week)


def close_form(action) -> None:
    with st.popover(f"Close action {action.action_id}"), st.form(f"close-{action.action_id}"):
        outcome = st.text_area("Outcome (what happened)", key=f"close-{action.action_id}-text")
        if st.form_submit_button("Close the action"):
            notes.write(
                lambda s: s.close_action(notes.actor(), action.action_id, outcome),
                f"Action {action.action_id} closed.",
            )


NO_FIGURE = ""
DIRECTIONS = {"down": "down (cut it)", "up": "up (raise it)"}


def new_action_form(retro: Retro, week: Filters) -> None:
    """Make an action: what, who (a team, or a person who chose to be named), by which week,
    and optionally one of this retro's figures with the way it should move."""
    keys = retro_actions.figure_keys(retro)
    catalog = notes.known(keys)
    today = session.now()
    weeks = []
    for days in range(0, 7 * 6, 7):
        year, number, _ = (today + dt.timedelta(days=days)).isocalendar()
        weeks.append(f"{year}-W{number:02d}")
    with st.expander("Make an action"), st.form("action-add"):
        text = st.text_area("Action (what the team will do)", key="action-text")
        left, right = st.columns(2)
        teams = sorted(catalog.teams)
        team_owner = left.selectbox(
            "Owner: a team", [week.team, *teams] if week.team else teams, key="action-team"
        )
        person = right.text_input(
            "…or a person, who chose to be named (leave empty for the team)", key="action-person"
        )
        left, right = st.columns(2)
        due = left.selectbox("Due week", weeks, key="action-due")
        key = right.selectbox(
            "Figure it should move (optional)",
            [NO_FIGURE, *keys],
            format_func=lambda k: retro_actions.label(k) if k else "None",
            key="action-figure",
        )
        direction = st.radio(
            "Way wanted",
            list(DIRECTIONS),
            format_func=DIRECTIONS.get,
            horizontal=True,
            key="action-direction",
        )
        if st.form_submit_button("Make the action"):
            figure_key = key or None
            notes.write(
                lambda s: s.add_action(
                    notes.actor(),
                    catalog,
                    text=text,
                    owner=person.strip() or team_owner or "",
                    due_week=due,
                    team=week.team,
                    model=week.model,
                    figure_key=figure_key,
                    direction=direction if figure_key else None,
                    figure_value=(
                        retro_actions.reading(retro, figure_key).value if figure_key else None
                    ),
                ),
                "Action made.",
            )


def decisions(week: Filters) -> None:
    """The decisions logged for the week's models (all, the team's, or the model's)."""
    decided = notes.read(
        lambda s: s.decisions(
            notes.known(), week.model, week.team, week.since.date(), week.until.date()
        )
    )
    st.subheader("Decisions this week")
    notes.decisions_list(decided, "No decision was logged for this week's models.")


def layout() -> None:
    filters = current_filters()
    st.title("Weekly retrospective")
    week, month, name = controls(filters)
    scope = " · ".join(x for x in (filters.team, filters.model) if x) or loaders.scope().everything
    days = describe(week)
    shown = days[0].upper() + days[1:] if name == days else f"{name}: {days}"
    st.caption(
        f"{shown}, {scope}. Changes are against last week; the 4-week figure is the "
        "weekly average for counts and the 28-day value for medians and rates."
    )
    retro = load("retro", week, name)
    notes.flash()
    marks = notes.annotations(month)
    made = notes.read(
        lambda s: s.actions(week.since, week.until, notes.known(), week.team, week.model)
    )
    sentences = {a.action_id: in_words(a, retro, week, name) for a in made}
    action_section(retro, week, made, sentences)
    written = {
        "annotations": [n.as_dict() for n in marks if _overlaps(n, week)],
        "actions": [{**a.as_dict(), "in_words": sentences[a.action_id]} for a in made],
    }
    figures(retro, written)
    decisions(week)
    delivery(week, month, marks)
    flow(retro, week, month, marks)
    rows(week, month)


layout()
