"""How is this model doing, for the business and for the engineers, over the same days?

The business reading (its KPIs) on the left, the technical reading (traffic, latency, errors,
deployments, incidents) on the right, for one model and one window.
"""

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from metrics import drift, privacy
from metrics import serving as serving_metrics
from metrics.filters import Filters, describe
from metrics.quality import METRICS as QUALITY_FIGURES
from metrics.registry import label
from metrics.retro import HIDDEN
from metrics.status import BADGES
from pages import notes
from pages.charts import (
    COLOURS,
    KpiPanel,
    add_band,
    budget_line,
    figure,
    kpi_chart,
    kpi_name,
    kpi_title,
    mark_events,
    percent,
    subplots,
)
from pages.filters import current_filters, models_in_scope
from pages.loaders import load
from pages.tables import table, withheld_reason


def controls(filters: Filters, choices: list[str]) -> Filters:
    """The model to read, within the sidebar's filters."""
    model = st.selectbox("Model", choices, key="overview_model")
    return Filters(filters.since, filters.until, filters.team, model)


def status_line(reading: dict[str, Any] | None) -> None:
    """The contract's colour over the window, in words, and whether retraining is due."""
    if reading is None:
        return
    owner = f" · owner {reading['owner']}" if reading["owner"] else ""
    st.markdown(
        f":{BADGES[reading['status']]}-badge[{reading['badge']}] {reading['summary']}{owner}"
    )
    if reading["retraining"]["due"]:
        st.warning(f"{label('retraining')}: " + "; ".join(reading["retraining"]["reasons"]) + ".")


def business_reading(
    scoped: Filters,
    reading: dict[str, Any] | None,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame,
) -> None:
    """Each KPI over the window against its contract, with its status and daily chart."""
    kpis = reading["kpis"] if reading else {}
    daily = load("kpi_daily", scoped)
    st.subheader("Business reading")
    if not kpis:
        st.write("No KPI for this model in the window.")
        return
    for name, kpi in kpis.items():
        st.metric(
            label("kpi_window", kpi=kpi_name(name)),
            percent(kpi["value"], kpi["unit"]),
            help=f"Over the {kpi['window']}; target {percent(kpi['target'], kpi['unit'])}, "
            f"guardrail {percent(kpi['guardrail'], kpi['unit'])}.",
        )
        st.markdown(f":{BADGES[kpi['status']]}-badge[{kpi['badge']}] {kpi['reason']}")
    # Every KPI in one figure, a row each: one plot for the browser to lay out.
    panels = [
        KpiPanel(kpi_title(kpi), kpi, daily[daily["kpi"] == name], deployments, incidents)
        for name, kpi in kpis.items()
    ]
    window = next(iter(kpis.values()))["window"]
    fig = kpi_chart(panels, f"Each KPI per day over the {window}", row_height=180)
    written = notes.annotations(scoped)
    for row in range(1, len(panels) + 1):
        notes.annotation_marks(fig, written, row=row)
    st.plotly_chart(fig, key="overview-kpis")


def serving_cards(reading: dict[str, Any]) -> None:
    """Latency and error rate against the contract's budgets, drift, quality."""
    served, budgets = reading["serving"], reading["budgets"]
    a, b, c = st.columns(3)
    for column, name in ((a, "p50"), (b, "p95")):
        value = served["latency_ms"][name]
        budget = budgets["latency_ms"][name] if budgets else None
        column.metric(
            label(f"latency_{name}"),
            "–" if value is None else f"{value:.0f} ms",
            help="no contract"
            if budgets is None
            else f"budget {budget:g} ms"
            if budget is not None
            else "no budget set",
        )
    rate = served["error_rate"]
    c.metric(
        label("error_rate"),
        "–" if rate is None else f"{rate * 100:.2f}%",
        help="no contract"
        if budgets is None or budgets["error_rate"] is None
        else f"budget {budgets['error_rate'] * 100:.2f}%",
    )
    drifted = reading.get("drift")
    a, b, _ = st.columns(3)
    if drifted is None:
        a.metric(label("drift_share"), "–", help="no inference features in the window")
    else:
        names = [c for c, v in drifted["columns"].items() if v["drifted"]]
        share = drifted["drift_share"]
        a.metric(
            label("drift_share"),
            "–" if share is None else f"{share:.0%}",
            help=f"{len(names)} of {drifted['tested']} features against the window before "
            f"(dataset drift from {drifted['share_threshold']:.0%})"
            + (f": {', '.join(names)}" if names else ""),
        )
        outputs = drifted["prediction"]
        moved = [c for c, v in outputs.items() if v["drifted"]]
        b.metric(
            label("prediction_drift"),
            "–" if not outputs else ("Yes" if moved else "No"),
            help=", ".join(moved) if moved else "model outputs against the window before",
        )
    quality_cards(reading["quality"])


# The per-version quality table of each kind (a model of unknown kind gets none).
QUALITY_BY_VERSION = {
    "classifier": "classifier_quality",
    "regressor": "regressor_quality",
    "ranker": "ranker_quality",
}


def quality_by_version(scoped: Filters, kind: str | None) -> pd.DataFrame:
    """The model's quality per version for its kind; no columns but the keys when unknown."""
    if kind not in QUALITY_BY_VERSION:
        return pd.DataFrame(columns=["model", "model_version"])
    return load(QUALITY_BY_VERSION[kind], scoped)


def quality_cards(quality: dict[str, Any]) -> None:
    """The model's quality over the window by its kind (a ranker's at its contract's k), or
    the reason there is none."""
    if not quality:
        return
    if quality.get("reason"):
        st.caption(quality["reason"][:1].upper() + quality["reason"][1:] + ".")
        return
    if not quality["rows"]:
        st.caption("Quality: no prediction in this window.")
        return
    if not quality["labelled"]:
        st.caption("Quality: no labelled prediction in this window yet (labels arrive late).")
        return
    names = QUALITY_FIGURES[quality["kind"]]
    for column, name in zip(st.columns(len(names)), names, strict=True):
        value = quality[name]
        shown = (
            "–" if value is None else f"{value:,.2f}" if name in ("mae", "rmse") else f"{value:.3f}"
        )
        column.metric(label(name, k=str(quality.get("k"))), shown)
    if quality["kind"] == "ranker":
        st.caption(
            f"Over the {quality['labelled_lists']:,} lists with a label, of "
            f"{quality['lists']:,} served in the window (an unlabelled item of a labelled list "
            "counts as not relevant). Requests count ranked items, one row each, not lists."
        )
    else:
        st.caption(
            f"Quality on {quality['labelled']:,} labelled predictions "
            f"({quality['labelled_share'] * 100:.0f}% labelled so far)."
        )


# The estimates Model overview draws, by kind (the others are in the report and on request).
ESTIMATED_FIGURES = {"classifier": ("accuracy", "roc_auc"), "regressor": ("mae",)}


def estimate_text(name: str, value: float | None) -> str:
    """An estimate as its card shows it: MAE in the target's unit to 2 decimals, rates to 3."""
    if value is None:
        return "–"
    return f"{value:,.2f}" if name in ("mae", "rmse") else f"{value:.3f}"


def estimated_performance(scoped: Filters, reading: dict[str, Any] | None) -> None:
    """Performance estimated before the labels come, per day with its band, the realized
    figure beside it where labels exist, and whether the estimates held (the calibration)."""
    quality = (reading or {}).get("quality") or {}
    names = ESTIMATED_FIGURES.get(quality.get("kind"))
    if not names or "estimation" not in quality:
        return
    st.write(f"**{label('estimated_performance')}**")
    verdict = quality["estimation"]
    if verdict.get("reason") and not any(
        (quality["estimated"].get(n) or {}).get("value") is not None for n in names
    ):
        st.caption(verdict["reason"][:1].upper() + verdict["reason"][1:] + ".")
        return
    for column, name in zip(st.columns(len(names)), names, strict=True):
        whole = quality["estimated"].get(name) or {}
        column.metric(
            label(f"estimated_{name}"),
            estimate_text(name, whole.get("value")),
            help=f"Band {estimate_text(name, whole.get('lower'))} to "
            f"{estimate_text(name, whole.get('upper'))}; realized "
            f"{estimate_text(name, whole.get('realized'))} on the labelled rows so far.",
        )
    calibration = verdict["calibration"]
    st.markdown(calibration_words(calibration))
    found = load("estimated_performance", None, scoped.model, *drift_windows(scoped))
    fig = estimate_chart(found.steps, names, describe(scoped))
    notes.annotation_marks(fig, notes.annotations(scoped))
    st.plotly_chart(fig, key="overview-estimated")


def calibration_words(calibration: dict[str, Any]) -> str:
    """The calibration verdict in words, with its badge."""
    if calibration["trusted"]:
        return (
            f":{BADGES['green']}-badge[Estimates trusted] {calibration['basis'][:1].upper()}"
            f"{calibration['basis'][1:]}: the realized figure stayed inside the band."
        )
    reason = calibration.get("reason") or "the estimates could not be checked"
    return f":{BADGES['amber']}-badge[Estimates not trusted] {reason[:1].upper()}{reason[1:]}."


def drift_windows(scoped: Filters) -> tuple[drift.Window, drift.Reference]:
    """The window as whole UTC days and the default reference (the window before), as the
    report's reading estimates them."""
    return drift.day_window(scoped.since, scoped.until), drift.Reference()


def estimate_chart(steps: pd.DataFrame, names: tuple[str, ...], window: str) -> go.Figure:
    """Per day: each estimate with its band, the realized figure where labels came."""
    fig = subplots(rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.08)
    for row, name in enumerate(names, start=1):
        mine = steps[steps["metric"] == name]
        add_band(
            fig,
            mine["day"],
            mine["lower"],
            mine["upper"],
            "band (3 standard errors)",
            row,
            legend=row == 1,
        )
        fig.add_scatter(
            x=mine["day"],
            y=mine["value"],
            mode="lines",
            name=f"estimated {label(name)}",
            line={"color": COLOURS["estimate"]},
            row=row,
            col=1,
        )
        fig.add_scatter(
            x=mine["day"],
            y=mine["realized"],
            mode="markers",
            name=f"realized {label(name)}",
            marker={"color": COLOURS["realized"], "size": 6},
            row=row,
            col=1,
        )
        unit = " (target's unit)" if name in ("mae", "rmse") else ""
        fig.update_yaxes(title_text=f"{label(name)}{unit}", row=row, col=1)
    fig.update_layout(
        height=170 + 150 * len(names),
        margin={"t": 30, "b": 10},
        title={"text": f"Per day, over {window}", "font": {"size": 13}},
        legend={"orientation": "h", "x": 0, "y": -0.12},
    )
    return fig


def serving_charts(
    scoped: Filters,
    serving: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame,
    reading: dict[str, Any] | None = None,
) -> None:
    """Latency percentiles and the error rate per day against the contract's budgets, and
    where they were computed. p99 starts hidden: the contract budgets p50 and p95, and p99's
    spikes would squash them to the floor (a click on the legend shows it)."""
    profiled = load("serving_profiled", scoped)
    if not profiled.empty:
        st.caption(
            f"{label('serving_profiled')} ({profiled['sources'].iloc[0]}): requests and errors "
            "are exact; latency percentiles are read off a histogram, within "
            f"{serving_metrics.PERCENTILE_ERROR:.0%} of the exact ones."
        )
    if serving.empty:
        return
    window = describe(scoped)
    st.caption(
        f"Latency per day, in ms, over {window}; dotted lines are the contract's budgets, "
        "vertical lines releases and incidents, ✎ grey marks annotations. p99 is hidden: click "
        "it in the legend."
    )
    fig = figure()
    for column, name in (
        ("latency_p50_ms", "p50"),
        ("latency_p95_ms", "p95"),
        ("latency_p99_ms", "p99"),
    ):
        fig.add_scatter(
            x=serving["day"],
            y=serving[column],
            mode="lines",
            name=name,
            visible="legendonly" if name == "p99" else True,
        )
    budgets = (reading or {}).get("budgets") or {}
    for name, budget in (budgets.get("latency_ms") or {}).items():
        if budget is not None:
            budget_line(fig, budget, f"{name} budget {budget:g} ms")
    mark_events(fig, deployments, incidents)
    notes.annotation_marks(fig, notes.annotations(scoped))
    fig.update_layout(
        height=240,
        margin={"t": 30, "b": 10},
        yaxis_title="latency (ms)",
        # above the plot, clear of the dates under it
        legend={"orientation": "h", "x": 0, "y": 1.02, "xanchor": "left", "yanchor": "bottom"},
    )
    st.plotly_chart(fig, key="overview-latency")
    st.caption(f"Error rate per day (share of requests that failed), over {window}.")
    fig = figure(go.Bar(x=serving["day"], y=serving["error_rate"], name="error rate"))
    if budgets.get("error_rate") is not None:
        budget_line(fig, budgets["error_rate"], f"budget {budgets['error_rate']:.2%}", "left")
    fig.update_layout(
        height=180,
        margin={"t": 10, "b": 10},
        yaxis_tickformat=".1%",
        yaxis_title="error rate",
    )
    notes.annotation_marks(fig, notes.annotations(scoped))
    st.plotly_chart(fig, key="overview-errors")


def technical_reading(
    scoped: Filters,
    reading: dict[str, Any] | None,
    deployments: pd.DataFrame | privacy.Withheld,
    marks: pd.DataFrame,
    incidents: pd.DataFrame,
) -> None:
    """Traffic, latency, errors, drift and quality; per version; incidents and deployments."""
    serving = load("serving_daily", scoped)
    st.subheader("Technical reading")
    requests = int(serving["requests"].sum()) if not serving.empty else 0
    errors = int(serving["errors"].sum()) if not serving.empty else 0
    a, b, c = st.columns(3)
    a.metric(label("requests"), f"{requests:,}")
    b.metric(label("errors"), f"{errors:,}")
    hidden = withheld_reason(deployments)
    c.metric(
        label("deployments"),
        HIDDEN if hidden else f"{int(deployments['is_production'].sum()):,}",
        help=f"{hidden[0].upper()}{hidden[1:]} ([privacy] min_people)."
        if hidden
        else "Production deployments that finished in the window.",
    )
    if reading is not None:
        serving_cards(reading)
        estimated_performance(scoped, reading)
    serving_charts(scoped, serving, marks, incidents, reading)

    st.write(f"**{label('serving_versions')}**")
    versions = load("serving_versions", scoped)
    kind = reading["quality"].get("kind") if reading else None
    per_version = quality_by_version(scoped, kind)
    merged = (
        versions.merge(
            per_version, on=["model", "model_version"], how="left", suffixes=("", "_quality")
        )
        if not versions.empty
        else versions
    )
    table(
        merged,
        [
            "model_version",
            "requests",
            "error_rate",
            "latency_p50_ms",
            "latency_p95_ms",
            *[c for c in per_version.columns if c not in ("model", "model_version", "rows")],
            "latency_p99_ms",
            "errors",
            "first_seen_at",
            "last_seen_at",
        ],
        f"serving_versions_{scoped.model}",
        scoped,
        empty="No request was served in this window, so there is nothing per version.",
    )
    st.write(f"**{label('incidents')}**")
    table(
        incidents,
        ["opened_at", "severity", "title", "is_open", "hours_to_resolve", "incident_id"],
        f"incidents_{scoped.model}",
        scoped,
        empty="No incident was opened in this window.",
    )
    st.write(f"**{label('deployments')}**")
    table(
        deployments,
        ["finished_at", "version", "environment", "status", "deployment_id"],
        f"deployments_{scoped.model}",
        scoped,
        empty="No deployment finished in this window.",
    )


def layout() -> None:
    filters = current_filters()
    choices = models_in_scope(filters)
    st.title("Model overview")
    if not choices:
        st.info("No model in scope: pick another team in the sidebar.")
        st.stop()
    scoped = controls(filters, choices)
    reading = load("contract_readings", scoped).get(scoped.model)
    deployments = load("deployments", scoped)  # the count and list: withheld below k authors
    marks = load("release_marks", scoped)  # the same rows marked on the charts
    incidents = load("incidents", scoped)
    status_line(reading)
    business, technical = st.columns(2, gap="large")
    with business:
        business_reading(scoped, reading, marks, incidents)
    with technical:
        technical_reading(scoped, reading, deployments, marks, incidents)
    notes.annotations_section(notes.annotations(scoped), scoped, "overview-notes")
    notes.decision_log(scoped.model, "overview-decisions")


layout()
