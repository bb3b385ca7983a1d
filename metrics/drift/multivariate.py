"""Multivariate drift of one model's features: PCA reconstruction error per step, against the
band its reference's steps give (NannyML's data reconstruction drift).

A change in the *relation* between features (two columns that moved together now move
apart) leaves every column's own distribution as it was, so no univariate test sees it. A
PCA fitted on the reference learns the relation; rows that break it are reconstructed badly.

How (as NannyML's DataReconstructionDriftCalculator, nannyml/drift/multivariate/
data_reconstruction/calculator.py):

1. Rows: `metrics.samples.daily_sample`, at most `per_day` hash-picked ok rows a day, for the
   reference and the current window; the features are the model's role-"feature" columns.
2. Fitted on the reference rows: missing values (NULL, NaN, infinities) become the reference's
   mean (numbers) or its most frequent value (categories); a category becomes its share of the
   reference rows (NannyML's CountEncoder with normalize=True; a category the reference never
   saw becomes 0); booleans are 0/1 numbers; every column is standardised (population std, a
   constant column scaled by 1); a PCA keeps the fewest components explaining 65% of the
   variance.
3. A row's reconstruction error: the Euclidean distance between its standardised values and
   their reconstruction from the kept components. A step's figure is its rows' mean error.
4. The band: the reference cut into steps of the same size, each step's mean error; band =
   their mean ± 3 population standard deviations (NannyML 0.13's StandardDeviationThreshold,
   np.nanstd), the lower end floored at 0 (NannyML's limit: an error is never negative). A
   step alerts when its error lies outside. The whole window's figure is the mean error over
   all its sampled rows, held against the same band.

The scaler and the PCA are scikit-learn's StandardScaler and PCA(svd_solver="full") written
out in numpy (population std with a constant column scaled by 1; an SVD of the centred rows,
variances S²/(n-1), the fewest leading components whose cumulative share exceeds the kept
variance): importing scikit-learn took longer than the report's whole drift.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from metrics.drift.windows import Window, steps
from metrics.samples import daily_sample
from profiling.store import model_columns

# Rows per day read: the daily mean error of 2,000 rows has a sampling error well below the
# band of a stable reference, and 2 x 28 days of it fit in well under a second.
PER_DAY = 2_000
# The share of the standardised reference's variance the PCA keeps (NannyML's default).
VARIANCE_KEPT = 0.65
# The band's half-width, in standard deviations of the reference steps' errors.
BAND_SIGMAS = 3.0


class Unfit(ValueError):
    """The reference rows cannot teach a PCA anything; the message says why."""


@dataclass(frozen=True)
class Reconstructor:
    """What was fitted on the reference rows: imputation, encoding, scaling and the PCA."""

    numeric: list[str]
    categorical: list[str]
    means: dict[str, float]
    modes: dict[str, Any]
    shares: dict[str, dict[Any, float]]
    centre: np.ndarray  # the reference's column means
    scale: np.ndarray  # the reference's population std per column, 1 for a constant column
    mean: np.ndarray  # the scaled reference's column means (the PCA's centre)
    kept: np.ndarray  # the kept principal axes, one row each

    @property
    def columns(self) -> list[str]:
        return self.numeric + self.categorical

    @property
    def components(self) -> int:
        return len(self.kept)


def _scaling(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """StandardScaler's mean and scale: population std, 1 for a column whose variance is within
    the two-pass algorithm's rounding error of 0 (scikit-learn's _is_constant_feature)."""
    centre = matrix.mean(axis=0)
    var = matrix.var(axis=0)
    n, eps = len(matrix), np.finfo(np.float64).eps
    constant = var <= n * eps * var + (n * centre * eps) ** 2
    return centre, np.where(constant, 1.0, np.sqrt(var))


def _principal_axes(scaled: np.ndarray, variance: float) -> tuple[np.ndarray, np.ndarray]:
    """PCA(n_components=variance, svd_solver="full")'s mean and kept components."""
    mean = scaled.mean(axis=0)
    _, singular, axes = np.linalg.svd(scaled - mean, full_matrices=False)
    explained = singular**2 / (len(scaled) - 1)
    total = explained.sum()
    ratio = explained / total if total > 0 else np.zeros_like(explained)
    kept = int(np.searchsorted(np.cumsum(ratio), variance, side="right")) + 1
    return mean, axes[: min(kept, len(axes))]


def _numbers(values: pd.Series) -> np.ndarray:
    """A numeric or boolean column as floats, NULL and infinities as NaN."""
    if values.dtype == object:  # booleans with NULLs, or numbers read as objects
        values = pd.to_numeric(values.where(values.notna(), None), errors="coerce")
    array = values.to_numpy(dtype=float, na_value=np.nan)
    array[~np.isfinite(array)] = np.nan
    return array


def fit(
    reference: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    variance: float = VARIANCE_KEPT,
) -> Reconstructor:
    """Imputation, count encoding, scaling and a PCA keeping `variance`, fitted on `reference`.

    Args:
        reference: the reference rows, one column per feature.
        numeric: numeric and boolean columns; a column with no value in the reference is left
            out (nothing to impute it with).
        categorical: category columns; one with no value in the reference is left out.
    Returns:
        the fitted Reconstructor; `errors` applies it.
    Raises:
        Unfit: fewer than two columns with values, fewer than two rows, or no column varies.
    """
    means: dict[str, float] = {}
    for column in numeric:
        values = _numbers(reference[column])
        if np.isfinite(values).any():
            means[column] = float(np.nanmean(values))
    modes: dict[str, Any] = {}
    shares: dict[str, dict[Any, float]] = {}
    for column in categorical:
        counts = reference[column].dropna().astype(str).value_counts()
        if counts.empty:
            continue
        # Ties go to the smallest value, so the mode does not depend on row order.
        mode = min(counts.index[counts == counts.max()])
        modes[column] = mode
        filled = reference[column].astype("object").where(reference[column].notna(), mode)
        shares[column] = filled.astype(str).value_counts(normalize=True).to_dict()
    kept_numeric = [c for c in numeric if c in means]
    kept_categorical = [c for c in categorical if c in modes]
    if len(kept_numeric) + len(kept_categorical) < 2:
        kept = ", ".join(kept_numeric + kept_categorical) or "none"
        raise Unfit(f"the reference holds values in fewer than two features ({kept})")
    matrix = _encoded(reference, kept_numeric, kept_categorical, means, modes, shares)
    if len(matrix) < 2 or not (matrix.std(axis=0) > 0).any():
        raise Unfit(f"the reference's {len(matrix)} row(s) do not vary: no relation to learn")
    centre, scale = _scaling(matrix)
    mean, kept = _principal_axes((matrix - centre) / scale, variance)
    return Reconstructor(
        kept_numeric, kept_categorical, means, modes, shares, centre, scale, mean, kept
    )


def _encoded(
    rows: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    means: dict[str, float],
    modes: dict[str, Any],
    shares: dict[str, dict[Any, float]],
) -> np.ndarray:
    columns = []
    for column in numeric:
        values = _numbers(rows[column])
        columns.append(np.where(np.isnan(values), means[column], values))
    for column in categorical:
        filled = rows[column].astype("object").where(rows[column].notna(), modes[column])
        encoded = filled.astype(str).map(shares[column]).fillna(0.0)
        columns.append(encoded.to_numpy(dtype=float))
    return np.column_stack(columns) if columns else np.empty((len(rows), 0))


def errors(fitted: Reconstructor, rows: pd.DataFrame) -> np.ndarray:
    """Each row's reconstruction error: the Euclidean distance between its standardised values
    and their reconstruction from the PCA's kept components."""
    if rows.empty:
        return np.empty(0)
    matrix = _encoded(
        rows, fitted.numeric, fitted.categorical, fitted.means, fitted.modes, fitted.shares
    )
    centred = (matrix - fitted.centre) / fitted.scale - fitted.mean
    # PCA's transform then inverse_transform (no whitening) is the projection onto the kept
    # components: one small matrix product instead of two large ones.
    kept = fitted.kept
    return np.linalg.norm(centred - centred @ (kept.T @ kept), axis=1)


def band(step_errors: list[float]) -> tuple[float, float] | None:
    """The alert band from the reference steps' mean errors: mean ± 3 population standard
    deviations (as NannyML), the lower end floored at 0; None with fewer than two steps."""
    if len(step_errors) < 2:
        return None
    values = np.asarray(step_errors, dtype=float)
    mean, spread = float(values.mean()), float(values.std(ddof=0))
    return max(0.0, mean - BAND_SIGMAS * spread), mean + BAND_SIGMAS * spread


@dataclass
class Multivariate:
    """One model's reconstruction drift: per step of the current window and over all of it.

    `steps` holds day (the step's first date), error, lower, upper, alert and rows (sampled
    rows of the step); `window` holds error, lower, upper, alert and rows. Figures are None
    when they cannot be computed, and `reason` says why.
    """

    steps: pd.DataFrame
    window: dict[str, Any]
    reference: dict[str, Any]
    features: list[str] = field(default_factory=list)
    components: int | None = None
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            **self.window,
            "features": self.features,
            "components": self.components,
            "reference": self.reference,
            "reason": self.reason,
            "steps": [
                {
                    "day": row.day.isoformat(),
                    "error": _plain(row.error),
                    "alert": None if row.alert is None else bool(row.alert),
                    "rows": int(row.rows),
                }
                for row in self.steps.itertuples(index=False)
            ],
        }


STEP_COLUMNS = ["day", "error", "lower", "upper", "alert", "rows"]


def _plain(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _alert(error: float | None, limits: tuple[float, float] | None) -> bool | None:
    if error is None or limits is None:
        return None
    return bool(error < limits[0] or error > limits[1])


def _empty(
    current: Window, reference: dict[str, Any], step_days: int, reason: str, features=()
) -> Multivariate:
    days = [w.since for w in steps(current, step_days).values()]
    frame = pd.DataFrame(
        {
            "day": days,
            "error": [None] * len(days),
            "lower": [None] * len(days),
            "upper": [None] * len(days),
            "alert": [None] * len(days),
            "rows": [0] * len(days),
        },
        columns=STEP_COLUMNS,
    )
    window = {"error": None, "lower": None, "upper": None, "alert": None, "rows": 0}
    return Multivariate(frame, window, reference, list(features), None, reason)


def reconstruction_drift(
    con: duckdb.DuckDBPyConnection,
    model: str,
    current: Window,
    reference: Window,
    step_days: int = 1,
    per_day: int = PER_DAY,
) -> Multivariate:
    """The model's mean reconstruction error per step of `current` and over all of it, with
    the alert band from `reference` cut into steps of the same size.

    Args:
        current: the window looked at, cut into steps of `step_days` days.
        reference: the window the PCA is fitted on and the band comes from.
        per_day: at most this many hash-picked ok rows a day, on both sides.
    Returns:
        a Multivariate; its figures are None, with the reason, for a model without two
        features or without reference rows.
    """
    columns = [c for c in model_columns(con, model) if c.role == "feature"]
    names = [c.name for c in columns]
    reference_json: dict[str, Any] = {
        "since": reference.since.isoformat(),
        "until": reference.until.isoformat(),
        "rows": 0,
    }
    if len(columns) < 2:
        reason = (
            f"{model} logs no features"
            if not columns
            else f"{model} logs one feature ({names[0]}): a relation needs two"
        )
        return _empty(current, reference_json, step_days, reason, names)
    numeric = [c.name for c in columns if c.numeric or c.data_type == "BOOLEAN"]
    categorical = [c.name for c in columns if c.name not in numeric]
    before = daily_sample(con, model, reference.since, reference.until, names, per_day)
    reference_json["rows"] = len(before)
    if before.empty:
        reason = f"{model} has no ok requests in the reference {reference.since}–{reference.until}"
        return _empty(current, reference_json, step_days, reason, names)
    try:
        fitted = fit(before, numeric, categorical)
    except Unfit as unfit:
        return _empty(current, reference_json, step_days, f"{model}: {unfit}", names)

    reference_errors = _step_errors(
        before.assign(error=errors(fitted, before)), reference, step_days
    )
    reference_steps = [e for e, _ in reference_errors.values() if e is not None]
    limits = band(reference_steps)
    reason = None
    if limits is None:
        reason = (
            f"the reference {reference.since}–{reference.until} gives "
            f"{len(reference_steps)} step(s) of {step_days} day(s) with rows: a band needs two"
        )
    after = daily_sample(con, model, current.since, current.until, names, per_day)
    all_errors = errors(fitted, after)
    rows = [
        {
            "day": since,
            "error": error,
            "lower": None if limits is None else limits[0],
            "upper": None if limits is None else limits[1],
            "alert": _alert(error, limits),
            "rows": n,
        }
        for since, (error, n) in _step_errors(
            after.assign(error=all_errors), current, step_days
        ).items()
    ]
    whole = float(all_errors.mean()) if len(all_errors) else None
    window = {
        "error": whole,
        "lower": None if limits is None else limits[0],
        "upper": None if limits is None else limits[1],
        "alert": _alert(whole, limits),
        "rows": len(after),
    }
    if whole is None and reason is None:
        reason = f"{model} has no ok requests in {current.since}–{current.until}"
    return Multivariate(
        pd.DataFrame(rows, columns=STEP_COLUMNS),
        window,
        reference_json,
        fitted.columns,
        fitted.components,
        reason,
    )


def _step_errors(
    sample: pd.DataFrame, span: Window, step_days: int
) -> dict[dt.date, tuple[float | None, int]]:
    """Each step of `span` (by its first day): its rows' mean error (None without rows) and
    their count."""
    starts = {w.since: w for w in steps(span, step_days).values()}
    step_of = {
        w.since + dt.timedelta(days=offset): since
        for since, w in starts.items()
        for offset in range(w.days)
    }
    grouped = sample.groupby(sample["day"].map(step_of))["error"].agg(["mean", "size"])
    found = {
        since: (float(mean), int(size))
        for since, mean, size in zip(grouped.index, grouped["mean"], grouped["size"], strict=True)
    }
    return {since: found.get(since, (None, 0)) for since in starts}
