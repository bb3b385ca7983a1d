"""The one explicit list of metrics: each with its function, SQL file and METRICS.md section.

Tests iterate it (every metric has its SQL file and a documented definition); so do the docs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from metrics import (
    activity,
    business,
    contracts,
    delivery,
    drift,
    flow,
    models,
    quality,
    retro,
    sources,
)


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
    Metric(
        "deployment_frequency",
        delivery.deployment_frequency,
        "delivery_frequency",
        "Deployment frequency",
    ),
    Metric("lead_time", delivery.lead_time, "delivery_lead_time", "Lead time for changes"),
    Metric(
        "change_failure", delivery.change_failure, "delivery_change_failure", "Change failure rate"
    ),
    Metric(
        "recovery_time",
        delivery.recovery_time,
        "delivery_recoveries",
        "Failed deployment recovery time",
    ),
    Metric(
        "delivery_incidents", delivery.incidents, "delivery_incidents", "Unattributed incidents"
    ),
    Metric("delivery_weekly", delivery.weekly, "delivery_weekly", "Delivery per week"),
    Metric("throughput", flow.finished_tickets, "flow_finished_tickets", "Throughput"),
    Metric("cycle_time", flow.cycle_time, "flow_summary", "Cycle time"),
    Metric("status_split", flow.status_split, "flow_status_split", "Cycle time by status"),
    Metric("aging_wip", flow.aging_wip, "flow_aging_wip", "Work in progress"),
    Metric("flow_efficiency", flow.flow_summary, "flow_summary", "Flow efficiency"),
    Metric("blocked_time", flow.flow_summary, "flow_summary", "Blocked time"),
    Metric("handoffs", flow.handoffs, "flow_handoffs", "Hand-off waits"),
    Metric("reopen_rate", flow.flow_summary, "flow_summary", "Reopen rate"),
    Metric("work_mix", flow.work_mix, "flow_work_mix", "Work mix"),
    Metric("experiments", flow.experiments, "flow_experiments", "Experiments decided"),
    Metric(
        "prototype_to_production",
        flow.prototype_to_production,
        "flow_prototype_to_production",
        "Prototype to production",
    ),
    Metric("has_history", flow.has_history, "flow_history", "Ticket history"),
    Metric("flow_summary", flow.flow_summary, "flow_summary", "Flow summary"),
    Metric("retro", retro.build, "delivery_frequency", "Weekly retrospective"),
    Metric(
        "serving_window", contracts.serving_window, "serving_window", "Serving health over a window"
    ),
    Metric("contract_status", contracts.readings, "serving_window", "Contract status"),
    Metric(
        "release_impact",
        business.release_impact,
        "kpi_release_impact",
        "KPI before and after a release",
    ),
    Metric(
        "classifier_quality",
        quality.classifier_quality,
        "quality_classifier",
        "Model quality (classifiers)",
    ),
    Metric(
        "regressor_quality",
        quality.regressor_quality,
        "quality_regressor",
        "Model quality (regressors)",
    ),
    Metric(
        "serving_versions",
        models.serving_versions,
        "serving_versions",
        "Serving health per version",
    ),
    Metric("kpi_segments", models.kpi_segments, "kpi_segments", "KPI per segment"),
    Metric(
        "last_production_release",
        contracts.readings,
        "last_production_release",
        "Retraining trigger",
    ),
    Metric("drift", drift.model_drift, "drift_parts_bins", "Drift"),
    Metric("drift_timeline", drift.timeline, "drift_parts_values", "Drift"),
    Metric("source_status", sources.source_status, "source_status", "Source status"),
    Metric(
        "quarantine_reasons", sources.quarantine_reasons, "quarantine_reasons", "Quarantine reasons"
    ),
)
