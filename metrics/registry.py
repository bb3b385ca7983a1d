"""The one list of what Tandem shows: one entry per number, chart or table, with its code.

Each entry names what pages load it by, the label a page shows it under, the function that
computes it, the SQL files that function runs, its METRICS.md section, and how it is called.
Pages load through it (`pages/loaders.py`: `load(name, filters, *extra)` → `run`), the tests
check it against the pages and METRICS.md, and METRICS.md's table "on screen as → function →
SQL" is generated from it: `python -m metrics.registry --markdown` rewrites that table.
"""

from __future__ import annotations

import argparse
import enum
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from metrics import (
    activity,
    business,
    contracts,
    delivery,
    drift,
    estimation,
    evidently_report,
    flow,
    models,
    privacy,
    quality,
    retro,
    serving,
    sources,
)
from metrics.drift import impact, multivariate
from metrics.filters import Filters

if TYPE_CHECKING:
    import settings

METRICS_MD = Path(__file__).resolve().parents[1] / "METRICS.md"

# Where an entry is shown: the pages (their titles in app.py) and the command line.
RETRO = "Weekly retrospective"
KPI_CHECK = "KPI check"
DRIFT = "Drift investigation"
OVERVIEW = "Model overview"
SOURCES = "Data sources"
SIDEBAR = "Sidebar"
REPORT = "`python -m metrics report`"
PAGES = (RETRO, KPI_CHECK, DRIFT, OVERVIEW, SOURCES)


class Call(enum.Enum):
    """What a function takes after the connection, supplied by `run` in this order; a page's
    own extra arguments (a source, a model, windows) follow them."""

    WAREHOUSE = ()  # the whole warehouse, whatever the filters
    FILTERS = ("filters",)
    WORKFLOW = ("filters", "workflow")
    CONTRACTS = ("filters", "contracts")
    PEOPLE = ("filters", "min_people")  # a table with one row per team or model, each withheld
    RETRO = ("filters", "team", "model", "workflow", "min_people")
    DRIFT = ("contracts",)  # a model, the current window and a reference follow
    SOURCES = ("sources",)  # the configured sources and their intervals; the instant follows


@dataclass(frozen=True)
class Metric:
    """One number, chart or table a page (or the command line) shows.

    `call` is None for a figure read off another entry's result (`read_from`, or the report's
    JSON for the command line); `via` is the adapter the loader calls when the function's own
    arguments are not the plain ones a cache can key on; `no_sql` says why `sql` is empty.
    Labels may hold one placeholder (`{model}`, `{kpi}`, `{column}`, `{source}`, `{k}`) that
    the page fills from the data. `people` is the entry's people basis (metrics.privacy:
    "authors" or "assignees"): `run` gives a privacy.Withheld instead of the figure when fewer
    than `[privacy] min_people` people are behind the filters; None for figures about models,
    serving and data, never withheld (METRICS.md, "Minimum group size", says why per figure).
    """

    name: str
    label: str
    function: Callable[..., Any]
    sql: tuple[str, ...]
    section: str
    shown_on: tuple[str, ...]
    call: Call | None = None
    read_from: tuple[str, ...] = ()
    via: Callable[..., Any] | None = None
    no_sql: str = ""
    people: str | None = None


def retro_build(
    con: duckdb.DuckDBPyConnection,
    week: Filters,
    team: str | None,
    model: str | None,
    workflow: Any,
    min_people: int,
    label: str,
) -> retro.Retro:
    """The weekly retrospective, its figures withheld below `min_people` people."""
    return retro.build(con, week, team, model, workflow, label, min_people)


# -- adapters: the drift functions take windows of days and a contract's terms -------------------


def drift_verdicts(
    con: duckdb.DuckDBPyConnection,
    terms: dict[str, contracts.Contract],
    model: str,
    current: drift.Window,
    reference: drift.Reference,
) -> tuple[drift.DriftResult, drift.Window]:
    """The model's drift per column (with its contract's thresholds) and the reference used."""
    thresholds, share = drift.contract_terms(terms.get(model))
    reference_window = reference.resolve(con, model, current)
    result = drift.model_drift(con, model, current, reference, thresholds, share)
    return result, reference_window


def drift_timeline(
    con: duckdb.DuckDBPyConnection,
    terms: dict[str, contracts.Contract],
    model: str,
    current: drift.Window,
    reference: drift.Reference,
) -> tuple[Any, int]:
    """Each day or week from the reference's start to the window's end against the reference,
    and the bucket's length in days."""
    thresholds, share = drift.contract_terms(terms.get(model))
    reference_window = reference.resolve(con, model, current)
    span = drift.Window(reference_window.since, current.until)
    bucket = drift.timeline_bucket_days(span)
    line = drift.timeline(con, model, reference_window, span, bucket, thresholds, share)
    return line, bucket


def evidently(
    con: duckdb.DuckDBPyConnection,
    terms: dict[str, contracts.Contract],
    model: str,
    current: drift.Window,
    reference: drift.Reference,
) -> evidently_report.EvidentlyReport:
    """Evidently's own report on samples of the same two windows."""
    result, reference_window = drift_verdicts(con, terms, model, current, reference)
    return evidently_report.build(con, model, result, current, reference_window)


def drift_impact(
    con: duckdb.DuckDBPyConnection,
    terms: dict[str, contracts.Contract],
    model: str,
    current: drift.Window,
    reference: drift.Reference,
) -> impact.Impact:
    """Drift that matters: the model's drifting features ranked against its performance and
    main KPI per day (with its contract's thresholds, kind and KPIs)."""
    return impact.drift_impact(con, model, current, reference, terms.get(model))


def _kind(con: duckdb.DuckDBPyConnection, contract: Any, model: str) -> str | None:
    # As the contract reading takes it: the contract's kind, else the one the rows leave no
    # doubt about.
    return (contract.kind if contract else None) or quality.model_kinds(con, model).get(model)


def estimated_performance(
    con: duckdb.DuckDBPyConnection,
    terms: dict[str, contracts.Contract],
    model: str,
    current: drift.Window,
    reference: drift.Reference,
) -> estimation.Estimation:
    """The model's estimated performance per day over the window, fitted on the reference
    (resolved as the drift reading resolves it), the realized figure beside it."""
    resolved = reference.resolve(con, model, current)
    kind = _kind(con, terms.get(model), model)
    return estimation.estimated(con, model, kind, current, resolved)


def multivariate_timeline(
    con: duckdb.DuckDBPyConnection,
    terms: dict[str, contracts.Contract],
    model: str,
    current: drift.Window,
    reference: drift.Reference,
) -> multivariate.Multivariate:
    """The reconstruction error per step of the window against the reference, in the steps
    the report's drift reading uses."""
    resolved = reference.resolve(con, model, current)
    step = drift.timeline_bucket_days(current)
    return multivariate.reconstruction_drift(con, model, current, resolved, step_days=step)


def drift_distributions(
    con: duckdb.DuckDBPyConnection,
    model: str,
    column: str,
    reference: drift.Window,
    current: drift.Window,
) -> Any:
    """One column's distribution in the reference and in the current window."""
    return drift.distributions(con, model, column, {"reference": reference, "current": current})


def contract_status(
    con: duckdb.DuckDBPyConnection, filters: Filters, terms: dict[str, contracts.Contract]
) -> Any:
    """The contract readings without what no status depends on (the realized quality, the
    multivariate drift, the estimates no budget reads): the same statuses, for pages that show
    only those."""
    return contracts.readings(con, filters, terms, deep=False)


def ranker_quality(
    con: duckdb.DuckDBPyConnection, filters: Filters, terms: dict[str, contracts.Contract]
) -> Any:
    """Ranker quality per version with each model's contracted k and lists: the filter's model,
    or every model a contract calls a ranker; a model whose list column is unusable is left out
    (its reading says why)."""
    if filters.model:
        names = [filters.model]
    else:
        names = sorted(m for m, c in terms.items() if c.kind == "ranker")
    parts = []
    for model in names:
        contract = terms.get(model)
        ranking = contract.ranking if contract and contract.ranking else quality.Ranking()
        if quality.list_problem(con, model, ranking) is None:
            scoped = Filters(filters.since, filters.until, None, model)
            parts.append(quality.ranker_quality(con, scoped, ranking))
    if not parts:
        return quality.ranker_quality(con, filters, quality.Ranking()).iloc[0:0]
    return pd.concat(parts, ignore_index=True)


# -- the entries ---------------------------------------------------------------------------------

# Read as a table (the formatter would spread each entry over ten lines):
# Metric(name, label, function, sql, section, shown_on, call | read_from=..., via=, no_sql=)
# fmt: off
ENTRIES: tuple[Metric, ...] = (
    # Weekly retrospective
    Metric("retro", "Weekly retrospective", retro.build, ("privacy_people",),
           "Weekly retrospective", (RETRO,), Call.RETRO, via=retro_build),
    Metric("deployment_frequency", retro.LABELS["deployment_frequency"],
           delivery.deployment_frequency, ("delivery_frequency",), "Deployment frequency",
           (RETRO,), read_from=("retro",), people=retro.PEOPLE["deployments"]),
    Metric("lead_time", retro.LABELS["lead_time"], delivery.lead_time, ("delivery_lead_time",),
           "Lead time for changes", (RETRO,), read_from=("retro",),
           people=retro.PEOPLE["lead_time"]),
    Metric("change_failure", retro.LABELS["change_failure"], delivery.change_failure,
           ("delivery_change_failure",), "Change failure rate", (RETRO,), read_from=("retro",),
           people=retro.PEOPLE["change_failure_rate"]),
    Metric("recovery_time", retro.LABELS["recovery_time"], delivery.recovery_time,
           ("delivery_recoveries",),
           "Failed deployment recovery time", (RETRO,), read_from=("retro",),
           people=retro.PEOPLE["recovery_time"]),
    Metric("rework_rate", retro.LABELS["rework_rate"], delivery.rework, ("delivery_rework",),
           "Deployment rework rate", (RETRO,), read_from=("retro",),
           people=retro.PEOPLE["rework_rate"]),
    Metric("rework_deployments", "Rework deployments", delivery.rework_deployments,
           ("delivery_rework_deployments",), "Deployment rework rate", (RETRO,), Call.FILTERS,
           people="authors"),
    Metric("incidents_opened", retro.LABELS["incidents_opened"], activity.activity_summary,
           ("activity_summary",),
           "Activity summary", (RETRO,), read_from=("retro",), people=retro.PEOPLE["incidents"]),
    Metric("throughput", retro.LABELS["throughput"], flow.flow_summary, ("flow_summary",),
           "Throughput", (RETRO,), read_from=("retro",), people=retro.PEOPLE["throughput"]),
    Metric("cycle_time", retro.LABELS["cycle_time"], flow.flow_summary, ("flow_summary",),
           "Cycle time", (RETRO,), read_from=("retro",), people=retro.PEOPLE["cycle_time"]),
    Metric("wip", retro.LABELS["wip"], flow.aging_wip, ("flow_aging_wip",),
           "Work in progress", (RETRO,), read_from=("retro",), people=retro.PEOPLE["wip"]),
    Metric("flow_efficiency", retro.LABELS["flow_efficiency"], flow.flow_summary, ("flow_summary",),
           "Flow efficiency", (RETRO,), read_from=("retro",),
           people=retro.PEOPLE["flow_efficiency"]),
    Metric("highlights", "Highlights", retro.build, (),
           "Weekly retrospective", (RETRO,), read_from=("retro",),
           no_sql="the figures above against their 4-week level, in words"),
    Metric("work_mix_groups", "Work mix against its target", flow.work_mix_groups,
           ("flow_work_mix",), "Work mix", (RETRO,), read_from=("retro",), people="assignees"),
    Metric("handoffs", "Where work waited", flow.handoff_waits, ("flow_handoff_waits",),
           "Hand-off waits", (RETRO,), read_from=("retro",), people="assignees"),
    Metric("experiments", "Experiments decided", flow.experiments, ("flow_experiments",),
           "Experiments decided", (RETRO,), read_from=("retro",)),
    Metric("delivery_deployments", "Production deployments", delivery.deployments,
           ("delivery_deployments",), "Unattributed incidents", (RETRO,), Call.FILTERS,
           people="authors"),
    Metric("delivery_incidents", "Incidents this week", delivery.incidents, ("delivery_incidents",),
           "Unattributed incidents", (RETRO,), Call.FILTERS),
    Metric("delivery_changes", "Changes shipped", delivery.changes, ("delivery_changes",),
           "Unattributed incidents", (RETRO,), Call.FILTERS, people="authors"),
    Metric("shipped_lead_times", "Lead time for changes", delivery.shipped_lead_times,
           ("delivery_changes",), "Lead time for changes", (RETRO,), Call.FILTERS,
           people="authors"),
    Metric("delivery_by_team", "Delivery per team", delivery.by_team, ("privacy_people",),
           "Delivery per team and per model", (RETRO,), Call.PEOPLE, people="authors"),
    Metric("delivery_by_model", "Delivery per model", delivery.by_model, ("privacy_people",),
           "Delivery per team and per model", (RETRO,), Call.PEOPLE, people="authors"),
    Metric("finished_tickets", "Cycle time of finished work", flow.finished_tickets,
           ("flow_finished_tickets",), "Cycle time", (RETRO,), Call.WORKFLOW, people="assignees"),
    Metric("aging_wip", "Aging work in progress", flow.aging_wip, ("flow_aging_wip",),
           "Work in progress", (RETRO,), read_from=("retro",), people="assignees"),
    Metric("status_split", "Cycle time by status", flow.status_split, ("flow_status_split",),
           "Cycle time by status", (RETRO,), Call.WORKFLOW,
           people="assignees"),
    # KPI check and Model overview: contracts, KPIs, serving
    Metric("contract_readings", "Contract status", contracts.readings,
           ("serving_window", "kpi_window", "kpi_daily"),
           "Contract status", (OVERVIEW,), Call.CONTRACTS),
    Metric("contract_status", "Contract status", contracts.readings,
           ("serving_window", "kpi_window", "kpi_daily"),
           "Contract status", (KPI_CHECK, DRIFT), Call.CONTRACTS, via=contract_status),
    Metric("retraining", "Retraining is due", contracts.readings, ("last_production_release",),
           "Retraining trigger", (OVERVIEW,), read_from=("contract_readings",)),
    Metric("kpi_daily", "KPI per day", models.kpi_daily, ("kpi_daily",),
           "KPI per day", (KPI_CHECK, DRIFT, OVERVIEW), Call.FILTERS),
    Metric("kpi_window", "{kpi}", models.kpi_window, ("kpi_window",),
           "KPI over a window", (OVERVIEW,), Call.FILTERS),
    Metric("kpi_segments", "{model} by segment, over the selected window", models.kpi_segments,
           ("kpi_segments",), "KPI per segment", (KPI_CHECK,), Call.FILTERS),
    Metric("release_impact", "What each {model} release did to its KPIs", business.release_impact,
           ("kpi_release_impact",), "KPI before and after a release", (KPI_CHECK,), Call.FILTERS),
    Metric("released_models", "Which models have a release section", business.released_models,
           ("kpi_released_models",), "KPI before and after a release", (KPI_CHECK,),
           Call.FILTERS),
    Metric("deployments", "Deployments", activity.deployments, ("deployments_in_window",),
           "Deployments", (OVERVIEW,), Call.FILTERS, people=retro.PEOPLE["deployments"]),
    # The same rows as marks on the charts' time axis: a model's history (when it changed), read
    # beside its drift and KPIs, not a count of anyone's work, so never withheld.
    Metric("release_marks", "Releases", activity.deployments, ("deployments_in_window",),
           "Deployments", (KPI_CHECK, DRIFT, OVERVIEW), Call.FILTERS),
    Metric("incidents", "Incidents", activity.incidents, ("incidents_in_window",),
           "Incidents", (KPI_CHECK, DRIFT, OVERVIEW), Call.FILTERS),
    Metric("serving_daily", "Serving health per day", models.serving_daily,
           ("serving_daily", "serving_profile_rows"),
           "Serving health per day", (OVERVIEW,), Call.FILTERS),
    Metric("requests", "Requests", models.serving_daily, ("serving_daily", "serving_profile_rows"),
           "Serving health per day", (OVERVIEW,), read_from=("serving_daily",)),
    Metric("errors", "Errors", models.serving_daily, ("serving_daily", "serving_profile_rows"),
           "Serving health per day", (OVERVIEW,), read_from=("serving_daily",)),
    Metric("serving_profiled", "Profiled where the data lives", serving.profiled_models,
           ("serving_profiled_models",), "Serving health over a window", (OVERVIEW,), Call.FILTERS),
    Metric("latency_p50", "Latency p50", contracts.serving_window,
           ("serving_window", "serving_profile_rows"),
           "Serving health over a window", (OVERVIEW,), read_from=("contract_readings",)),
    Metric("latency_p95", "Latency p95", contracts.serving_window,
           ("serving_window", "serving_profile_rows"),
           "Serving health over a window", (OVERVIEW,), read_from=("contract_readings",)),
    Metric("error_rate", "Error rate", contracts.serving_window,
           ("serving_window", "serving_profile_rows"),
           "Serving health over a window", (OVERVIEW,), read_from=("contract_readings",)),
    Metric("prediction_drift", "Prediction drift", drift.model_drift,
           ("drift_parts_bins", "drift_parts_values"),
           "Drift", (OVERVIEW,), read_from=("contract_readings",)),
    Metric("serving_versions", "Per version", models.serving_versions,
           ("serving_versions", "serving_profile_rows"),
           "Serving health per version", (OVERVIEW,), Call.FILTERS),
    Metric("classifier_quality", "Model quality (classifiers)", quality.classifier_quality,
           ("quality_classifier",), "Model quality (classifiers)", (OVERVIEW,), Call.FILTERS),
    Metric("regressor_quality", "Model quality (regressors)", quality.regressor_quality,
           ("quality_regressor",), "Model quality (regressors)", (OVERVIEW,), Call.FILTERS),
    Metric("ranker_quality", "Model quality (rankers)", quality.ranker_quality,
           ("quality_ranker",), "Model quality (rankers)", (OVERVIEW,), Call.CONTRACTS,
           via=ranker_quality),
    # Each quality figure over the window, as the reading (and `report --json`) carries it;
    # {k} is the ranker's cut-off from its contract.
    Metric("accuracy", "Accuracy", quality.classifier_quality, ("quality_classifier",),
           "Model quality (classifiers)", (OVERVIEW,), read_from=("contract_readings",)),
    Metric("precision", "Precision", quality.classifier_quality, ("quality_classifier",),
           "Model quality (classifiers)", (OVERVIEW,), read_from=("contract_readings",)),
    Metric("recall", "Recall", quality.classifier_quality, ("quality_classifier",),
           "Model quality (classifiers)", (OVERVIEW,), read_from=("contract_readings",)),
    Metric("roc_auc", "ROC AUC", quality.classifier_quality, ("quality_classifier",),
           "Model quality (classifiers)", (OVERVIEW,), read_from=("contract_readings",)),
    Metric("mae", "MAE", quality.regressor_quality, ("quality_regressor",),
           "Model quality (regressors)", (OVERVIEW,), read_from=("contract_readings",)),
    Metric("rmse", "RMSE", quality.regressor_quality, ("quality_regressor",),
           "Model quality (regressors)", (OVERVIEW,), read_from=("contract_readings",)),
    Metric("precision_at_k", "Precision@{k}", quality.ranker_quality, ("quality_ranker",),
           "Model quality (rankers)", (OVERVIEW,), read_from=("contract_readings",)),
    Metric("ndcg_at_k", "NDCG@{k}", quality.ranker_quality, ("quality_ranker",),
           "Model quality (rankers)", (OVERVIEW,), read_from=("contract_readings",)),
    Metric("hit_rate_at_k", "Hit rate@{k}", quality.ranker_quality, ("quality_ranker",),
           "Model quality (rankers)", (OVERVIEW,), read_from=("contract_readings",)),
    # Estimated performance: per day (Model overview's chart, the drift timeline's row) and
    # over the window, as the reading (and `report --json`) carries it.
    Metric("estimated_performance", "Estimated performance", estimation.estimated,
           ("inference_daily_sample",), "Estimated performance", (OVERVIEW,), Call.DRIFT,
           via=estimated_performance),
    Metric("estimated_accuracy", "Estimated accuracy", estimation.estimated,
           ("inference_daily_sample",), "Estimated performance", (OVERVIEW,),
           read_from=("contract_readings",)),
    Metric("estimated_roc_auc", "Estimated ROC AUC", estimation.estimated,
           ("inference_daily_sample",), "Estimated performance", (OVERVIEW,),
           read_from=("contract_readings",)),
    Metric("estimated_mae", "Estimated MAE", estimation.estimated,
           ("inference_daily_sample",), "Estimated performance", (OVERVIEW,),
           read_from=("contract_readings",)),
    # Drift investigation
    Metric("model_versions", "Version", drift.versions, ("drift_versions",),
           "Model versions", (DRIFT,), Call.WAREHOUSE),
    Metric("drift", "Columns, most drifted first", drift.model_drift,
           ("drift_parts_bins", "drift_parts_values", "drift_parts_rows", "drift_raw_values"),
           "Drift", (DRIFT,), Call.DRIFT, via=drift_verdicts),
    Metric("dataset_drift", "Dataset drift", drift.model_drift,
           ("drift_parts_bins", "drift_parts_values"), "Drift", (DRIFT,), read_from=("drift",)),
    Metric("drift_share", "Features drifted", drift.model_drift,
           ("drift_parts_bins", "drift_parts_values"),
           "Drift", (DRIFT, OVERVIEW), read_from=("drift", "contract_readings")),
    Metric("reference_rows", "Reference", drift.model_drift, ("drift_parts_rows",),
           "Drift", (DRIFT,), read_from=("drift",)),
    Metric("current_rows", "Current", drift.model_drift, ("drift_parts_rows",),
           "Drift", (DRIFT,), read_from=("drift",)),
    Metric("drift_impact", "Drift that matters", impact.drift_impact,
           ("drift_parts_bins", "drift_parts_values", "drift_parts_rows", "kpi_daily",
            "inference_daily_sample", "quality_classifier", "quality_regressor",
            "quality_ranker"),
           "Drift that matters", (DRIFT,), Call.DRIFT, via=drift_impact),
    Metric("drift_distributions", "{column}: reference and current", drift.distributions,
           ("drift_parts_bins", "drift_parts_values"),
           "Drift", (DRIFT,), Call.WAREHOUSE, via=drift_distributions),
    Metric("drift_timeline", "When it began", drift.timeline,
           ("drift_parts_bins", "drift_parts_values", "drift_parts_rows"),
           "Drift", (DRIFT,), Call.DRIFT, via=drift_timeline),
    Metric("multivariate_timeline", "Multivariate drift", multivariate.reconstruction_drift,
           ("inference_daily_sample",), "Multivariate drift", (DRIFT,), Call.DRIFT,
           via=multivariate_timeline),
    Metric("evidently", "Evidently's own report", evidently_report.build, ("drift_sample",),
           "Drift", (DRIFT,), Call.DRIFT, via=evidently),
    Metric("drift_daily", "Daily figures of this column", drift.daily_figures,
           ("drift_parts_bins", "drift_parts_values", "drift_parts_rows"),
           "Drift", (DRIFT,), Call.WAREHOUSE),
    # Data sources
    Metric("source_status", "{source} ({kind})", sources.source_status, ("source_status",),
           "Source status", (SOURCES,), Call.WAREHOUSE),
    Metric("source_freshness", "Freshness", sources.freshness, ("source_freshness",),
           "Source freshness", (SOURCES,), Call.SOURCES),
    Metric("quarantine_reasons", "Quarantined rows", sources.quarantine_reasons,
           ("quarantine_reasons",), "Quarantine reasons", (SOURCES,), Call.WAREHOUSE),
    Metric("quarantine_rows", "Show the rows of", sources.quarantine_rows, ("quarantine_rows",),
           "Quarantine reasons", (SOURCES,), Call.WAREHOUSE),
    # The shared filters
    Metric("catalog", "Team and Model choices", activity.catalog, ("catalog",),
           "Teams and models", (SIDEBAR,), Call.WAREHOUSE),
    # Shown by the command line only (its JSON keys)
    Metric("multivariate_drift", "models.<m>.drift.multivariate",
           multivariate.reconstruction_drift, ("inference_daily_sample",),
           "Multivariate drift", (REPORT,)),
    Metric("row_counts", "rows", activity.row_counts, ("row_counts",),
           "Rows per feed", (REPORT,)),
    Metric("activity_summary", "activity", activity.activity_summary, ("activity_summary",),
           "Activity summary", (REPORT,)),
    Metric("work_mix", "flow.work_mix", flow.work_mix, ("flow_work_mix",),
           "Work mix", (REPORT,)),
    Metric("reopen_rate", "flow.reopen_rate", flow.flow_summary, ("flow_summary",),
           "Reopen rate", (REPORT,)),
    Metric("blocked_time", "flow.blocked_hours", flow.flow_summary, ("flow_summary",),
           "Blocked time", (REPORT,)),
    Metric("estimated_quality", "models.<m>.quality.estimated", estimation.estimated,
           ("inference_daily_sample",), "Estimated performance", (REPORT,)),
    Metric("estimation_verdict", "models.<m>.quality.estimation", estimation.estimated,
           ("inference_daily_sample",), "Estimated performance", (REPORT,)),
)
# fmt: on

METRICS: dict[str, Metric] = {m.name: m for m in ENTRIES}


def label(name: str, **values: str) -> str:
    """The label the entry `name` is shown under, its placeholder filled from `values`."""
    return METRICS[name].label.format(**values)


def run(
    name: str,
    con: duckdb.DuckDBPyConnection,
    filters: Filters | None,
    config: settings.Config,
    *extra: Any,
) -> Any:
    """The entry `name` computed on `con`: its function called as its `call` says.

    Args:
        filters: the window, team and model (None for entries that take none).
        config: supplies the team's workflow and the model contracts.
        extra: the page's own arguments, after the ones `call` names.
    """
    metric = METRICS[name]
    delivery.use_attribution_window(con, config.attribution_window_hours)
    if metric.call is None:
        raise KeyError(f"{name!r} is read off {' or '.join(metric.read_from) or 'the report'}")
    supply: dict[str, Callable[[], Any]] = {
        "filters": lambda: filters,
        "team": lambda: filters.team,
        "model": lambda: filters.model,
        "workflow": lambda: config.workflow,
        "contracts": lambda: contracts.load(config.contracts),
        "sources": lambda: sources.expectations(config),
        "min_people": lambda: config.min_people,
    }
    if metric.people and filters is not None:
        # The figure (or the rows behind one) of fewer than k people is not computed at all.
        why = privacy.withheld(con, filters, config.min_people)[metric.people]
        if why is not None:
            return why
    arguments = [supply[argument]() for argument in metric.call.value]
    return (metric.via or metric.function)(con, *arguments, *extra)


# -- METRICS.md's table ----------------------------------------------------------------------------

BEGIN = (
    "<!-- registry: begin. Generated by `python -m metrics.registry --markdown`; do not edit. -->"
)
END = "<!-- registry: end -->"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as dashes."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _loaded_as(metric: Metric) -> str:
    if metric.call is not None:
        return f"`{metric.name}`"
    if metric.read_from:
        return "read off " + " or ".join(f"`{n}`" for n in metric.read_from)
    return "the report's JSON"


def table() -> str:
    """The Markdown table of every entry, by where it is shown: on screen as → function → SQL,
    and the people basis it is withheld on (metrics.privacy)."""
    lines = [
        "| Where | On screen as | Loaded as | Function | SQL (in `sql/`) | People | Definition |",
        "|---|---|---|---|---|---|---|",
    ]
    for where in (*PAGES, SIDEBAR, REPORT):
        for metric in ENTRIES:
            if where not in metric.shown_on:
                continue
            function = f"`{metric.function.__module__}.{metric.function.__name__}`"
            sql = ", ".join(f"`{name}.sql`" for name in metric.sql) or f"none: {metric.no_sql}"
            shown = f"`{metric.label}`" if where == REPORT else metric.label
            people = metric.people or ""
            lines.append(
                f"| {where} | {shown} | {_loaded_as(metric)} | {function} | {sql} | {people} "
                f"| [{metric.section}](#{_anchor(metric.section)}) |"
            )
    return "\n".join(lines)


def rewrite(text: str) -> str:
    """`text` (METRICS.md) with the block between the markers replaced by `table()`."""
    head, found, rest = text.partition(BEGIN)
    _, closed, tail = rest.partition(END)
    if not (found and closed):
        raise ValueError(f"METRICS.md lacks the markers {BEGIN!r} and {END!r}")
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m metrics.registry", description=__doc__)
    parser.add_argument(
        "--markdown", action="store_true", help="rewrite the table in METRICS.md from the registry"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when METRICS.md's table is out of date"
    )
    args = parser.parse_args(argv)
    text = METRICS_MD.read_text(encoding="utf-8")
    wanted = rewrite(text)
    if args.markdown and wanted != text:
        METRICS_MD.write_text(wanted, encoding="utf-8")
        print(f"rewrote the table in {METRICS_MD.name}")
    elif args.check and wanted != text:
        print(
            f"{METRICS_MD.name}: the table is out of date; "
            "run python -m metrics.registry --markdown"
        )
        return 1
    elif not (args.markdown or args.check):
        print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
