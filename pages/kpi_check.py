"""Are each model's business numbers where we agreed they should be?

For product and business owners: every KPI in a plain sentence against its target and
guardrail, green/amber/red with the reason in words, the chart with releases marked, and what
each release did to the KPI, beyond the day-to-day noise or not.
"""

import datetime as dt

import plotly.graph_objects as go
import streamlit as st

from metrics.contracts import kpi_sentence
from metrics.filters import Filters
from metrics.status import BADGES
from pages import common

filters = common.current_filters()
week = Filters(filters.until - dt.timedelta(days=7), filters.until, filters.team, filters.model)

st.title("KPI check")
st.caption(
    "This week is the 7 days up to today (UTC); the charts and releases cover the "
    "selected window. Green lines are releases, red ones releases that failed, dashed "
    "purple ones incidents."
)

readings = common.load("contract_readings", week)
daily = common.load("kpi_daily", filters)
deployments = common.load("deployments", filters)
incidents = common.load("incidents", filters)
impact = common.load("release_impact", filters)
segments = common.load("kpi_segments", filters)

with_kpis = {model: r for model, r in readings.items() if r["kpis"]}
if not with_kpis:
    st.info("No business KPI in this window. KPIs come from the `kpis` feed (see the README).")

VERDICTS = {
    "up": "went up",
    "down": "went down",
    "no clear change": "no clear change",
    "not enough data": "not enough days yet to tell",
}

for model, reading in with_kpis.items():
    st.subheader(model)
    for name, kpi in reading["kpis"].items():
        st.markdown(
            f":{BADGES[kpi['status']]}-badge[{kpi['status'].upper()}] {kpi_sentence(name, kpi)}"
        )
        series = daily[(daily["model"] == model) & (daily["kpi"] == name)]
        fig = go.Figure()
        fig.add_scatter(x=series["date"], y=series["value"], mode="lines", name=kpi["label"])
        for value, dash, label in (
            (kpi["target"], "dot", "target"),
            (kpi["guardrail"], "dash", "guardrail"),
        ):
            if value is not None:
                fig.add_hline(
                    y=value,
                    line_dash=dash,
                    line_color="#757575",
                    line_width=1,
                    annotation_text=label,
                )
        common.mark_events(
            fig, deployments[deployments["model"] == model], incidents[incidents["model"] == model]
        )
        fig.update_layout(height=240, margin={"t": 10, "b": 10}, showlegend=False)
        st.plotly_chart(fig, key=f"kpi-{model}-{name}")
    model_segments = segments[(segments["model"] == model) & (segments["segment"] != "all")]
    if not model_segments.empty:
        with st.expander(f"{model} by segment, over the selected window"):
            st.dataframe(
                model_segments.assign(
                    value=[
                        common.percent(v, u)
                        for v, u in zip(
                            model_segments["value"], model_segments["unit"], strict=True
                        )
                    ]
                )[["kpi", "segment", "value", "days"]],
                hide_index=True,
            )
    releases = impact[impact["model"] == model]
    if not releases.empty:
        with st.expander(f"What each {model} release did to its KPIs"):
            st.caption(
                "The 7 days before each release against the 7 days after it (the release "
                "day itself in neither), with a 95% interval for the change: when the "
                "interval leaves out zero, the release moved the number beyond the "
                "day-to-day noise."
            )
            table = releases.assign(
                released=releases["finished_at"].dt.strftime("%d %b %Y"),
                before=[
                    common.percent(v, u)
                    for v, u in zip(releases["before_value"], releases["unit"], strict=True)
                ],
                after=[
                    common.percent(v, u)
                    for v, u in zip(releases["after_value"], releases["unit"], strict=True)
                ],
                result=releases["verdict"].map(VERDICTS),
            )[["released", "version", "kpi", "before", "after", "result"]]
            st.dataframe(table, hide_index=True)
