"""The weekly retrospective: one week against the week before and the four weeks up to it,
with highlights in plain words, exportable as Markdown and HTML."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from metrics import activity, delivery, flow
from metrics.filters import Filters, describe, last_days
from settings import Workflow

WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class Figure:
    """One retro figure: this week, last week and the four weeks up to this one's end.

    For counts the 4-week figure is the weekly average; for medians and rates it is the value
    over the 28 days (a median of four medians would hide the spread).
    """

    key: str
    label: str
    unit: str  # "count", "hours" or "share"
    this_week: float | None
    last_week: float | None
    four_weeks: float | None
    better: str  # "higher" or "lower"
    level: str | None = None

    @property
    def change(self) -> float | None:
        if self.this_week is None or self.last_week is None:
            return None
        return self.this_week - self.last_week

    def is_better(self, a: float, b: float) -> bool:
        return a > b if self.better == "higher" else a < b


@dataclass
class Retro:
    """Everything the retro screen and its exports show, for one team (or all) and one week."""

    week: Filters
    label: str
    figures: list[Figure]
    highlights: list[str]
    incidents: pd.DataFrame
    experiments: pd.DataFrame
    work_mix: pd.DataFrame
    handoffs: dict[str, dict[str, Any]]
    has_history: bool
    extras: dict[str, Any] = field(default_factory=dict)

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


def iso_week(text: str) -> Filters:
    """The UTC Monday-to-Monday window of an ISO week like 2026-W47."""
    try:
        year, week = text.upper().split("-W")
        monday = dt.date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise ValueError(f"--week must look like 2026-W47, got {text!r}") from None
    start = dt.datetime(monday.year, monday.month, monday.day, tzinfo=dt.UTC)
    return Filters(start, start + WEEK)


def recent_weeks(until: dt.datetime, count: int = 12) -> list[str]:
    """The ISO weeks (like 2026-W47) of the `count` weeks up to `until`, newest first."""
    last_day = (until - dt.timedelta(microseconds=1)).date()
    monday = last_day - dt.timedelta(days=last_day.weekday())
    labels = []
    for n in range(count):
        year, week, _ = (monday - dt.timedelta(weeks=n)).isocalendar()
        labels.append(f"{year}-W{week:02d}")
    return labels


def rolling_week(now: dt.datetime | None = None) -> Filters:
    """The last 7 days as everywhere in Tandem: the 7 whole UTC days ending with today."""
    return last_days(7, now)


def week_label(week: Filters) -> str:
    """The name a retro gives its week: the ISO week's name, else which 7 days they are."""
    if week.since.weekday() == 0 and week.until - week.since == WEEK:
        year, number, _ = week.since.isocalendar()
        return f"{year}-W{number:02d}"
    return describe(week)


def _scoped(window: Filters, team: str | None, model: str | None) -> Filters:
    return Filters(window.since, window.until, team, model)


# The label each retro figure shows, by its entry in metrics/registry.py (which reads them from
# here): one place to rename a figure on the page, in the export and in the highlights.
LABELS = {
    "deployment_frequency": "Deployments",
    "lead_time": "Lead time (median)",
    "change_failure": "Change failure rate",
    "recovery_time": "Recovery time (median)",
    "incidents_opened": "Incidents opened",
    "throughput": "Tickets finished",
    "cycle_time": "Cycle time (median)",
    "wip": "Work in progress (at the end)",
    "flow_efficiency": "Flow efficiency",
}


def _figures(con: duckdb.DuckDBPyConnection, week: Filters, workflow: Workflow) -> list[Figure]:
    last = week.previous()
    month = Filters(week.until - 4 * WEEK, week.until, week.team, week.model)
    readings = {}
    for name, window in (("this", week), ("last", last), ("month", month)):
        d = delivery.summary(con, window)
        f = flow.flow_summary(con, window, workflow)
        a = activity.activity_summary(con, window)
        readings[name] = (d, f, a)

    def pick(getter, name, average=False):
        value = getter(*readings[name])
        if average and value is not None:
            return value / 4
        return value

    specs = [
        (
            "deployments",
            LABELS["deployment_frequency"],
            "count",
            "higher",
            lambda d, f, a: d["deployments"],
            True,
            lambda d: d["levels"]["deployment_frequency"],
        ),
        (
            "lead_time",
            LABELS["lead_time"],
            "hours",
            "lower",
            lambda d, f, a: d["lead_time_hours"]["median"],
            False,
            lambda d: d["levels"]["lead_time"],
        ),
        (
            "change_failure_rate",
            LABELS["change_failure"],
            "share",
            "lower",
            lambda d, f, a: d["change_failure_rate"],
            False,
            lambda d: d["levels"]["change_failure_rate"],
        ),
        (
            "recovery_time",
            LABELS["recovery_time"],
            "hours",
            "lower",
            lambda d, f, a: d["recovery_time_hours"]["median"],
            False,
            lambda d: d["levels"]["recovery_time"],
        ),
        (
            "incidents",
            LABELS["incidents_opened"],
            "count",
            "lower",
            lambda d, f, a: a["incidents_opened"],
            True,
            None,
        ),
        (
            "throughput",
            LABELS["throughput"],
            "count",
            "higher",
            lambda d, f, a: f["throughput"],
            True,
            None,
        ),
        (
            "cycle_time",
            LABELS["cycle_time"],
            "hours",
            "lower",
            lambda d, f, a: f["cycle_time_hours"]["median"],
            False,
            None,
        ),
        (
            "wip",
            LABELS["wip"],
            "count",
            "lower",
            lambda d, f, a: f["wip"],
            False,
            None,
        ),
        (
            "flow_efficiency",
            LABELS["flow_efficiency"],
            "share",
            "higher",
            lambda d, f, a: f["flow_efficiency"],
            False,
            None,
        ),
    ]
    figures = []
    for key, label, unit, better, getter, average, level in specs:
        figures.append(
            Figure(
                key=key,
                label=label,
                unit=unit,
                better=better,
                this_week=pick(getter, "this"),
                last_week=pick(getter, "last"),
                four_weeks=pick(getter, "month", average),
                level=level(readings["this"][0]) if level else None,
            )
        )
    return figures


def _highlights(figures: list[Figure], limit: int = 2) -> list[str]:
    """The biggest relative improvements and regressions against the 4-week figure, in words."""
    moves = []
    for f in figures:
        if f.this_week is None or f.four_weeks is None or f.four_weeks == 0:
            continue
        relative = (f.this_week - f.four_weeks) / abs(f.four_weeks)
        if abs(relative) < 0.1:
            continue
        moves.append((abs(relative), f.is_better(f.this_week, f.four_weeks), f))
    moves.sort(key=lambda m: m[0], reverse=True)
    sentences = []
    for better in (True, False):
        for _, _, f in [m for m in moves if m[1] is better][:limit]:
            verb = "improved" if better else "got worse"
            sentences.append(
                f"{f.label} {verb}: {format_value(f.this_week, f.unit)} this week against "
                f"{format_value(f.four_weeks, f.unit)} over the last four weeks."
            )
    return sentences or ["A steady week: no figure moved more than 10% from its 4-week level."]


def build(
    con: duckdb.DuckDBPyConnection,
    week: Filters,
    team: str | None,
    model: str | None,
    workflow: Workflow,
    label: str,
) -> Retro:
    """The retro for `week` (any 7-day window), for one team or model or everything."""
    week = _scoped(week, team, model)
    figures = _figures(con, week, workflow)
    summary = flow.flow_summary(con, week, workflow)
    return Retro(
        week=week,
        label=label,
        figures=figures,
        highlights=_highlights(figures),
        incidents=delivery.incidents(con, week),
        experiments=flow.experiments(con, week, workflow),
        work_mix=flow.work_mix_groups(con, week, workflow),
        handoffs=summary["handoff_wait_hours"],
        has_history=flow.has_history(con, week),
    )


def format_value(value: float | None, unit: str) -> str:
    """A figure as a person reads it: counts plain, hours as h or days, shares as %."""
    if value is None or pd.isna(value):
        return "–"
    if unit == "share":
        return f"{value * 100:.0f}%"
    if unit == "hours":
        return f"{value / 24:.1f} days" if value >= 48 else f"{value:.1f} h"
    return f"{value:,.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


def change_text(f: Figure) -> str:
    """The change from last week in words: "+3 (better)", "-4 pts (worse)", "same" or "–".

    Shares change in percentage points. The sign is a plain hyphen-minus, which is also what
    Streamlit reads to point a metric's arrow.
    """
    if f.change is None:
        return "–"
    if f.change == 0:
        return "same"
    sign = "+" if f.change > 0 else "-"
    if f.unit == "share":
        magnitude = f"{abs(f.change) * 100:.0f} pts"
    else:
        magnitude = format_value(abs(f.change), f.unit)
    mood = "better" if f.is_better(f.this_week, f.last_week) else "worse"
    return f"{sign}{magnitude} ({mood})"


def _table_rows(retro: Retro) -> list[list[str]]:
    return [
        [
            f.label,
            format_value(f.this_week, f.unit),
            format_value(f.last_week, f.unit),
            format_value(f.four_weeks, f.unit),
            change_text(f),
            f.level or "",
        ]
        for f in retro.figures
    ]


HEADER = ["", "This week", "Last week", "4 weeks", "Change", "DORA level"]


def to_markdown(retro: Retro) -> str:
    """The retro as Markdown, for the retro notes."""
    scope = " · ".join(x for x in (retro.week.team, retro.week.model) if x) or "all teams"
    last_day = retro.week.until - dt.timedelta(seconds=1)
    lines = [
        f"# Retro: {retro.label}",
        "",
        f"{retro.week.since:%a %d %b %Y} to {last_day:%a %d %b %Y} (UTC), {scope}.",
        "",
        "## Highlights",
        "",
    ]
    lines += [f"- {h}" for h in retro.highlights]
    lines += ["", "## Figures", "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in _table_rows(retro)]
    if not retro.has_history:
        lines += [
            "",
            "_No ticket status history: cycle time, flow efficiency and hand-off "
            "waits need the tickets' transitions (a Jira CSV export has none)._",
        ]
    lines += ["", "## Incidents", ""]
    if retro.incidents.empty:
        lines.append("None this week.")
    for r in retro.incidents.itertuples():
        state = (
            "open"
            if pd.isna(r.resolved_at)
            else f"resolved in {format_value(r.recovery_time_hours, 'hours')}"
        )
        lines.append(
            f"- {r.incident_id} ({r.severity or 'no severity'}, {r.model}): "
            f"{r.title or 'untitled'}: {state}"
        )
    lines += ["", "## Where work waited", ""]
    if not retro.handoffs:
        lines.append("No hand-off between roles this week.")
    for name, wait in retro.handoffs.items():
        lines.append(
            f"- {name}: {wait['count']} hand-offs, median wait "
            f"{format_value(wait['median'], 'hours')}"
        )
    lines += ["", "## Work mix", "", "| Group | Share | Target |", "|---|---|---|"]
    for r in retro.work_mix.itertuples():
        lines.append(
            f"| {r.group} | {format_value(r.share, 'share')} | {format_value(r.target, 'share')} |"
        )
    lines += ["", "## Experiments decided", ""]
    if retro.experiments.empty:
        lines.append("None this week.")
    for r in retro.experiments.itertuples():
        lines.append(f"- {r.ticket_id} {r.title or ''} ({r.model or 'no model'}): {r.outcome}")
    return "\n".join(lines) + "\n"


def to_html(retro: Retro) -> str:
    """The retro as a standalone HTML page (escaped), for mail or a wiki."""
    e = html.escape
    rows = "".join(
        "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in _table_rows(retro)
    )
    head = "".join(f"<th>{e(h)}</th>" for h in HEADER)
    highlights = "".join(f"<li>{e(h)}</li>" for h in retro.highlights)
    incidents = (
        "".join(
            f"<li>{e(str(r.incident_id))} ({e(str(r.severity))}, {e(str(r.model))}): "
            f"{e(str(r.title or 'untitled'))}</li>"
            for r in retro.incidents.itertuples()
        )
        or "<li>None this week.</li>"
    )
    waits = (
        "".join(
            f"<li>{e(name)}: {w['count']} hand-offs, median wait "
            f"{e(format_value(w['median'], 'hours'))}</li>"
            for name, w in retro.handoffs.items()
        )
        or "<li>No hand-off between roles this week.</li>"
    )
    mix = "".join(
        f"<tr><td>{e(r.group)}</td><td>{e(format_value(r.share, 'share'))}</td>"
        f"<td>{e(format_value(r.target, 'share'))}</td></tr>"
        for r in retro.work_mix.itertuples()
    )
    experiments = (
        "".join(
            f"<li>{e(str(r.ticket_id))} {e(str(r.title or ''))}: {e(str(r.outcome))}</li>"
            for r in retro.experiments.itertuples()
        )
        or "<li>None this week.</li>"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Retro: {e(retro.label)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}}
td:first-child,th:first-child{{text-align:left}}</style></head><body>
<h1>Retro: {e(retro.label)}</h1>
<h2>Highlights</h2><ul>{highlights}</ul>
<h2>Figures</h2><table><tr>{head}</tr>{rows}</table>
<h2>Incidents</h2><ul>{incidents}</ul>
<h2>Where work waited</h2><ul>{waits}</ul>
<h2>Work mix</h2><table><tr><th>Group</th><th>Share</th><th>Target</th></tr>{mix}</table>
<h2>Experiments decided</h2><ul>{experiments}</ul>
</body></html>
"""
