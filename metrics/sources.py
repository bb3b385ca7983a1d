"""Source health: last sync per source, what each holds, how fresh, what was quarantined."""

from __future__ import annotations

import duckdb
import pandas as pd

from metrics.db import frame


def source_status(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per (source, feed): rows held, quarantined, latest event, last sync and error."""
    return frame(con, "source_status")


def quarantine_reasons(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Quarantined rows counted per source, feed and reason."""
    return frame(con, "quarantine_reasons")


def quarantine_rows(
    con: duckdb.DuckDBPyConnection, source: str | None = None, limit: int = 500
) -> pd.DataFrame:
    """The quarantined rows themselves (origin, row number, reason, raw), newest first."""
    return frame(con, "quarantine_rows", source=source, limit=limit)
