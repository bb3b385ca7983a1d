"""Drift profiles: small per-part summaries of inference columns that drift is computed from.

A part is a day (at sync, stored in the warehouse) or a side (reference or current, when two
frames are compared directly). Per part and column:

- numeric columns: counts, min, max, mean and m2 in each of `BINS` fixed bins (plus one bin
  below and one above the fixed range, and one for missing values). Bins are fixed per model
  and column the first time the column is profiled, from its 0.1%-99.9% range, so any days can
  be added up.
- text and boolean columns: a count per value (value NULL for missing), or, past `VALUE_CAP`
  distinct values in a part, one capped row counting them all.

Everything is computed in one SQL pass per kind inside DuckDB (sql/drift_profile_*.sql);
identifiers are quoted and every value (feature names, bin edges) is a bound parameter.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from connectors.loader import quote
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
    template: str, columns: Sequence[ProfiledColumn], relation: str, part: str, extra: Callable
) -> tuple[str, dict[str, Any]]:
    """One SQL branch per column from a template, joined by UNION ALL, with their parameters."""
    text = sql(template)
    # Drop the template's leading comment lines: they would swallow the UNION ALL.
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    branches, params = [], {}
    for i, column in enumerate(columns):
        fields = {
            "feature": f"$f{i}",
            "column": quote(column.name),
            "relation": relation,
            "part": part,
        }
        fields.update(extra(i, column, params))
        params[f"f{i}"] = column.name
        branches.append(body.format(**fields))
    return "\nunion all\n".join(branches), params


def bin_specs(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    columns: Sequence[ProfiledColumn],
    params: dict[str, Any] | None = None,
    bins: int = BINS,
    sample: bool = True,
) -> dict[str, BinSpec]:
    """Fixed bins for each numeric column from its values in `relation` (none if it has none).

    With `sample` (at sync, where bins stay fixed for good), they span the 0.1%-99.9% range of a
    100,000-row sample, so a stray outlier cannot stretch every bin. Without (two frames compared
    once), they span the exact min to max.
    """
    numeric = [c for c in columns if c.numeric]
    if not numeric:
        return {}
    if sample:
        scope = f"(select * from {relation} using sample reservoir(100000 rows) repeatable (7))"
        pick = "approx_quantile({v}, [0.001, 0.999])"
    else:
        scope = relation
        pick = "[min({v}), max({v})]"
    selects = ", ".join(pick.format(v=_finite(c)) + f" as q{i}" for i, c in enumerate(numeric))
    found = con.execute(
        sql("drift_bin_range").replace("{select}", selects).replace("{relation}", scope),
        params or {},
    ).fetchone()
    specs = {}
    for column, q in zip(numeric, found, strict=True):
        if q is not None and q[0] is not None:
            specs[column.name] = spec_from_range(float(q[0]), float(q[1]), bins)
    return specs


def _finite(column: ProfiledColumn) -> str:
    cast = f"cast({quote(column.name)} as double)"
    return f"case when isfinite({cast}) then {cast} end"


def numeric_sql(
    columns: Sequence[ProfiledColumn], specs: dict[str, BinSpec], relation: str, part: str
) -> tuple[str, dict[str, Any]] | None:
    """The query profiling numeric columns into bins, or None when there are none to profile."""
    numeric = [c for c in columns if c.numeric and c.name in specs]
    if not numeric:
        return None

    def edges(i: int, column: ProfiledColumn, params: dict[str, Any]) -> dict[str, str]:
        spec = specs[column.name]
        params[f"lo{i}"], params[f"w{i}"], params[f"b{i}"] = spec.lo, spec.width, spec.bins
        return {"lo": f"$lo{i}", "width": f"$w{i}", "bins": f"$b{i}"}

    columns_sql, params = _branches("drift_profile_column_numeric", numeric, relation, part, edges)
    return sql("drift_profile_numeric").replace("{columns}", columns_sql), params


def values_sql(
    columns: Sequence[ProfiledColumn], relation: str, part: str, cap: int = VALUE_CAP
) -> tuple[str, dict[str, Any]] | None:
    """The query counting values of text and boolean columns, or None when there are none."""
    categorical = [c for c in columns if not c.numeric]
    if not categorical:
        return None
    columns_sql, params = _branches(
        "drift_profile_column_values", categorical, relation, part, lambda i, c, p: {}
    )
    params["cap"] = cap
    return sql("drift_profile_values").replace("{columns}", columns_sql), params


# --- The warehouse's per-day profiles, kept up to date at each sync -----------------------

_DAY = "cast(date_trunc('day', ts) as date)"


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


def _profile_days(
    con: duckdb.DuckDBPyConnection, model: str, days: list[tuple[dt.date, int | None, Any]]
) -> None:
    all_days = [day for day, _, _ in days]
    scope = {"model": model, "days": all_days}
    for table in ("drift_profile_bins", "drift_profile_values", "drift_profile_days"):
        con.execute(
            f"delete from {table} where model = $model and list_contains($days, day)", scope
        )
    present = [(day, rows, synced_max) for day, rows, synced_max in days if rows is not None]
    if not present:
        return
    first = min(day for day, _, _ in present)
    last = max(day for day, _, _ in present) + dt.timedelta(days=1)
    relation = (
        "(select * from inference where model = $model and ts >= $first and ts < $last "
        f"and list_contains($present, {_DAY}))"
    )
    where = {
        "model": model,
        "first": dt.datetime.combine(first, dt.time(), dt.UTC),
        "last": dt.datetime.combine(last, dt.time(), dt.UTC),
        "present": [day for day, _, _ in present],
    }
    columns = model_columns(con, model)
    specs = stored_specs(con, model)
    new = [c for c in columns if c.numeric and c.name not in specs]
    if new:
        found = bin_specs(con, relation, new, where)
        for feature, spec in found.items():
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
        specs.update(found)
    numeric = numeric_sql(columns, specs, relation, _DAY)
    if numeric:
        query, params = numeric
        con.execute(
            "insert into drift_profile_bins select $model, feature, part, bin, n, minimum, "
            f"maximum, mean, m2 from ({query})",
            {**params, **where},
        )
    values = values_sql(columns, relation, _DAY)
    if values:
        query, params = values
        con.execute(
            "insert into drift_profile_values select $model, feature, part, value, n, capped "
            f"from ({query})",
            {**params, **where},
        )
    con.executemany(
        "insert into drift_profile_days values (?, ?, ?, ?)",
        [(model, day, rows, synced_max) for day, rows, synced_max in present],
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


def nan_safe(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value
