"""Model quality by kind: classifier, regressor and ranker metrics from labelled inference rows."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from metrics.db import frame
from metrics.filters import Filters
from profiling.store import model_columns

KINDS = ("classifier", "regressor", "ranker")
CLASSIFIER_METRICS = ("accuracy", "precision", "recall", "roc_auc")
REGRESSOR_METRICS = ("mae", "rmse")
RANKER_METRICS = ("precision_at_k", "ndcg_at_k", "hit_rate_at_k")
METRICS = {
    "classifier": CLASSIFIER_METRICS,
    "regressor": REGRESSOR_METRICS,
    "ranker": RANKER_METRICS,
}
UNKNOWN_KIND = "no quality figure: its kind is not known — set kind in models.toml"
# Inference columns that hold one row's own value: rows sharing one of them are no list.
NOT_A_LIST = ("request_id", "model", "latency_ms", "status", "prediction", "score", "label")


@dataclass(frozen=True)
class Ranking:
    """How a ranker's rows form lists: the cut-off k, and the column whose value the rows of
    one list share (None: the rows of one model and version logged at the same `ts`)."""

    k: int = 10
    list_column: str | None = None


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


def ranker_quality(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    ranking: Ranking = Ranking(),
    by_version: bool = True,
) -> pd.DataFrame:
    """Ranker quality per (model, model_version), or per model with versions pooled.

    One row of the feed is one ranked item: its position in `prediction` (1 = top), its
    relevance in `label`. Only lists with at least one label count; in them an unlabelled item
    is not relevant.

    Args:
        con: a read connection prepared by `metrics.db.prepare`.
        filters: the window and, optionally, one model; every model in scope is read as a
            ranker with the same `ranking`.
        ranking: the cut-off k and the column that groups a list's rows.
        by_version: as in `classifier_quality`.

    Returns:
        Columns model, [model_version,] rows, labelled, labelled_share, lists,
        labelled_lists, k, precision_at_k, ndcg_at_k, hit_rate_at_k (means over the labelled
        lists, NaN when there is none).
    """
    params = {**_params(filters, by_version), "k": int(ranking.k), "list": ranking.list_column}
    return _pooled(frame(con, "quality_ranker", **params), by_version)


def list_problem(con: duckdb.DuckDBPyConnection, model: str, ranking: Ranking) -> str | None:
    """Why `ranking.list_column` cannot group the model's lists, or None when it can."""
    column = ranking.list_column
    if column is None or column in ("ts", "model_version"):
        return None
    if column in NOT_A_LIST:
        return f"no quality figure: ranking.list is {column!r}, one value per row, not per list"
    if column not in {c.name for c in model_columns(con, model) if c.role == "feature"}:
        return f"no quality figure: ranking.list names {column!r}, which {model}'s rows lack"
    return None


def model_kinds(con: duckdb.DuckDBPyConnection, model: str | None = None) -> dict[str, str | None]:
    """Each model's kind as read from all its ok rows: 'classifier', 'regressor', or None
    where the rows could be of more than one kind (see quality_kind.sql)."""
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
    rankings: dict[str, Ranking] | None = None,
    inferred: dict[str, str | None] | None = None,
) -> dict[str, dict]:
    """Each model's quality over the window, all its versions pooled, as a JSON-ready dict.

    Args:
        con: a read connection prepared by `metrics.db.prepare`.
        filters: the window and, optionally, one model; that model is reported (rows 0) even
            when it has no rows in the window.
        kinds: model -> 'classifier', 'regressor' or 'ranker' where a model contract says
            it; other models are read by `model_kinds`, and a model of no known kind gets no
            quality figure.
        threshold: as in `classifier_quality`.
        rankings: model -> its `Ranking` terms (default k 10, lists by `ts`).
        inferred: `model_kinds(con, filters.model)` when the caller has read it already.

    Returns:
        {model: {"kind", "rows", "labelled", "labelled_share", the kind's metrics (see
        `METRICS`; rankers add "k", "lists" and "labelled_lists"), "reason"}}: None where a
        value is undefined; "reason" says why there is no figure at all (kind None: unknown).
    """
    kinds = dict(kinds or {})
    rankings = dict(rankings or {})
    unknown = {model: kind for model, kind in kinds.items() if kind not in KINDS}
    if unknown:
        raise ValueError(f"a model kind is one of {', '.join(KINDS)}, got {unknown}")
    results = {
        "classifier": classifier_quality(con, filters, threshold, by_version=False),
        "regressor": regressor_quality(con, filters, by_version=False),
    }
    by_model = {kind: result.set_index("model") for kind, result in results.items()}
    models = sorted(set(by_model["classifier"].index) | ({filters.model} - {None}))
    if inferred is None:
        inferred = model_kinds(con, filters.model)
    report: dict[str, dict] = {}
    for model in models:
        kind = kinds.get(model) or inferred.get(model)
        reason = None
        table = by_model["regressor" if kind == "regressor" else "classifier"]
        if kind == "ranker":
            ranking = rankings.get(model, Ranking())
            reason = list_problem(con, model, ranking)
            if reason is None:
                mine = Filters(filters.since, filters.until, None, model)
                table = ranker_quality(con, mine, ranking, by_version=False).set_index("model")
        row = table.loc[model] if model in table.index else None
        entry: dict[str, Any] = {
            "kind": kind,
            "rows": int(row["rows"]) if row is not None else 0,
            "labelled": int(row["labelled"]) if row is not None else 0,
            "labelled_share": _plain(row["labelled_share"]) if row is not None else None,
        }
        if kind is None:
            reason = UNKNOWN_KIND
        elif kind == "ranker":
            entry["k"] = rankings.get(model, Ranking()).k
            for name in ("lists", "labelled_lists"):
                entry[name] = int(row[name]) if row is not None and name in row else 0
        if kind is not None:
            for name in METRICS[kind]:
                entry[name] = _plain(row[name]) if row is not None and name in row else None
        entry["reason"] = reason
        report[model] = entry
    return report
