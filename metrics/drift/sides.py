"""A column on one side of a comparison (reference or current), as its profile rows tell it.

Numeric columns come as bins (count, min, max, mean, m2 per fixed bin: profiling/queries.py),
text and boolean columns as a count per value. A side keeps what the verdicts need: how many
values, their mean and spread, the bins, and the exact count per value when it is known.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from profiling.queries import VALUE_CAP, ProfiledColumn


@dataclass(frozen=True)
class Bins:
    """A numeric column's bins holding values, sorted by bin: number, count, min and max."""

    index: np.ndarray
    n: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray


@dataclass
class Side:
    """One column on one side (reference or current), as its profile tells it."""

    rows: int = 0  # all rows, missing values included
    n: int = 0  # values left after dropping missing ones
    mean: float | None = None
    m2: float | None = None
    # Numeric: the bins that hold values.
    bins: Bins | None = None
    # Exact count per value, when known (None once a part had too many distinct values or two
    # values shared a bin).
    values: dict[Any, int] | None = None
    # A floor on the number of distinct values, when `values` is unknown.
    distinct_at_least: int = 0

    @property
    def distinct(self) -> int:
        return len(self.values) if self.values is not None else self.distinct_at_least

    @property
    def std(self) -> float:
        return math.sqrt(max(self.m2, 0.0) / self.n) if self.n and self.m2 is not None else 0.0


BIN_FIELDS = ("bin", "n", "mean", "m2", "minimum", "maximum")


def numeric_side(bins: pd.DataFrame) -> Side:
    """A numeric column's side from its bin rows (bin, n, minimum, maximum, mean, m2)."""
    return _numeric_side(*(bins[f].to_numpy(dtype=float) for f in BIN_FIELDS))


def _numeric_side(
    number: np.ndarray,
    counts: np.ndarray,
    means: np.ndarray,
    m2: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> Side:
    empty = np.isnan(number)
    keep = ~empty & (counts > 0)
    order = np.argsort(number[keep], kind="stable")
    counts_kept = counts[keep][order]
    n = int(counts_kept.sum())
    side = Side(rows=n + int(counts[empty].sum()), n=n)
    if not n:
        return side
    means = means[keep][order]
    m2 = m2[keep][order]
    low = low[keep][order]
    high = high[keep][order]
    side.mean = float((counts_kept * means).sum() / n)
    side.m2 = float((m2 + counts_kept * (means - side.mean) ** 2).sum())
    side.bins = Bins(number[keep][order], counts_kept, low, high)
    single = low == high
    if single.all():
        side.values = dict(zip(low.tolist(), counts_kept.astype(int).tolist(), strict=True))
    else:
        side.distinct_at_least = len(low) + int((~single).sum())
    return side


def value_side(values: pd.DataFrame) -> Side:
    """A text or boolean column's side from its value rows (value, n, capped)."""
    side = Side()
    counts: dict[Any, int] = {}
    capped = False
    for value, n, is_capped in zip(
        values["value"].tolist(), values["n"].tolist(), values["capped"].tolist(), strict=True
    ):
        n = int(n)
        side.rows += n
        if is_capped:
            capped = True
            side.n += n
        elif value is not None and value == value:  # not missing (None or NaN)
            side.n += n
            counts[value] = counts.get(value, 0) + n
    if capped:
        side.distinct_at_least = VALUE_CAP + 1
    else:
        side.values = {k: v for k, v in counts.items() if v > 0}
    return side


def sides_by_part(
    columns: Sequence[ProfiledColumn], bins: pd.DataFrame, values: pd.DataFrame
) -> dict[tuple[str, str], Side]:
    """Every (column, part) side present in the profile rows, each built once."""
    sides: dict[tuple[str, str], Side] = {}
    numeric = {c.name for c in columns if c.numeric}
    if len(bins):
        # Sorted by (feature, part) once, each side a slice of plain arrays: a DataFrame per
        # group cost more than the side built from it (a timeline has hundreds).
        # (A daily timeline is 200,000 rows: the cuts are found by comparing whole arrays.)
        ordered = bins.sort_values(["feature", "part"], kind="stable")
        features, parts = ordered["feature"].to_numpy(), ordered["part"].to_numpy()
        fields = [ordered[f].to_numpy(dtype=float) for f in BIN_FIELDS]
        cuts = np.flatnonzero((features[1:] != features[:-1]) | (parts[1:] != parts[:-1])) + 1
        starts = [0, *cuts.tolist(), len(ordered)]
        for start, end in zip(starts[:-1], starts[1:], strict=True):
            feature, part = features[start], parts[start]
            if feature in numeric:
                sides[(feature, part)] = _numeric_side(*(f[start:end] for f in fields))
    if len(values):
        for (feature, part), rows in values.groupby(["feature", "part"]):
            if feature not in numeric:
                sides[(feature, part)] = value_side(rows)
    return sides


def sides_from_profiles(
    columns: Sequence[ProfiledColumn], bins: pd.DataFrame, values: pd.DataFrame
) -> dict[str, tuple[Side, Side]]:
    """Per column, its (reference, current) sides from profile rows whose `part` names the side."""
    by_part = sides_by_part(columns, bins, values)
    return {
        c.name: (
            by_part.get((c.name, "reference"), Side()),
            by_part.get((c.name, "current"), Side()),
        )
        for c in columns
    }
