"""Direct loss estimation (DLE): a regressor's MAE and RMSE on rows that have no label yet.

NannyML's method. On the labelled reference rows, a loss model learns each row's error from
what is known before the label comes (the model's features and its prediction): one model for
the absolute error (its chunk mean estimates MAE), one for the squared error (its chunk mean
estimates MSE; RMSE is its root). A chunk's estimate is the mean predicted loss of its rows.

Choices, and why:
- The loss models are scikit-learn's HistGradientBoostingRegressor (maintained, fast, handles
  missing values), `random_state` fixed so the same reference gives the same estimates.
- Categorical features (non-numeric columns, e.g. DuckDB VARCHAR) are handled natively by the
  booster: each is coded against the reference's categories (the most frequent
  `MAX_CATEGORIES` of them); a category unseen in the reference, or beyond those, counts as
  missing.
- Overfitting: NannyML fits its LightGBM on the whole reference with default settings (or tunes
  it by cross-validation). Here the booster stops early: scikit-learn holds out
  `EARLY_STOPPING_SHARE` of the fitting rows and stops adding trees once their loss has not
  improved for 10 rounds. A further `HOLDOUT_SHARE` of the reference is never fitted on; the
  model's estimate and the realized loss on those rows are kept (`LossModel.holdout`) so a
  loss model that does not generalise shows before any production day is read.
- Work is bounded: at most `MAX_FIT_ROWS` reference rows are fitted on (a fixed-seed pick), so
  fitting both models stays well under a second (0.2 s at the cap, 40,000 reference rows, three
  features); the sampling-error terms use every reference row given. The booster runs on one
  thread: on two busy cores OpenMP's waiting threads made the same fit ten times slower.
- The band is NannyML's: the estimate plus or minus 3 standard errors of the reference's loss
  at the chunk's size. MAE: sd(|e|) / sqrt(n). RMSE (delta method on the root of the mean
  squared error): sd(e^2) / (2 sqrt(n mean(e^2))). Losses are never negative: the lower edge
  stops at 0.

scikit-learn is imported inside `fit` only: the CLI imports this module and must stay fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from metrics.estimation.bands import Band

METRICS = ("mae", "rmse")
# Below this many labelled reference rows a loss model learns noise: no estimate.
MIN_REFERENCE_ROWS = 200
# Reference rows the loss models are fitted on, at most (both fit in ~0.2 s on one core).
MAX_FIT_ROWS = 20_000
# The booster's own bins: a categorical feature keeps at most this many categories.
MAX_CATEGORIES = 254
HOLDOUT_SHARE = 0.25
EARLY_STOPPING_SHARE = 0.15
STANDARD_ERRORS = 3
RANDOM_STATE = 0


class TooFewRows(ValueError):
    """The reference has too few labelled rows to fit a loss model on."""


@dataclass(frozen=True)
class LossModel:
    """Two fitted loss models (absolute and squared error) and the reference terms of the band.

    `holdout`: {metric: {"estimated", "realized", "rows"}} on reference rows kept out of the fit.
    """

    features: tuple[str, ...]
    categories: dict[str, list[Any]]
    absolute: Any
    squared: Any
    sd_absolute: float
    mean_squared: float
    sd_squared: float
    reference_rows: int
    fitted_rows: int
    holdout: dict[str, dict[str, float | int | None]] = field(default_factory=dict)


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _categories(reference: pd.DataFrame, features: list[str]) -> dict[str, list[Any]]:
    """The categorical features and the categories each keeps, most frequent first."""
    kept = {}
    for name in features:
        column = reference[name]
        if not _is_numeric(column):
            counts = column.dropna().astype(str).value_counts(sort=True)
            kept[name] = sorted(counts.index[:MAX_CATEGORIES])
    return kept


def _matrix(
    rows: pd.DataFrame, features: tuple[str, ...], categories: dict[str, list[Any]]
) -> np.ndarray:
    """The loss models' input: features then prediction, as floats; categories as their codes
    in the reference's list (NaN when missing or unseen)."""
    columns = []
    for name in features:
        column = rows[name]
        if name in categories:
            codes = pd.Categorical(column.astype("string"), categories=categories[name]).codes
            columns.append(np.where(codes < 0, np.nan, codes).astype(float))
        else:
            columns.append(pd.to_numeric(column, errors="coerce").astype(float).to_numpy())
    columns.append(rows["prediction"].astype(float).to_numpy())
    return np.column_stack(columns) if columns else np.empty((len(rows), 0))


def _booster(mask: list[bool]) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        max_iter=200,
        learning_rate=0.1,
        early_stopping=True,
        validation_fraction=EARLY_STOPPING_SHARE,
        n_iter_no_change=10,
        categorical_features=mask if any(mask) else None,
        random_state=RANDOM_STATE,
    )


def _one_thread() -> Any:
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["label"].notna() & frame["prediction"].notna()]


def fit(reference: pd.DataFrame, features: list[str]) -> LossModel:
    """Fit the loss models on the labelled reference rows.

    Args:
        reference: one row per inference with `features`, `prediction` and `label` (rows
            without a label or a prediction are left out).
        features: the model's feature columns the loss may depend on.

    Returns:
        The `LossModel` that `estimate` applies to a chunk.

    Raises:
        TooFewRows: fewer than `MIN_REFERENCE_ROWS` labelled reference rows.
    """
    rows = _labelled(reference).reset_index(drop=True)
    if len(rows) < MIN_REFERENCE_ROWS:
        raise TooFewRows(
            f"{len(rows)} labelled reference rows; the loss estimate needs at least "
            f"{MIN_REFERENCE_ROWS}"
        )
    error = rows["label"].astype(float).to_numpy() - rows["prediction"].astype(float).to_numpy()
    absolute, squared = np.abs(error), error**2
    features_ = tuple(features)
    categories = _categories(rows, list(features_))
    generator = np.random.default_rng(RANDOM_STATE)
    order = generator.permutation(len(rows))
    held = order[: int(len(rows) * HOLDOUT_SHARE)][:MAX_FIT_ROWS]
    fitted = order[int(len(rows) * HOLDOUT_SHARE) :][:MAX_FIT_ROWS]
    matrix = _matrix(rows, features_, categories)
    mask = [name in categories for name in features_] + [False]
    with _one_thread():
        absolute_model = _booster(mask).fit(matrix[fitted], absolute[fitted])
        squared_model = _booster(mask).fit(matrix[fitted], squared[fitted])
    model = LossModel(
        features=features_,
        categories=categories,
        absolute=absolute_model,
        squared=squared_model,
        sd_absolute=float(np.std(absolute)),
        mean_squared=float(np.mean(squared)),
        sd_squared=float(np.std(squared)),
        reference_rows=len(rows),
        fitted_rows=len(fitted),
    )
    estimated = estimate(model, rows.iloc[held])
    return replace(
        model,
        holdout={
            "mae": {
                "estimated": estimated["mae"].value,
                "realized": float(absolute[held].mean()),
                "rows": len(held),
            },
            "rmse": {
                "estimated": estimated["rmse"].value,
                "realized": float(math.sqrt(squared[held].mean())),
                "rows": len(held),
            },
        },
    )


def estimate(model: LossModel, chunk: pd.DataFrame) -> dict[str, Band]:
    """Estimated MAE and RMSE of `chunk` (its rows with a prediction), each with its band.

    Args:
        model: from `fit`.
        chunk: rows with the model's features and `prediction`; labels are not read.

    Returns:
        {"mae": Band, "rmse": Band}; a chunk without predictions gives Bands of None.
    """
    rows = chunk[chunk["prediction"].notna()]
    n = len(rows)
    if n == 0:
        return {name: Band(None, None, None) for name in METRICS}
    matrix = _matrix(rows, model.features, model.categories)
    with _one_thread():
        absolute = np.clip(model.absolute.predict(matrix), 0, None)
        squared = np.clip(model.squared.predict(matrix), 0, None)
    mae = float(absolute.mean())
    mse = float(squared.mean())
    rmse = math.sqrt(mse)
    mae_error = model.sd_absolute / math.sqrt(n)
    rmse_error = (
        model.sd_squared / (2 * math.sqrt(n * model.mean_squared))
        if model.mean_squared > 0
        else 0.0
    )
    return {
        "mae": _band(mae, STANDARD_ERRORS * mae_error),
        "rmse": _band(rmse, STANDARD_ERRORS * rmse_error),
    }


def realized(chunk: pd.DataFrame) -> dict[str, float | None]:
    """MAE and RMSE of the chunk's labelled rows (None without any): beside the estimate."""
    rows = _labelled(chunk)
    if rows.empty:
        return {name: None for name in METRICS}
    error = rows["label"].astype(float).to_numpy() - rows["prediction"].astype(float).to_numpy()
    return {"mae": float(np.abs(error).mean()), "rmse": float(math.sqrt((error**2).mean()))}


def _band(value: float, half_width: float) -> Band:
    return Band(value, max(value - half_width, 0.0), value + half_width)
