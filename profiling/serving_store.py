"""Serving profiles: per (model, UTC day, version), requests, errors and a latency histogram.

One row per (model, day, model_version, latency bin) in serving_profile_bins. Bin k holds
latencies in [exp(k / PER_UNIT), exp((k + 1) / PER_UNIT)) ms, a 1%-wide bin; latencies of 0 ms
or less go to FLOOR_BIN, below every other, and requests with no finite latency to bin NULL.
Each bin keeps its requests, errors, minimum and maximum latency, and first and last request.

The portable sql/serving_profile.sql computes them: at sync on DuckDB from the inference rows
(profiling/store.py), or on the engine that holds a source's rows (profiling/remote.py), so the
table is the same whoever computed it. metrics/serving.py reads them back into requests, errors
and latency percentiles for a model whose rows stay on its own engine.
"""

from __future__ import annotations

import duckdb

from profiling import portable
from profiling.queries import DAY
from warehouse import sql

# Bins per e-fold of latency: bin k holds [exp(k / PER_UNIT), exp((k + 1) / PER_UNIT)) ms, so
# a bin's top is 1.005% above its bottom.
PER_UNIT = 100
# The bin of latencies of 0 ms or less (no logarithm); below every other bin.
FLOOR_BIN = -100_000
# The columns of a serving profile as sql/serving_profile.sql returns them (part as `day`).
PROFILE_COLUMNS = (
    "day",
    "model_version",
    "bin",
    "n",
    "errors",
    "minimum",
    "maximum",
    "first_seen_at",
    "last_seen_at",
)


def profile_sql(relation: str, dialect: str = portable.READ, day: str = DAY) -> str:
    """The portable serving profile query over `relation` (rows under the contract's names),
    one row per (day, model_version, latency bin), in `dialect`; `day` names a row's day
    (LOCAL_DAY over a local `day_relation`)."""
    text = portable.fill(
        sql("serving_profile"),
        {
            "part": day,
            "per_unit": portable.number(PER_UNIT),
            "floor_bin": portable.number(FLOOR_BIN),
        },
    )
    return portable.render(text, dialect, relation)


def store(con: duckdb.DuckDBPyConnection, model: str, rows: str) -> None:
    """Insert a model's serving profile rows into serving_profile_bins.

    Args:
        rows: a relation with PROFILE_COLUMNS: the profile query itself, in parentheses (the
            sync), or a frame an engine sent, registered on `con` (profiling/remote.py).
    """
    columns = ", ".join("cast(bin as integer)" if c == "bin" else c for c in PROFILE_COLUMNS)
    con.execute(
        f"insert into serving_profile_bins select $model, {columns} from {rows} as profile",
        {"model": model},
    )
