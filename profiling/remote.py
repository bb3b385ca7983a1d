"""Profiles computed where the data lives: on a source's own engine, stored in the warehouse.

A `spark` source, or a `sql` source with `profiles = true`, never hands its inference rows to
the warehouse. Its engine runs the portable profile queries (sql/drift_profile_*.sql and
sql/serving_profile.sql, through profiling/portable.py) per (model, day) and only the small
profiles come back. Drift profiles land in the same tables the sync's own profiles use
(drift_profile_bins, drift_profile_values, drift_profile_days with `source` set:
profiling/store.py), so metrics.drift reads both alike; serving profiles (requests, errors, a
latency histogram per day and version) land in serving_profile_bins (profiling/serving_store.py),
read by metrics/serving.py for a model without inference rows.

Incremental by day: a first query asks the engine for each (model, day)'s signature (row
count and newest updated-at); a day is profiled again only when its signature changed since
the last sync, and the newest day of each model is always profiled again (it may still be
filling). Signatures are kept in the source's state, stored with the profiles in one
transaction.

A model's numeric columns get fixed bins the first time they are profiled: from an existing spec
in drift_bin_specs if there is one, else from the 0.1%-99.9% range of the days being profiled,
read off a provisional histogram computed on the engine (exact percentiles are not portable).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from profiling import portable, queries, serving_store, store
from profiling.queries import BinSpec, ProfiledColumn
from warehouse import sql

# The relation's own column holding the signature's "newest row" value.
UPDATED = "updated_at"

# The serving columns a source's rows may have, with the type the profile query reads them as.
SERVING = {"model_version": "varchar", "latency_ms": "double", "status": "varchar"}

# An engine runs one query (in its dialect) and returns its rows as a frame.
Query = queries.Query
# Keeps a relation's rows on the engine while a model's days are profiled; yields what to read.
Materialize = Callable[[str], AbstractContextManager[str]]


@dataclass
class RemoteSource:
    """Where a source's inference rows are, and how its columns map onto the contract.

    Args:
        relation: the source's rows (a table or view) as DuckDB SQL text, e.g. '"db"."t"'.
        columns: contract name -> the source's column (ts, model, prediction, score; updated_at
            for the signature, default ts).
        features: the feature columns, typed (from the engine's schema).
        model: a fixed model name, when the rows hold one model and no model column.
        outputs: which of prediction and score the rows have (others are profiled as empty).
        serving: which of model_version, latency_ms and status the rows have (others are read
            as NULL: no version, no latency, no error).
    """

    relation: str
    columns: dict[str, str] = field(default_factory=dict)
    features: list[ProfiledColumn] = field(default_factory=list)
    model: str | None = None
    # The model outputs (prediction, score) the rows have, profiled for prediction drift.
    outputs: tuple[str, ...] = ()
    # The serving columns (model_version, latency_ms, status) the rows have.
    serving: tuple[str, ...] = ()

    def source_column(self, name: str) -> str:
        return self.columns.get(name, name)

    def rows(self) -> str:
        """The rows under the contract's names: ts, model, updated_at, the serving columns,
        the outputs and the features."""
        selects = [f'{portable.identifier(self.source_column("ts"))} as "ts"']
        if self.model is not None:
            selects.append(f'{portable.string(self.model)} as "model"')
        else:
            model = portable.identifier(self.source_column("model"))
            selects.append(f'cast({model} as varchar) as "model"')
        updated = self.columns.get(UPDATED, self.source_column("ts"))
        selects.append(f'{portable.identifier(updated)} as "{UPDATED}"')
        for name, data_type in SERVING.items():
            if name in self.serving:
                column = portable.identifier(self.source_column(name))
                selects.append(f"cast({column} as {data_type}) as {portable.identifier(name)}")
            else:
                selects.append(f"cast(null as {data_type}) as {portable.identifier(name)}")
        for output in queries.OUTPUTS:
            if output in self.outputs:
                selects.append(
                    f"cast({portable.identifier(self.source_column(output))} as double) as "
                    f"{portable.identifier(output)}"
                )
            else:
                selects.append(f"cast(null as double) as {portable.identifier(output)}")
        for feature in self.features:
            if feature.name in queries.OUTPUTS:
                continue
            selects.append(
                f"{portable.identifier(self.source_column(feature.name))} as "
                f"{portable.identifier(feature.name)}"
            )
        return f"(select {', '.join(selects)} from {self.relation})"

    def profiled_columns(self) -> list[ProfiledColumn]:
        features = [f for f in self.features if f.name not in queries.OUTPUTS]
        outputs = [ProfiledColumn(name, "DOUBLE", "prediction") for name in queries.OUTPUTS]
        return features + outputs


def _key(model: str, day: dt.date) -> str:
    return f"{day.isoformat()}|{model}"


def signatures(query: Query, dialect: str, source: RemoteSource) -> dict[str, list]:
    """Every (model, day)'s signature on the engine: "day|model" -> [rows, newest as text]."""
    text = portable.render(sql("profile_day_signatures"), dialect, source.rows())
    found = query(text)
    out = {}
    for model, day, rows, newest in found.itertuples(index=False):
        out[_key(str(model), _as_date(day))] = [int(rows), None if newest is None else str(newest)]
    return out


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def stale(previous: dict[str, list], now: dict[str, list]) -> dict[str, list[dt.date]]:
    """Per model, the days to profile: new or changed signature, and always the newest day."""
    days: dict[str, set[dt.date]] = {}
    newest: dict[str, dt.date] = {}
    for key, signature in now.items():
        day_text, model = key.split("|", 1)
        day = dt.date.fromisoformat(day_text)
        newest[model] = max(newest.get(model, day), day)
        if previous.get(key) != signature:
            days.setdefault(model, set()).add(day)
    for model, day in newest.items():
        days.setdefault(model, set()).add(day)
    return {model: sorted(found) for model, found in sorted(days.items())}


def _scope(source: RemoteSource, model: str, days: Sequence[dt.date]) -> str:
    return queries.day_relation(source.rows() + " as contract_rows", model, days)


def _frame(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    frame = frame.copy()
    frame.columns = list(columns)
    frame["part"] = [_as_date(v) for v in frame["part"]]
    # Drivers hand integer columns with NULLs over as floats or objects.
    frame["n"] = frame["n"].astype("int64")
    if "bin" in frame:
        frame["bin"] = pd.to_numeric(frame["bin"]).astype("Int64")
        for name in ("minimum", "maximum", "mean", "m2"):
            frame[name] = pd.to_numeric(frame[name]).astype("float64")
    if "capped" in frame:
        frame["capped"] = frame["capped"].astype(bool)
    return frame


def profile_model_days(
    query: Query,
    dialect: str,
    relation: str,
    columns: Sequence[ProfiledColumn],
    specs: dict[str, BinSpec],
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The drift profiles of `relation` (one model's days), computed on the engine: (bin rows,
    value rows)."""
    bins = values = None
    numeric = queries.numeric_sql(columns, specs, relation, queries.DAY, dialect)
    if numeric:
        bins = _frame(
            query(numeric),
            ["part", "feature", "bin", "n", "minimum", "maximum", "mean", "m2"],
        )
    categorical = queries.values_sql(columns, relation, queries.DAY, dialect=dialect)
    if categorical:
        values = _frame(query(categorical), ["part", "feature", "value", "n", "capped"])
    return bins, values


def serving_model_days(query: Query, dialect: str, relation: str) -> pd.DataFrame:
    """The serving profiles of `relation` (one model's days), computed on the engine: one row
    per (day, version, latency bin), as serving_profile_bins holds them
    (profiling/serving_store.py)."""
    found = query(serving_store.profile_sql(relation, dialect))
    found.columns = list(serving_store.PROFILE_COLUMNS)
    found["day"] = [_as_date(v) for v in found["day"]]
    found["model_version"] = found["model_version"].astype(str)
    found["bin"] = pd.to_numeric(found["bin"]).astype("Int64")
    for name in ("n", "errors"):
        found[name] = pd.to_numeric(found[name]).astype("int64")
    for name in ("minimum", "maximum"):
        found[name] = pd.to_numeric(found[name]).astype("float64")
    for name in ("first_seen_at", "last_seen_at"):
        # Engines hand instants over naive (Spark, in its UTC session) or with an offset.
        found[name] = pd.to_datetime(found[name], utc=True)
    return found


def store_serving(con: duckdb.DuckDBPyConnection, model: str, found: pd.DataFrame) -> None:
    """Insert a model's serving profile rows (as `serving_model_days` returns them)."""
    if found.empty:
        return
    con.register("tandem_serving_bins", found)
    try:
        serving_store.store(con, model, "tandem_serving_bins")
    finally:
        con.unregister("tandem_serving_bins")


def register_features(
    con: duckdb.DuckDBPyConnection, model: str, columns: Sequence[ProfiledColumn], source: str
) -> None:
    """A remotely profiled model's features in inference_features (first_seen_at kept)."""
    for column in columns:
        if column.role != "feature":
            continue
        con.execute(
            "delete from inference_features where model = $model and feature = $feature "
            "and data_type <> $type",
            {"model": model, "feature": column.name, "type": column.data_type},
        )
        con.execute(
            "insert into inference_features select $model, $feature, $type, $source, now() "
            "where not exists (select 1 from inference_features "
            "where model = $model and feature = $feature)",
            {"model": model, "feature": column.name, "type": column.data_type, "source": source},
        )


def sync_profiles(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    dialect: str,
    source: RemoteSource,
    source_name: str,
    state: dict,
    materialize: Materialize | None = None,
) -> tuple[int, dict]:
    """Profile a source's new and changed days on its engine into the warehouse.

    Args:
        con: the warehouse, inside the source's transaction.
        query: runs one query on the source's engine (its session set to UTC).
        dialect: the engine's sqlglot dialect.
        source_name: recorded as drift_profile_days.source.
        state: the signatures the last sync stored ({"days": {...}}).
        materialize: given one model's days as a relation (DuckDB SQL text), keeps them on the
            engine for the queries that follow and yields the relation to read instead (Spark
            caches them: each column's branch of a profile query would scan the source again).

    Returns:
        (days profiled, the new state to store).
    """
    now = signatures(query, dialect, source)
    todo = stale(dict(state.get("days", {})), now)
    done = 0
    columns = source.profiled_columns()
    for model, days in todo.items():
        register_features(con, model, columns, source_name)
        specs = store.stored_specs(con, model)
        new = [c for c in columns if c.numeric and c.name not in specs]
        scope = _scope(source, model, days)
        with materialize(scope) if materialize else contextlib.nullcontext(scope) as relation:
            if new:
                found = queries.portable_specs(query, dialect, relation, new)
                store.store_specs(con, model, found)
                specs.update(found)
            bins, values = profile_model_days(query, dialect, relation, columns, specs)
            serving_rows = serving_model_days(query, dialect, relation)
        store.forget_days(con, model, days)
        store.store_profiles(con, model, bins, values)
        store_serving(con, model, serving_rows)
        store.store_days(
            con, model, [(day, now[_key(model, day)][0], None) for day in days], source_name
        )
        done += len(days)
    return done, {"days": now}
