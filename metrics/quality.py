"""Model quality: classifier and regressor metrics from labelled inference rows."""

from __future__ import annotations

import math
from typing import Any

import duckdb
import pandas as pd

from metrics.db import frame
from metrics.filters import Filters

KINDS = ("classifier", "regressor")
CLASSIFIER_METRICS = ("accuracy", "precision", "recall", "roc_auc")
REGRESSOR_METRICS = ("mae", "rmse")


def _params(filters: Filters, by_version: bool) -> dict[str, Any]:
    return {**filters.params(), "by_version": by_version}


def _pooled(result: pd.DataFrame, by_version: bool) -> pd.DataFrame:
    # Pooled rows carry a null model_version: a column that says nothing, so it goes.
    return result if by_version else result.drop(columns="model_version")


def classifier_quality(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    threshold: float = 0.5,
    by_version: bool = True,
) -> pd.DataFrame:
    """Classifier quality per (model, model_version), or per model with versions pooled.

    Only `status = 'ok'` rows in the window count. The predicted class is `prediction`, or
    `score >= threshold` where the prediction is null; the positive class is label 1.

    Args:
        con: a read connection prepared by `metrics.db.prepare`.
        filters: the window and, optionally, one model (the team is ignored: inference has none).
        threshold: the score from which a row without a prediction is classed positive.
        by_version: one row per (model, model_version) if true, else one per model, every
            metric computed over all of the model's rows (never averaged across versions).

    Returns:
        Columns model, [model_version,] rows, labelled, labelled_share, accuracy, precision,
        recall, roc_auc; a metric is NaN where it is undefined. No rows for an empty window.
    """
    params = {**_params(filters, by_version), "threshold": float(threshold)}
    return _pooled(frame(con, "quality_classifier", **params), by_version)


def regressor_quality(
    con: duckdb.DuckDBPyConnection, filters: Filters, by_version: bool = True
) -> pd.DataFrame:
    """Regressor quality per (model, model_version), or per model with versions pooled.

    Args:
        con: a read connection prepared by `metrics.db.prepare`.
        filters: the window and, optionally, one model.
        by_version: as in `classifier_quality`.

    Returns:
        Columns model, [model_version,] rows, labelled, labelled_share, mae, rmse; the errors
        are over ok rows with both a prediction and a label, NaN when there are none.
    """
    return _pooled(frame(con, "quality_regressor", **_params(filters, by_version)), by_version)


def model_kinds(con: duckdb.DuckDBPyConnection, model: str | None = None) -> dict[str, str]:
    """Each model's kind as read from all its ok rows: 'classifier' or 'regressor'."""
    return dict(frame(con, "quality_kind", model=model).itertuples(index=False))


def _plain(value: Any) -> Any:
    # numpy scalars and NaN are not JSON; a missing metric is None, never a made-up 0.
    if hasattr(value, "item"):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def quality(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    kinds: dict[str, str] | None = None,
    threshold: float = 0.5,
) -> dict[str, dict]:
    """Each model's quality over the window, all its versions pooled, as a JSON-ready dict.

    Args:
        con: a read connection prepared by `metrics.db.prepare`.
        filters: the window and, optionally, one model; that model is reported (rows 0) even
            when it has no rows in the window.
        kinds: model -> 'classifier' or 'regressor' where a model contract says it; other
            models are read by `model_kinds`.
        threshold: as in `classifier_quality`.

    Returns:
        {model: {"kind", "rows", "labelled", "labelled_share", then "accuracy", "precision",
        "recall", "roc_auc" for a classifier or "mae", "rmse" for a regressor}}, None where a
        value is undefined.
    """
    kinds = dict(kinds or {})
    unknown = {model: kind for model, kind in kinds.items() if kind not in KINDS}
    if unknown:
        raise ValueError(f"a model kind is 'classifier' or 'regressor', got {unknown}")
    results = {
        "classifier": classifier_quality(con, filters, threshold, by_version=False),
        "regressor": regressor_quality(con, filters, by_version=False),
    }
    metrics = {"classifier": CLASSIFIER_METRICS, "regressor": REGRESSOR_METRICS}
    by_model = {kind: result.set_index("model") for kind, result in results.items()}
    models = sorted(set(by_model["classifier"].index) | ({filters.model} - {None}))
    inferred = model_kinds(con, filters.model)
    report: dict[str, dict] = {}
    for model in models:
        # A model without a single ok row has no label or score against it: a classifier.
        kind = kinds.get(model) or inferred.get(model, "classifier")
        table = by_model[kind]
        row = table.loc[model] if model in table.index else None
        entry: dict[str, Any] = {
            "kind": kind,
            "rows": int(row["rows"]) if row is not None else 0,
            "labelled": int(row["labelled"]) if row is not None else 0,
        }
        for name in ("labelled_share", *metrics[kind]):
            entry[name] = _plain(row[name]) if row is not None else None
        report[model] = entry
    return report
