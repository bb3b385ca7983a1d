"""Green, amber or red for a reading against its target and guardrail: the one place
thresholds turn into colours (pages never compare numbers themselves)."""

from __future__ import annotations

import math
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
    higher_is_better = True
    if not _missing(target) and not _missing(guardrail):
        higher_is_better = guardrail <= target

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
