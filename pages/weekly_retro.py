"""How did this week go, against last week and the last four weeks?

The team's retro screen: delivery (DORA) and flow figures with their change and level, the
week's deployments, incidents, finished work and waits, highlights in plain words, and the
rows behind every number. Downloadable as Markdown and HTML for the retro notes.
"""

import datetime as dt

import plotly.graph_objects as go
import streamlit as st

from metrics import retro as retro_metrics
from metrics.filters import Filters
from metrics.status import DORA_LEVEL_COLOURS
from pages import common

filters = common.current_filters()

st.title("Weekly retrospective")
rolling = "The last 7 days"
choice = st.selectbox(
    "Week", [rolling, *retro_metrics.recent_weeks(filters.until)], key="retro_week"
)
if choice == rolling:
    week = retro_metrics.rolling_week(filters.until)
    label = f"the 7 days to {(filters.until - dt.timedelta(days=1)):%a %d %b %Y}"
else:
    week = retro_metrics.iso_week(choice)
    label = choice
week = Filters(week.since, week.until, filters.team, filters.model)
month = Filters(week.until - dt.timedelta(days=28), week.until, filters.team, filters.model)
scope = " · ".join(x for x in (filters.team, filters.model) if x) or "all teams"
st.caption(
    f"{label} (UTC), {scope}. Changes are against last week; the 4-week figure is the "
    "weekly average for counts and the 28-day value for medians and rates."
)

retro = common.load("retro", week, label)

# -- the figures -----------------------------------------------------------------------------
for row in (retro.figures[:5], retro.figures[5:]):
    for column, figure in zip(st.columns(5), row, strict=False):
        delta = retro_metrics.change_text(figure)
        column.metric(
            figure.label,
            retro_metrics.format_value(figure.this_week, figure.unit),
            delta=delta if figure.change else None,
            delta_color="normal" if figure.better == "higher" else "inverse",
            help=f"Last week {retro_metrics.format_value(figure.last_week, figure.unit)}; "
            f"4 weeks {retro_metrics.format_value(figure.four_weeks, figure.unit)}.",
        )
        if figure.level:
            column.badge(f"DORA: {figure.level}", color=DORA_LEVEL_COLOURS[figure.level])

st.subheader("Highlights")
for sentence in retro.highlights:
    st.markdown(f"- {sentence}")
if not retro.has_history:
    st.info(
        "These tickets have no status history (a Jira CSV export has none): cycle time, "
        "flow efficiency, blocked time and hand-off waits need the transitions."
    )

left, right = st.columns(2)
markdown = retro_metrics.to_markdown(retro)
left.download_button(
    "Download the summary (Markdown)", markdown, file_name="retro.md", mime="text/markdown"
)
right.download_button(
    "Download the summary (HTML)",
    retro_metrics.to_html(retro),
    file_name="retro.html",
    mime="text/html",
)

# -- delivery ---------------------------------------------------------------------------------
st.subheader("Deployments and incidents, last four weeks")
deployments = common.load("delivery_deployments", month)
incidents = common.load("delivery_incidents", month)
fig = go.Figure()
for failed, colour, name in ((False, "#2e7d32", "deployment"), (True, "#c62828", "change failure")):
    rows = deployments[deployments["is_change_failure"] == failed]
    fig.add_scatter(
        x=rows["finished_at"],
        y=rows["model"],
        mode="markers",
        name=name,
        marker={"color": colour, "size": 10, "symbol": "circle"},
        text=rows["deployment_id"] + " " + rows["status"],
    )
fig.add_scatter(
    x=incidents["opened_at"],
    y=incidents["model"],
    mode="markers",
    name="incident",
    marker={"color": "#6a1b9a", "size": 12, "symbol": "x"},
    text=incidents["incident_id"] + " " + incidents["title"].fillna(""),
)
fig.add_vrect(x0=week.since, x1=week.until, fillcolor="#90caf9", opacity=0.15, line_width=0)
fig.update_layout(height=320, margin={"t": 10, "b": 10}, legend={"orientation": "h"})
st.plotly_chart(fig, key="retro-timeline")

left, right = st.columns(2)
with left:
    st.subheader("Lead time for changes")
    shipped = common.load("shipped_lead_times", month)
    fig = go.Figure(go.Histogram(x=shipped["lead_time_hours"] / 24, nbinsx=30))
    fig.update_layout(
        height=260, margin={"t": 10, "b": 10}, xaxis_title="days", yaxis_title="changes"
    )
    st.plotly_chart(fig, key="retro-lead-time")
    st.caption(
        "First commit to the successful production deployment that shipped it, for the "
        "changes shipped in the last four weeks."
    )
with right:
    st.subheader("Incidents this week")
    week_incidents = common.load("delivery_incidents", week)
    if week_incidents.empty:
        st.write("No incident was opened this week.")
    else:
        st.dataframe(
            week_incidents[
                [
                    "opened_at",
                    "model",
                    "severity",
                    "title",
                    "attributed_deployment_id",
                    "recovery_time_hours",
                ]
            ],
            hide_index=True,
        )

# -- flow -------------------------------------------------------------------------------------
left, right = st.columns(2)
with left:
    st.subheader("Cycle time of finished work")
    finished = common.load("finished_tickets", month)
    summary = common.load("flow_summary", month)
    timed = finished[finished["cycle_time_hours"].notna()]
    fig = go.Figure(
        go.Scatter(
            x=timed["finished_at"],
            y=timed["cycle_time_hours"] / 24,
            mode="markers",
            text=timed["ticket_id"],
            name="ticket",
        )
    )
    for name, value in summary["cycle_time_hours"].items():
        if value is not None:
            fig.add_hline(y=value / 24, line_dash="dot", annotation_text=name)
    fig.update_layout(height=280, margin={"t": 10, "b": 10}, yaxis_title="days")
    st.plotly_chart(fig, key="retro-cycle-time")
    st.caption(
        "First move into an active status to done, pauses included; a ticket moved back "
        "keeps its first start. Dotted lines: median and 85th percentile."
    )
with right:
    st.subheader("Aging work in progress")
    wip = common.load("aging_wip", week)
    if wip.empty:
        st.write("Nothing in progress.")
    else:
        st.dataframe(wip.head(15), hide_index=True)

left, right = st.columns(2)
with left:
    st.subheader("Work mix against its target")
    mix = retro.work_mix
    fig = go.Figure()
    fig.add_bar(x=mix["group"], y=mix["share"], name="this week")
    fig.add_bar(x=mix["group"], y=mix["target"], name="target")
    fig.update_layout(
        height=260,
        margin={"t": 10, "b": 10},
        yaxis_tickformat=".0%",
        barmode="group",
        legend={"orientation": "h"},
    )
    st.plotly_chart(fig, key="retro-mix")
with right:
    st.subheader("Where work waited")
    if not retro.handoffs:
        st.write("No hand-off between roles this week.")
    for name, wait in retro.handoffs.items():
        st.markdown(
            f"**{name}**: {wait['count']} hand-offs, median wait "
            f"{retro_metrics.format_value(wait['median'], 'hours')}"
        )
    split = common.load("status_split", week)
    if not split.empty:
        st.caption("Where the cycle time of this week's finished work went, per status (hours).")
        st.dataframe(split, hide_index=True)

st.subheader("Experiments decided")
if retro.experiments.empty:
    st.write("No experiment was decided this week.")
else:
    st.dataframe(retro.experiments, hide_index=True)

with st.expander("Delivery per team and per model, last four weeks"):
    st.caption("The same definitions as above, over the 28 days ending with the week.")
    st.dataframe(common.load("delivery_by_team", month), hide_index=True)
    st.dataframe(common.load("delivery_by_model", month), hide_index=True)

with st.expander("The rows behind the numbers"):
    st.caption(
        "This week's production deployments (a change failure is failed, rolled back, "
        "or has an attributed incident), the changes they shipped, and the tickets "
        "finished."
    )
    st.dataframe(common.load("delivery_deployments", week), hide_index=True)
    st.dataframe(common.load("delivery_changes", week), hide_index=True)
    st.dataframe(common.load("finished_tickets", week), hide_index=True)
