"""How metrics reach the warehouse: the SQL files in sql/, bound by name, run read-only."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

import warehouse

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


MACRO_FILES = ("macros", "flow_macros")


def prepare(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Create the shared table macros (sql/macros.sql, sql/flow_macros.sql) on a connection."""
    for name in MACRO_FILES:
        con.execute(sql(name))
    return con


@contextlib.contextmanager
def connect(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection to the warehouse, ready for the metric queries."""
    with warehouse.reading(path) as con:
        found = warehouse.schema_version(con)
        if found is None or found < warehouse.SCHEMA_VERSION:
            raise warehouse.WarehouseError(
                f"the warehouse {path} has schema version {found or 'unknown'}, older than "
                f"this Tandem's {warehouse.SCHEMA_VERSION}: run `python -m connectors sync` to "
                "upgrade it"
            )
        yield prepare(con)
