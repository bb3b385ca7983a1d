"""Which of this model's features drifted, since when, by how much, and what else happened?

For data scientists: the window in the sidebar against a reference (the window before it, a
fixed window such as the training period, or a version's first days), judged per column as
Evidently would judge it; the chosen feature's two distributions; the drift timeline beside
deployments, incidents and the model's main KPI; and Evidently's own report on a sample.
"""

import datetime as dt
import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from metrics import drift, evidently_report
from metrics.filters import Filters
from metrics.registry import label
from pages import notes, signin
from pages.charts import COLOURS, add_band, figure, kpi_name, mark_events, subplots
from pages.filters import current_filters, models_in_scope
from pages.loaders import load
from pages.tables import table

REFERENCES = {
    "previous": "The window before (same length)",
    "fixed": "A fixed window (e.g. the training period)",
    "version": "The first days of a version",
}


def opening_model(filters: Filters, choices: list[str]) -> int:
    """Where the model choice opens: the model with the largest drift share over the window
    (then the worst status), as Model overview reads them; the sidebar's model when it names
    one (then it is the only choice)."""
    if len(choices) < 2:
        return 0
    readings = load("contract_status", Filters(filters.since, filters.until, filters.team, None))
    ranked = drift.most_drifted_first(
        {
            model: (
                ((readings.get(model) or {}).get("drift") or {}).get("drift_share"),
                (readings.get(model) or {}).get("status"),
            )
            for model in choices
        }
    )
    return choices.index(ranked[0])


def controls(
    filters: Filters, choices: list[str], current: drift.Window
) -> tuple[str, drift.Reference]:
    """The model, and what its current window is compared with."""
    top = st.columns([2, 3])
    model = top[0].selectbox(
        "Model", choices, index=opening_model(filters, choices), key="drift_model"
    )
    kind = top[1].radio(
        "Compare with",
        list(REFERENCES),
        format_func=REFERENCES.get,
        key="drift_reference",
        horizontal=True,
    )
    if kind == "fixed":
        left, right = st.columns(2)
        default_since = current.since - dt.timedelta(days=current.days * 2)
        since = left.date_input("Reference from", default_since, key="drift_ref_since")
        until = right.date_input("Reference until (excluded)", current.since, key="drift_ref_until")
        if since >= until:
            st.warning("The reference must start before it ends.")
            st.stop()
        return model, drift.Reference("fixed", drift.Window(since, until))
    if kind == "version":
        versions = load("model_versions", None, model)
        if versions.empty:
            st.info(f"{model} has no versions in its inference logs.")
            st.stop()
        left, right = st.columns(2)
        days = int(st.session_state.get("drift_version_days", 7))
        options = [str(v) for v in versions["version"]]
        version = left.selectbox(
            label("model_versions"),
            options,
            index=options.index(drift.default_version(versions, days, current)),
            key="drift_version",
            help="Offered first: the newest version whose first days end before the window "
            "starts. A reference stops at the window's start and at the end of today.",
        )
        days = right.number_input("Its first days", 1, 90, 7, key="drift_version_days")
        return model, drift.Reference("version", None, version, int(days))
    return model, drift.Reference()


def drift_that_matters(model: str, spec: drift.Reference, current: drift.Window):
    """Which drifting features move with the model's performance and its main KPI, in a
    sentence; the ranking behind it on request. Returns what it read (the timeline draws its
    performance figure and KPI)."""
    found = load("drift_impact", None, model, current, spec)
    st.markdown(f"**{label('drift_impact')}.** {found.sentence}")
    if not found.ranking:
        return found
    with st.expander(label("drift_impact")):
        table(
            found.table(),
            [
                "feature",
                "harm",
                "first_drift",
                "drifted_days",
                "kpi_rho",
                "kpi_days",
                "performance_rho",
                "performance_days",
            ],
            f"drift_impact_{model}",
            current,
            caption=impact_caption(found),
        )
    return found


def impact_caption(found) -> str:
    """What the ranking's columns compare, in words."""
    figures = [
        f"KPI: {found.kpi.label} (per day)" if found.kpi else "no KPI",
        f"performance: {found.performance.label} ({found.performance.source}, days with labels)"
        if found.performance
        else "no performance figure",
    ]
    patterns = (
        " Left out as day-to-day patterns (past their threshold on most of the reference's own "
        f"days): {', '.join(found.day_patterns)}."
        if found.day_patterns
        else ""
    )
    return (
        f"Spearman's ρ of each feature's daily drift against {'; '.join(figures)}, over the "
        f"days that have both (at least {found.min_days}). Harm: ρ signed so that positive means "
        "the figure worsens as the drift grows; features rank by it." + patterns
    )


def cards(
    result: drift.DriftResult,
    spec: drift.Reference,
    reference: drift.Window,
    current: drift.Window,
) -> None:
    """Dataset drift, the share of features drifted, and the rows on each side."""
    share = result.drift_share
    columns = st.columns(4)
    columns[0].metric(
        label("dataset_drift"),
        "Yes" if result.dataset_drift else "No",
        help=f"Drifted when at least {result.share_threshold:.0%} of the features drifted.",
    )
    columns[1].metric(label("drift_share"), "—" if share is None else f"{share:.0%}")
    columns[2].metric(
        label("reference_rows"),
        f"{result.reference['rows']:,} rows",
        help=f"{reference.since} to {reference.until} (until excluded)",
    )
    columns[3].metric(
        label("current_rows"),
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
        + (
            f" Version {spec.version}'s first {spec.days} days are cut to {reference.days}: a "
            "reference stops at the current window's start and at the end of today."
            if spec.kind == "version" and reference.days < spec.days
            else ""
        )
    )


def columns_table(result: drift.DriftResult, model: str, window: drift.Window) -> list[str]:
    """Every column with values on both sides, most drifted first; their names."""
    verdicts = result.table()
    shown = verdicts[verdicts["type"] != "empty"].copy()
    shown["verdict"] = shown["drifted"].map({True: "drifted", False: "stable"}).fillna("not tested")
    shown["kind"] = shown["role"].map({"feature": "feature", "prediction": "model output"})
    st.subheader(label("drift"))
    table(
        shown,
        [
            "column",
            "verdict",
            "score",
            "threshold",
            "method_name",
            "kind",
            "type",
            "settled",
            "reference_values",
            "current_values",
            "note",
        ],
        f"drift_columns_{model}",
        window,
    )
    st.caption(
        "p-values (K-S, chi-square, Z-test) drift when below the threshold; distances "
        "(Wasserstein, Jensen-Shannon) when at or above it. 'profile': from the daily profiles; "
        "'raw': settled from the raw values because the score was close to its threshold."
    )
    return list(shown["column"])


def distributions_chart(dist: pd.DataFrame, feature: str) -> go.Figure:
    """The column's shares in the reference and in the current window, overlaid; on a log axis
    when the two sides' typical values are 100 times apart or more.

    A log axis is drawn as log10 positions on a linear axis, ticks labelled in the column's own
    values: Plotly sizes bars in linear units, so bars on a true log axis come out hair-thin.
    """
    fig = figure()
    log = not dist.empty and (dist["scale"] == "log").all()
    width = None
    if log:
        positions = dist["x"].astype(float).map(math.log10)
        unique = sorted(set(positions.round(9)))
        steps = [b - a for a, b in zip(unique, unique[1:], strict=False)]
        width = min(steps) if steps else 0.1
        dist = dist.assign(x=positions)
    for part in ("reference", "current"):
        rows = dist[dist["part"] == part]
        fig.add_bar(
            x=rows["x"] if rows["x"].notna().any() else rows["label"],
            y=rows["share"],
            width=width,
            name=part,
            marker_color=COLOURS[part],
            opacity=0.65,
        )
    fig.update_layout(
        barmode="overlay",
        height=340,
        margin={"t": 10, "b": 10},
        yaxis_tickformat=".0%",
        yaxis_title="share of values",
        legend={"orientation": "h", "y": -0.25},
    )
    fig.update_xaxes(title_text=drift.axis_title(feature) + (" — log scale" if log else ""))
    if log:
        low, high = math.floor(dist["x"].min()), math.ceil(dist["x"].max())
        powers = list(range(low, high + 1))
        fig.update_xaxes(tickvals=powers, ticktext=[f"{10.0**k:,.10g}" for k in powers])
    return fig


def timeline_chart(
    line: pd.DataFrame,
    feature: str,
    share_threshold: float,
    current: drift.Window,
    kpis: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame,
    performance: pd.DataFrame | None = None,
    performance_name: str | None = None,
    multivariate: pd.DataFrame | None = None,
) -> go.Figure:
    """Per day or week: the share of features drifted, the column's score (each on its own
    axis with its own threshold), the model's performance (estimated with its band, realized
    where labels came), the multivariate reconstruction error with its band, the main KPI; the
    current window shaded, releases and incidents marked.

    `performance`: day, value, lower, upper, realized (one metric, `performance_name`);
    `multivariate`: day, error, lower, upper, alert.
    """
    rows = {"share": 1, "column": 2, "performance": 3, "multivariate": 4, "kpi": 5}
    fig = subplots(
        rows=5,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.035,
        row_heights=[0.17, 0.22, 0.21, 0.2, 0.2],
    )
    dataset = line[line["role"] == "dataset"]
    fig.add_scatter(
        x=dataset["start"],
        y=dataset["score"],
        name="features drifted",
        mode="lines+markers",
        row=rows["share"],
        col=1,
    )
    fig.add_hline(
        y=share_threshold,
        line_dash="dot",
        line_color=COLOURS["drift_threshold"],
        annotation_text=f"dataset drift at {share_threshold:.0%}",
        annotation_position="top left",
        row=rows["share"],
        col=1,
    )
    fig.update_yaxes(
        title_text="features drifted", range=[0, 1.05], tickformat=".0%", row=rows["share"]
    )
    chosen = line[line["column"] == feature]
    if not chosen.empty:
        method, threshold = chosen["method"].iloc[-1], float(chosen["threshold"].iloc[-1])
        fig.add_scatter(
            x=chosen["start"],
            y=chosen["score"],
            name=f"{feature}: {method}",
            mode="lines+markers",
            row=rows["column"],
            col=1,
        )
        verdict = "drifts below" if method not in drift.DISTANCE_METHOD_NAMES else "drifts at"
        fig.add_hline(
            y=threshold,
            line_dash="dot",
            line_color=COLOURS["drift_threshold"],
            annotation_text=f"{verdict} {threshold:.3g}",
            annotation_position="top left",
            row=rows["column"],
            col=1,
        )
        fig.update_yaxes(title_text=feature, rangemode="tozero", row=rows["column"])
    if performance is not None and not performance.empty:
        name = performance_name or "performance"
        if performance["value"].notna().any():
            add_band(
                fig,
                performance["day"],
                performance["lower"],
                performance["upper"],
                f"{name} band",
                rows["performance"],
            )
            fig.add_scatter(
                x=performance["day"],
                y=performance["value"],
                mode="lines",
                name=f"estimated {name}",
                line={"color": COLOURS["estimate"]},
                row=rows["performance"],
                col=1,
            )
        fig.add_scatter(
            x=performance["day"],
            y=performance["realized"],
            mode="markers",
            name=f"realized {name}",
            marker={"color": COLOURS["realized"], "size": 5},
            row=rows["performance"],
            col=1,
        )
        fig.update_yaxes(title_text=name, row=rows["performance"])
    if multivariate is not None and multivariate["error"].notna().any():
        add_band(
            fig,
            multivariate["day"],
            multivariate["lower"],
            multivariate["upper"],
            "reconstruction band (reference mean ± 3 sd)",
            rows["multivariate"],
        )
        alert = multivariate["alert"].fillna(False).astype(bool)
        fig.add_scatter(
            x=multivariate["day"],
            y=multivariate["error"],
            mode="lines+markers",
            name="multivariate reconstruction error",
            line={"color": COLOURS["estimate"]},
            marker={
                "color": [COLOURS["alert"] if a else COLOURS["estimate"] for a in alert],
                "size": 6,
            },
            row=rows["multivariate"],
            col=1,
        )
        fig.update_yaxes(title_text="reconstruction error", row=rows["multivariate"])
    if not kpis.empty:
        main = kpis["kpi"].iloc[0]
        series = kpis[kpis["kpi"] == main]
        unit = series["unit"].iloc[0] if "unit" in series else None
        fig.add_scatter(
            x=series["date"],
            y=series["value"],
            name=kpi_name(main),
            mode="lines",
            row=rows["kpi"],
            col=1,
        )
        # in the KPI's unit, as the KPI check reads it: 4.90%, not 0.049
        fig.update_yaxes(
            title_text=kpi_name(main)
            if unit in {"ratio", "%"} or not unit
            else f"{kpi_name(main)} ({unit})",
            tickformat=".2%" if unit in {"ratio", "%"} else None,
            row=rows["kpi"],
        )
    for row in rows.values():
        # shaded on every row, said once, on the top one
        fig.add_vrect(
            x0=current.since,
            x1=current.until,
            fillcolor=COLOURS["week"],
            opacity=0.15,
            line_width=0,
            **(
                {"annotation_text": "current window", "annotation_position": "top left"}
                if row == 1
                else {}
            ),
            row=row,
            col=1,
        )
    mark_events(fig, deployments, incidents, subplots=True)
    fig.update_layout(height=860, margin={"t": 20, "b": 10}, legend={"orientation": "h"})
    return fig


def figures(
    filters: Filters,
    model: str,
    spec: drift.Reference,
    result: drift.DriftResult,
    reference: drift.Window,
    current: drift.Window,
    feature: str,
    found,
) -> None:
    """The column's two distributions beside the drift timeline, when it began; `found` is
    drift that matters (its performance figure and main KPI go on the timeline)."""
    verdict = result.column(feature)
    left, right = st.columns(2)
    with left:
        st.subheader(label("drift_distributions", column=feature))
        dist = load("drift_distributions", None, model, feature, reference, current)
        st.plotly_chart(distributions_chart(dist, feature), key="drift-distributions")
        if verdict.tested:
            st.caption(
                f"{verdict.method_name} {verdict.score:.4g} against a threshold of "
                f"{verdict.threshold:.3g}: {'drifted' if verdict.drifted else 'stable'}."
            )

    with right:
        st.subheader(label("drift_timeline"))
        line, bucket = load("drift_timeline", None, model, current, spec)
        scoped = Filters(*current.instants(), filters.team, model)
        span = Filters(
            dt.datetime.combine(reference.since, dt.time(), dt.UTC),
            scoped.until,
            filters.team,
            model,
        )
        kpis = load("kpi_daily", span)
        if found.kpi is not None:
            kpis = kpis[kpis["kpi"] == found.kpi.name]
        related = load("multivariate_timeline", None, model, current, spec)
        fig = timeline_chart(
            line,
            feature,
            result.share_threshold,
            current,
            kpis,
            load("release_marks", span),
            load("incidents", span),
            found.performance_steps,
            found.performance.label if found.performance else None,
            related.steps,
        )
        notes.annotation_marks(fig, notes.annotations(span))
        st.plotly_chart(fig, key="drift-timeline")
        unit = "day" if bucket == 1 else "week"
        st.caption(
            f"Each {unit} against the reference (estimates from the "
            "profiles). Green lines: production releases; red: failed or rolled back; dashed "
            "purple: incidents opened; ✎ dashed grey lines and grey bands: annotations. "
            + performance_words(found)
            + " "
            + multivariate_words(related, current)
        )
        began = drift.first_drift(line, feature, current.since)
        if began is not None:
            st.write(
                f"**{feature}** first drifted in the {unit} starting {began}, and stayed past its "
                "threshold to the end of the window."
            )
        else:
            starts = pd.to_datetime(line["start"]).dt.date
            in_window = line[(line["column"] == feature) & (starts >= current.since)]
            st.write(
                f"**{feature}** drifted on some {unit}s of the window but was back under its "
                "threshold by its end."
                if in_window["drifted"].astype(bool).any()
                else f"**{feature}** was stable through the window ({current.since} to "
                f"{current.until}): no {unit} past its threshold."
            )


def performance_words(found) -> str:
    """What the timeline's performance row shows, in words."""
    figure = found.performance
    if figure is None:
        return "No performance figure: this model's kind is not known."
    if figure.source == "realized":
        return (
            f"{figure.label} per day as realized on the labelled rows (nothing estimates it "
            "before the labels)."
            if figure.values.size
            else f"No day has labels for {figure.label} yet, and nothing estimates it."
        )
    return (
        f"{figure.label} per day, estimated before the labels (line, band of 3 standard "
        "errors) with the realized figure (dots) where labels came."
    )


def multivariate_words(related, current: drift.Window) -> str:
    """What the timeline's reconstruction error row shows, or why it is empty."""
    if related.reason and related.window.get("error") is None:
        return f"No multivariate drift: {related.reason}."
    return (
        "Reconstruction error: each day's rows rebuilt by a PCA fitted on the reference "
        f"({related.components} components of {len(related.features)} features); the band is "
        "the reference steps' mean ± 3 standard deviations; amber points fall outside it."
    )


def evidently_section(model: str, spec: drift.Reference, current: drift.Window) -> None:
    """Evidently's own report on samples of the same windows, built on request."""
    st.subheader(label("evidently"))
    st.caption(
        "Evidently's DataDriftPreset on the same windows, on a sample of each (it takes about a "
        "minute per million rows). Built on request."
    )
    if not st.toggle("Build Evidently's report", key="drift_evidently"):
        return
    with st.spinner("Running Evidently on the samples…"):
        report = load("evidently", None, model, current, spec)
    st.write(
        f"Sample: {report.reference_rows:,} reference rows and {report.current_rows:,} current "
        f"rows (at most {report.sample_rows:,} a side)."
    )
    signin.download_button(
        st,
        "Download the report (HTML)",
        lambda: report.html,
        file_name=f"evidently-{model}-{current.since}-{current.until}.html",
        logged_as=f"evidently-{model}.html",
        mime="text/html",
        key="drift_evidently_download",
    )
    # Evidently's own report, generated here from the warehouse (never user-supplied HTML),
    # as wide as the page and scaled down to it when the page is narrower than its layout.
    st.iframe(evidently_report.fit_to_width(report.html), height=900)


def layout() -> None:
    filters = current_filters()
    choices = models_in_scope(filters)
    st.title("Drift investigation")
    if not choices:
        st.info("No model in scope: pick another team in the sidebar.")
        st.stop()
    current = drift.day_window(filters.since, filters.until)
    model, spec = controls(filters, choices, current)

    with st.spinner("Comparing distributions…"):
        try:
            result, reference = load("drift", None, model, current, spec)
        except ValueError as error:
            st.warning(str(error))
            st.stop()
    if not result.reference["rows"] or not result.current["rows"]:
        side = "reference" if not result.reference["rows"] else "current window"
        st.info(
            f"No inference rows for {model} in the {side} "
            f"({reference.since} to {reference.until} against {current.since} to "
            f"{current.until})."
        )
        st.stop()

    found = drift_that_matters(model, spec, current)
    cards(result, spec, reference, current)
    testable = columns_table(result, model, current)
    if not testable:
        st.info("No column has values on both sides.")
        st.stop()
    feature = st.selectbox("Column", testable, key="drift_feature")
    figures(filters, model, spec, result, reference, current, feature, found)
    evidently_section(model, spec, current)
    with st.expander(label("drift_daily")):
        table(
            load("drift_daily", None, model, feature, current),
            [
                "day",
                "rows",
                "missing_share",
                "mean",
                "std",
                "p25",
                "p50",
                "p75",
                "top_value",
                "top_value_share",
            ],
            f"drift_daily_{model}_{feature}",
            current,
            caption="From the daily profiles; quartiles are interpolated within the profile bins.",
            empty="No daily profile of this column in the window.",
        )
    scoped = Filters(*current.instants(), filters.team, model)
    notes.annotations_section(notes.annotations(scoped), scoped, "drift-notes")


layout()
