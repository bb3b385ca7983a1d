"""The one explicit list of metrics: each with its function, SQL file and METRICS.md section.

Tests iterate it (every metric has its SQL file and a documented definition); so do the docs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from metrics import activity, models, sources


@dataclass(frozen=True)
class Metric:
    name: str
    function: Callable
    sql: str
    title: str


METRICS: tuple[Metric, ...] = (
    Metric("row_counts", activity.row_counts, "row_counts", "Rows per feed"),
    Metric("activity_summary", activity.activity_summary, "activity_summary", "Activity summary"),
    Metric(
        "week_comparison",
        activity.week_comparison,
        "activity_summary",
        "This week, last week, 4-week average",
    ),
    Metric(
        "deployments_weekly",
        activity.deployments_weekly,
        "deployments_weekly",
        "Production deployments per week",
    ),
    Metric("deployments", activity.deployments, "deployments_in_window", "Deployments"),
    Metric("incidents", activity.incidents, "incidents_in_window", "Incidents"),
    Metric("kpi_daily", models.kpi_daily, "kpi_daily", "KPI per day"),
    Metric("kpi_window", models.kpi_window, "kpi_window", "KPI over a window"),
    Metric("serving_daily", models.serving_daily, "serving_daily", "Serving health per day"),
    Metric("feature_daily", models.feature_daily, "feature_daily", "Feature per day"),
    Metric("source_status", sources.source_status, "source_status", "Source status"),
    Metric(
        "quarantine_reasons", sources.quarantine_reasons, "quarantine_reasons", "Quarantine reasons"
    ),
)
