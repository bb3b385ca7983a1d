"""Serving health: requests, errors and latency percentiles per model, over a window, a day or a
version, from the inference rows, or from serving profiles for a model whose rows stay on its
own engine.

A model with inference rows in the window is read from them, exactly (sql/serving_*.sql,
`quantile_cont`). A model whose source profiles it where the data lives (a `spark` source, a
`sql` source with `profiles = true`), with no day of the window profiled from warehouse rows, is
read from serving_profile_bins (profiled_serving in sql/macros.sql): per (model,
day, version), its requests, errors and a log-spaced latency histogram computed on that engine by
the portable sql/serving_profile.sql (profiling/serving_store.py). Counts are then exact and
each latency percentile lies in the same 1%-wide bin as the exact one: within 1% of it.

Profiles are per UTC day: a window takes every day it overlaps whole.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd

from metrics.db import frame
from metrics.filters import Filters
from profiling.serving_store import PER_UNIT

# How far a percentile read off the histogram can be from the exact one, relatively: a bin
# (PER_UNIT bins per e-fold of latency: profiling/serving_store.py).
PERCENTILE_ERROR = math.exp(1 / PER_UNIT) - 1
# The percentiles every serving reading carries: column -> quantile.
PERCENTILES = {"latency_p50_ms": 0.5, "latency_p95_ms": 0.95, "latency_p99_ms": 0.99}


def bin_edges(bin_: int) -> tuple[float, float]:
    """The latency range [low, high) in ms that a (non-floor) bin holds."""
    return math.exp(bin_ / PER_UNIT), math.exp((bin_ + 1) / PER_UNIT)


def quantile(bins: pd.DataFrame, q: float) -> float | None:
    """The `q` quantile of the latencies a histogram holds, as `quantile_cont` reads it.

    `bins` has one row per latency bin (NULL bin: no latency, left out), with n, minimum and
    maximum. The k-th smallest latency (0-based) is placed in its bin by the counts, and read
    between the bin's min and max by its rank there (exact for a bin of one or two values); the
    quantile interpolates between the two order statistics around rank q * (n - 1), as numpy's
    "linear" method does. Each estimate lies in the bin that holds the exact value.
    """
    valued = bins[bins["bin"].notna() & (bins["n"] > 0)].sort_values("bin")
    if valued.empty:
        return None
    counts = valued["n"].to_numpy(dtype=np.int64)
    lows = valued["minimum"].to_numpy(dtype=float)
    highs = valued["maximum"].to_numpy(dtype=float)
    before = np.concatenate(([0], np.cumsum(counts)[:-1]))
    total = int(counts.sum())

    def order_statistic(k: int) -> float:
        at = int(np.searchsorted(before, k, side="right")) - 1
        n = int(counts[at])
        if n == 1:
            return float(lows[at])
        return float(lows[at] + (highs[at] - lows[at]) * (k - before[at]) / (n - 1))

    rank = q * (total - 1)
    below = math.floor(rank)
    value = order_statistic(below)
    if rank > below:
        value += (rank - below) * (order_statistic(below + 1) - value)
    return value


def from_profiles(bins: pd.DataFrame, keys: Sequence[str], seen: bool = False) -> pd.DataFrame:
    """Serving health per `keys` group of profile bins: requests, errors, error_rate and the
    latency percentiles (and first_seen_at, last_seen_at with `seen`), one row per group."""
    keys = list(keys)
    columns = keys + (["first_seen_at", "last_seen_at"] if seen else [])
    columns += ["requests", "errors", "error_rate", *PERCENTILES]
    out = []
    for group, rows in bins.groupby(keys, sort=True):
        group = group if isinstance(group, tuple) else (group,)
        requests = int(rows["n"].sum())
        errors = int(rows["errors"].sum())
        record = dict(zip(keys, group, strict=True))
        if seen:
            record["first_seen_at"] = rows["first_seen_at"].min()
            record["last_seen_at"] = rows["last_seen_at"].max()
        record.update(
            requests=requests,
            errors=errors,
            error_rate=errors / requests if requests else None,
        )
        for name, q in PERCENTILES.items():
            record[name] = quantile(rows, q)
        out.append(record)
    return pd.DataFrame(out, columns=columns)


def profile_bins(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """The stored serving profile bins of models profiled where their data lives."""
    return frame(con, "serving_profile_rows", **filters.params())


def _combine(exact: pd.DataFrame, profiled: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    if profiled.empty:
        return exact
    if exact.empty:
        combined = profiled
    else:
        combined = pd.concat([exact, profiled.astype(exact.dtypes.to_dict())], ignore_index=True)
    return combined.sort_values(list(order), kind="stable").reset_index(drop=True)


def window(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Per model over the window: requests, errors, error_rate, latency p50/p95/p99 in ms."""
    exact = frame(con, "serving_window", **filters.params())
    profiled = from_profiles(profile_bins(con, filters), ["model"])
    return _combine(exact, profiled, ["model"])


def daily(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Per model and UTC day: requests, errors, error_rate, latency p50/p95/p99 in ms."""
    exact = frame(con, "serving_daily", **filters.params())
    profiled = from_profiles(profile_bins(con, filters), ["model", "day"])
    return _combine(exact, profiled, ["model", "day"])


def versions(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Per model and version: first and last request in the window, requests, errors,
    error_rate, latency p50/p95/p99 in ms; ordered by model and first request."""
    exact = frame(con, "serving_versions", **filters.params())
    profiled = from_profiles(profile_bins(con, filters), ["model", "model_version"], seen=True)
    return _combine(exact, profiled, ["model", "first_seen_at"])


def profiled_models(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """The models whose serving health in the window is read from serving profiles, with the
    sources that computed them (columns model, sources)."""
    return frame(con, "serving_profiled_models", **filters.params())
