"""Windows of whole UTC days: the current window, its reference, and the timeline's steps.

Profiles are per UTC day, so every window is whole days [since, until). A reference is the
window just before (default), a fixed window, or a model version's first days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from metrics.db import sql

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
            return Window(first, first + dt.timedelta(days=self.days))
        length = dt.timedelta(days=current.days)
        return Window(current.since - length, current.since)


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
