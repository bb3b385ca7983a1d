"""The warehouse's per-day drift profiles: kept up to date at each sync, read by the metrics.

Per (model, day): the profile rows of its features and outputs (drift_profile_bins,
drift_profile_values; profiling/queries.py says what they hold), the day's row count and who
profiled it (drift_profile_days), and its serving profile (serving_profile_bins:
profiling/serving_store.py), so the profile tables are the same whichever engine computed them.
A model's numeric columns keep the fixed bins they got the first time (drift_bin_specs).

The sync profiles the days whose inference rows changed (`refresh`, inside its transaction on
the warehouse copy); a source profiled on its own engine stores what that engine sent through
the same functions (profiling/remote.py). metrics/ only reads: `model_columns` and the tables.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import pandas as pd

from profiling import portable, serving_store
from profiling.queries import (
    LOCAL_DAY,
    LOCAL_DAY_COLUMN,
    OUTPUTS,
    BinSpec,
    ProfiledColumn,
    day_relation,
    numeric_sql,
    portable_specs,
    values_sql,
)
from warehouse import sql


def model_columns(con: duckdb.DuckDBPyConnection, model: str) -> list[ProfiledColumn]:
    """A model's feature columns (from inference_features) and its outputs."""
    rows = con.execute(
        "select feature, data_type from inference_features where model = $model order by feature",
        {"model": model},
    ).fetchall()
    features = [ProfiledColumn(name, data_type) for name, data_type in rows]
    return features + [ProfiledColumn(name, "DOUBLE", "prediction") for name in OUTPUTS]


def stored_specs(con: duckdb.DuckDBPyConnection, model: str) -> dict[str, BinSpec]:
    """A model's fixed bins as they were first stored: feature -> BinSpec."""
    rows = con.execute(
        "select feature, lo, width, bins from drift_bin_specs where model = $model",
        {"model": model},
    ).fetchall()
    return {feature: BinSpec(lo, width, bins) for feature, lo, width, bins in rows}


def refresh(
    con: duckdb.DuckDBPyConnection, progress: Callable[[str, int, int], None] | None = None
) -> int:
    """Profile every (model, day) whose inference rows changed since it was last profiled.

    Runs inside the sync's transaction on the warehouse copy; returns the days profiled. A
    second sync with nothing new profiles nothing.
    """
    stale = con.execute(sql("drift_stale_days")).fetchall()
    by_model: dict[str, list[tuple[dt.date, int | None, Any]]] = {}
    for model, day, rows, synced_max in stale:
        by_model.setdefault(model, []).append((day, rows, synced_max))
    forget(con, [(model, day) for model, day, _, _ in stale])
    con.execute(sql("kind_macros"))
    done = 0
    for position, (model, days) in enumerate(sorted(by_model.items())):
        if progress:
            progress(model, position, len(by_model))
        _profile_days(con, model, days)
        done += sum(1 for _, rows, _ in days if rows is not None)
    return done


def store_specs(con: duckdb.DuckDBPyConnection, model: str, specs: dict[str, BinSpec]) -> None:
    """Keep a model's new bin specs for good (later days are binned the same way)."""
    for feature, spec in specs.items():
        con.execute(
            "insert into drift_bin_specs values ($model, $feature, $lo, $width, $bins, now())",
            {
                "model": model,
                "feature": feature,
                "lo": spec.lo,
                "width": spec.width,
                "bins": spec.bins,
            },
        )


def forget_days(con: duckdb.DuckDBPyConnection, model: str, days: Sequence[dt.date]) -> None:
    """Delete a model's stored profiles of `days`, whoever computed them."""
    forget(con, [(model, day) for day in days])


def forget(con: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[str, dt.date]]) -> None:
    """Delete the stored profiles of each (model, day) in `pairs`, whoever computed them: one
    pass over each profile table for them all (a model at a time was one pass per model)."""
    if not pairs:
        return
    scope = {"pairs": [{"model": model, "day": day} for model, day in pairs]}
    tables = ("drift_profile_bins", "drift_profile_values", "drift_profile_days")
    for table in (*tables, "serving_profile_bins", "inference_kind_days"):
        con.execute(
            f"delete from {table} where (model, day) in "
            "(select (model, day) from (select unnest($pairs, recursive := true)))",
            scope,
        )


def store_days(
    con: duckdb.DuckDBPyConnection,
    model: str,
    days: Sequence[tuple[dt.date, int, Any]],
    source: str | None = None,
) -> None:
    """Record a model's profiled days: (day, rows, newest synced_at, or None for now), and the
    source whose engine profiled them (None: the sync, from the inference rows)."""
    con.executemany(
        "insert into drift_profile_days (model, day, rows, synced_max, source) "
        "values (?, ?, ?, coalesce(?, now()), ?)",
        [(model, day, rows, synced_max, source) for day, rows, synced_max in days],
    )


def store_profiles(
    con: duckdb.DuckDBPyConnection,
    model: str,
    bins: pd.DataFrame | None,
    values: pd.DataFrame | None,
) -> None:
    """Insert profile rows (as the profile queries return them, part = day) for `model`."""
    if bins is not None and len(bins):
        con.register("tandem_profile_bins", bins)
        try:
            con.execute(
                "insert into drift_profile_bins select $model, feature, cast(part as date), "
                "cast(bin as integer), n, minimum, maximum, mean, m2 from tandem_profile_bins",
                {"model": model},
            )
        finally:
            con.unregister("tandem_profile_bins")
    if values is not None and len(values):
        con.register("tandem_profile_values", values)
        try:
            con.execute(
                "insert into drift_profile_values select $model, feature, cast(part as date), "
                "value, n, capped from tandem_profile_values",
                {"model": model},
            )
        finally:
            con.unregister("tandem_profile_values")


def _profile_days(
    con: duckdb.DuckDBPyConnection, model: str, days: list[tuple[dt.date, int | None, Any]]
) -> None:
    """Profile a model's `days` (day, rows or None when it has none now, newest synced_at),
    their old profiles already forgotten."""
    present = [(day, rows, synced_max) for day, rows, synced_max in days if rows is not None]
    if not present:
        return
    # The model's rows of these days, read out of the inference table once: the profile queries
    # below scan their relation once per column, and the table holds every model's rows (12
    # models' year of 2M rows: 19.9 -> 12.9 s of CPU to profile). Only the columns profiled are
    # kept: the request ids alone would double its memory.
    rows = day_relation("inference", model, [day for day, _, _ in present], local=True)
    columns = model_columns(con, model)
    kept = ", ".join(portable.identifier(c) for c in (*_ALSO_KEPT, *(c.name for c in columns)))
    con.execute(f"create or replace temp table {_ROWS} as select {kept} from {rows}")
    try:
        _profile_rows(con, model, columns, _ROWS)
        con.execute(sql("inference_kind_refresh"))
    except BaseException:
        # A failed statement aborts the transaction, whose rollback drops the table: dropping
        # it here would fail too, and hide the error that matters.
        with contextlib.suppress(duckdb.Error):
            con.execute(f"drop table if exists {_ROWS}")
        raise
    con.execute(f"drop table if exists {_ROWS}")
    store_days(con, model, present)


# The temporary table holding the rows `_profile_days` profiles, and the columns it keeps
# besides the model's profiled ones: what sql/serving_profile.sql and sql/kind_macros.sql read
# (model, label, the serving columns), and each row's day.
_ROWS = "tandem_profile_rows"
_ALSO_KEPT = ("ts", "model", "model_version", "latency_ms", "status", "label", LOCAL_DAY_COLUMN)


def _profile_rows(
    con: duckdb.DuckDBPyConnection, model: str, columns: list[ProfiledColumn], relation: str
) -> None:
    """Store the drift and serving profiles of a model's `columns` from the rows in `relation`
    (a local `day_relation`: each row carries its LOCAL_DAY)."""
    specs = stored_specs(con, model)
    new = [c for c in columns if c.numeric and c.name not in specs]
    if new:
        found = portable_specs(lambda text: con.execute(text).df(), portable.READ, relation, new)
        store_specs(con, model, found)
        specs.update(found)
    # The same portable queries a remote engine runs, here on DuckDB.
    numeric = numeric_sql(columns, specs, relation, LOCAL_DAY)
    if numeric:
        con.execute(
            "insert into drift_profile_bins select $model, feature, part, bin, n, minimum, "
            f"maximum, mean, m2 from ({numeric})",
            {"model": model},
        )
    values = values_sql(columns, relation, LOCAL_DAY)
    if values:
        con.execute(
            "insert into drift_profile_values select $model, feature, part, value, n, capped "
            f"from ({values})",
            {"model": model},
        )
    # Serving profiles too, as a remote engine would send them: the serving metrics read this
    # model's rows exactly, but the profile tables are the same whoever computed them.
    serving_store.store(con, model, f"({serving_store.profile_sql(relation, day=LOCAL_DAY)})")
