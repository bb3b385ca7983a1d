"""Are each model's business numbers where we agreed they should be?

For product and business owners: every KPI in a plain sentence against its target and
guardrail, green/amber/red with the reason in words, the chart with releases marked, and what
each release did to the KPI, beyond the day-to-day noise or not; what people wrote marked on
every chart (annotations).
"""

from typing import Any

import pandas as pd
import streamlit as st

from metrics.contracts import kpi_sentence
from metrics.filters import Filters
from metrics.registry import label
from metrics.status import BADGES
from pages import notes
from pages.charts import KpiPanel, kpi_chart, kpi_title
from pages.filters import current_filters
from pages.loaders import load
from pages.tables import table

VERDICTS = {
    "up": "went up",
    "down": "went down",
    "no clear change": "no clear change",
    "not enough data": "not enough days yet to tell",
}


def folded(title: str, key: str) -> Any:
    """A closed section whose content is drawn once it is opened, not on every run: the
    per-model tables sent closed cost the browser 0.25 s of its 2.8 s on each view of the page
    at the reference scale (8 tables). Opening one reruns the page, from the cache."""
    return st.expander(title, key=key, on_change="rerun")


def named(rows: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """`rows` with `kpi_label`: each KPI as its sentence and the chart name it (the contract's
    label), not as its key."""
    return rows.assign(kpi_label=rows["kpi"].map(labels).fillna(rows["kpi"]))


def segments_table(
    model: str, segments: pd.DataFrame, labels: dict[str, str], window: Filters
) -> None:
    model_segments = segments[(segments["model"] == model) & (segments["segment"] != "all")]
    if model_segments.empty:
        return
    section = folded(label("kpi_segments", model=model), f"segments-{model}")
    if not section.open:
        return
    with section:
        table(
            named(model_segments, labels),
            ["kpi_label", "segment", "value", "days"],
            f"kpi_segments_{model}",
            window,
        )


def releases_table(
    model: str, released: list[str], labels: dict[str, str], window: Filters
) -> None:
    """The model's section of releases, when it has a release in the window (`released`); each
    release's KPIs before and after it are computed once the section is opened (0.1 s at the
    reference scale that a view with every section closed does not spend)."""
    if model not in released:
        return
    section = folded(label("release_impact", model=model), f"releases-{model}")
    if not section.open:
        return
    impact = load("release_impact", window)
    releases = impact[impact["model"] == model]
    with section:
        st.caption(
            "The 7 days before each release against the 7 days after it (the release "
            "day itself in neither), with a 95% interval for the change: when the "
            "interval leaves out zero, the release moved the number beyond the "
            "day-to-day noise."
        )
        table(
            named(releases, labels).assign(
                released=releases["finished_at"], result=releases["verdict"].map(VERDICTS)
            ),
            ["released", "version", "kpi_label", "before_value", "after_value", "result"],
            f"release_impact_{model}",
            window,
            empty="No day of KPI data on either side of these releases yet.",
        )


def kpi_line(name: str, kpi: dict[str, Any]) -> str:
    """The KPI's status badge naming its window, its sentence, and why when it is not green."""
    text = f":{BADGES[kpi['status']]}-badge[{kpi['badge']}] " + kpi_sentence(
        name, kpi, f"over the {kpi['window']}"
    )
    if kpi["status"] in ("amber", "red"):
        text += f" {kpi['reason'][0].upper()}{kpi['reason'][1:]}."
    return text


def sections(filters: Filters) -> None:
    """Every KPI's chart, then one section per model with KPIs: each KPI's status over the
    window and its sentence, its segments, its releases."""
    readings = load("contract_status", filters)
    daily = load("kpi_daily", filters)
    deployments = load("release_marks", filters)
    incidents = load("incidents", filters)
    segments = load("kpi_segments", filters)
    released = load("released_models", filters)

    # The KPIs that need a look first: red, then amber, then the rest, by name within each.
    rank = {"red": 0, "amber": 1}
    with_kpis = dict(
        sorted(
            ((model, r) for model, r in readings.items() if r["kpis"]),
            key=lambda item: (
                min(rank.get(kpi["status"], 2) for kpi in item[1]["kpis"].values()),
                item[0],
            ),
        )
    )
    if not with_kpis:
        st.info("No business KPI in this window. KPIs come from the `kpis` feed (see the README).")
        return
    chart(with_kpis, daily, deployments, incidents, filters)
    for model, reading in with_kpis.items():
        st.subheader(model)
        for name, kpi in reading["kpis"].items():
            st.markdown(kpi_line(name, kpi))
        labels = {name: kpi["label"] for name, kpi in reading["kpis"].items()}
        segments_table(model, segments, labels, filters)
        releases_table(model, released, labels, filters)


def chart(
    readings: dict[str, Any],
    daily: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame,
    filters: Filters,
) -> None:
    """Every KPI of `readings` per day, in their order, as one figure: a row per KPI titled
    with its model, its own releases, incidents and annotations marked on it."""
    panels, marks = [], []
    for model, reading in readings.items():
        written = notes.annotations(Filters(filters.since, filters.until, filters.team, model))
        for name, kpi in reading["kpis"].items():
            panels.append(
                KpiPanel(
                    kpi_title(kpi, model),
                    kpi,
                    daily[(daily["model"] == model) & (daily["kpi"] == name)],
                    deployments[deployments["model"] == model],
                    incidents[incidents["model"] == model],
                )
            )
            marks.append(written)
    fig = kpi_chart(panels, f"Each KPI per day over the {panels[0].kpi['window']}")
    for row, written in enumerate(marks, start=1):
        notes.annotation_marks(fig, written, row=row)
    st.plotly_chart(fig, key="kpi-chart")


def layout() -> None:
    filters = current_filters()
    st.title("KPI check")
    st.caption(
        "Each KPI is judged over the selected window against its contract's target and "
        "guardrail: red while its latest day breaks the guardrail, amber when it broke it on "
        "an earlier day or misses the target. Models with a red KPI come first, then amber. "
        "Green lines are releases, red ones releases that failed, dashed purple ones "
        f"incidents; {notes.POINT_LABEL} dashed grey lines and grey bands are annotations "
        "(hover for the text)."
    )
    notes.flash()
    sections(filters)
    notes.annotations_section(notes.annotations(filters), filters, "kpi-notes")


layout()
