"""Drift verdicts in Evidently's terms: one column's, and a whole comparison's (dataset drift).

A column's type and test follow Evidently 0.7's DataDriftPreset (see the package docstring);
its score comes from the profiles, or, near a threshold, from its raw values when they can be
read (a `RawFetch`). A model contract may override the thresholds and the dataset drift share.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metrics.drift.sides import Side
from metrics.drift.statistics import (
    chi_square_p,
    jensen_shannon,
    ks_from_bins,
    value_counts,
    wasserstein_from_bins,
    wasserstein_raw,
    z_test_p,
)
from profiling.queries import ProfiledColumn

INTEGER_CARDINALITY_LIMIT = 10
SMALL_REFERENCE = 1000
DATASET_DRIFT_SHARE = 0.5

METHODS = {
    "ks": ("K-S p_value", 0.05),
    "chisquare": ("chi-square p_value", 0.05),
    "z": ("Z-test p_value", 0.05),
    "wasserstein": ("Wasserstein distance (normed)", 0.1),
    "jensenshannon": ("Jensen-Shannon distance", 0.1),
}
P_VALUE_METHODS = {"ks", "chisquare", "z"}
# Display names of the methods whose score is a distance (comparable over time on one chart).
DISTANCE_METHOD_NAMES = {METHODS[m][0] for m in ("wasserstein", "jensenshannon")}


@dataclass
class ColumnDrift:
    """One column's drift verdict, in Evidently's terms."""

    column: str
    role: str  # feature or prediction
    type: str  # numerical, categorical, text, or empty (no values on a side)
    method: str | None = None
    method_name: str | None = None
    score: float | None = None
    threshold: float | None = None
    drifted: bool | None = None
    # How the score was settled: from the profiles ("profile") or from raw values ("raw").
    settled: str = "profile"
    # For Wasserstein from bins: the bounds the true score is known to lie within.
    bounds: tuple[float, float] | None = None
    reference_values: int = 0
    current_values: int = 0
    note: str | None = None

    @property
    def tested(self) -> bool:
        return self.drifted is not None

    def as_json(self) -> dict:
        return {
            "type": self.type,
            "method": self.method_name,
            "score": self.score,
            "threshold": self.threshold,
            "drifted": self.drifted,
        }


RawFetch = Callable[[str], np.ndarray]  # side ("reference" or "current") -> cleaned values


def column_type(column: ProfiledColumn, current: Side, raw: RawFetch | None) -> str:
    """Evidently's type for a column, from the current data."""
    if column.data_type == "BOOLEAN":
        return "categorical"
    if column.numeric and not column.integer:
        return "numerical"
    if column.integer:
        if current.values is None and current.distinct_at_least <= INTEGER_CARDINALITY_LIMIT:
            distinct = len(np.unique(raw("current"))) if raw else current.distinct_at_least
        else:
            distinct = current.distinct
        return "categorical" if distinct <= INTEGER_CARDINALITY_LIMIT else "numerical"
    if current.values is None:
        distinct = len(pd.unique(raw("current"))) if raw else current.distinct_at_least
    else:
        distinct = len(current.values)
    return "text" if distinct > current.n * 0.5 else "categorical"


def decide(
    column: ProfiledColumn,
    reference: Side,
    current: Side,
    raw: RawFetch | None = None,
    threshold: float | None = None,
) -> ColumnDrift:
    """The verdict Evidently's defaults give for one column, from its two profiles."""
    result = ColumnDrift(
        column.name,
        column.role,
        "empty",
        reference_values=reference.n,
        current_values=current.n,
    )
    if not reference.n or not current.n:
        result.note = "no values in the " + ("reference" if not reference.n else "current data")
        return result
    result.type = column_type(column, current, raw)
    if result.type == "text":
        result.note = "free text: not tested"
        return result
    both_known = reference.values is not None and current.values is not None
    if both_known:
        n_values = len(set(reference.values) | set(current.values))
    else:
        n_values = max(reference.distinct, current.distinct)
    numerical = result.type == "numerical"
    if numerical and not both_known and n_values <= 5 and raw is not None:
        n_values = len(np.unique(np.concatenate([raw("reference"), raw("current")])))
    if reference.n <= SMALL_REFERENCE:
        method = "ks" if numerical and n_values > 5 else "chisquare" if n_values > 2 else "z"
    else:
        method = "wasserstein" if numerical and n_values > 5 else "jensenshannon"
    name, default = METHODS[method]
    result.method, result.method_name = method, name
    result.threshold = default if threshold is None else threshold

    def counts(side: str) -> dict:
        known = (reference if side == "reference" else current).values
        if known is not None:
            return known
        if raw is None:
            raise _NeedsRaw
        result.settled = "raw"
        return value_counts(raw(side))

    try:
        return _score(result, method, reference, current, raw, counts)
    except _NeedsRaw:
        result.drifted = None
        result.note = "too many distinct values to judge from the profiles alone"
        return result


class _NeedsRaw(Exception):
    pass


def _score(result, method, reference, current, raw, counts) -> ColumnDrift:
    if method == "ks":
        from scipy import stats  # KS applies to references of 1000 values or fewer only
    if method == "ks" and raw is None:
        # No raw values (the timeline): an estimate from the bins, asymptotic p-value.
        d = ks_from_bins(reference, current)
        effective = round(reference.n * current.n / (reference.n + current.n))
        result.score = float(stats.kstwo.sf(d, max(effective, 1)))
        result.settled = "estimate"
    elif method == "ks":
        result.score = float(stats.ks_2samp(raw("reference"), raw("current"))[1])
        result.settled = "raw"
    elif method == "chisquare":
        result.score = chi_square_p(counts("reference"), counts("current"))
    elif method == "z":
        result.score = z_test_p(counts("reference"), counts("current"))
    elif method == "jensenshannon":
        result.score = jensen_shannon(counts("reference"), counts("current"))
    else:
        norm = max(reference.std, 0.001)
        estimate, low, high = wasserstein_from_bins(reference, current)
        result.bounds = (low / norm, high / norm)
        result.score = estimate / norm
        if raw is not None and low / norm < result.threshold <= high / norm * (1 + 1e-9):
            ref_values, cur_values = raw("reference"), raw("current")
            norm = max(float(np.std(ref_values)), 0.001)
            result.score = wasserstein_raw(ref_values, cur_values) / norm
            result.settled = "raw"
        elif low / norm < result.threshold <= high / norm * (1 + 1e-9):
            result.settled = "estimate"
    result.drifted = is_drifted(method, result.score, result.threshold)
    return result


def is_drifted(method: str, score: float, threshold: float) -> bool:
    """Evidently's verdict for a score: KS drifts at p <= threshold, the other p-values below
    it, distances at or above it. `method` is the short name or the display name."""
    short = next((k for k, (name, _) in METHODS.items() if name == method), method)
    if short == "ks":
        return score <= threshold
    if short in P_VALUE_METHODS:
        return score < threshold
    return score >= threshold


# --- A whole comparison ------------------------------------------------------------------------


@dataclass
class DriftResult:
    """Every column's verdict for one reference and one current window, and the dataset's."""

    columns: list[ColumnDrift]
    share_threshold: float = DATASET_DRIFT_SHARE
    reference: dict[str, Any] = field(default_factory=dict)
    current: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.role == "feature"]

    @property
    def tested(self) -> list[ColumnDrift]:
        return [c for c in self.features if c.tested]

    @property
    def drift_share(self) -> float | None:
        tested = self.tested
        return sum(bool(c.drifted) for c in tested) / len(tested) if tested else None

    @property
    def dataset_drift(self) -> bool | None:
        share = self.drift_share
        return None if share is None else share >= self.share_threshold

    def column(self, name: str) -> ColumnDrift:
        return next(c for c in self.columns if c.column == name)

    def as_json(self) -> dict:
        outputs = [c for c in self.columns if c.role == "prediction" and c.type != "empty"]
        return {
            "dataset_drift": self.dataset_drift,
            "drift_share": self.drift_share,
            "share_threshold": self.share_threshold,
            "reference": self.reference,
            "current": self.current,
            "columns": {c.column: c.as_json() for c in self.features},
            "prediction": {c.column: c.as_json() for c in outputs},
        }

    def table(self) -> pd.DataFrame:
        """One row per column, drifted first then by score distance past its threshold."""
        rows = [asdict(c) for c in self.columns]
        frame = pd.DataFrame(rows)
        if frame.empty:
            return frame
        frame["rank"] = [{True: 2, False: 1}.get(c.drifted, 0) for c in self.columns]
        frame["excess"] = [_excess(c) if c.tested else -math.inf for c in self.columns]
        ordered = frame.sort_values(["rank", "excess"], ascending=False, kind="stable")
        return ordered.drop(columns=["rank", "excess"])


def _excess(column: ColumnDrift) -> float:
    """How far past its threshold a column is, comparable across methods (log-scale for p)."""
    threshold = max(column.threshold, 1e-300)
    if column.method in P_VALUE_METHODS:
        return math.log10(threshold) - math.log10(max(column.score, 1e-300))
    return (column.score - threshold) / threshold


# --- Raw values, read when the profiles alone cannot settle a verdict --------------------------


def read_once(fetch: RawFetch) -> RawFetch:
    """A raw-value fetch that reads each side once, however often a verdict asks."""
    cache: dict[str, np.ndarray] = {}

    def once(side: str) -> np.ndarray:
        if side not in cache:
            cache[side] = fetch(side)
        return cache[side]

    return once


def clean_values(series: pd.Series) -> np.ndarray:
    """A column's values as Evidently tests them: NaN, missing and infinities dropped."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = pd.to_numeric(series, errors="coerce").astype(float).to_numpy()
        return values[np.isfinite(values)]
    # Text and booleans as the profiles key them: DuckDB's text of a value ('true', 'false').
    return np.array(
        [str(v).lower() if isinstance(v, bool | np.bool_) else str(v) for v in series.dropna()],
        dtype=object,
    )


# --- A model contract's drift terms -----------------------------------------------------------


def contract_terms(contract: Any) -> tuple[dict[str, float], float]:
    """A model contract's drift overrides: per-column thresholds and the dataset drift share.

    In models.toml: `drift = { share = 0.3, thresholds = { session_length_s = 0.2 } }`.
    """
    terms = getattr(contract, "drift", None) or {}
    thresholds = {str(k): float(v) for k, v in dict(terms.get("thresholds", {})).items()}
    return thresholds, float(terms.get("share", DATASET_DRIFT_SHARE))


STATUS_ORDER = {"red": 0, "amber": 1, "green": 2, "grey": 3}


def most_drifted_first(models: dict[str, tuple[float | None, str | None]]) -> list[str]:
    """Model names, the largest drift share first, then the worst status (red, amber, green,
    grey), then by name. `models` maps a name to (drift share or None, status or None)."""

    def key(name: str) -> tuple:
        share, status = models[name]
        share = -1.0 if share is None or share != share else float(share)
        return (-share, STATUS_ORDER.get(status or "grey", len(STATUS_ORDER)), name)

    return sorted(models, key=key)
