"""What people wrote beside the numbers, for one window and scope: the annotations, decisions
and retro actions of the notes store, as `report --json` gives them.

The store (notes/) knows no warehouse: what it checks a write against and which team a model
belongs to come from here (`known`), read from the warehouse's catalog of (team, model) pairs.

The store (SQLAlchemy, Alembic) is imported when a note is read or written, not with this
module: `report --json` imports it, and most warehouses have no notes to read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

import settings
from metrics import access, activity, formats, retro, session
from metrics.filters import Filters
from notes import values

if TYPE_CHECKING:
    from notes import store


def known(con: duckdb.DuckDBPyConnection, figures: list[str] | tuple[str, ...] = ()) -> store.Known:
    """The warehouse's (team, model) pairs and, for an action, the retro's figure keys
    (metrics.actions.figure_keys of the retro it is made in)."""
    from notes.values import Known

    return Known.of(_pairs(activity.catalog(con)), figures)


def _pairs(frame: Any) -> list[tuple[str | None, str | None]]:
    return [
        (
            None if formats.is_missing(team) else str(team),
            None if formats.is_missing(model) else str(model),
        )
        for team, model in zip(frame["team"], frame["model"], strict=True)
    ]


def has_store(config: settings.Config) -> bool:
    """False for the default SQLite file before anyone wrote a note: reading it would create it."""
    if not (config.notes.url or config.notes.url_env):  # the default file beside the warehouse
        return (Path(config.warehouse).parent / settings.DEFAULT_NOTES_FILE).exists()
    import sqlalchemy as sa

    url = sa.make_url(config.notes_url().reveal())
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return True
    return Path(url.database).exists()


def report_block(
    con: duckdb.DuckDBPyConnection, config: settings.Config, filters: Filters
) -> dict[str, list[dict[str, Any]]]:
    """`annotations`, `decisions` and `actions` of the window and scope, for `report --json`.

    Annotations overlap the window; decisions were decided in it (the model's, else the team's
    models', else all); actions were open at some time in it, each with its figure now (the
    retro of the 7 days ending with the window) and the two in words. The scope rule is
    notes.store's: company notes show in every view, a team's in its models' views.
    """
    empty: dict[str, list[dict[str, Any]]] = {"annotations": [], "decisions": [], "actions": []}
    if not has_store(config):
        return empty
    catalog = known(con)
    team, model = filters.team, filters.model
    from notes import store

    with contextlib.closing(store.open(config.notes_url())) as notes:
        found = notes.annotations(filters.since, filters.until, catalog, team, model)
        decided = notes.decisions(catalog, model, team, filters.since.date(), filters.until.date())
        made = notes.actions(filters.since, filters.until, catalog, team, model)
    return {
        "annotations": [a.as_dict() for a in found],
        "decisions": [d.as_dict() for d in decided],
        "actions": _with_figures(con, config, filters, made),
    }


def _with_figures(
    con: duckdb.DuckDBPyConnection,
    config: settings.Config,
    filters: Filters,
    made: list[store.Action],
) -> list[dict[str, Any]]:
    week = Filters(filters.until - dt.timedelta(days=7), filters.until)
    built: dict[tuple[str | None, str | None], retro.Retro] = {}
    out = []
    for action in made:
        row = action.as_dict()
        if action.figure_key is not None:
            scope = (action.team, action.model)
            if scope not in built:
                built[scope] = retro.build(
                    con,
                    week,
                    action.team,
                    action.model,
                    config.workflow,
                    retro.week_label(week),
                    min_people=config.min_people,
                )
            from metrics import actions

            now = actions.reading(built[scope], action.figure_key)
            row["figure_now"] = {"week": week.as_dict(), "value": now.value, "label": now.label}
            row["in_words"] = actions.in_words(action, now)
        out.append(row)
    return out


# --- for the pages (which import metrics, never notes/) -------------------------------------

# `[notes] url_env` naming a variable that is not set: the pages say so and go on.
ConfigError = settings.ConfigError
# The store's own names, given as this module's (NotesError, Annotation, Decision, Action)
# when first asked for; TEXT_LIMIT, which forms show, without importing the store.
_FROM_STORE = ("NotesError", "Annotation", "Decision", "Action")
TEXT_LIMIT = values.TEXT_LIMIT


def __getattr__(name: str) -> Any:
    if name in _FROM_STORE:
        from notes import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def actor(
    config: settings.Config, signed_in: str | None = None, admin: bool = False
) -> store.Actor:
    """Who writes from this app: the signed-in person (an admin when Tandem's `[access]` or
    `[notes] admins` says so), else the OS user (no sign-in), an admin when `[notes] admins`
    names them."""
    from notes.values import Actor, local_actor

    if signed_in is None:
        return local_actor(config.notes.admins)
    return Actor(signed_in, admin or signed_in in set(config.notes.admins))


def open_store(config: settings.Config) -> store.Store:
    """The notes store of the configuration, its schema upgraded (NotesUnavailable if not)."""
    from notes import store

    return store.open(config.notes_url())


def known_at(
    path: Path,
    figures: list[str] | tuple[str, ...] = (),
    scope: access.Scope | None = None,
    contracts_path: Path | None = None,
) -> store.Known:
    """`known` from a short-lived read-only connection to the warehouse at `path`, as `scope`
    sees it (a signed-in person's teams and models only, and notes read to match)."""
    with session.reading(path, scope, contracts_path) as con:
        return known_from(con, figures, scope)


def known_from(
    con: Any, figures: list[str] | tuple[str, ...] = (), scope: access.Scope | None = None
) -> store.Known:
    """`known` from `con`, a read connection opened for `scope` (session.reading)."""
    from notes.values import Known

    pairs = _pairs(activity.catalog(con))
    return Known.of(pairs, figures, restricted=scope is not None and not scope.admin)


def log_access(config: settings.Config, who: str, event: str, scope: str, detail: str = "") -> None:
    """One line of the access log (sign-in, refusal, download) in the notes store."""
    with open_store(config) as notes:
        notes.log_access(who, event, scope, detail)


def access_log(config: settings.Config, limit: int = 500) -> list[store.AccessEntry]:
    """The access log's latest `limit` lines, newest first (nothing before anyone signed in)."""
    if not has_store(config):
        return []
    with open_store(config) as notes:
        return notes.access_log(limit)
