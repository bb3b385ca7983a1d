"""The demo year's frame: its 365 UTC days, office hours, the drift story's days and moments,
timestamp helpers, and the seeded random streams each feed draws from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from connectors.demo_data.catalogue import DAYS_IN_YEAR, STORY

NS_PER_HOUR = 3_600 * 10**9
NS_PER_DAY = 24 * NS_PER_HOUR


@dataclass(frozen=True)
class Calendar:
    """The year's 365 UTC days: `first_day` .. `end`, and the exclusive cutoff after `end`."""

    end: dt.date
    first_day: dt.date
    day_start_ns: np.ndarray  # int64 ns since epoch, midnight UTC of each day
    weekday: np.ndarray  # 0 = Monday

    @property
    def n_days(self) -> int:
        return len(self.day_start_ns)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first_day, dt.time())

    @property
    def cutoff(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time())

    def day(self, index: int) -> dt.datetime:
        return self.start + dt.timedelta(days=index)


def year_calendar(end: dt.date) -> Calendar:
    """The 365 UTC days that end with (and include) `end`."""
    first_day = end - dt.timedelta(days=DAYS_IN_YEAR - 1)
    day_start_ns = (
        (np.datetime64(first_day, "D") + np.arange(DAYS_IN_YEAR).astype("timedelta64[D]"))
        .astype("datetime64[ns]")
        .astype(np.int64)
    )
    weekday = (first_day.weekday() + np.arange(DAYS_IN_YEAR)) % 7
    return Calendar(end, first_day, day_start_ns, weekday)


def epoch_ns(moment: dt.datetime) -> int:
    """Nanoseconds since the epoch of a naive datetime read as UTC."""
    return pd.Timestamp(moment).value


def to_utc(column: pd.Series) -> pd.Series:
    """A column of naive-UTC datetimes (None for missing) as datetime64[ns, UTC], to the second."""
    return pd.to_datetime(column, utc=True).astype("datetime64[ns, UTC]").dt.floor("s")


def hours(value: float) -> dt.timedelta:
    """A span of `value` hours (a float, as numpy draws it)."""
    return dt.timedelta(hours=float(value))


_OFFICE_OPENS, _OFFICE_CLOSES = 8, 19


def _next_office_moment(moment: dt.datetime) -> dt.datetime:
    """`moment` if the office is open then (Mon-Fri 08:00-19:00 UTC), else its next opening."""
    if moment.weekday() < 5 and _OFFICE_OPENS <= moment.hour < _OFFICE_CLOSES:
        return moment
    day = moment.date() if moment.hour < _OFFICE_OPENS else moment.date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(_OFFICE_OPENS))


def working_time(moment: dt.datetime, rng: np.random.Generator) -> dt.datetime:
    """`moment` if it falls in office hours, else a little after the next opening.

    People ship releases in office hours; one due at night or on a weekend goes out the next
    working morning, once the first coffee is done.
    """
    opening = _next_office_moment(moment)
    if opening == moment:
        return moment
    return opening + dt.timedelta(minutes=float(rng.uniform(30, 130)))


def after_office_hours(moment: dt.datetime, office_hours: float) -> dt.datetime:
    """`office_hours` of office time after `moment`: work pauses at night and at weekends."""
    remaining = hours(office_hours)
    moment = _next_office_moment(moment)
    while True:
        closes = dt.datetime.combine(moment.date(), dt.time(_OFFICE_CLOSES))
        if moment + remaining < closes:
            return moment + remaining
        remaining -= closes - moment
        moment = _next_office_moment(closes)


# Office hours per calendar day on average (11 a weekday, none at weekends): turns a span
# of calendar days into office hours.
OFFICE_HOURS_PER_DAY = (_OFFICE_CLOSES - _OFFICE_OPENS) * 5 / 7


def story_days(cal: Calendar) -> dict[str, int]:
    """Day indexes of the story's milestones within the year."""
    drift = cal.n_days - 1 - STORY["drift_start_days_before_end"]
    retrain = drift + STORY["retrain_days_after_drift"]
    return {
        "drift": drift,
        "incident": drift + STORY["incident_days_after_drift"],
        "retrain": retrain,
        "recovery": retrain + STORY["recovery_days_after_retrain"],
    }


def story_moments(cal: Calendar) -> dict[str, dt.datetime]:
    """Times of day are fixed so the story reads the same whatever `end` is."""
    days = story_days(cal)
    return {
        "drift_at": cal.day(days["drift"]) + dt.timedelta(hours=10, minutes=12),
        "incident_opened_at": cal.day(days["incident"]) + dt.timedelta(hours=9, minutes=41),
        "retrain_staging_at": cal.day(days["retrain"]) + dt.timedelta(hours=10, minutes=30),
        "retrain_started_at": cal.day(days["retrain"]) + dt.timedelta(hours=13, minutes=10),
        "retrain_finished_at": cal.day(days["retrain"]) + dt.timedelta(hours=13, minutes=32),
    }


def random_streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent random stream per feed, all from `default_rng(seed)`.

    Separate streams keep a feed's data unchanged when another feed's recipe changes, and let
    `story()` build the delivery timeline without drawing the request log.
    """
    # A stream added later goes last: a child's draws depend on its position only, so the
    # streams before it keep theirs.
    names = ("deployments", "changes", "incidents", "inference", "kpis", "tickets", "rework")
    return dict(zip(names, np.random.default_rng(seed).spawn(len(names)), strict=True))
