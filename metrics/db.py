"""How metrics reach the warehouse: the SQL files in sql/, bound by name, run read-only."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

import warehouse
from profiling.stored_steps import STORED, StoredSteps

# The SQL files are the warehouse's, read the same way by the profiles below the metrics.
SQL_DIR = warehouse.SQL_DIR
sql = warehouse.sql


@functools.cache
def parameters(name: str) -> frozenset[str]:
    """The named parameters ($since, $model, ...) that sql/<name>.sql uses."""
    return frozenset(re.findall(r"\$([a-z_][a-z0-9_]*)", sql(name)))


def _bind(name: str, params: dict[str, Any]) -> dict[str, Any]:
    # DuckDB refuses parameters a statement does not use; a metric passes its whole filter set.
    wanted = parameters(name)
    missing = wanted - params.keys()
    if missing:
        raise TypeError(f"sql/{name}.sql needs parameters {sorted(missing)}")
    return {k: v for k, v in params.items() if k in wanted}


def frame(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> pd.DataFrame:
    """Run sql/<name>.sql with named parameters; one DataFrame back."""
    return con.execute(sql(name), _bind(name, params)).df()


def rows(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[tuple]:
    """Run sql/<name>.sql with named parameters; plain tuples back."""
    return con.execute(sql(name), _bind(name, params)).fetchall()


MACRO_FILES = ("macros", "flow_macros", "kind_macros")
# The stored steps current for what a connection reads, per warehouse file and version
# (warehouse.version): a sync that swaps a new file in changes the version, so they are checked
# once per version.
_stored_current: dict[tuple[str, tuple[int, int, int] | None], tuple[StoredSteps, ...]] = {}
# The warehouse files and versions whose schema was found current: checked once per version,
# not on every connection (~40 ms each, and a cold page opens one per figure it loads).
_schema_current: set[tuple[str, tuple[int, int, int] | None]] = set()


def prepare(
    con: duckdb.DuckDBPyConnection, stored: Iterable[StoredSteps] | None = None
) -> duckdb.DuckDBPyConnection:
    """Create the shared table macros (sql/macros.sql, sql/flow_macros.sql) on a connection.

    Args:
        stored: the steps whose macros read the rows the sync stored
            (profiling/stored_steps.py: the attribution, the flow's tickets and stays) rather
            than computing them; None: those whose rows are current for what the connection
            reads. Either way the macros give the same rows.
    """
    for name in MACRO_FILES:
        con.execute(sql(name))
    for steps in _current_steps(con) if stored is None else stored:
        steps.read_back(con)
    return con


def _current_steps(con: duckdb.DuckDBPyConnection) -> tuple[StoredSteps, ...]:
    return tuple(steps for steps in STORED if steps.is_current(con))


def _current_steps_of(
    path: Path, version: tuple[int, int, int] | None, con: duckdb.DuckDBPyConnection
) -> tuple[StoredSteps, ...]:
    key = (str(path), version)
    if key not in _stored_current:
        _stored_current[key] = _current_steps(con)
    return _stored_current[key]


@contextlib.contextmanager
def connect(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection to the warehouse, ready for the metric queries."""
    # The version before opening: a sync swapping a file in meanwhile gives a newer one.
    version = warehouse.version(path)
    with warehouse.reading(path) as con:
        if (str(path), version) not in _schema_current:
            found = warehouse.schema_version(con)
            if found is None or found < warehouse.SCHEMA_VERSION:
                raise warehouse.WarehouseError(
                    f"the warehouse {path} has schema version {found or 'unknown'}, older than "
                    f"this Tandem's {warehouse.SCHEMA_VERSION}: run `python -m connectors sync` "
                    "to upgrade it"
                )
            _schema_current.add((str(path), version))
        yield prepare(con, _current_steps_of(path, version, con))
