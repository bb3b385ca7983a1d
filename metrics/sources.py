"""Source health: last sync per source, what each holds, how fresh, what was quarantined."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

import settings
from metrics import formats
from metrics.db import frame


def source_status(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per (source, feed): rows held, quarantined, latest event, last sync and error."""
    return frame(con, "source_status")


def quarantine_reasons(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Quarantined rows counted per source, feed and reason."""
    return frame(con, "quarantine_reasons")


def quarantine_rows(
    con: duckdb.DuckDBPyConnection, source: str | None = None, limit: int = 500
) -> pd.DataFrame:
    """The quarantined rows themselves (origin, row number, reason, raw), newest first."""
    return frame(con, "quarantine_rows", source=source, limit=limit)


FRESH, STALE, NEVER = "fresh", "stale", "never synced"
# The status level each verdict shows as (metrics.status.BADGES gives its badge colour).
LEVELS = {FRESH: "green", STALE: "amber", NEVER: "red"}


@dataclass(frozen=True)
class Expected:
    """A configured source and how often it is expected to sync."""

    source: str
    kind: str
    every_hours: float


def verdict(
    hours_since_success: float | None, every_hours: float, syncs: int = 0
) -> tuple[str, str]:
    """A source's freshness and the reason, from the hours since its last successful sync.

    Fresh while that is at most `every_hours`, stale after; never synced without a success.
    A sync stamped after now (a clock ahead of the pinned one) counts as just now.

    Returns:
        (verdict, reason), e.g. ("stale", "last synced 3 d 2 h ago, expected every 24 h").
    """
    expected = f"expected every {formats.interval(every_hours)}"
    if hours_since_success is None or pd.isna(hours_since_success):
        ran = (
            "no sync has run yet"
            if not syncs
            else f"{syncs:,} sync{'s' if syncs != 1 else ''} ran, none succeeded"
        )
        return NEVER, f"{ran}; {expected}"
    hours = max(float(hours_since_success), 0.0)
    ago = "just now" if hours < 0.05 else f"{formats.duration(hours)} ago"
    return (FRESH if hours <= every_hours else STALE), f"last synced {ago}, {expected}"


def freshness(
    con: duckdb.DuckDBPyConnection, expected: Sequence[Expected], now: dt.datetime
) -> pd.DataFrame:
    """One row per source, configured or synced: its freshness verdict at `now` and why.

    A source in the configuration that never synced is "never synced"; a source that synced
    but is no longer configured is judged against the default interval.

    Returns columns source, kind, verdict, reason, last_success_at, last_sync_at, last_status,
    hours_since_success, expected_every_hours; by source.
    """
    synced = frame(con, "source_freshness", now=now).set_index("source")
    configured = {e.source: e for e in expected}
    rows = []
    for source in sorted(set(configured) | set(synced.index)):
        run = synced.loc[source] if source in synced.index else None
        every = (
            configured[source].every_hours
            if source in configured
            else settings.DEFAULT_EXPECTED_EVERY_HOURS
        )
        kind = configured[source].kind if source in configured else run["kind"]
        hours = None if run is None else run["hours_since_success"]
        syncs = 0 if run is None else int(run["syncs"])
        state, reason = verdict(hours, every, syncs)
        rows.append(
            {
                "source": source,
                "kind": kind,
                "verdict": state,
                "reason": reason,
                "last_success_at": None if run is None else run["last_success_at"],
                "last_sync_at": None if run is None else run["last_sync_at"],
                "last_status": None if run is None else run["last_status"],
                "hours_since_success": None if hours is None or pd.isna(hours) else float(hours),
                "expected_every_hours": every,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "source",
            "kind",
            "verdict",
            "reason",
            "last_success_at",
            "last_sync_at",
            "last_status",
            "hours_since_success",
            "expected_every_hours",
        ],
    )


def expectations(config: settings.Config) -> tuple[Expected, ...]:
    """Each configured source and its expected interval (`expected_every_hours`)."""
    return tuple(Expected(s.name, s.kind, s.expected_every_hours) for s in config.sources)
