"""Retro actions in words: the figure an action should move, when it was made and now.

An action may link one of the retro's figures: a card's key (`lead_time`, `deployments`, ...,
see metrics.retro.GOOD_DIRECTION) or a hand-off's wait (`handoff_wait:data_science->engineering`,
the median wait of that hand-off). Its value when made is the retro's own value that week (the
caller passes it to the store); its value now is the same figure in a later week's retro, so
both read as the retro cards show them ("Hand-off wait data science → engineering went from
31.0 h to 12.0 h (the way wanted)").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from metrics import formats, retro

if TYPE_CHECKING:
    # A type only: the store (SQLAlchemy, Alembic) is not imported by the retro page's view.
    from notes.store import Action

HANDOFF_PREFIX = "handoff_wait:"


@dataclass(frozen=True)
class Reading:
    """One retro figure's value in one retro, with its label and unit ("count", "hours",
    "share")."""

    key: str
    label: str
    unit: str
    value: float | None


def figure_keys(built: retro.Retro) -> list[str]:
    """The figures an action made in this retro may link: each card's key, then one key per
    hand-off the week had (`handoff_wait:<from>-><to>`)."""
    return [f.key for f in built.figures] + [HANDOFF_PREFIX + name for name in built.handoffs]


def label(key: str) -> str:
    """A figure key as the retro names it: "Lead time (median)", "Hand-off wait data
    science → engineering"."""
    if key.startswith(HANDOFF_PREFIX):
        name = formats.handoff(key.removeprefix(HANDOFF_PREFIX))
        return f"Hand-off wait {name[:1].lower()}{name[1:]}"
    names = {
        "deployments": "deployment_frequency",
        "change_failure_rate": "change_failure",
        "incidents": "incidents_opened",
    }
    return retro.LABELS.get(names.get(key, key), formats.words(key))


def reading(built: retro.Retro, key: str) -> Reading:
    """The figure `key` this week in a built retro (value None when the week has none)."""
    if key.startswith(HANDOFF_PREFIX):
        wait = built.handoffs.get(key.removeprefix(HANDOFF_PREFIX))
        return Reading(key, label(key), "hours", None if wait is None else wait["median"])
    figure = next((f for f in built.figures if f.key == key), None)
    if figure is None:
        return Reading(key, label(key), "count", None)
    value = None if formats.is_missing(figure.this_week) else float(figure.this_week)
    return Reading(key, figure.label, figure.unit, value)


def in_words(action: Action, now: Reading) -> str | None:
    """The action's figure when it was made and now, in one sentence; None without a figure.

    Both values show in one scale, the one the retro's card shows now (hours in days from 48 h,
    by the value now; by the value when made if there is none now), and the move is judged on
    the shown numbers against the direction wanted.
    """
    if action.figure_key is None:
        return None
    before, after = action.figure_value, now.value
    if before is None and after is None:
        return f"{now.label} had no figure when the action was made, nor now."
    if before is None:
        shown = retro.format_value(after, now.unit)
        return f"{now.label} had no figure when the action was made; now {shown}."
    basis = before if after is None else after
    scale = "days" if now.unit == "hours" and basis >= 48 else "h"
    was = retro.format_value(before, now.unit, scale)
    if after is None:
        return f"{now.label} was {was} when the action was made; no figure now."
    is_ = retro.format_value(after, now.unit, scale)
    if was == is_:
        return f"{now.label} stayed at {was} (wanted {action.figure_direction})."
    moved = "up" if after > before else "down"
    verdict = "the way wanted" if moved == action.figure_direction else "the other way"
    return f"{now.label} went from {was} to {is_} ({verdict})."
