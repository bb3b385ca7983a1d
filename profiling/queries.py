"""Profile queries: what a profile of inference columns is, and the SQL that computes one.

A part is a day (at sync, stored in the warehouse: profiling/store.py) or a side (reference or
current, when two frames are compared directly: metrics.drift.compare_frames). Per part and
column:

- numeric columns: counts, min, max, mean and m2 in each of `BINS` fixed bins (plus one bin
  below and one above the fixed range, and one for missing values). Bins are fixed per model
  and column the first time the column is profiled, from its 0.1%-99.9% range, so any days can
  be added up.
- text and boolean columns: a count per value (value NULL for missing), or, past `VALUE_CAP`
  distinct values in a part, one capped row counting them all.

Everything is computed in one SQL pass per kind (sql/drift_profile_*.sql), written once in a
portable subset of DuckDB's SQL and transpiled for the engine that runs it
(profiling/portable.py): DuckDB at sync, Spark or a source's database when the profiles are
computed where the data lives (profiling/remote.py), so a day's profile is the same whichever
engine computed it. Identifiers are quoted and every value (feature names, bin edges, days) is
inlined as a literal built by sqlglot: some engines bind no named parameters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from profiling import portable
from warehouse import quote, sql

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


# --- A model's days, the parts of the stored profiles -----------------------------------------

# A row's day, the part of the stored profiles: its UTC date (every session is set to UTC).
DAY = 'cast("ts" as date)'
# On the warehouse (the sync's own profiles) each row brings its UTC day as a column of the
# relation, LOCAL_DAY (see `day_relation`), computed from the instant's microseconds: casting a
# timestamptz to a date looks up the time zone for every row, and profiling 28 days of 2M rows
# took 3.7 s of CPU that way, 1.8 s this way. The relation is DuckDB's own, so the portable
# query over it stays portable; warehouse sessions run in UTC (warehouse._configure), where the
# two days agree.
LOCAL_DAY_COLUMN = "tandem_day"
LOCAL_DAY = f'"{LOCAL_DAY_COLUMN}"'
_EPOCH_DAY = "(date '1970-01-01' + cast(floor(epoch_us(\"ts\") / 86400000000) as integer))"


def day_relation(
    table: str,
    model: str,
    days: Sequence[dt.date],
    model_column: str = "model",
    local: bool = False,
) -> str:
    """The rows of `model` on `days` in `table` (DuckDB SQL), values inlined as literals.

    The range on `ts` lets an engine prune partitions or use an index; the list of dates keeps
    the days in between that are not asked for out. `local` (the warehouse, never a source's
    engine): each row also carries its day as LOCAL_DAY, the part to profile it by.
    """
    first, last = min(days), max(days) + dt.timedelta(days=1)
    listed = ", ".join(portable.date(day) for day in sorted(days))
    day = _EPOCH_DAY if local else DAY
    carried = f", {_EPOCH_DAY} as {LOCAL_DAY}" if local else ""
    return (
        f"(select *{carried} from {table} where {portable.identifier(model_column)} = "
        f"{portable.string(model)} "
        f'and "ts" >= {portable.instant(dt.datetime.combine(first, dt.time()))} '
        f'and "ts" < {portable.instant(dt.datetime.combine(last, dt.time()))} '
        f"and {day} in ({listed}))"
    )


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
