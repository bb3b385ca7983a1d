"""What the app's pages need from the configuration and the warehouse, without importing either.

Pages import `metrics` (and streamlit, plotly); this module is their one door to `settings`
and `warehouse`: the configuration, the version a loader's cache is keyed by, and a short-lived
read-only connection.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb

import settings
import warehouse
from metrics import access, contracts, db


def config() -> settings.Config:
    """The configuration ($TANDEM_CONFIG, ./sources.toml, or the embedded demo), read afresh."""
    return settings.load()


def config_stamp() -> tuple | None:
    """What changes when the configuration file is edited (its path, size and mtime), for a
    cache of the configuration; None for the embedded default."""
    chosen = settings.chosen_config()
    if chosen is None:
        return None
    try:
        stat = Path(chosen).expanduser().stat()
    except OSError:
        return (chosen,)
    return (str(Path(chosen).resolve()), stat.st_size, stat.st_mtime_ns)


def now() -> dt.datetime:
    """The current instant in UTC (settings.now(): $TANDEM_NOW when set)."""
    return settings.now()


def warehouse_version(path: Path) -> tuple[int, int, int] | None:
    """What changes when a sync swaps a new warehouse in (None when there is none yet)."""
    return warehouse.version(path)


@contextlib.contextmanager
def reading(
    path: Path, scope: access.Scope | None = None, contracts_path: Path | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection with the metric macros: never held open, so it
    never locks out a sync (which writes a copy and swaps it in; see warehouse.py).

    With a `scope`, the connection reads only what it sees (access.restrict): its teams' rows
    and their models', a model's teams read from the warehouse and from the contracts at
    `contracts_path`.
    """
    with db.connect(path) as con:
        if scope is not None and not scope.admin:
            access.restrict(con, scope, _contract_pairs(contracts_path))
        yield con


def _contract_pairs(contracts_path: Path | None) -> frozenset[access.Pair]:
    return access.contract_pairs(contracts.load(contracts_path))


def catalog_pairs(path: Path, contracts_path: Path | None = None) -> frozenset[access.Pair]:
    """Every (team, model) pair, unscoped: the warehouse's (sql/catalog.sql) and the
    contracts' at `contracts_path`; what access.check tells a model's teams by."""
    with db.connect(path) as con:
        found = access.warehouse_pairs(con)
    return found | _contract_pairs(contracts_path)
