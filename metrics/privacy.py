"""Minimum group size: a team-level figure built from fewer than k distinct people is withheld.

Each registry entry names its people basis (`Metric.people`: "authors" or "assignees", or None
for figures about models and systems, never withheld); sql/privacy_people.sql counts the people
behind a window and its filters; `withhold` decides. `[privacy] min_people` is k (default 3).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from metrics.db import rows
from metrics.filters import Filters

# The people bases a figure can be built from, the columns of sql/privacy_people.sql.
BASES = ("authors", "assignees")
DEFAULT_MIN_PEOPLE = 3


@dataclass(frozen=True)
class Withheld:
    """Why a figure is not shown: fewer than `k` people are behind it."""

    k: int

    @property
    def reason(self) -> str:
        return f"fewer than {self.k} people — hidden"

    @property
    def note(self) -> str:
        """The sentence under a page or export that shows figures marked Hidden."""
        return (
            f"Hidden: a team-level figure built from fewer than {self.k} people is not shown "
            f"([privacy] min_people = {self.k})."
        )

    def __str__(self) -> str:
        return self.reason


def withhold(people: int | None, k: int) -> Withheld | None:
    """Withheld when 1 <= people < k; None (shown) otherwise. No people at all (0, or none
    known) is no figure to hide: the figure is empty or names nobody, and is shown as it is."""
    if people is not None and 1 <= people < k:
        return Withheld(k)
    return None


# The counts of `people` read inside `counted_once`, by connection and filters; None outside.
_COUNTED: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "tandem_people_counted", default=None
)


@contextlib.contextmanager
def counted_once() -> Iterator[None]:
    """Within the block, `people` counts each window once per connection: a page checks the
    same week and month before each of its figures (a tenth of a second each at the reference
    scale). The block must end before its connections close (a connection's id is the key),
    and a connection sees one warehouse state, so no count outlives what it counted. Per
    context: each session's run has its own."""
    token = _COUNTED.set({})
    try:
        yield
    finally:
        _COUNTED.reset(token)


def people(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, int]:
    """How many distinct people are behind the window's figures, per basis ("authors",
    "assignees"), for the filters' team and model."""
    params = filters.params()
    counted = _COUNTED.get()
    key = (id(con), tuple(sorted(params.items())))
    if counted is not None and key in counted:
        return dict(counted[key])
    ((authors, assignees),) = rows(con, "privacy_people", **params)
    found = {"authors": int(authors or 0), "assignees": int(assignees or 0)}
    if counted is not None:
        counted[key] = dict(found)
    return found


def withheld(
    con: duckdb.DuckDBPyConnection, filters: Filters, k: int
) -> dict[str, Withheld | None]:
    """Per basis, whether the window's figures built on it are withheld at `k` people."""
    return {basis: withhold(count, k) for basis, count in people(con, filters).items()}


def blank(values: dict, keys: tuple[str, ...], why: Withheld | None) -> dict:
    """`values` with `keys` set to None and `withheld` set to the reason (None when shown):
    how `report --json` carries a withheld figure."""
    out = dict(values)
    if why is not None:
        for key in keys:
            if key in out:
                out[key] = None
    out["withheld"] = why.reason if why else None
    return out


def rows_note(frame: Any, column: str) -> str | None:
    """The sentence under a table with one row per team or model (`column`) saying which rows
    are withheld and why ("Hidden for risk: fewer than 3 people — hidden."); None if none is."""
    if not isinstance(frame, pd.DataFrame) or "withheld" not in frame.columns:
        return None
    hidden = frame[frame["withheld"].notna()]
    if hidden.empty:
        return None
    names = ", ".join(str(v) for v in hidden[column])
    return f"Hidden for {names}: {hidden['withheld'].iloc[0]}."
