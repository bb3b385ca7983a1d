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
