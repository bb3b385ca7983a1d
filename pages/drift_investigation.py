"""Which of this model's features drifted, since when, by how much, and what else happened?

For data scientists: the window in the sidebar against a reference (the window before it, a
fixed window such as the training period, or a version's first days), judged per column as
Evidently would judge it; the chosen feature's two distributions; the drift timeline beside
deployments, incidents and the model's main KPI; and Evidently's own report on a sample.
"""

import datetime as dt

import plotly.graph_objects as go
import streamlit as st
import streamlit.components.v1 as components
from plotly.subplots import make_subplots

from metrics import drift
from metrics.filters import Filters
from pages import common

filters = common.current_filters()
choices = common.models_in_scope(filters)

st.title("Drift investigation")
if not choices:
    st.info("No model in scope: pick another team in the sidebar.")
    st.stop()

current = drift.day_window(filters.since, filters.until)
top = st.columns([2, 3])
model = top[0].selectbox("Model", choices, key="drift_model")
references = {
    "previous": "The window before (same length)",
    "fixed": "A fixed window (e.g. the training period)",
    "version": "The first days of a version",
}
kind = top[1].radio(
    "Compare with",
    list(references),
    format_func=references.get,
    key="drift_reference",
    horizontal=True,
)
reference_spec: tuple = ("previous", None, None, None, 7)
if kind == "fixed":
    left, right = st.columns(2)
    default_since = current.since - dt.timedelta(days=current.days * 2)
    since = left.date_input("Reference from", default_since, key="drift_ref_since")
    until = right.date_input("Reference until (excluded)", current.since, key="drift_ref_until")
    if since >= until:
        st.warning("The reference must start before it ends.")
        st.stop()
    reference_spec = ("fixed", since, until, None, 7)
elif kind == "version":
    versions = common.load("model_versions", None, model)
    if versions.empty:
        st.info(f"{model} has no versions in its inference logs.")
        st.stop()
    left, right = st.columns(2)
    version = left.selectbox("Version", list(versions["version"]), key="drift_version")
    days = right.number_input("Its first days", 1, 90, 7, key="drift_version_days")
    reference_spec = ("version", None, None, version, int(days))

with st.spinner("Comparing distributions…"):
    try:
        result, reference = common.load_drift("drift", model, current, reference_spec)
    except ValueError as error:
        st.warning(str(error))
        st.stop()

if not result.reference["rows"] or not result.current["rows"]:
    side = "reference" if not result.reference["rows"] else "current window"
    st.info(
        f"No inference rows for {model} in the {side} "
        f"({reference.since} to {reference.until} against {current.since} to {current.until})."
    )
    st.stop()

share = result.drift_share
cards = st.columns(4)
cards[0].metric(
    "Dataset drift",
    "Yes" if result.dataset_drift else "No",
    help=f"Drifted when at least {result.share_threshold:.0%} of the features drifted.",
)
cards[1].metric("Features drifted", "—" if share is None else f"{share:.0%}")
cards[2].metric(
    "Reference",
    f"{result.reference['rows']:,} rows",
    help=f"{reference.since} to {reference.until} (until excluded)",
)
cards[3].metric(
    "Current",
    f"{result.current['rows']:,} rows",
    help=f"{current.since} to {current.until} (until excluded)",
)
st.caption(
    f"Reference {reference.since} → {reference.until}, current {current.since} → "
    f"{current.until} (whole UTC days). Methods and thresholds are Evidently's defaults"
    + (
        ", with this model's contract overrides."
        if result.share_threshold != drift.DATASET_DRIFT_SHARE
        else "."
    )
)

table = result.table()
shown = table[table["type"] != "empty"].copy()
shown["verdict"] = shown["drifted"].map({True: "drifted", False: "stable"}).fillna("not tested")
shown["kind"] = shown["role"].map({"feature": "feature", "prediction": "model output"})
st.subheader("Columns, most drifted first")
selection = st.dataframe(
    shown[
        [
            "column",
            "kind",
            "type",
            "method_name",
            "score",
            "threshold",
            "verdict",
            "settled",
            "reference_values",
            "current_values",
            "note",
        ]
    ].rename(
        columns={
            "method_name": "method",
            "reference_values": "reference values",
            "current_values": "current values",
            "settled": "computed from",
        }
    ),
    hide_index=True,
    key="drift_table",
    column_config={
        "score": st.column_config.NumberColumn(format="%.4g"),
        "threshold": st.column_config.NumberColumn(format="%.3g"),
    },
)
st.caption(
    "p-values (K-S, chi-square, Z-test) drift when below the threshold; distances "
    "(Wasserstein, Jensen-Shannon) when at or above it. 'profile': from the daily profiles; "
    "'raw': settled from the raw values because the score was close to its threshold."
)

testable = list(shown["column"])
if not testable:
    st.info("No column has values on both sides.")
    st.stop()
feature = st.selectbox("Column", testable, key="drift_feature")
verdict = result.column(feature)

left, right = st.columns(2)
with left:
    st.subheader(f"{feature}: reference and current")
    dist = common.load_distributions(model, feature, reference, current)
    fig = go.Figure()
    for part, colour in (("reference", "#9aa5b1"), ("current", "#d9480f")):
        rows = dist[dist["part"] == part]
        fig.add_bar(
            x=rows["x"] if rows["x"].notna().any() else rows["label"],
            y=rows["share"],
            name=part,
            marker_color=colour,
            opacity=0.65,
        )
    fig.update_layout(
        barmode="overlay",
        height=340,
        margin={"t": 10, "b": 10},
        yaxis_tickformat=".0%",
        legend={"orientation": "h"},
    )
    st.plotly_chart(fig, key="drift-distributions")
    if verdict.tested:
        st.caption(
            f"{verdict.method_name} {verdict.score:.4g} against a threshold of "
            f"{verdict.threshold:.3g}: {'drifted' if verdict.drifted else 'stable'}."
        )

with right:
    st.subheader("When it began")
    line, bucket = common.load_drift("timeline", model, current, reference_spec)
    scoped = Filters(*current.instants(), filters.team, model)
    span = Filters(
        dt.datetime.combine(reference.since, dt.time(), dt.UTC), scoped.until, filters.team, model
    )
    kpis = common.load("kpi_daily", span)
    deployments = common.load("deployments", span)
    incidents = common.load("incidents", span)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4]
    )
    dataset = line[line["role"] == "dataset"]
    fig.add_scatter(
        x=dataset["start"],
        y=dataset["score"],
        name="features drifted",
        mode="lines+markers",
        row=1,
        col=1,
    )
    chosen = line[line["column"] == feature]
    if not chosen.empty and chosen["method"].iloc[0] in drift.DISTANCE_METHOD_NAMES:
        fig.add_scatter(
            x=chosen["start"],
            y=chosen["score"],
            name=f"{feature} score",
            mode="lines",
            row=1,
            col=1,
        )
    fig.add_hline(y=result.share_threshold, line_dash="dot", line_color="grey", row=1, col=1)
    fig.update_yaxes(title_text="drift", row=1, col=1)
    if not kpis.empty:
        main = kpis["kpi"].iloc[0]
        series = kpis[kpis["kpi"] == main]
        fig.add_scatter(x=series["date"], y=series["value"], name=main, mode="lines", row=2, col=1)
        fig.update_yaxes(title_text=main, row=2, col=1)
    common.mark_events(fig, deployments, incidents)
    fig.update_layout(height=340, margin={"t": 10, "b": 10}, legend={"orientation": "h"})
    st.plotly_chart(fig, key="drift-timeline")
    st.caption(
        f"Each {'day' if bucket == 1 else 'week'} against the reference (estimates from the "
        "profiles). Green lines: production releases; red: failed or rolled back; dashed "
        "purple: incidents opened."
    )
    began = drift.first_drift(line, feature)
    if began is not None:
        st.write(
            f"**{feature}** first drifted in the {'day' if bucket == 1 else 'week'} "
            f"starting {began}."
        )

st.subheader("Evidently's own report")
st.caption(
    "Evidently's DataDriftPreset on the same windows, on a sample of each (it takes about a "
    "minute per million rows). Built on request."
)
if st.toggle("Build Evidently's report", key="drift_evidently"):
    with st.spinner("Running Evidently on the samples…"):
        report = common.load_drift("evidently", model, current, reference_spec)
    st.write(
        f"Sample: {report.reference_rows:,} reference rows and {report.current_rows:,} current "
        f"rows (at most {report.sample_rows:,} a side)."
    )
    st.download_button(
        "Download the report (HTML)",
        report.html,
        file_name=f"evidently-{model}-{current.since}-{current.until}.html",
        mime="text/html",
        key="drift_evidently_download",
    )
    components.html(report.html, height=900, scrolling=True)

with st.expander("Daily figures of this column"):
    st.dataframe(common.load_drift_daily(model, feature, current), hide_index=True)
    st.caption("From the daily profiles; quartiles are interpolated within the profile bins.")
