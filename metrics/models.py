"""Model readings: business KPIs, serving health and feature distributions over time."""

from __future__ import annotations

import duckdb
import pandas as pd

from metrics import serving
from metrics.db import frame
from metrics.filters import Filters


def kpi_daily(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Each model's KPIs per UTC day; ratios as sum(numerator) / sum(denominator).

    Returns columns model, kpi, date, value, unit, target, guardrail.
    """
    return frame(con, "kpi_daily", **filters.params())


def serving_daily(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Per model and UTC day: requests, errors, error_rate, latency p50/p95/p99 in ms (from
    serving profiles for a model whose rows stay on its own engine: metrics/serving.py)."""
    return serving.daily(con, filters)


def model_features(con: duckdb.DuckDBPyConnection, model: str) -> pd.DataFrame:
    """The features a model's inference rows carry, with their stored type."""
    return frame(con, "model_features", model=model)


def feature_daily(con: duckdb.DuckDBPyConnection, filters: Filters, feature: str) -> pd.DataFrame:
    """One feature of `filters.model` per UTC day: rows, missing share, mean and quartiles
    (numeric) or its most common value and that value's share (categorical)."""
    if filters.model is None:
        raise ValueError("feature_daily needs a model")
    params = filters.params()
    return frame(
        con,
        "feature_daily",
        since=params["since"],
        until=params["until"],
        model=filters.model,
        feature=feature,
    )


def kpi_window(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Each model's KPIs over the whole window (ratio of sums), with target and guardrail.

    Returns columns model, kpi, value, days, unit, target, guardrail.
    """
    return frame(con, "kpi_window", **filters.params())


def serving_versions(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Per model and version over the window: requests, errors, error rate, p50/p95/p99 ms."""
    return serving.versions(con, filters)


def kpi_segments(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Each model's KPIs per segment over the window (ratio of sums over the days)."""
    return frame(con, "kpi_segments", **filters.params())
