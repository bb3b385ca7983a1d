"""The notes store: open it (its schema upgraded on the way), write one record per transaction,
read annotations, decisions and retro actions back for a window and a scope.

Every write checks its input first and refuses it with a `NotesError` whose one line names the
field and the reason; nothing is written then. Each write is one transaction (on SQLite a
`BEGIN IMMEDIATE`, so concurrent writers queue behind the busy timeout instead of failing).

Which records a view shows (its team and model filters, None for all):
- no team and no model (everything): every record;
- a team: the company's records, the team's, and those of the team's models;
- a model: the company's records, those of the model's team (the one given, else every team the
  warehouse pairs with the model), and the model's.
So company records show in every view, and a team's records in each of its models' views.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.util.exc import CommandError

import settings
from notes import schema

# Who writes and what the warehouse knows live in notes/values.py, which pages import without
# SQLAlchemy and Alembic; they are the store's names too.
from notes.values import TEXT_LIMIT, Actor, Known, local_actor  # noqa: F401

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The newest schema revision this Tandem writes (notes/migrations/versions/).
HEAD = "0002"

# Longest texts, in characters (counted after trimming surrounding blanks); TEXT_LIMIT (an
# annotation, an action, an action's outcome) is in notes/values.py, which forms read.
LONG_TEXT_LIMIT = 10_000  # a decision's decision, context and options considered
NAME_LIMIT = schema.NAME_LENGTH  # a title, an owner, an author
LINK_LIMIT = 2_000
LINKS_MAX = 10

# How long a write waits for another writer's transaction before giving up (SQLite).
BUSY_TIMEOUT_SECONDS = 30
# The key of the PostgreSQL advisory lock two Tandems opening one store at once upgrade under.
MIGRATION_LOCK = 0x7A4D_4E07

DIRECTIONS = ("up", "down")
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class NotesError(ValueError):
    """Input the store refuses, or a store it cannot use: one line naming the field and why."""


class NotesForbidden(NotesError):
    """A change to a record that only its author or an admin may make."""


class NotesUnavailable(NotesError):
    """The store cannot be opened (its URL shown with the password masked)."""


def _iso(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


class _Record:
    def as_dict(self) -> dict[str, Any]:
        """The record as plain JSON-ready values (instants and dates in ISO 8601)."""
        return {f.name: _iso(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class Annotation(_Record):
    """A note at a point in time (ends_at None) or over a range, for the company, a team or a
    model (team and model both None: the company). Text is Markdown, shown inert."""

    annotation_id: int
    author: str
    created_at: dt.datetime
    updated_at: dt.datetime
    team: str | None
    model: str | None
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    text: str

    @property
    def scope(self) -> str:
        return "model" if self.model else "team" if self.team else "company"

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "scope": self.scope}


@dataclass(frozen=True)
class Decision(_Record):
    """One entry of a model's decision log."""

    decision_id: int
    author: str
    created_at: dt.datetime
    updated_at: dt.datetime
    model: str
    title: str
    decision: str
    context: str
    options: str
    owner: str
    decided_on: dt.date
    links: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "links": list(self.links)}


# What the access log records.
ACCESS_EVENTS = ("sign_in", "refused", "not_in_scope", "download")


@dataclass(frozen=True)
class AccessEntry(_Record):
    """One line of the access log: who, when, what happened, in which scope, on what."""

    at: dt.datetime
    who: str
    event: str
    scope: str
    detail: str


@dataclass(frozen=True)
class Action(_Record):
    """A retro action: what, who, by which ISO week, and optionally the retro figure it should
    move (its key, the direction wanted, its value when the action was made)."""

    action_id: int
    author: str
    created_at: dt.datetime
    updated_at: dt.datetime
    team: str | None
    model: str | None
    text: str
    owner: str
    due_week: str
    figure_key: str | None
    figure_direction: str | None
    figure_value: float | None
    status: str  # "open" or "closed"
    outcome: str | None
    closed_at: dt.datetime | None
    closed_by: str | None


# --- checks: each raises NotesError naming the field --------------------------------------


def _text(value: Any, name: str, limit: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise NotesError(f"{name}: must be text, got {type(value).__name__}")
    value = value.strip()
    if not value and required:
        raise NotesError(f"{name}: is empty (write 1 to {limit:,} characters)")
    if len(value) > limit:
        raise NotesError(f"{name}: is {len(value):,} characters, over the limit of {limit:,}")
    return value


def _instant(value: Any, name: str) -> dt.datetime:
    """A UTC instant; one without an offset is read as UTC, as everywhere in Tandem."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise NotesError(
                f"{name}: must be an ISO 8601 instant like 2026-11-19T14:00:00Z, got {value!r}"
            ) from None
    if not isinstance(value, dt.datetime):
        raise NotesError(f"{name}: must be a date and time, got {type(value).__name__}")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _read_instant(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite keeps no offset (every stored instant is UTC); PostgreSQL answers in its time zone.
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _shown(value: dt.datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC"


def _team(known: Known, team: str | None) -> str | None:
    if team is None:
        return None
    if team not in known.teams:
        raise NotesError(f"team: {team!r} is not a team the warehouse knows ({_some(known.teams)})")
    return team


def _model(known: Known, model: str | None) -> str | None:
    if model is None:
        return None
    if model not in known.models:
        raise NotesError(
            f"model: {model!r} is not a model the warehouse knows ({_some(known.models)})"
        )
    return model


def _some(names: Iterable[str], most: int = 8) -> str:
    ordered = sorted(names)
    if not ordered:
        return "it knows none yet"
    more = f", … {len(ordered) - most} more" if len(ordered) > most else ""
    return "known: " + ", ".join(ordered[:most]) + more


def week_window(week: str, name: str = "due_week") -> tuple[dt.datetime, dt.datetime]:
    """The UTC Monday-to-Monday window [since, until) of an ISO week like 2026-W48."""
    match = WEEK.match(week.strip().upper()) if isinstance(week, str) else None
    try:
        if not match:
            raise ValueError
        monday = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise NotesError(f"{name}: must be an ISO week like 2026-W48, got {week!r}") from None
    since = dt.datetime(monday.year, monday.month, monday.day, tzinfo=dt.UTC)
    return since, since + dt.timedelta(days=7)


def _links(values: Any) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise NotesError("links: must be a list of URLs")
    links = tuple(_text(v, "links", LINK_LIMIT) for v in values)
    if len(links) > LINKS_MAX:
        raise NotesError(f"links: {len(links)} links, over the limit of {LINKS_MAX}")
    for link in links:
        parts = urllib.parse.urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise NotesError(
                f"links: {link[:80]!r} is not an http(s) URL (a Tandem view, a ticket, a release)"
            )
    return links


# --- the store ---------------------------------------------------------------------------

_KEEP: Any = object()


class Store:
    """An open notes store. Writes take an Actor and what the warehouse knows (Known)."""

    def __init__(self, engine: sa.Engine, shown_url: str) -> None:
        self.engine = engine
        self.url = shown_url  # the password masked

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as con:
            con.execution_options(notes_write=True)
            with con.begin():
                yield con

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as con, con.begin():
            yield con

    # --- annotations ---------------------------------------------------------------------

    def add_annotation(
        self,
        actor: Actor,
        known: Known,
        text: str,
        *,
        at: dt.datetime | str | None = None,
        starts_at: dt.datetime | str | None = None,
        ends_at: dt.datetime | str | None = None,
        team: str | None = None,
        model: str | None = None,
    ) -> Annotation:
        """Write an annotation at a point (`at`) or over a range (`starts_at`, `ends_at`), for
        the company (no team, no model), one team or one model."""
        values = _annotation_values(known, text, at, starts_at, ends_at, team, model)
        now = settings.now()
        row = {"author": _author(actor), "created_at": now, "updated_at": now, **values}
        with self._writing() as con:
            new_id = con.execute(
                sa.insert(schema.annotations).returning(schema.annotations.c.annotation_id),
                row,
            ).scalar_one()
            return self._annotation(con, new_id)

    def edit_annotation(
        self,
        actor: Actor,
        known: Known,
        annotation_id: int,
        *,
        text: str = _KEEP,
        at: dt.datetime | str | None = _KEEP,
        starts_at: dt.datetime | str | None = _KEEP,
        ends_at: dt.datetime | str | None = _KEEP,
        team: str | None = _KEEP,
        model: str | None = _KEEP,
    ) -> Annotation:
        """Change an annotation (its author or an admin only). What is not given is kept;
        `at` makes it a point, `starts_at`/`ends_at` a range; `team` or `model` a new scope."""
        with self._writing() as con:
            old = self._annotation(con, annotation_id, lock=True)
            _may_change(actor, "annotation", annotation_id, old.author)
            if at is _KEEP and starts_at is _KEEP and ends_at is _KEEP:
                if old.ends_at is None:
                    at_, starts, ends = old.starts_at, None, None
                else:
                    at_, starts, ends = None, old.starts_at, old.ends_at
            elif at is not _KEEP:
                at_, starts, ends = at, None, None
            else:
                at_ = None
                starts = old.starts_at if starts_at is _KEEP else starts_at
                ends = old.ends_at if ends_at is _KEEP else ends_at
            if team is _KEEP and model is _KEEP:
                team_, model_ = old.team, old.model
            else:
                team_ = None if team is _KEEP else team
                model_ = None if model is _KEEP else model
            values = _annotation_values(
                known, old.text if text is _KEEP else text, at_, starts, ends, team_, model_
            )
            con.execute(
                sa.update(schema.annotations)
                .where(schema.annotations.c.annotation_id == annotation_id)
                .values(**values, updated_at=settings.now())
            )
            return self._annotation(con, annotation_id)

    def delete_annotation(self, actor: Actor, annotation_id: int) -> None:
        """Delete an annotation (its author or an admin only): nothing of it is kept."""
        with self._writing() as con:
            old = self._annotation(con, annotation_id, lock=True)
            _may_change(actor, "annotation", annotation_id, old.author)
            con.execute(
                sa.delete(schema.annotations).where(
                    schema.annotations.c.annotation_id == annotation_id
                )
            )

    def annotation(self, annotation_id: int) -> Annotation:
        with self._reading() as con:
            return self._annotation(con, annotation_id)

    def annotations(
        self,
        since: dt.datetime,
        until: dt.datetime,
        known: Known,
        team: str | None = None,
        model: str | None = None,
    ) -> list[Annotation]:
        """The annotations that overlap the window [since, until) and show in the view of
        `team` and `model` (see the module's rule), earliest first.

        A point shows when since <= at < until; a range when it starts before `until` and
        ends at or after `since`.
        """
        t = schema.annotations
        since, until = _instant(since, "since"), _instant(until, "until")
        query = (
            sa.select(t)
            .where(t.c.starts_at < until)
            .where(sa.func.coalesce(t.c.ends_at, t.c.starts_at) >= since)
            .where(_in_view(t, known, team, model))
            .order_by(t.c.starts_at, t.c.annotation_id)
        )
        with self._reading() as con:
            return [_to_annotation(row) for row in con.execute(query).mappings()]

    def _annotation(self, con: sa.Connection, annotation_id: int, lock: bool = False) -> Annotation:
        row = _row(con, schema.annotations, "annotation_id", annotation_id, "annotation", lock)
        return _to_annotation(row)

    # --- decisions -----------------------------------------------------------------------

    def add_decision(
        self,
        actor: Actor,
        known: Known,
        *,
        model: str,
        title: str,
        decision: str,
        owner: str,
        decided_on: dt.date | str,
        context: str = "",
        options: str = "",
        links: Iterable[str] = (),
    ) -> Decision:
        """Write one entry in a model's decision log."""
        if model is None:
            raise NotesError("model: a decision belongs to one model")
        row = {
            "model": _model(known, model),
            "title": _text(title, "title", NAME_LIMIT),
            "decision": _text(decision, "decision", LONG_TEXT_LIMIT),
            "context": _text(context, "context", LONG_TEXT_LIMIT, required=False),
            "options": _text(options, "options", LONG_TEXT_LIMIT, required=False),
            "owner": _text(owner, "owner", NAME_LIMIT),
            "decided_on": _day(decided_on, "decided_on"),
            "links": list(_links(links)),
        }
        now = settings.now()
        if row["decided_on"] > now.date():
            raise NotesError(
                f"decided_on: {row['decided_on']} is after today ({now.date()}); "
                "log a decision once it is made"
            )
        row |= {"author": _author(actor), "created_at": now, "updated_at": now}
        d = schema.decisions
        with self._writing() as con:
            new_id = con.execute(sa.insert(d).returning(d.c.decision_id), row).scalar_one()
            found = con.execute(sa.select(d).where(d.c.decision_id == new_id)).mappings().one()
            return _to_decision(found)

    def decisions(
        self,
        known: Known,
        model: str | None = None,
        team: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> list[Decision]:
        """A model's decisions (else those of the team's models, else all) decided in
        [since, until) when given (e.g. a retro's week), newest first."""
        d = schema.decisions
        query = sa.select(d)
        if model is not None:
            query = query.where(d.c.model == model)
        elif team is not None:
            query = query.where(d.c.model.in_(sorted(known.models_of(team))))
        elif known.restricted:
            query = query.where(d.c.model.in_(sorted(known.models)))
        if since is not None:
            query = query.where(d.c.decided_on >= _day(since, "since"))
        if until is not None:
            query = query.where(d.c.decided_on < _day(until, "until"))
        query = query.order_by(d.c.decided_on.desc(), d.c.decision_id.desc())
        with self._reading() as con:
            return [_to_decision(row) for row in con.execute(query).mappings()]

    # --- retro actions -------------------------------------------------------------------

    def add_action(
        self,
        actor: Actor,
        known: Known,
        *,
        text: str,
        owner: str,
        due_week: str,
        team: str | None = None,
        model: str | None = None,
        figure_key: str | None = None,
        direction: str | None = None,
        figure_value: float | None = None,
    ) -> Action:
        """Write a retro action made in the retro of `team` and `model` (None: everything),
        optionally linked to one of that retro's figures with the direction wanted and its
        value now (the caller reads it from the retro)."""
        row = {
            "text": _text(text, "text", TEXT_LIMIT),
            "owner": _text(owner, "owner", NAME_LIMIT),
            "due_week": _due_week(due_week),
            "team": _team(known, team),
            "model": _model(known, model),
            **_figure(known, figure_key, direction, figure_value),
        }
        now = settings.now()
        row |= {"author": _author(actor), "created_at": now, "updated_at": now, "status": "open"}
        a = schema.actions
        with self._writing() as con:
            new_id = con.execute(sa.insert(a).returning(a.c.action_id), row).scalar_one()
            return self._action(con, new_id)

    def close_action(self, actor: Actor, action_id: int, outcome: str) -> Action:
        """Close an open action with its outcome (anyone may: the team closes it in its retro)."""
        outcome = _text(outcome, "outcome", TEXT_LIMIT)
        a = schema.actions
        with self._writing() as con:
            old = self._action(con, action_id, lock=True)
            if old.status == "closed":
                raise NotesError(
                    f"action_id: action {action_id} was closed on {_shown(old.closed_at)} "
                    f"by {old.closed_by}"
                )
            now = settings.now()
            con.execute(
                sa.update(a)
                .where(a.c.action_id == action_id)
                .values(
                    status="closed",
                    outcome=outcome,
                    closed_at=now,
                    closed_by=_author(actor),
                    updated_at=now,
                )
            )
            return self._action(con, action_id)

    def action(self, action_id: int) -> Action:
        with self._reading() as con:
            return self._action(con, action_id)

    def open_actions(
        self, week: str, known: Known, team: str | None = None, model: str | None = None
    ) -> list[Action]:
        """The actions a week's retro opens with: made before the week started and not closed
        by its end, in the view of `team` and `model`, oldest first."""
        since, until = week_window(week, "week")
        a = schema.actions
        query = (
            sa.select(a)
            .where(a.c.created_at < since)
            .where(sa.or_(a.c.closed_at.is_(None), a.c.closed_at >= until))
            .where(_in_view(a, known, team, model))
            .order_by(a.c.created_at, a.c.action_id)
        )
        with self._reading() as con:
            return [_to_action(row) for row in con.execute(query).mappings()]

    def actions(
        self,
        since: dt.datetime,
        until: dt.datetime,
        known: Known,
        team: str | None = None,
        model: str | None = None,
    ) -> list[Action]:
        """The actions open at some time in [since, until): made before `until`, not closed
        before `since`; in the view of `team` and `model`, oldest first."""
        since, until = _instant(since, "since"), _instant(until, "until")
        a = schema.actions
        query = (
            sa.select(a)
            .where(a.c.created_at < until)
            .where(sa.or_(a.c.closed_at.is_(None), a.c.closed_at >= since))
            .where(_in_view(a, known, team, model))
            .order_by(a.c.created_at, a.c.action_id)
        )
        with self._reading() as con:
            return [_to_action(row) for row in con.execute(query).mappings()]

    def _action(self, con: sa.Connection, action_id: int, lock: bool = False) -> Action:
        return _to_action(_row(con, schema.actions, "action_id", action_id, "action", lock))

    # --- the access log ---------------------------------------------------------------------

    def log_access(self, who: str, event: str, scope: str, detail: str = "") -> None:
        """Record one sign-in, refusal or download (`event` one of ACCESS_EVENTS)."""
        if event not in ACCESS_EVENTS:
            raise NotesError(f"event: {event!r} is not one of {', '.join(ACCESS_EVENTS)}")
        row = {
            "at": settings.now(),
            "who": _clip(who, NAME_LIMIT),
            "event": event,
            "scope": _clip(scope, 2 * NAME_LIMIT),
            "detail": _clip(detail, 2 * NAME_LIMIT),
        }
        with self._writing() as con:
            con.execute(sa.insert(schema.access_log), row)

    def access_log(self, limit: int = 500) -> list[AccessEntry]:
        """The latest `limit` entries, newest first."""
        t = schema.access_log
        query = sa.select(t).order_by(t.c.at.desc(), t.c.entry_id.desc()).limit(limit)
        with self._reading() as con:
            return [
                AccessEntry(
                    at=_read_instant(row["at"]),
                    who=row["who"],
                    event=row["event"],
                    scope=row["scope"],
                    detail=row["detail"],
                )
                for row in con.execute(query).mappings()
            ]


def _clip(value: str, limit: int) -> str:
    """A log field cut to its column (a log line is never refused for its length)."""
    value = str(value or "")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _author(actor: Actor) -> str:
    return _text(actor.name, "author", NAME_LIMIT)


def _may_change(actor: Actor, kind: str, record_id: int, author: str) -> None:
    if actor.is_admin or actor.name == author:
        return
    raise NotesForbidden(
        f"author: {kind} {record_id} was written by {author}; only they or an admin may change it"
    )


def _row(
    con: sa.Connection, table: sa.Table, key: str, value: int, noun: str, lock: bool
) -> sa.RowMapping:
    """The row of `table` whose `key` is `value` (locked for update with `lock`)."""
    query = sa.select(table).where(table.c[key] == value)
    row = con.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise NotesError(f"{key}: there is no {noun} {value}")
    return row


def _annotation_values(
    known: Known,
    text: Any,
    at: Any,
    starts_at: Any,
    ends_at: Any,
    team: str | None,
    model: str | None,
) -> dict[str, Any]:
    text = _text(text, "text", TEXT_LIMIT)
    if team is not None and model is not None:
        raise NotesError(
            "model: an annotation is for the company, one team or one model: give team or "
            "model, not both"
        )
    if at is not None:
        if starts_at is not None or ends_at is not None:
            raise NotesError("at: give a point (at) or a range (starts_at, ends_at), not both")
        starts, ends = _instant(at, "at"), None
    elif starts_at is None or ends_at is None:
        missing = "ends_at" if starts_at is not None else "starts_at" if ends_at else "at"
        raise NotesError(f"{missing}: an annotation needs a point (at) or a whole range")
    else:
        starts, ends = _instant(starts_at, "starts_at"), _instant(ends_at, "ends_at")
        if ends < starts:
            raise NotesError(
                f"ends_at: {_shown(ends)} is before starts_at {_shown(starts)}; "
                "a range ends after it starts"
            )
    return {
        "text": text,
        "starts_at": starts,
        "ends_at": ends,
        "team": _team(known, team),
        "model": _model(known, model),
    }


def _day(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return _instant(value, name).date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise NotesError(f"{name}: must be a date like 2026-11-19, got {value!r}") from None


def _due_week(value: Any) -> str:
    since, until = week_window(value, "due_week")
    now = settings.now()
    if until <= now:
        last = (until - dt.timedelta(days=1)).date()
        raise NotesError(
            f"due_week: {value} ended on {last:%a %d %b %Y}, before today ({now.date()}); "
            "give this week or a later one"
        )
    year, week, _ = since.isocalendar()
    return f"{year}-W{week:02d}"


def _figure(
    known: Known, key: str | None, direction: str | None, value: float | None
) -> dict[str, Any]:
    if key is None:
        if direction is not None or value is not None:
            raise NotesError("figure_key: a direction or a value needs the figure it belongs to")
        return {"figure_key": None, "figure_direction": None, "figure_value": None}
    if key not in known.figures:
        raise NotesError(
            f"figure_key: {key!r} is not one of the retro's figures ({_some(known.figures, 12)})"
        )
    if direction not in DIRECTIONS:
        raise NotesError(f"direction: must be up or down (the way wanted), got {direction!r}")
    if value is not None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise NotesError(f"figure_value: must be a finite number or none, got {value!r}")
        value = float(value)
    return {"figure_key": key, "figure_direction": direction, "figure_value": value}


def _in_view(table: sa.Table, known: Known, team: str | None, model: str | None) -> Any:
    """The rows that show in the view of `team` and `model` (the module's rule)."""
    company = sa.and_(table.c.team.is_(None), table.c.model.is_(None))
    if team is None and model is None:
        if not known.restricted:
            return sa.true()
        return sa.or_(
            company,
            table.c.team.in_(sorted(known.teams)),
            table.c.model.in_(sorted(known.models)),
        )
    if model is not None:
        teams = {team} if team is not None else known.teams_of(model)
        return sa.or_(
            company,
            sa.and_(table.c.model.is_(None), table.c.team.in_(sorted(teams))),
            table.c.model == model,
        )
    return sa.or_(company, table.c.team == team, table.c.model.in_(sorted(known.models_of(team))))


def _to_annotation(row: Any) -> Annotation:
    return Annotation(
        annotation_id=row["annotation_id"],
        author=row["author"],
        created_at=_read_instant(row["created_at"]),
        updated_at=_read_instant(row["updated_at"]),
        team=row["team"],
        model=row["model"],
        starts_at=_read_instant(row["starts_at"]),
        ends_at=_read_instant(row["ends_at"]),
        text=row["text"],
    )


def _to_decision(row: Any) -> Decision:
    return Decision(
        decision_id=row["decision_id"],
        author=row["author"],
        created_at=_read_instant(row["created_at"]),
        updated_at=_read_instant(row["updated_at"]),
        model=row["model"],
        title=row["title"],
        decision=row["decision"],
        context=row["context"],
        options=row["options"],
        owner=row["owner"],
        decided_on=row["decided_on"],
        links=tuple(row["links"] or ()),
    )


def _to_action(row: Any) -> Action:
    return Action(
        action_id=row["action_id"],
        author=row["author"],
        created_at=_read_instant(row["created_at"]),
        updated_at=_read_instant(row["updated_at"]),
        team=row["team"],
        model=row["model"],
        text=row["text"],
        owner=row["owner"],
        due_week=row["due_week"],
        figure_key=row["figure_key"],
        figure_direction=row["figure_direction"],
        figure_value=row["figure_value"],
        status=row["status"],
        outcome=row["outcome"],
        closed_at=_read_instant(row["closed_at"]),
        closed_by=row["closed_by"],
    )


# --- opening ------------------------------------------------------------------------------


def _masked(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)


def _reason(error: BaseException, url: sa.URL) -> str:
    """The driver's first line, the password (if a driver ever echoed it) masked."""
    cause = getattr(error, "orig", None) or error
    line = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return line.replace(url.password, "***") if url.password else line


def _sqlite_setup(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_con: Any, _record: Any) -> None:
        # Transactions are begun below, so a write can take its lock up front.
        dbapi_con.isolation_level = None
        cursor = dbapi_con.cursor()
        cursor.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
        # WAL: readers never block the writer nor the writer them; one writer at a time.
        cursor.execute("pragma journal_mode = wal")
        cursor.execute("pragma synchronous = normal")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(con: sa.Connection) -> None:
        # A write takes the write lock at BEGIN: a deferred transaction that reads first and
        # then writes can fail at once with "database is locked" instead of waiting its turn.
        immediate = con.get_execution_options().get("notes_write")
        con.exec_driver_sql("begin immediate" if immediate else "begin")


def open(url: str | settings.Secret) -> Store:  # noqa: A001 (the store's own verb)
    """Open the notes store at a SQLAlchemy URL, creating or upgrading its schema.

    Raises NotesUnavailable with the URL shown with its password masked.
    """
    raw = url.reveal() if isinstance(url, settings.Secret) else str(url)
    try:
        parsed = sa.make_url(raw)
    except sa.exc.ArgumentError:
        raise NotesUnavailable(
            "[notes] url: not a SQLAlchemy URL (like sqlite:///data/tandem-notes.sqlite)"
        ) from None
    shown = _masked(parsed)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    try:
        if is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(
                parsed,
                connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            _sqlite_setup(engine)
        else:
            engine = sa.create_engine(parsed, pool_pre_ping=True)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError, OSError) as error:
        raise NotesUnavailable(
            f"cannot open the notes store {shown}: {_reason(error, parsed)}"
        ) from None
    try:
        _upgrade(engine)
    except CommandError as error:
        engine.dispose()
        raise NotesUnavailable(
            f"the notes store {shown} has a schema this Tandem does not know ({error}); "
            "upgrade Tandem"
        ) from None
    except sa.exc.SQLAlchemyError as error:
        engine.dispose()
        raise NotesUnavailable(
            f"cannot open the notes store {shown}: {_reason(error, parsed)}"
        ) from None
    return Store(engine, shown)


def _upgrade(engine: sa.Engine) -> None:
    """Bring the schema to HEAD in one transaction (Alembic, programmatically)."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as con:
        con.execution_options(notes_write=True)
        with con.begin():
            if con.dialect.name == "postgresql":
                # Two processes opening a new store at once: one upgrades, the other waits.
                con.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
            config.attributes["connection"] = con
            command.upgrade(config, "head")


def revision(store: Store) -> str | None:
    """The schema revision the store is at (HEAD once opened)."""
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as con:
        context = MigrationContext.configure(con, opts={"version_table": schema.VERSION_TABLE})
        return context.get_current_revision()
