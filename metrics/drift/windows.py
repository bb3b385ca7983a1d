"""Windows of whole UTC days: the current window, its reference, and the timeline's steps.

Profiles are per UTC day, so every window is whole days [since, until). A reference is the
window just before (default), a fixed window, or a model version's first days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from metrics.db import sql
from metrics.filters import today_end

# The drift timeline is per day up to this many days, per week beyond.
TIMELINE_DAILY_UP_TO_DAYS = 120


@dataclass(frozen=True)
class Window:
    """Whole UTC days [since, until): profiles are per day, so windows are too."""

    since: dt.date
    until: dt.date

    @property
    def days(self) -> int:
        return (self.until - self.since).days

    def instants(self) -> tuple[dt.datetime, dt.datetime]:
        return (
            dt.datetime.combine(self.since, dt.time(), dt.UTC),
            dt.datetime.combine(self.until, dt.time(), dt.UTC),
        )

    def as_json(self, rows: int) -> dict:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "rows": rows}


def day_window(since: dt.datetime | dt.date, until: dt.datetime | dt.date) -> Window:
    """The whole days covering [since, until): since rounded down, until rounded up."""

    def day(value, up: bool) -> dt.date:
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC) if value.tzinfo else value
            rounded = value.date()
            if up and value.time() != dt.time():
                rounded += dt.timedelta(days=1)
            return rounded
        return value

    return Window(day(since, False), day(until, True))


@dataclass(frozen=True)
class Reference:
    """What the current window is compared with.

    kind "previous" (default): the window of equal length just before; "fixed": `window`;
    "version": the first `days` days of model version `version`.
    """

    kind: str = "previous"
    window: Window | None = None
    version: str | None = None
    days: int = 7

    def resolve(self, con: duckdb.DuckDBPyConnection, model: str, current: Window) -> Window:
        if self.kind == "fixed" and self.window is not None:
            return self.window
        if self.kind == "version" and self.version is not None:
            (first,) = con.execute(
                sql("drift_version_start"), {"model": model, "version": self.version}
            ).fetchone()
            if first is None:
                raise ValueError(f"model {model!r} has no requests from version {self.version!r}")
            clamped = version_window(first, self.days, current, today_end().date())
            if clamped is None:
                raise ValueError(
                    f"Version {self.version} of {model} first served on {first}, on or after "
                    f"the current window's start ({current.since}) or today: its first days "
                    "leave nothing before the window to compare with. Pick an older version or "
                    "a shorter window."
                )
            return clamped
        length = dt.timedelta(days=current.days)
        return Window(current.since - length, current.since)


def version_window(
    first: dt.date, days: int, current: Window, today_until: dt.date
) -> Window | None:
    """A version's first `days` days as a reference: from its first day to the earliest of
    first + days, the current window's start and the end of today; None when nothing is left.

    A reference never overlaps the window it is compared with, nor reaches into days not yet
    lived (whose profiles would be empty or partial).
    """
    until = min(first + dt.timedelta(days=days), current.since, today_until)
    return Window(first, until) if until > first else None


def default_version(versions: pd.DataFrame, days: int, current: Window) -> str | None:
    """The version to offer first as a reference: the newest whose first `days` days end by the
    current window's start; else the newest that started before it (its days are cut short);
    else the newest. `versions` holds version and first_day, newest first."""
    if versions.empty:
        return None
    first = pd.to_datetime(versions["first_day"]).dt.date
    for fits in (
        [f + dt.timedelta(days=days) <= current.since for f in first],
        [f < current.since for f in first],
    ):
        chosen = versions["version"][fits]
        if not chosen.empty:
            return str(chosen.iloc[0])
    return str(versions["version"].iloc[0])


def steps(span: Window, days: int = 1) -> dict[str, Window]:
    """`span` cut into steps of `days` days (the last one may be shorter), keyed by start date."""
    out: dict[str, Window] = {}
    start = span.since
    while start < span.until:
        end = min(start + dt.timedelta(days=days), span.until)
        out[start.isoformat()] = Window(start, end)
        start = end
    return out


def timeline_bucket_days(span: Window) -> int:
    """The timeline's step: a day, or a week past TIMELINE_DAILY_UP_TO_DAYS days."""
    return 1 if span.days <= TIMELINE_DAILY_UP_TO_DAYS else 7
