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
from metrics import db


def config() -> settings.Config:
    """The configuration ($TANDEM_CONFIG, ./sources.toml, or the embedded demo), read afresh."""
    return settings.load()


def now() -> dt.datetime:
    """The current instant in UTC (settings.now(): $TANDEM_NOW when set)."""
    return settings.now()


def warehouse_version(path: Path) -> tuple[int, int, int] | None:
    """What changes when a sync swaps a new warehouse in (None when there is none yet)."""
    return warehouse.version(path)


@contextlib.contextmanager
def reading(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection with the metric macros: never held open, so it
    never locks out a sync (which writes a copy and swaps it in; see warehouse.py)."""
    with db.connect(path) as con:
        yield con
