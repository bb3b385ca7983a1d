"""What every page shares: the config, the shared filters, cached metric loaders, chart marks.

Loaders are `st.cache_data` functions with plain arguments whose key includes the warehouse's
version, so a sync shows up without a restart. Each opens a short-lived read-only connection:
the app never holds the warehouse open (a sync writes a copy and swaps it in; see warehouse.py).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import settings
import warehouse
from connectors import sync
from metrics import (
    activity,
    business,
    contracts,
    db,
    delivery,
    drift,
    evidently_report,
    flow,
    models,
    quality,
    retro,
    serving,
    sources,
)
from metrics.filters import Filters
from metrics.status import format_kpi

WINDOWS = {"7d": 7, "28d": 28, "90d": 90, "365d": 365}
WINDOW_LABELS = {
    "7d": "Last 7 days",
    "28d": "Last 28 days",
    "90d": "Last 90 days",
    "365d": "Last 365 days",
}
ALL = "All"

# name -> function(con, filters, *extra); the only metric entry points pages reach.
_WITH_FILTERS = {
    "activity_summary": activity.activity_summary,
    "week_comparison": activity.week_comparison,
    "deployments_weekly": activity.deployments_weekly,
    "deployments": activity.deployments,
    "incidents": activity.incidents,
    "kpi_daily": models.kpi_daily,
    "kpi_window": models.kpi_window,
    "serving_daily": models.serving_daily,
    "serving_profiled": serving.profiled_models,
    "delivery_summary": delivery.summary,
    "delivery_weekly": delivery.weekly,
    "delivery_deployments": delivery.deployments,
    "delivery_changes": delivery.changes,
    "shipped_lead_times": delivery.shipped_lead_times,
    "delivery_incidents": delivery.incidents,
    "delivery_recoveries": delivery.recoveries,
    "delivery_by_team": delivery.by_team,
    "release_impact": business.release_impact,
    "serving_versions": models.serving_versions,
    "kpi_segments": models.kpi_segments,
    "classifier_quality": quality.classifier_quality,
    "regressor_quality": quality.regressor_quality,
    "kpi_before_after": business.kpi_before_after,
    "delivery_by_model": delivery.by_model,
    "has_history": flow.has_history,
}
# name -> function(con, filters, workflow, *extra): metrics that read the team's workflow.
_WITH_WORKFLOW = {
    "flow_summary": flow.flow_summary,
    "finished_tickets": flow.finished_tickets,
    "status_split": flow.status_split,
    "aging_wip": flow.aging_wip,
    "handoffs": flow.handoffs,
    "work_mix_groups": flow.work_mix_groups,
    "experiments": flow.experiments,
    "prototype_to_production": flow.prototype_to_production,
}
_WITHOUT_FILTERS = {
    "row_counts": activity.row_counts,
    "catalog": activity.catalog,
    "source_status": sources.source_status,
    "quarantine_reasons": sources.quarantine_reasons,
    "quarantine_rows": sources.quarantine_rows,
    "model_versions": drift.versions,
}


@st.cache_resource
def config() -> settings.Config:
    """The configuration ($TANDEM_CONFIG, ./sources.toml, or the embedded demo)."""
    return settings.load()


def warehouse_path() -> Path:
    return config().warehouse


@st.cache_data(ttl=3600, show_spinner=False, max_entries=512)
def _load(
    name: str,
    path: str,
    version: tuple | None,
    since: str | None,
    until: str | None,
    team: str | None,
    model: str | None,
    extra: tuple,
) -> Any:
    with db.connect(Path(path)) as con:
        if name in _WITHOUT_FILTERS:
            return _WITHOUT_FILTERS[name](con, *extra)
        filters = Filters(
            dt.datetime.fromisoformat(since), dt.datetime.fromisoformat(until), team, model
        )
        if name == "contract_readings":
            return contracts.readings(con, filters, contracts.load(config().contracts))
        if name == "retro":
            return retro.build(con, filters, team, model, config().workflow, *extra)
        if name in _WITH_WORKFLOW:
            return _WITH_WORKFLOW[name](con, filters, config().workflow, *extra)
        return _WITH_FILTERS[name](con, filters, *extra)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=128)
def _drift(
    name: str, path: str, version: tuple | None, model: str, current: tuple, reference: tuple
) -> Any:
    current_window = drift.Window(*current)
    kind, since, until, model_version, days = reference
    spec = drift.Reference(
        kind,
        drift.Window(since, until) if since and until else None,
        model_version,
        days,
    )
    thresholds, share = drift.contract_terms(contracts.load(config().contracts).get(model))
    with db.connect(Path(path)) as con:
        reference_window = spec.resolve(con, model, current_window)
        if name == "timeline":
            span = drift.Window(reference_window.since, current_window.until)
            bucket = drift.timeline_bucket_days(span)
            line = drift.timeline(con, model, reference_window, span, bucket, thresholds, share)
            return line, bucket
        result = drift.model_drift(con, model, current_window, spec, thresholds, share)
        if name == "drift":
            return result, reference_window
        if name == "evidently":
            return evidently_report.build(con, model, result, current_window, reference_window)
        raise KeyError(name)


def load_drift(name: str, model: str, current: Any, reference: tuple) -> Any:
    """Drift of `model` (verdicts, timeline or Evidently's report), cached per warehouse."""
    path = warehouse_path()
    return _drift(
        name, str(path), warehouse.version(path), model, (current.since, current.until), reference
    )


@st.cache_data(ttl=3600, show_spinner=False, max_entries=128)
def _distributions(
    path: str, version: tuple | None, model: str, feature: str, windows: tuple
) -> pd.DataFrame:
    with db.connect(Path(path)) as con:
        return drift.distributions(
            con,
            model,
            feature,
            {"reference": drift.Window(*windows[0]), "current": drift.Window(*windows[1])},
        )


@st.cache_data(ttl=3600, show_spinner=False, max_entries=128)
def _drift_daily(
    path: str, version: tuple | None, model: str, feature: str, window: tuple
) -> pd.DataFrame:
    with db.connect(Path(path)) as con:
        return drift.daily_figures(con, model, feature, drift.Window(*window))


def load_drift_daily(model: str, feature: str, window: Any) -> pd.DataFrame:
    path = warehouse_path()
    return _drift_daily(
        str(path), warehouse.version(path), model, feature, (window.since, window.until)
    )


def load_distributions(model: str, feature: str, reference: Any, current: Any) -> pd.DataFrame:
    path = warehouse_path()
    windows = ((reference.since, reference.until), (current.since, current.until))
    return _distributions(str(path), warehouse.version(path), model, feature, windows)


def load(name: str, filters: Filters | None = None, *extra: Any) -> Any:
    """The metric `name` for `filters`, from the cache while the warehouse is unchanged."""
    path = warehouse_path()
    key = (
        (filters.since.isoformat(), filters.until.isoformat(), filters.team, filters.model)
        if filters is not None
        else (None, None, None, None)
    )
    return _load(name, str(path), warehouse.version(path), *key, tuple(extra))


# -- first run ------------------------------------------------------------------------------------


class _StatusProgress(sync.Progress):
    """Sync progress written into an st.status box."""

    def __init__(self, box: Any):
        self.box = box

    def source_started(self, name: str, total_batches: int | None) -> None:
        self.box.write(f"Reading source **{name}**…")

    def batch_done(self, name: str, batch: Any, stats: Any) -> None:
        self.box.write(
            f"{batch.feed}: {stats.loaded:,} rows loaded, {stats.quarantined:,} quarantined"
        )


def ensure_warehouse() -> bool:
    """Fill an empty warehouse (or upgrade an old one) by syncing, with a visible status.

    Returns False, having said why on the page, when there is nothing to show.
    """
    try:
        cfg = config()
    except settings.ConfigError as error:
        st.error(f"The configuration cannot be used: {error}")
        return False
    path = cfg.warehouse
    try:
        needed = not path.exists() or warehouse.needs_upgrade(path)
    except warehouse.WarehouseError as error:
        st.error(f"The warehouse cannot be read: {error}")
        return False
    if not needed:
        return True
    label = (
        "Loading the demo year"
        if any(s.kind == "demo" for s in cfg.sources)
        else "Syncing the configured sources"
    )
    with st.status(f"{label} into {path.name}…", expanded=True) as box:
        try:
            report = sync.run(cfg, progress=_StatusProgress(box))
        except (settings.ConfigError, warehouse.WarehouseError) as error:
            box.update(label="The first sync failed", state="error")
            st.error(str(error))
            return False
        for source in report.sources:
            if not source.ok:
                st.warning(source.error)
        box.update(label="Warehouse ready", state="complete", expanded=False)
    return path.exists()


# -- shared filters --------------------------------------------------------------------------------


def _today_end() -> dt.datetime:
    """Midnight UTC after today: windows end there, so they include all of today."""
    today = settings.now().date() + dt.timedelta(days=1)
    return dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC)


def sidebar_filters() -> Filters:
    """Window, team and model in the sidebar, kept in the URL so a view can be shared."""
    params = st.query_params
    catalog = load("catalog")
    teams = sorted(t for t in catalog["team"].dropna().unique())
    window_key = params.get("window", "28d")
    if window_key not in WINDOWS:
        window_key = "28d"
    team = params.get("team", ALL)
    team = team if team in teams else ALL
    with st.sidebar:
        window_key = st.selectbox(
            "Window",
            list(WINDOWS),
            index=list(WINDOWS).index(window_key),
            format_func=WINDOW_LABELS.get,
            key="filter_window",
        )
        team = st.selectbox(
            "Team", [ALL, *teams], index=([ALL, *teams]).index(team), key="filter_team"
        )
        scoped = catalog if team == ALL else catalog[catalog["team"] == team]
        model_choices = sorted(m for m in scoped["model"].dropna().unique())
        model = params.get("model", ALL)
        model = model if model in model_choices else ALL
        model = st.selectbox(
            "Model",
            [ALL, *model_choices],
            index=([ALL, *model_choices]).index(model),
            key="filter_model",
        )
    for name, value, default in (
        ("window", window_key, None),
        ("team", team, ALL),
        ("model", model, ALL),
    ):
        if value == default:
            if name in params:
                del params[name]
        elif params.get(name) != value:
            params[name] = value
    until = _today_end()
    since = until - dt.timedelta(days=WINDOWS[window_key])
    return Filters(since, until, None if team == ALL else team, None if model == ALL else model)


def current_filters() -> Filters:
    """The filters app.py set for this run; a page reached without app.py hands back to it."""
    _through_app()
    return st.session_state["filters"]


def _through_app() -> None:
    # A `pages/` folder next to the entry point makes Streamlit start in its old multipage
    # mode, where a URL that names a page runs that file alone, without app.py (no sidebar,
    # no filters) until some run has called st.navigation. Switch that mode off and rerun:
    # the rerun goes through app.py, whose navigation resolves the same URL to the same page.
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory or "filters" not in st.session_state:
        PagesManager.uses_pages_directory = False
        st.rerun()


def models_in_scope(filters: Filters) -> list[str]:
    """The models the filters allow, for pages that show one model at a time."""
    if filters.model:
        return [filters.model]
    catalog = load("catalog")
    if filters.team:
        catalog = catalog[catalog["team"] == filters.team]
    return sorted(m for m in catalog["model"].dropna().unique())


# -- charts ----------------------------------------------------------------------------------------


def mark_events(
    fig: go.Figure,
    deployments: pd.DataFrame | None = None,
    incidents: pd.DataFrame | None = None,
) -> go.Figure:
    """Production deployments (green: succeeded, red: failed or rolled back) and incidents
    (dashed purple) as vertical lines across the whole chart, subplots included.

    The lines go in as one list of shapes: `add_vline` once per event re-validates the layout
    each time and takes a minute for a thousand releases.
    """
    shapes = []

    def line(x, colour, dash, opacity):
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": x,
                "x1": x,
                "y0": 0,
                "y1": 1,
                "opacity": opacity,
                "line": {"color": colour, "width": 1, "dash": dash},
            }
        )

    if deployments is not None and not deployments.empty:
        production = deployments[deployments["is_production"]]
        for finished_at, status in zip(
            production["finished_at"], production["status"], strict=True
        ):
            line(finished_at, "#2e7d32" if status == "success" else "#c62828", "solid", 0.5)
    if incidents is not None and not incidents.empty:
        for opened_at in incidents["opened_at"]:
            line(opened_at, "#6a1b9a", "dash", 0.7)
    if shapes:
        fig.update_layout(shapes=list(fig.layout.shapes) + shapes)
    return fig


def percent(value: float | None, unit: str | None) -> str:
    """A KPI value in plain words (see metrics.status.format_kpi)."""
    return format_kpi(None if value is None or pd.isna(value) else float(value), unit)
