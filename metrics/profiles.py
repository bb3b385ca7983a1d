"""Drift profiles: small per-part summaries of inference columns that drift is computed from.

A part is a day (at sync, stored in the warehouse) or a side (reference or current, when two
frames are compared directly). Per part and column:

- numeric columns: counts, min, max, mean and m2 in each of `BINS` fixed bins (plus one bin
  below and one above the fixed range, and one for missing values). Bins are fixed per model
  and column the first time the column is profiled, from its 0.1%-99.9% range, so any days can
  be added up.
- text and boolean columns: a count per value (value NULL for missing), or, past `VALUE_CAP`
  distinct values in a part, one capped row counting them all.

Each stored day also gets its serving profile (requests, errors, latency histogram per version:
metrics/serving.py), so the profile tables are the same whichever engine computed them.

Everything is computed in one SQL pass per kind (sql/drift_profile_*.sql), written once in a
portable subset of DuckDB's SQL and transpiled for the engine that runs it (metrics/portable.py):
DuckDB at sync, Spark or a source's database when the profiles are computed where the data
lives (metrics/remote_profiles.py), so a day's profile is the same whichever engine computed
it. Identifiers are quoted and every value (feature names, bin edges, days) is inlined as a
literal built by sqlglot: some engines bind no named parameters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from connectors.loader import quote
from metrics import portable, serving
from metrics.db import sql

BINS = 1000
VALUE_CAP = 1000
NUMERIC_TYPES = frozenset(
    {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "DOUBLE", "FLOAT"}
)
INTEGER_TYPES = NUMERIC_TYPES - {"DOUBLE", "FLOAT"}
# Model outputs profiled beside the features, for prediction drift.
OUTPUTS = ("prediction", "score")


@dataclass(frozen=True)
class ProfiledColumn:
    """One inference column: its name, its DuckDB type, and whether it is a feature or output."""

    name: str
    data_type: str
    role: str = "feature"

    @property
    def numeric(self) -> bool:
        return self.data_type in NUMERIC_TYPES

    @property
    def integer(self) -> bool:
        return self.data_type in INTEGER_TYPES


@dataclass(frozen=True)
class BinSpec:
    """Fixed bins [lo + k*width, lo + (k+1)*width), k in 0..bins-1, plus -1 and `bins`."""

    lo: float
    width: float
    bins: int = BINS


def spec_from_range(q_low: float, q_high: float, bins: int = BINS) -> BinSpec:
    """Bins spanning a column's 0.1%-99.9% range, padded 5% each side."""
    span = q_high - q_low
    if not span > 0:
        span = max(abs(q_low), 1.0) * 1e-3
    lo = q_low - 0.05 * span
    return BinSpec(lo, (span * 1.1) / bins, bins)


def _branches(
    template: str,
    columns: Sequence[ProfiledColumn],
    part: str,
    extra: Callable[[ProfiledColumn], dict[str, str]],
) -> str:
    """One SQL branch per column from a template, joined by UNION ALL, values inlined."""
    body = "\n".join(line for line in sql(template).splitlines() if not line.startswith("--"))
    branches = []
    for column in columns:
        fields = {
            "feature": portable.string(column.name),
            "column": portable.identifier(column.name),
            "part": part,
        }
        fields.update(extra(column))
        branches.append(portable.fill(body, fields))
    return "\nunion all\n".join(branches)


def bin_specs(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    columns: Sequence[ProfiledColumn],
    bins: int = BINS,
) -> dict[str, BinSpec]:
    """Fixed bins for each numeric column spanning its exact finite min to max in `relation`
    (none for a column with no finite value). DuckDB only: two frames compared once
    (metrics.drift.compare_frames); the stored days' bins come from `portable_specs`, the same
    on every engine."""
    numeric = [c for c in columns if c.numeric]
    if not numeric:
        return {}
    selects = ", ".join(
        f"min({_finite(c)}) as low{i}, max({_finite(c)}) as high{i}" for i, c in enumerate(numeric)
    )
    found = con.execute(
        sql("drift_bin_range").replace("{select}", selects).replace("{relation}", relation)
    ).fetchone()
    specs = {}
    for i, column in enumerate(numeric):
        low, high = found[2 * i], found[2 * i + 1]
        if low is not None:
            specs[column.name] = spec_from_range(float(low), float(high), bins)
    return specs


def _finite(column: ProfiledColumn) -> str:
    cast = f"cast({quote(column.name)} as double)"
    return f"case when isfinite({cast}) then {cast} end"


def numeric_sql(
    columns: Sequence[ProfiledColumn],
    specs: dict[str, BinSpec],
    relation: str | Any,
    part: str,
    dialect: str = portable.READ,
) -> str | None:
    """The query profiling numeric columns into bins, or None when there are none to profile.

    Args:
        relation: what the rows come from, DuckDB SQL text or a sqlglot expression.
        part: the SQL expression naming each row's part (a day, a side), in DuckDB's dialect.
        dialect: the sqlglot dialect of the engine that runs the query.

    Returns:
        The query, every value inlined (some engines bind no parameters).
    """
    numeric = [c for c in columns if c.numeric and c.name in specs]
    if not numeric:
        return None

    def edges(column: ProfiledColumn) -> dict[str, str]:
        spec = specs[column.name]
        return {
            "lo": portable.number(spec.lo),
            "width": portable.number(spec.width),
            "top": portable.number(spec.lo + spec.width * spec.bins),
            "bins": portable.number(int(spec.bins)),
        }

    branches = _branches("drift_profile_column_numeric", numeric, part, edges)
    text = portable.fill(sql("drift_profile_numeric"), {"columns": branches})
    return portable.render(text, dialect, relation)


def values_sql(
    columns: Sequence[ProfiledColumn],
    relation: str | Any,
    part: str,
    cap: int = VALUE_CAP,
    dialect: str = portable.READ,
) -> str | None:
    """The query counting values of text and boolean columns, or None when there are none.

    Arguments and result as for `numeric_sql`.
    """
    categorical = [c for c in columns if not c.numeric]
    if not categorical:
        return None
    branches = _branches("drift_profile_column_values", categorical, part, lambda c: {})
    text = portable.fill(
        sql("drift_profile_values"), {"columns": branches, "cap": portable.number(int(cap))}
    )
    return portable.render(text, dialect, relation)


QUANTILES = (0.001, 0.999)
# An engine runs one query (in its dialect) and returns its rows as a frame.
Query = Callable[[str], pd.DataFrame]


def portable_specs(
    query: Query,
    dialect: str,
    relation: str,
    columns: Sequence[ProfiledColumn],
    bins: int = BINS,
) -> dict[str, BinSpec]:
    """Fixed bins for numeric columns from their rows in `relation`, on any engine.

    They span the columns' 0.1%-99.9% range, read off a histogram of `bins` bins over their
    finite min-max (two passes, both portable: exact percentiles do not transpile to Spark),
    so a stray outlier cannot stretch every bin, and any engine derives the same bins from the
    same rows.

    Args:
        query: runs one query on the engine, returns a frame.
        dialect: the engine's sqlglot dialect.
        relation: the rows, as DuckDB SQL text (transpiled with the queries).
    """
    numeric = [c for c in columns if c.numeric]
    if not numeric:
        return {}
    template = "\n".join(
        line for line in sql("profile_column_range").splitlines() if not line.startswith("--")
    )
    branches = "\nunion all\n".join(
        portable.fill(
            template,
            {"feature": portable.string(c.name), "column": portable.identifier(c.name)},
        )
        for c in numeric
    )
    ranges = query(portable.render(branches, dialect, relation))
    provisional = {}
    for feature, low, high in ranges.itertuples(index=False):
        if low is None or high is None or pd.isna(low) or pd.isna(high):
            continue
        span = float(high) - float(low)
        width = span / bins if span > 0 else max(abs(float(low)), 1.0) * 1e-3 / bins
        provisional[str(feature)] = BinSpec(float(low), width, bins)
    if not provisional:
        return {}
    histogram_sql = numeric_sql(numeric, provisional, relation, "'all'", dialect)
    histogram = query(histogram_sql)
    specs = {}
    for feature, rows in histogram.groupby("feature"):
        valued = rows[rows["bin"].notna() & (rows["n"] > 0)].sort_values("bin")
        if valued.empty:
            continue
        share = valued["n"].cumsum().to_numpy(dtype=float) / float(valued["n"].sum())
        low_at = int((share >= QUANTILES[0]).argmax())
        high_at = int((share >= QUANTILES[1]).argmax())
        q_low = float(valued["minimum"].iloc[low_at])
        q_high = float(valued["maximum"].iloc[high_at])
        specs[str(feature)] = spec_from_range(q_low, q_high, bins)
    return specs


# --- The warehouse's per-day profiles, kept up to date at each sync -----------------------

# A row's day, the part of the stored profiles: its UTC date (every session is set to UTC).
DAY = 'cast("ts" as date)'


def model_columns(con: duckdb.DuckDBPyConnection, model: str) -> list[ProfiledColumn]:
    """A model's feature columns (from inference_features) and its outputs."""
    rows = con.execute(
        "select feature, data_type from inference_features where model = $model order by feature",
        {"model": model},
    ).fetchall()
    features = [ProfiledColumn(name, data_type) for name, data_type in rows]
    return features + [ProfiledColumn(name, "DOUBLE", "prediction") for name in OUTPUTS]


def stored_specs(con: duckdb.DuckDBPyConnection, model: str) -> dict[str, BinSpec]:
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
    done = 0
    for position, (model, days) in enumerate(sorted(by_model.items())):
        if progress:
            progress(model, position, len(by_model))
        _profile_days(con, model, days)
        done += sum(1 for _, rows, _ in days if rows is not None)
    return done


def day_relation(
    table: str, model: str, days: Sequence[dt.date], model_column: str = "model"
) -> str:
    """The rows of `model` on `days` in `table` (DuckDB SQL), values inlined as literals.

    The range on `ts` lets an engine prune partitions or use an index; the list of dates keeps
    the days in between that are not asked for out.
    """
    first, last = min(days), max(days) + dt.timedelta(days=1)
    listed = ", ".join(portable.date(day) for day in sorted(days))
    return (
        f"(select * from {table} where {portable.identifier(model_column)} = "
        f"{portable.string(model)} "
        f'and "ts" >= {portable.instant(dt.datetime.combine(first, dt.time()))} '
        f'and "ts" < {portable.instant(dt.datetime.combine(last, dt.time()))} '
        f"and {DAY} in ({listed}))"
    )


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
    scope = {"model": model, "days": list(days)}
    tables = ("drift_profile_bins", "drift_profile_values", "drift_profile_days")
    for table in (*tables, "serving_profile_bins"):
        con.execute(
            f"delete from {table} where model = $model and list_contains($days, day)", scope
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
    forget_days(con, model, [day for day, _, _ in days])
    present = [(day, rows, synced_max) for day, rows, synced_max in days if rows is not None]
    if not present:
        return
    relation = day_relation("inference", model, [day for day, _, _ in present])
    columns = model_columns(con, model)
    specs = stored_specs(con, model)
    new = [c for c in columns if c.numeric and c.name not in specs]
    if new:
        found = portable_specs(lambda text: con.execute(text).df(), portable.READ, relation, new)
        store_specs(con, model, found)
        specs.update(found)
    # The same portable queries a remote engine runs, here on DuckDB.
    numeric = numeric_sql(columns, specs, relation, DAY)
    if numeric:
        con.execute(
            "insert into drift_profile_bins select $model, feature, part, bin, n, minimum, "
            f"maximum, mean, m2 from ({numeric})",
            {"model": model},
        )
    values = values_sql(columns, relation, DAY)
    if values:
        con.execute(
            "insert into drift_profile_values select $model, feature, part, value, n, capped "
            f"from ({values})",
            {"model": model},
        )
    # Serving profiles too, as a remote engine would send them: the serving metrics read this
    # model's rows exactly, but the profile tables are the same whoever computed them.
    serving.store(con, model, f"({serving.profile_sql(relation)})")
    store_days(con, model, present)


# --- Two frames, profiled side by side ------------------------------------------------------


def frame_columns(frame: pd.DataFrame) -> list[ProfiledColumn]:
    """Columns of a frame typed as the warehouse would type them (int, float, bool, text)."""
    columns = []
    for name, dtype in frame.dtypes.items():
        kind = getattr(dtype, "kind", "O")
        if pd.api.types.is_bool_dtype(dtype):
            data_type = "BOOLEAN"
        elif kind in "iu":
            data_type = "BIGINT"
        elif kind == "f":
            data_type = "DOUBLE"
        elif str(dtype) in ("Int64", "Int32", "Int16", "Int8"):
            data_type = "BIGINT"
        elif pd.api.types.is_numeric_dtype(dtype):
            data_type = "DOUBLE"
        elif kind == "M":
            continue  # timestamps are not drift-tested, as in Evidently
        else:
            data_type = "VARCHAR"
        columns.append(ProfiledColumn(str(name), data_type))
    return columns
