"""Drift verdicts that agree with Evidently 0.7's defaults, computed from profiles in seconds.

Evidently's `DataDriftPreset` (0.7.23, evidently/legacy/calculations/stattests/registry.py and
evidently/core/datasets.py), column by column:

- Type, from the current data: float -> numerical; integer -> categorical with at most 10
  distinct values, else numerical; boolean -> categorical; text -> categorical, or free text
  when distinct values exceed half the non-missing count (free text is not tested here: Evidently
  trains a classifier for it).
- NaN and infinities are dropped per column before testing.
- Method, by reference size n_ref (after cleaning) and distinct values across both sides:
  n_ref <= 1000: numerical with more than 5 values -> two-sample Kolmogorov-Smirnov (drift when
  p <= 0.05); otherwise chi-square (z-test of proportions with at most 2 values; drift when
  p < 0.05). n_ref > 1000: numerical with more than 5 values -> Wasserstein distance divided by
  the reference's population std (floor 0.001), drift when >= 0.1; otherwise Jensen-Shannon
  distance of value shares (natural log), drift when >= 0.1.
- Dataset drift: the share of drifted columns is at least 0.5.

How it is fast: value counts are exact in the profiles (profiling/), so chi-square,
z and Jensen-Shannon are exact. The Wasserstein distance is bounded from the fixed bins: each
bin knows its count, min and max on each side, so between bins both CDFs are known exactly and
inside a bin they are only known to lie between the bin's cumulative shares. That gives a
lower and an upper bound on the distance (and an estimate, assuming values spread evenly in
their bin's range). When the bounds fall on both sides of the threshold, the column is settled
exactly from its raw values with scipy, as Evidently does; so is KS, which only applies to
references of 1000 values or fewer.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

from metrics.db import sql
from profiling import queries, store
from profiling.queries import VALUE_CAP, ProfiledColumn

INTEGER_CARDINALITY_LIMIT = 10
SMALL_REFERENCE = 1000
DATASET_DRIFT_SHARE = 0.5
# Two frames compared once are binned finer than stored days: fewer columns need raw values.
FRAME_BINS = 4000

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
# The drift timeline is per day up to this many days, per week beyond.
TIMELINE_DAILY_UP_TO_DAYS = 120


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


def numeric_side(bins: pd.DataFrame) -> Side:
    """A numeric column's side from its bin rows (bin, n, minimum, maximum, mean, m2)."""
    number = bins["bin"].to_numpy(dtype=float)
    counts = bins["n"].to_numpy(dtype=float)
    empty = np.isnan(number)
    keep = ~empty & (counts > 0)
    order = np.argsort(number[keep], kind="stable")
    counts_kept = counts[keep][order]
    n = int(counts_kept.sum())
    side = Side(rows=n + int(counts[empty].sum()), n=n)
    if not n:
        return side
    means = bins["mean"].to_numpy(dtype=float)[keep][order]
    m2 = bins["m2"].to_numpy(dtype=float)[keep][order]
    low = bins["minimum"].to_numpy(dtype=float)[keep][order]
    high = bins["maximum"].to_numpy(dtype=float)[keep][order]
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


# --- The statistics -------------------------------------------------------------------------


def _aligned(reference: Bins, current: Bins) -> tuple[np.ndarray, ...]:
    """Both sides' counts, minima and maxima over the union of their bins (NaN where empty)."""
    index = np.union1d(reference.index, current.index)
    out = []
    for side in (reference, current):
        at = np.searchsorted(index, side.index)
        n = np.zeros(len(index))
        low = np.full(len(index), np.nan)
        high = np.full(len(index), np.nan)
        n[at], low[at], high[at] = side.n, side.minimum, side.maximum
        out += [n, low, high]
    return tuple(out)


def wasserstein_from_bins(reference: Side, current: Side) -> tuple[float, float, float]:
    """The first Wasserstein distance between two binned columns: (estimate, lower, upper)."""
    nr, mnr, mxr, nc, mnc, mxc = _aligned(reference.bins, current.bins)
    pr, pc = nr / nr.sum(), nc / nc.sum()
    r1, c1 = np.cumsum(pr), np.cumsum(pc)
    r0, c0 = r1 - pr, c1 - pc
    a = np.fmin(mnr, mnc)
    b = np.fmax(mxr, mxc)
    mnr, mxr = np.where(nr > 0, mnr, a), np.where(nr > 0, mxr, a)
    mnc, mxc = np.where(nc > 0, mnc, a), np.where(nc > 0, mxc, a)
    points = np.sort(np.stack([a, mnr, mxr, mnc, mxc, b], axis=1), axis=1)
    x0, x1 = points[:, :-1], points[:, 1:]
    width = x1 - x0
    mid = (x0 + x1) / 2

    def cdf(lo_share, hi_share, mn, mx):
        lo_share, hi_share = lo_share[:, None], hi_share[:, None]
        mn, mx = mn[:, None], mx[:, None]
        spread = np.where(mx > mn, mx - mn, 1.0)
        uncertain = (mx > mn) & (mid > mn) & (mid < mx)
        constant = np.where(mid < mn, lo_share, hi_share)

        def linear(x):
            return lo_share + (hi_share - lo_share) * np.clip((x - mn) / spread, 0.0, 1.0)

        start = np.where(uncertain, linear(x0), constant)
        end = np.where(uncertain, linear(x1), constant)
        low = np.where(uncertain, lo_share, constant)
        high = np.where(uncertain, hi_share, constant)
        return start, end, low, high

    rs, re_, rlo, rhi = cdf(r0, r1, mnr, mxr)
    cs, ce, clo, chi = cdf(c0, c1, mnc, mxc)
    d0, d1 = rs - cs, re_ - ce
    same_sign = d0 * d1 >= 0
    total = np.abs(d0) + np.abs(d1)
    crossing = np.divide(d0**2 + d1**2, 2 * total, out=np.zeros_like(total), where=total > 0)
    estimate = (width * np.where(same_sign, total / 2, crossing)).sum()
    d_low, d_high = rlo - chi, rhi - clo
    least = np.where((d_low <= 0) & (d_high >= 0), 0.0, np.fmin(np.abs(d_low), np.abs(d_high)))
    most = np.fmax(np.abs(d_low), np.abs(d_high))
    gaps = (np.clip(a[1:] - b[:-1], 0, None) * np.abs(r1[:-1] - c1[:-1])).sum()
    return (
        float(estimate + gaps),
        float((width * least).sum() + gaps),
        float((width * most).sum() + gaps),
    )


def ks_from_bins(reference: Side, current: Side) -> float:
    """An estimate of the KS statistic from bins (used for the timeline only)."""
    nr, _, _, nc, _, _ = _aligned(reference.bins, current.bins)
    return float(np.abs(np.cumsum(nr) / nr.sum() - np.cumsum(nc) / nc.sum()).max())


def _shares(reference: dict, current: dict) -> tuple[list, np.ndarray, np.ndarray]:
    keys = sorted(set(reference) | set(current), key=lambda k: (str(type(k)), k))
    ref = np.array([reference.get(k, 0) for k in keys], dtype=float)
    cur = np.array([current.get(k, 0) for k in keys], dtype=float)
    return keys, ref, cur


def jensen_shannon(reference: dict, current: dict) -> float:
    _, ref, cur = _shares(reference, current)
    return float(distance.jensenshannon(ref / ref.sum(), cur / cur.sum()))


def chi_square_p(reference: dict, current: dict) -> float:
    _, ref, cur = _shares(reference, current)
    expected = ref * (cur.sum() / ref.sum())
    return float(stats.chisquare(cur, expected)[1])


def z_test_p(reference: dict, current: dict) -> float:
    """Evidently's two-proportion z-test: the share of the first value (sorted) on each side."""
    if len(reference) == 1 and len(current) == 1 and set(reference) == set(current):
        return 1.0
    keys, ref, cur = _shares(reference, current)
    n1, n2 = ref.sum(), cur.sum()
    p1, p2 = (n1 - ref[0]) / n1, (n2 - cur[0]) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - stats.norm.cdf(np.abs(z))))


def _counts(raw: np.ndarray) -> dict:
    values, counts = np.unique(raw, return_counts=True)
    return {
        (float(v) if isinstance(v, (int, float, np.number)) else v): int(c)
        for v, c in zip(values, counts, strict=False)
    }


# --- One column's verdict --------------------------------------------------------------------


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
        return _counts(raw(side))

    try:
        return _score(result, method, reference, current, raw, counts)
    except _NeedsRaw:
        result.drifted = None
        result.note = "too many distinct values to judge from the profiles alone"
        return result


class _NeedsRaw(Exception):
    pass


def _score(result, method, reference, current, raw, counts) -> ColumnDrift:
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
            result.score = float(stats.wasserstein_distance(ref_values, cur_values)) / norm
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


def sides_by_part(
    columns: Sequence[ProfiledColumn], bins: pd.DataFrame, values: pd.DataFrame
) -> dict[tuple[str, str], Side]:
    """Every (column, part) side present in the profile rows, each built once."""
    sides: dict[tuple[str, str], Side] = {}
    numeric = {c.name for c in columns if c.numeric}
    if len(bins):
        for (feature, part), rows in bins.groupby(["feature", "part"]):
            if feature in numeric:
                sides[(feature, part)] = numeric_side(rows)
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


def _memo(fetch: RawFetch) -> RawFetch:
    """A raw-value fetch that reads each side once, however often a verdict asks."""
    cache: dict[str, np.ndarray] = {}

    def once(side: str) -> np.ndarray:
        if side not in cache:
            cache[side] = fetch(side)
        return cache[side]

    return once


def _clean(series: pd.Series) -> np.ndarray:
    """A column's values as Evidently tests them: NaN, missing and infinities dropped."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = pd.to_numeric(series, errors="coerce").astype(float).to_numpy()
        return values[np.isfinite(values)]
    # Text and booleans as the profiles key them: DuckDB's text of a value ('true', 'false').
    return np.array(
        [str(v).lower() if isinstance(v, bool | np.bool_) else str(v) for v in series.dropna()],
        dtype=object,
    )


def compare_frames(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[str] | None = None,
    thresholds: dict[str, float] | None = None,
    share_threshold: float = DATASET_DRIFT_SHARE,
) -> DriftResult:
    """Drift of `current` against `reference`, both raw frames, as Evidently would judge it.

    Both frames are profiled in one DuckDB pass each for numeric and for other columns, then
    judged from the profiles; columns near a threshold are settled from the raw values.
    """
    names = list(columns) if columns is not None else list(current.columns)
    typed = queries.frame_columns(current[names])
    con = duckdb.connect(":memory:")
    try:
        con.execute("set enable_progress_bar = false")
        con.register("reference_frame", reference[names])
        con.register("current_frame", current[names])
        relation = (
            "(select 'reference' as __side, * from reference_frame "
            "union all by name select 'current' as __side, * from current_frame)"
        )
        specs = queries.bin_specs(con, relation, typed, bins=FRAME_BINS)
        bins = values = pd.DataFrame(columns=["part", "feature", "bin", "value", "capped"])
        numeric = queries.numeric_sql(typed, specs, relation, "__side")
        if numeric:
            bins = con.execute(numeric).df()
        other = queries.values_sql(typed, relation, "__side")
        if other:
            values = con.execute(other).df()
    finally:
        con.close()
    sides = sides_from_profiles(typed, bins, values)
    results = []
    for column in typed:

        def frame_values(side: str, name: str = column.name) -> np.ndarray:
            return _clean((reference if side == "reference" else current)[name])

        raw = _memo(frame_values)
        ref, cur = sides[column.name]
        results.append(decide(column, ref, cur, raw, (thresholds or {}).get(column.name)))
    return DriftResult(
        results,
        share_threshold,
        reference={"rows": len(reference)},
        current={"rows": len(current)},
    )


# --- The warehouse: a model's drift over windows of days, from the stored profiles -----------


@dataclass(frozen=True)
class Window:
    """Whole UTC days [since, until): profiles are per day, so windows are too."""

    since: dt.date
    until: dt.date

    @property
    def days(self) -> int:
        return (self.until - self.since).days

    def instants(self) -> tuple[dt.datetime, dt.datetime]:
        return (
            dt.datetime.combine(self.since, dt.time(), dt.UTC),
            dt.datetime.combine(self.until, dt.time(), dt.UTC),
        )

    def as_json(self, rows: int) -> dict:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "rows": rows}


def day_window(since: dt.datetime | dt.date, until: dt.datetime | dt.date) -> Window:
    """The whole days covering [since, until): since rounded down, until rounded up."""

    def day(value, up: bool) -> dt.date:
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC) if value.tzinfo else value
            rounded = value.date()
            if up and value.time() != dt.time():
                rounded += dt.timedelta(days=1)
            return rounded
        return value

    return Window(day(since, False), day(until, True))


@dataclass(frozen=True)
class Reference:
    """What the current window is compared with.

    kind "previous" (default): the window of equal length just before; "fixed": `window`;
    "version": the first `days` days of model version `version`.
    """

    kind: str = "previous"
    window: Window | None = None
    version: str | None = None
    days: int = 7

    def resolve(self, con: duckdb.DuckDBPyConnection, model: str, current: Window) -> Window:
        if self.kind == "fixed" and self.window is not None:
            return self.window
        if self.kind == "version" and self.version is not None:
            (first,) = con.execute(
                sql("drift_version_start"), {"model": model, "version": self.version}
            ).fetchone()
            if first is None:
                raise ValueError(f"model {model!r} has no requests from version {self.version!r}")
            return Window(first, first + dt.timedelta(days=self.days))
        length = dt.timedelta(days=current.days)
        return Window(current.since - length, current.since)


def _parts(windows: dict[str, Window]) -> list[dict]:
    return [{"part": k, "since": w.since, "until": w.until} for k, w in windows.items()]


def _profile_frames(
    con: duckdb.DuckDBPyConnection, model: str, windows: dict[str, Window]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    bound = {"model": model, "parts": _parts(windows)}
    bins = con.execute(sql("drift_parts_bins"), bound).df()
    values = con.execute(sql("drift_parts_values"), bound).df()
    rows = dict(con.execute(sql("drift_parts_rows"), bound).fetchall())
    return bins, values, rows


def model_drift(
    con: duckdb.DuckDBPyConnection,
    model: str,
    current: Window,
    reference: Reference | None = None,
    thresholds: dict[str, float] | None = None,
    share_threshold: float = DATASET_DRIFT_SHARE,
    exact: bool = True,
) -> DriftResult:
    """One model's drift, current window against its reference, from the per-day profiles.

    With `exact`, a column whose bounds straddle its threshold (and KS, for references of
    1000 values or fewer) reads that column's raw values for the two windows, and only those.
    """
    reference_window = (reference or Reference()).resolve(con, model, current)
    windows = {"reference": reference_window, "current": current}
    bins, values, rows = _profile_frames(con, model, windows)
    columns = store.model_columns(con, model)
    sides = sides_from_profiles(columns, bins, values)
    # A model profiled where its data lives (spark, sql push-down) has no raw rows here: its
    # scores near a threshold stay estimates, said so by `settled`.
    exact = exact and con.execute(sql("drift_has_rows"), {"model": model}).fetchone()[0]
    results = []
    for column in columns:

        def stored_values(side: str, name: str = column.name) -> np.ndarray:
            since, until = windows[side].instants()
            found = con.execute(
                sql("drift_raw_values"),
                {"model": model, "feature": name, "since": since, "until": until},
            ).fetchnumpy()["v"]
            return _clean(pd.Series(found))

        raw = _memo(stored_values)
        ref, cur = sides[column.name]
        results.append(
            decide(column, ref, cur, raw if exact else None, (thresholds or {}).get(column.name))
        )
    return DriftResult(
        results,
        share_threshold,
        reference=reference_window.as_json(rows.get("reference", 0)),
        current=current.as_json(rows.get("current", 0)),
    )


def timeline(
    con: duckdb.DuckDBPyConnection,
    model: str,
    reference: Window,
    span: Window,
    bucket_days: int = 1,
    thresholds: dict[str, float] | None = None,
    share_threshold: float = DATASET_DRIFT_SHARE,
) -> pd.DataFrame:
    """Each day (or week) of `span` against the reference, from profiles only (estimates).

    One row per (bucket, column): start, column, role, method, score, threshold, drifted; plus
    one row per bucket with column None holding the drift share of the features.
    """
    buckets: dict[str, Window] = {"reference": reference}
    start = span.since
    while start < span.until:
        end = min(start + dt.timedelta(days=bucket_days), span.until)
        buckets[start.isoformat()] = Window(start, end)
        start = end
    bins, values, rows = _profile_frames(con, model, buckets)
    columns = store.model_columns(con, model)
    out = []
    by_part = sides_by_part(columns, bins, values)
    for key, window in buckets.items():
        if key == "reference" or not rows.get(key):
            continue
        verdicts = [
            decide(
                c,
                by_part.get((c.name, "reference"), Side()),
                by_part.get((c.name, key), Side()),
                None,
                (thresholds or {}).get(c.name),
            )
            for c in columns
        ]
        result = DriftResult(verdicts, share_threshold)
        for v in verdicts:
            if v.tested:
                out.append(
                    {
                        "start": window.since,
                        "column": v.column,
                        "role": v.role,
                        "method": v.method_name,
                        "score": v.score,
                        "threshold": v.threshold,
                        "drifted": v.drifted,
                        "rows": rows[key],
                    }
                )
        out.append(
            {
                "start": window.since,
                "column": None,
                "role": "dataset",
                "method": None,
                "score": result.drift_share,
                "threshold": result.share_threshold,
                "drifted": result.dataset_drift,
                "rows": rows[key],
            }
        )
    return pd.DataFrame(
        out, columns=["start", "column", "role", "method", "score", "threshold", "drifted", "rows"]
    )


def timeline_bucket_days(span: Window) -> int:
    """The timeline's step: a day, or a week past TIMELINE_DAILY_UP_TO_DAYS days."""
    return 1 if span.days <= TIMELINE_DAILY_UP_TO_DAYS else 7


def first_drift(line: pd.DataFrame, column: str) -> dt.date | None:
    """The start of the first timeline step where `column` drifted, if it ever did."""
    drifted = line[(line["column"] == column) & line["drifted"].astype(bool)]
    return None if drifted.empty else pd.Timestamp(drifted["start"].min()).date()


def distributions(
    con: duckdb.DuckDBPyConnection,
    model: str,
    feature: str,
    windows: dict[str, Window],
    display_bins: int = 40,
) -> pd.DataFrame:
    """One feature's reference and current distributions for an overlay chart.

    Numeric: the share of values in each of `display_bins` equal bins over both windows' range
    (from the profile bins, each placed by its mean). Otherwise: the share of each value.
    Columns: part, label, x (bin centre or None), share.
    """
    bins, values, _ = _profile_frames(con, model, windows)
    bins = bins[(bins["feature"] == feature) & bins["bin"].notna() & (bins["n"] > 0)]
    if not bins.empty:
        lo, hi = float(bins["minimum"].min()), float(bins["maximum"].max())
        width = (hi - lo) / display_bins if hi > lo else 1.0
        index = np.clip(((bins["mean"] - lo) / width).astype(int), 0, display_bins - 1)
        grouped = bins.assign(index=index).groupby(["part", "index"])["n"].sum().reset_index()
        grouped["share"] = grouped["n"] / grouped.groupby("part")["n"].transform("sum")
        grouped["x"] = lo + (grouped["index"] + 0.5) * width
        grouped["label"] = grouped["x"].map(lambda x: f"{x:.4g}")
        return grouped[["part", "label", "x", "share"]]
    values = values[(values["feature"] == feature) & values["value"].notna()]
    grouped = values.groupby(["part", "value"])["n"].sum().reset_index()
    grouped["share"] = grouped["n"] / grouped.groupby("part")["n"].transform("sum")
    grouped = grouped.rename(columns={"value": "label"}).assign(x=None)
    return grouped[["part", "label", "x", "share"]]


def contract_terms(contract: Any) -> tuple[dict[str, float], float]:
    """A model contract's drift overrides: per-column thresholds and the dataset drift share.

    In models.toml: `drift = { share = 0.3, thresholds = { session_length_s = 0.2 } }`.
    """
    terms = getattr(contract, "drift", None) or {}
    thresholds = {str(k): float(v) for k, v in dict(terms.get("thresholds", {})).items()}
    return thresholds, float(terms.get("share", DATASET_DRIFT_SHARE))


def versions(con: duckdb.DuckDBPyConnection, model: str) -> pd.DataFrame:
    """A model's versions and the day each served its first request, newest first."""
    return con.execute(sql("drift_versions"), {"model": model}).df()


def _quantile(bins: Bins, q: float, tolerance: float) -> float | None:
    """A quantile from bins, values spread evenly across each bin's [min, max]; None when the
    bin it falls in is wider than `tolerance` (the true value is only known within that bin)."""
    cumulative = np.cumsum(bins.n)
    target = q * cumulative[-1]
    at = min(int(np.searchsorted(cumulative, target)), len(cumulative) - 1)
    spread = bins.maximum[at] - bins.minimum[at]
    if spread > tolerance:
        return None
    before = cumulative[at - 1] if at else 0.0
    share = (target - before) / bins.n[at] if bins.n[at] else 0.0
    return float(bins.minimum[at] + share * spread)


def daily_figures(
    con: duckdb.DuckDBPyConnection, model: str, feature: str, window: Window
) -> pd.DataFrame:
    """One row per day of one column, from the profiles: rows, missing share, and mean, std and
    quartiles (numeric) or the most common value's share. Quartiles are interpolated within
    their bin and left out (None) where that bin spans more than 5% of the day's std."""
    days = {}
    day = window.since
    while day < window.until:
        days[day.isoformat()] = Window(day, day + dt.timedelta(days=1))
        day += dt.timedelta(days=1)
    bins, values, rows = _profile_frames(con, model, days)
    columns = [c for c in store.model_columns(con, model) if c.name == feature]
    by_part = sides_by_part(columns, bins, values)
    out = []
    for key, w in days.items():
        side = by_part.get((feature, key))
        if side is None or not side.rows:
            continue
        row = {
            "day": w.since,
            "rows": side.rows,
            "missing_share": (side.rows - side.n) / side.rows,
        }
        if side.bins is not None:
            row.update(
                mean=side.mean,
                std=side.std,
                p25=_quantile(side.bins, 0.25, 0.05 * side.std),
                p50=_quantile(side.bins, 0.5, 0.05 * side.std),
                p75=_quantile(side.bins, 0.75, 0.05 * side.std),
            )
        elif side.values:
            top = max(side.values, key=lambda value: (side.values[value], str(value)))
            row.update(top_value=top, top_value_share=side.values[top] / side.n)
        out.append(row)
    return pd.DataFrame(out)
