"""The filters every metric takes: a window [since, until) in UTC, a team, a model."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import settings

DEFAULT_WINDOW_DAYS = 28


def parse_day(text: str, what: str) -> dt.datetime:
    """An ISO date (or date-time) as a UTC datetime; ValueError naming `what` otherwise."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what} must be an ISO date like 2026-11-01, got {text!r}") from None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


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


def window(
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    model: str | None = None,
    now: dt.datetime | None = None,
) -> Filters:
    """Filters from optional ISO strings; the default window is the 28 days up to now.

    As everywhere in Tandem, `until` is excluded: --until 2026-11-23 stops at its midnight.
    """
    now = now or settings.now()
    end = parse_day(until, "--until") if until else now
    start = parse_day(since, "--since") if since else end - dt.timedelta(days=DEFAULT_WINDOW_DAYS)
    return Filters(start, end, team or None, model or None)
