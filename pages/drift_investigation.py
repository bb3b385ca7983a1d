"""Which of this model's features moved, since when, and what else happened those days?

For data scientists: a feature's daily distribution over the window, with the model's
deployments, incidents and main KPI on the same time axis.
"""

import streamlit as st
from plotly.subplots import make_subplots

from metrics.filters import Filters
from pages import common

filters = common.current_filters()
choices = common.models_in_scope(filters)

st.title("Drift investigation")
if not choices:
    st.info("No model in scope: pick another team in the sidebar.")
    st.stop()
left, right = st.columns(2)
model = left.selectbox("Model", choices, key="drift_model")
features = common.load("model_features", None, model)
if features.empty:
    st.info(f"No inference rows with features for {model} yet.")
    st.stop()
feature = right.selectbox("Feature", list(features["feature"]), key="drift_feature")
data_type = features.set_index("feature")["data_type"][feature]
scoped = Filters(filters.since, filters.until, filters.team, model)

daily = common.load("feature_daily", scoped, feature)
kpis = common.load("kpi_daily", scoped)
deployments = common.load("deployments", scoped)
incidents = common.load("incidents", scoped)

fig = make_subplots(
    rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.6, 0.4]
)
if data_type in {"DOUBLE", "BIGINT"}:
    fig.add_scatter(
        x=daily["day"],
        y=daily["p75"],
        mode="lines",
        line={"width": 0},
        showlegend=False,
        row=1,
        col=1,
    )
    fig.add_scatter(
        x=daily["day"],
        y=daily["p25"],
        mode="lines",
        line={"width": 0},
        fill="tonexty",
        name="p25–p75",
        row=1,
        col=1,
    )
    fig.add_scatter(x=daily["day"], y=daily["mean"], mode="lines", name="daily mean", row=1, col=1)
    fig.update_yaxes(title_text=feature, row=1, col=1)
else:
    fig.add_scatter(
        x=daily["day"],
        y=daily["top_value_share"],
        mode="lines",
        name="share of the most common value",
        text=daily["top_value"],
        row=1,
        col=1,
    )
    fig.update_yaxes(title_text=f"{feature}: top value share", tickformat=".0%", row=1, col=1)
if not kpis.empty:
    main_kpi = kpis["kpi"].iloc[0]
    series = kpis[kpis["kpi"] == main_kpi]
    fig.add_scatter(x=series["date"], y=series["value"], mode="lines", name=main_kpi, row=2, col=1)
    fig.update_yaxes(title_text=main_kpi, row=2, col=1)
common.mark_events(fig, deployments, incidents)
fig.update_layout(height=520, margin={"t": 10, "b": 10}, legend={"orientation": "h"})
st.plotly_chart(fig, key="drift-timeline")
st.caption(
    "Green lines: production releases; red: failed or rolled back; dashed purple: incidents opened."
)

with st.expander("Daily figures"):
    st.dataframe(daily, hide_index=True)
