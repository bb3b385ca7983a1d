"""How is this model doing, for the business and for the engineers, over the same days?

The business reading (its KPIs) on the left, the technical reading (traffic, latency, errors,
deployments, incidents) on the right, for one model and one window.
"""

import plotly.graph_objects as go
import streamlit as st

from metrics import serving as serving_metrics
from metrics.filters import Filters
from metrics.status import BADGES, kpi_status
from pages import common

filters = common.current_filters()
choices = common.models_in_scope(filters)

st.title("Model overview")
if not choices:
    st.info("No model in scope: pick another team in the sidebar.")
    st.stop()
model = st.selectbox("Model", choices, key="overview_model")
scoped = Filters(filters.since, filters.until, filters.team, model)

reading = common.load("contract_readings", scoped).get(model)
kpis = common.load("kpi_window", scoped)
daily = common.load("kpi_daily", scoped)
serving = common.load("serving_daily", scoped)
profiled = common.load("serving_profiled", scoped)
deployments = common.load("deployments", scoped)
incidents = common.load("incidents", scoped)

if reading is not None:
    status = reading["status"]
    summary = (
        "contract held"
        if status == "green"
        else ("; ".join(reading["reasons"]) or "nothing to check in this window")
    )
    owner = f" · owner {reading['owner']}" if reading["owner"] else ""
    st.markdown(f":{BADGES[status]}-badge[{status.upper()}] {summary}{owner}")

if reading is not None and reading["retraining"]["due"]:
    st.warning("Retraining is due: " + "; ".join(reading["retraining"]["reasons"]) + ".")

business, technical = st.columns(2, gap="large")
with business:
    st.subheader("Business reading")
    if kpis.empty:
        st.write("No KPI for this model in the window.")
    for _, kpi in kpis.iterrows():
        status = kpi_status(kpi["value"], kpi["target"], kpi["guardrail"])
        st.metric(
            kpi["kpi"].replace("_", " ").capitalize(),
            common.percent(kpi["value"], kpi["unit"]),
            help=f"{status.level}: {status.reason}",
        )
        series = daily[daily["kpi"] == kpi["kpi"]]
        fig = go.Figure(go.Scatter(x=series["date"], y=series["value"], mode="lines"))
        common.mark_events(fig, deployments, incidents)
        fig.update_layout(height=220, margin={"t": 10, "b": 10})
        st.plotly_chart(fig, key=f"overview-kpi-{kpi['kpi']}")

with technical:
    st.subheader("Technical reading")
    requests = int(serving["requests"].sum()) if not serving.empty else 0
    errors = int(serving["errors"].sum()) if not serving.empty else 0
    a, b, c = st.columns(3)
    a.metric("Requests", f"{requests:,}")
    b.metric("Errors", f"{errors:,}")
    c.metric(
        "Deployments",
        f"{int(deployments['is_production'].sum()):,}",
        help="Production deployments that finished in the window.",
    )
    if reading is not None:
        served, budgets = reading["serving"], reading["budgets"]
        a, b, c = st.columns(3)
        for column, name in ((a, "p50"), (b, "p95")):
            value = served["latency_ms"][name]
            budget = budgets["latency_ms"][name] if budgets else None
            column.metric(
                f"Latency {name}",
                "–" if value is None else f"{value:.0f} ms",
                help="no contract"
                if budgets is None
                else f"budget {budget:g} ms"
                if budget is not None
                else "no budget set",
            )
        rate = served["error_rate"]
        c.metric(
            "Error rate",
            "–" if rate is None else f"{rate * 100:.2f}%",
            help="no contract"
            if budgets is None or budgets["error_rate"] is None
            else f"budget {budgets['error_rate'] * 100:.2f}%",
        )
        drifted = reading.get("drift")
        a, b, _ = st.columns(3)
        if drifted is None:
            a.metric("Features drifted", "–", help="no inference features in the window")
        else:
            names = [c for c, v in drifted["columns"].items() if v["drifted"]]
            share = drifted["drift_share"]
            a.metric(
                "Features drifted",
                "–" if share is None else f"{share:.0%}",
                help=f"{len(names)} of {drifted['tested']} features against the window before "
                f"(dataset drift from {drifted['share_threshold']:.0%})"
                + (f": {', '.join(names)}" if names else ""),
            )
            outputs = drifted["prediction"]
            moved = [c for c, v in outputs.items() if v["drifted"]]
            b.metric(
                "Prediction drift",
                "–" if not outputs else ("Yes" if moved else "No"),
                help=", ".join(moved) if moved else "model outputs against the window before",
            )
        quality = reading["quality"]
        if quality.get("labelled"):
            names = (
                ("accuracy", "precision", "recall", "roc_auc")
                if quality.get("kind") == "classifier"
                else ("mae", "rmse")
            )
            shown = " · ".join(
                f"{n.replace('_', ' ')}: {quality[n]:.3f}"
                for n in names
                if quality.get(n) is not None
            )
            st.caption(
                f"Quality on {quality['labelled']:,} labelled predictions "
                f"({quality['labelled_share'] * 100:.0f}% labelled so far): {shown}"
            )
    if not profiled.empty:
        st.caption(
            f"Profiled where the data lives ({profiled['sources'].iloc[0]}): requests and errors "
            "are exact; latency percentiles are read off a histogram, within "
            f"{serving_metrics.PERCENTILE_ERROR:.0%} of the exact ones."
        )
    if not serving.empty:
        fig = go.Figure()
        for column, name in (
            ("latency_p50_ms", "p50"),
            ("latency_p95_ms", "p95"),
            ("latency_p99_ms", "p99"),
        ):
            fig.add_scatter(x=serving["day"], y=serving[column], mode="lines", name=name)
        common.mark_events(fig, deployments, incidents)
        fig.update_layout(
            height=220,
            margin={"t": 10, "b": 10},
            yaxis_title="latency (ms)",
            legend={"orientation": "h"},
        )
        st.plotly_chart(fig, key="overview-latency")
        fig = go.Figure(go.Bar(x=serving["day"], y=serving["error_rate"], name="error rate"))
        fig.update_layout(height=180, margin={"t": 10, "b": 10}, yaxis_tickformat=".1%")
        st.plotly_chart(fig, key="overview-errors")
    st.write("**Per version**")
    versions = common.load("serving_versions", scoped)
    kind = reading["quality"].get("kind") if reading else None
    per_version = common.load(
        "regressor_quality" if kind == "regressor" else "classifier_quality", scoped
    )
    if not versions.empty:
        merged = versions.merge(
            per_version, on=["model", "model_version"], how="left", suffixes=("", "_quality")
        )
        st.dataframe(merged.drop(columns=["model", "rows"], errors="ignore"), hide_index=True)
    st.write("**Incidents**")
    if incidents.empty:
        st.write("None in this window.")
    else:
        st.dataframe(
            incidents[["opened_at", "severity", "title", "is_open", "hours_to_resolve"]],
            hide_index=True,
        )
    st.write("**Deployments**")
    st.dataframe(deployments[["finished_at", "version", "environment", "status"]], hide_index=True)
