"""Green, amber or red for a reading against its target and guardrail: the one place
thresholds turn into colours (pages never compare numbers themselves)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

COLOURS = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828", "grey": "#9e9e9e"}
# Streamlit's named badge colours for the same levels.
BADGES = {"green": "green", "amber": "orange", "red": "red", "grey": "gray"}


@dataclass(frozen=True)
class Status:
    """A colour and the plain sentence that says why."""

    level: str  # green | amber | red | grey
    reason: str

    @property
    def colour(self) -> str:
        return COLOURS[self.level]

    @property
    def badge(self) -> str:
        return BADGES[self.level]


def _missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


SEVERITY = ("green", "amber", "red")


def worst(levels: list[str]) -> str:
    """The most severe of green, amber and red."""
    return max(levels, key=SEVERITY.index)


def format_kpi(value: float | None, unit: str | None) -> str:
    """A KPI value in plain words: ratios as percentages, currencies with their unit."""
    if _missing(value):
        return "no data"
    if unit in {"ratio", "%"}:
        return f"{value * 100:.2f}%"
    if unit:
        return f"{value:,.2f} {unit}"
    return f"{value:,.3g}"


def kpi_status(value: float | None, target: float | None, guardrail: float | None) -> Status:
    """Green when the target is met, amber when only the guardrail holds, red when it breaks.

    The direction comes from the pair: a guardrail below the target means higher is better
    (click-through rate), above it means lower is better (chargeback rate). With no guardrail,
    missing the target is amber; with neither, the reading has no status (grey).
    """
    if _missing(value):
        return Status("grey", "no data in this window")
    if _missing(target) and _missing(guardrail):
        return Status("grey", "no target set")
    higher_is_better = _higher_is_better(target, guardrail)

    def meets(threshold: float) -> bool:
        return value >= threshold if higher_is_better else value <= threshold

    if not _missing(guardrail) and not meets(guardrail):
        side = "below" if higher_is_better else "above"
        return Status("red", f"{side} its guardrail")
    if _missing(target):
        return Status("green", "guardrail holds")
    if meets(target):
        return Status("green", "on target")
    side = "below" if higher_is_better else "above"
    return Status("amber", f"{side} target, guardrail holds")


def day_text(day: dt.date) -> str:
    """A day as people write it: 18 Nov."""
    return f"{day.day} {day:%b}"


def window_text(since: dt.datetime, until: dt.datetime) -> str:
    """The window a status judges, in words: "last 28 days to 4 Dec" (`until` is excluded, so
    the last day is the one before it when it falls on midnight)."""
    last = (until - dt.timedelta(microseconds=1)).date()
    days = round((until - since).total_seconds() / 86400)
    return f"last {days} day{'s' if days != 1 else ''} to {day_text(last)}"


def badge_text(level: str, window: str) -> str:
    """What a status badge reads: "GREEN · last 28 days to 4 Dec"."""
    return f"{level.upper()} · {window}"


@dataclass(frozen=True)
class KpiStatus(Status):
    """A KPI's status over a window, with the days behind it: how many days had data, on how
    many the guardrail broke, the last of them, and the first day with data after it."""

    days: int = 0
    broken_days: int = 0
    last_broken: dt.date | None = None
    recovered_since: dt.date | None = None


def kpi_window_status(
    value: float | None,
    daily: Sequence[tuple[dt.date, float | None]],
    target: float | None,
    guardrail: float | None,
) -> KpiStatus:
    """A KPI's status over a window from its value over the window and its value on each day.

    Red while the guardrail is broken: the latest day with data breaks it. Amber when it broke
    on any earlier day of the window ("broke its guardrail on 9 of the 28 days with data,
    recovered since 18 Nov"), or when the window's value misses the target while the guardrail
    holds. Green on target; grey with no data or with neither a target nor a guardrail. The
    direction comes from the pair, as in `kpi_status`.
    """
    days = sorted((day, v) for day, v in daily if not _missing(v))
    overall = kpi_status(value, target, guardrail)
    if overall.level == "grey" or _missing(guardrail) or not days:
        return KpiStatus(overall.level, overall.reason, days=len(days))
    broken = [day for day, v in days if kpi_status(v, target, guardrail).level == "red"]
    side = "below" if _higher_is_better(target, guardrail) else "above"
    if not broken:
        return KpiStatus(overall.level, overall.reason, days=len(days))
    # Days without a figure are not counted, and the sentence says so: a window of 28 days
    # whose last day is not over yet judges 27.
    count = (
        "its one day with data"
        if len(days) == 1
        else f"{len(broken)} of the {len(days)} days with data"
    )
    latest = days[-1][0]
    if broken[-1] == latest:
        return KpiStatus(
            "red",
            f"{side} its guardrail on its latest day, {day_text(latest)} (broke it on {count})",
            days=len(days),
            broken_days=len(broken),
            last_broken=latest,
        )
    recovered = next(day for day, _ in days if day > broken[-1])
    return KpiStatus(
        "amber",
        f"broke its guardrail on {count}, recovered since {day_text(recovered)}",
        days=len(days),
        broken_days=len(broken),
        last_broken=broken[-1],
        recovered_since=recovered,
    )


def _higher_is_better(target: float | None, guardrail: float | None) -> bool:
    if _missing(target) or _missing(guardrail):
        return True
    return guardrail <= target


# DORA performance levels (the 2023 report's bands), best first: (level, test on the value).
DORA_BANDS = {
    # median deployment days per week (>= 5 elite, >= 1 high), else per month (>= 1 medium)
    "lead_time": (
        ("elite", lambda h: h < 24),
        ("high", lambda h: h < 24 * 7),
        ("medium", lambda h: h < 24 * 30),
    ),
    "change_failure_rate": (
        ("elite", lambda r: r <= 0.05),
        ("high", lambda r: r <= 0.10),
        ("medium", lambda r: r <= 0.15),
    ),
    "recovery_time": (
        ("elite", lambda h: h < 1),
        ("high", lambda h: h < 24),
        ("medium", lambda h: h < 24 * 7),
    ),
}
DORA_LEVEL_COLOURS = {"elite": "green", "high": "green", "medium": "orange", "low": "red"}


def dora_level(metric: str, value: float | None) -> str | None:
    """elite, high, medium or low for a lead time or recovery time (hours) or a change failure
    rate (0-1); None when there is no value to judge."""
    if _missing(value):
        return None
    for level, test in DORA_BANDS[metric]:
        if test(value):
            return level
    return "low"


def deployment_frequency_level(days_per_week: float | None, days_per_month: float | None) -> str:
    """Median deployment days per Monday-based week >= 5 elite, >= 1 high; else median
    deployment days per calendar month >= 1 medium; else low."""
    weekly = 0.0 if _missing(days_per_week) else days_per_week
    monthly = 0.0 if _missing(days_per_month) else days_per_month
    if weekly >= 5:
        return "elite"
    if weekly >= 1:
        return "high"
    return "medium" if monthly >= 1 else "low"
