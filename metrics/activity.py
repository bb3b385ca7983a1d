"""Delivery activity: production deployments, incidents and finished tickets in a window."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from metrics.db import frame, rows
from metrics.filters import Filters


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows the whole warehouse holds, per canonical feed."""
    return {feed: int(n) for feed, n in rows(con, "row_counts")}


def activity_summary(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, int]:
    """Headline counts for one window: deployments (by outcome), incidents, tickets finished."""
    result = frame(con, "activity_summary", **filters.params())
    return {k: int(v) for k, v in result.iloc[0].items()}


def deployments_weekly(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Production deployments per Monday-based week, by outcome, zero-filled.

    Returns columns week_start, succeeded, failed, rolled_back.
    """
    return frame(con, "deployments_weekly", **filters.params())


def deployments(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Every deployment (any environment) that finished in the window, newest first."""
    return frame(con, "deployments_in_window", **filters.params())


def incidents(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Every incident opened in the window, newest first, with hours_to_resolve."""
    return frame(con, "incidents_in_window", **filters.params())


def catalog(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The (team, model) pairs present in the warehouse, for the filters."""
    return frame(con, "catalog")


WEEK_LABELS = {
    "deployments": "Production deployments",
    "successful_deployments": "Successful deployments",
    "failed_deployments": "Failed or rolled back",
    "incidents_opened": "Incidents opened",
    "tickets_finished": "Tickets finished",
}


def week_comparison(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """The 7 days ending at `filters.until` against the 7 before and the 4-week average.

    Returns one row per headline count: metric, label, this_week, last_week, four_week_average.
    """
    week = dt.timedelta(days=7)
    this_week = Filters(filters.until - week, filters.until, filters.team, filters.model)
    last_week = this_week.previous()
    four_weeks = Filters(filters.until - 4 * week, filters.until, filters.team, filters.model)
    now, before, month = (activity_summary(con, f) for f in (this_week, last_week, four_weeks))
    return pd.DataFrame(
        [
            {
                "metric": key,
                "label": label,
                "this_week": now[key],
                "last_week": before[key],
                "four_week_average": month[key] / 4,
            }
            for key, label in WEEK_LABELS.items()
        ]
    )
