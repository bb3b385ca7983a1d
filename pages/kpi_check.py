"""Are each model's business numbers where we want them?

For product and business owners: every KPI in a plain sentence against its target and
guardrail, a green/amber/red status, and the chart with releases marked.
"""

import datetime as dt

import plotly.graph_objects as go
import streamlit as st

from metrics.filters import Filters
from metrics.status import kpi_status
from pages import common

filters = common.current_filters()
week = Filters(filters.until - dt.timedelta(days=7), filters.until, filters.team, filters.model)

st.title("KPI check")
st.caption(
    "This week is the 7 days up to today (UTC); the chart covers the selected window. "
    "Green lines are releases, red ones releases that failed, dashed purple ones incidents."
)

this_week = common.load("kpi_window", week)
last_week = common.load("kpi_window", week.previous()).set_index(["model", "kpi"])
daily = common.load("kpi_daily", filters)
deployments = common.load("deployments", filters)
incidents = common.load("incidents", filters)

if this_week.empty and daily.empty:
    st.info("No business KPI in this window. KPIs come from the `kpis` feed (see the README).")

for model, kpis in this_week.groupby("model", sort=True):
    st.subheader(model or "Business-wide")
    for _, kpi in kpis.iterrows():
        status = kpi_status(kpi["value"], kpi["target"], kpi["guardrail"])
        previous = last_week["value"].get((model, kpi["kpi"]))
        name = kpi["kpi"].replace("_", " ").capitalize()
        sentence = f"{name} was **{common.percent(kpi['value'], kpi['unit'])}** this week"
        if previous is not None and previous == previous:
            sentence += f", against {common.percent(previous, kpi['unit'])} last week"
        if kpi["target"] == kpi["target"] and kpi["target"] is not None:
            sentence += f"; target {common.percent(kpi['target'], kpi['unit'])}"
        st.markdown(f":{status.badge}-badge[{status.level.upper()}] {sentence} — {status.reason}.")
        series = daily[(daily["model"] == model) & (daily["kpi"] == kpi["kpi"])]
        fig = go.Figure()
        fig.add_scatter(x=series["date"], y=series["value"], mode="lines", name=name)
        for column, dash, label in (
            ("target", "dot", "target"),
            ("guardrail", "dash", "guardrail"),
        ):
            if series[column].notna().any():
                fig.add_scatter(
                    x=series["date"],
                    y=series[column],
                    mode="lines",
                    name=label,
                    line={"dash": dash, "color": "#757575", "width": 1},
                )
        scoped_deploys = deployments[deployments["model"] == model]
        scoped_incidents = incidents[incidents["model"] == model]
        common.mark_events(fig, scoped_deploys, scoped_incidents)
        fig.update_layout(height=260, margin={"t": 10, "b": 10}, showlegend=False)
        st.plotly_chart(fig, key=f"kpi-{model}-{kpi['kpi']}")
