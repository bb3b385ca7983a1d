"""The filters every metric takes: a window [since, until) in UTC, a team, a model.

One definition of a window for every page, `report`, `retro` and `check`: whole UTC days,
[since, until), `until` excluded; "the last N days" are the N whole days ending with today,
today included (`last_days`), and `describe` says which days those are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import settings

DEFAULT_WINDOW_DAYS = 28


def parse_day(text: str, what: str) -> dt.datetime:
    """An ISO date as the UTC midnight that starts it; ValueError naming `what` otherwise.

    Windows are whole UTC days, so a date-time is accepted only at a UTC midnight
    (2026-11-01T00:00Z); any other time is refused rather than silently moved.
    """
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{what} must be an ISO date like 2026-11-01, got {text!r}") from None
    value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if not _midnight(value):
        raise ValueError(
            f"{what} must be a date like 2026-11-01 (windows are whole UTC days), got {text!r}"
        )
    return value


@dataclass(frozen=True)
class Filters:
    """A window [since, until) in UTC, and optionally one team and one model."""

    since: dt.datetime
    until: dt.datetime
    team: str | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        if self.since >= self.until:
            raise ValueError(f"the window is empty: since {self.since} is not before {self.until}")

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86400

    def previous(self) -> Filters:
        """The window of the same length just before this one, same team and model."""
        span = self.until - self.since
        return Filters(self.since - span, self.since, self.team, self.model)

    def params(self) -> dict:
        """Named parameters for the SQL files: $since, $until, $team, $model."""
        return {"since": self.since, "until": self.until, "team": self.team, "model": self.model}

    def as_dict(self) -> dict:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "team": self.team,
            "model": self.model,
        }


def today_end(now: dt.datetime | None = None) -> dt.datetime:
    """Midnight UTC after today (settings.now()): windows end there, so they hold all of today."""
    today = (now or settings.now()).astimezone(dt.UTC).date() + dt.timedelta(days=1)
    return dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC)


def last_days(
    n: int,
    now: dt.datetime | None = None,
    team: str | None = None,
    model: str | None = None,
) -> Filters:
    """The last `n` days: the `n` whole UTC days ending with today, today included.

    This is the one meaning of "the last 7 days" (or 28, 90) on every page, in `report`,
    `retro` and `check`: [midnight n - 1 days before today, midnight after today).
    """
    if n < 1:
        raise ValueError(f"the last {n} days hold no day: give 1 or more")
    until = today_end(now)
    return Filters(until - dt.timedelta(days=n), until, team or None, model or None)


def _midnight(value: dt.datetime) -> bool:
    return value == dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)


def describe(filters: Filters) -> str:
    """The window in words, for captions: "the 28 days 7 Nov – 4 Dec 2026 (UTC)".

    Whole days name their first and last day (the day before `until`, which is excluded);
    a window cut inside a day names its times.
    """
    since, until = filters.since.astimezone(dt.UTC), filters.until.astimezone(dt.UTC)
    if not (_midnight(since) and _midnight(until)):
        return f"{since:%d %b %Y %H:%M} to {until:%d %b %Y %H:%M} (UTC)"
    first, last = since.date(), (until - dt.timedelta(days=1)).date()
    days = (last - first).days + 1
    if days == 1:
        return f"the day {last.day} {last:%b %Y} (UTC)"
    if first.year != last.year:
        start = f"{first.day} {first:%b %Y}"
    elif first.month != last.month:
        start = f"{first.day} {first:%b}"
    else:
        start = f"{first.day}"
    return f"the {days} days {start} – {last.day} {last:%b %Y} (UTC)"


def window(
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    model: str | None = None,
    now: dt.datetime | None = None,
    days: int = DEFAULT_WINDOW_DAYS,
) -> Filters:
    """Filters from the CLIs' optional --since/--until dates: whole UTC days, `until` excluded.

    Without either, the last `days` days (today included, see `last_days`); with one of them,
    the `days` days from --since or up to --until. --until 2026-11-23 stops at its midnight,
    so the last day counted is 22 Nov.
    """
    if not since and not until:
        return last_days(days, now, team, model)
    end = parse_day(until, "--until") if until else None
    start = parse_day(since, "--since") if since else None
    if end is None:
        end = today_end(now)
    if start is None:
        start = end - dt.timedelta(days=days)
    return Filters(start, end, team or None, model or None)
