"""How did this week go, against last week and the 4-week average?

The team's retro screen: deployments, failures, incidents and finished tickets, with the rows
behind every number one click away.
"""

import datetime as dt

import plotly.graph_objects as go
import streamlit as st

from metrics.filters import Filters
from pages import common

filters = common.current_filters()
week = Filters(filters.until - dt.timedelta(days=7), filters.until, filters.team, filters.model)

st.title("Weekly retrospective")
scope = " · ".join(x for x in (filters.team, filters.model) if x) or "all teams"
st.caption(f"The 7 days up to {(filters.until - dt.timedelta(days=1)):%A %d %B %Y} (UTC), {scope}.")

comparison = common.load("week_comparison", filters)
columns = st.columns(len(comparison))
for column, (_, row) in zip(columns, comparison.iterrows(), strict=True):
    delta = row["this_week"] - row["last_week"]
    column.metric(
        row["label"],
        f"{row['this_week']:,}",
        delta=f"{delta:+,} vs last week" if delta else "same as last week",
        delta_color="inverse"
        if row["metric"] in {"failed_deployments", "incidents_opened"}
        else "normal",
        help=f"Last week {row['last_week']:,}; 4-week average {row['four_week_average']:.1f}.",
    )

st.subheader("Production deployments per week")
weekly = common.load("deployments_weekly", filters)
fig = go.Figure()
for column, colour, name in (
    ("succeeded", "#2e7d32", "Succeeded"),
    ("failed", "#c62828", "Failed"),
    ("rolled_back", "#ef6c00", "Rolled back"),
):
    fig.add_bar(x=weekly["week_start"], y=weekly[column], name=name, marker_color=colour)
fig.update_layout(
    barmode="stack", height=320, margin={"t": 10, "b": 10}, legend={"orientation": "h"}
)
st.plotly_chart(fig)

left, right = st.columns(2)
with left:
    st.subheader("Incidents this week")
    incidents = common.load("incidents", week)
    if incidents.empty:
        st.write("No incident was opened this week.")
    else:
        st.dataframe(
            incidents[["opened_at", "model", "severity", "title", "is_open", "hours_to_resolve"]],
            hide_index=True,
        )
with right:
    st.subheader("Deployments this week")
    deployments = common.load("deployments", week)
    if deployments.empty:
        st.write("No deployment finished this week.")
    else:
        st.dataframe(
            deployments[["finished_at", "model", "version", "environment", "status"]],
            hide_index=True,
        )

with st.expander("The rows behind the counts"):
    st.caption("Every deployment and incident of the selected window, as stored.")
    st.dataframe(common.load("deployments", filters), hide_index=True)
    st.dataframe(common.load("incidents", filters), hide_index=True)
