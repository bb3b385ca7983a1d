"""How the pages draw: one template, one set of colours, event marks, numbers in words.

Every figure starts here (`figure`, `subplots`) so it carries Tandem's own template (Streamlit's,
with its colours written in) instead of Plotly's global default or a template looked up by name,
both of which other libraries change (Streamlit at import, Evidently when it runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from metrics.status import COLOURS as STATUS_COLOURS
from metrics.status import format_kpi

# Tandem's series colours, written into its own template object (Streamlit's, taken once):
# nothing another library does to Plotly's shared registry reaches it (Evidently, once it has
# run, rewrites the shared templates' colorway, red first). Blues and greys only: red, green,
# purple and amber mean failure, success, incident and warning on these screens, so a series
# (p99 latency, a KPI beside the drift) never borrows them.
COLORWAY = (
    "#0068c9",  # blue
    "#83c9ff",  # light blue
    "#1b3a6b",  # navy
    "#7f8fa6",  # slate
    "#4dabf5",  # sky
    "#b0bec5",  # light grey
    "#3d5a80",  # steel
    "#90a4ae",  # grey
    "#00acc1",  # cyan
    "#5c6bc0",  # indigo
)
TEMPLATE = go.layout.Template(pio.templates["streamlit"])
TEMPLATE.layout.colorway = COLORWAY

COLOURS = {
    "success": "#2e7d32",  # a production deployment that succeeded
    "failure": "#c62828",  # failed or rolled back, or a change failure
    "incident": "#6a1b9a",
    "week": "#90caf9",  # the retro's week, shaded
    "reference": "#9aa5b1",  # drift: the reference window
    "current": "#d9480f",  # drift: the current window
    "threshold": "#757575",  # KPI target and guardrail lines
    "drift_threshold": "grey",
    "annotation": "#616161",  # what people wrote: a dashed line at a point, the ✎ label
    "annotation_range": "#bdbdbd",  # ... and a band over a range
    "estimate": "#0068c9",  # estimated performance, and its band (lighter)
    "band": "rgba(131, 201, 255, 0.35)",
    "realized": "#1b3a6b",  # the realized figure, where labels have come
    "alert": "#ef6c00",  # a step outside its band (amber: a warning, not a failure)
}


def figure(*data: Any) -> go.Figure:
    """An empty figure (or one holding `data`) on the app's template."""
    return go.Figure(data=list(data) or None, layout={"template": TEMPLATE})


def subplots(**kwargs: Any) -> go.Figure:
    """`plotly.subplots.make_subplots` on the app's template."""
    return make_subplots(**kwargs).update_layout(template=TEMPLATE)


def budget_line(fig: go.Figure, value: float, text: str, side: str = "right") -> go.Figure:
    """A contract's budget as a dotted grey line, labelled above its `side` end."""
    return fig.add_hline(
        y=value,
        line_dash="dot",
        line_color=COLOURS["threshold"],
        line_width=1,
        annotation_text=text,
        annotation_position=f"top {side}",
        annotation_font_color=COLOURS["threshold"],
    )


def axis_names(row: int) -> tuple[str, str]:
    """The x and y axes of a figure's `row` (1 first; one column), as traces name them."""
    suffix = "" if row == 1 else str(row)
    return f"x{suffix}", f"y{suffix}"


def mark_events(
    fig: go.Figure,
    deployments: pd.DataFrame | None = None,
    incidents: pd.DataFrame | None = None,
    subplots: bool = False,
    row: int = 1,
) -> go.Figure:
    """Production deployments (green: succeeded, red: failed or rolled back) and incidents
    (dashed purple) as vertical lines across the whole chart (`subplots`: every row of it), or
    across its `row` only (one column, rows sharing the x axis: see `_row_events`).

    A chart of `subplots` gets one shape per line, which spans every row; they go in as one
    list (`add_vline` once per event re-validates the layout each time and takes a minute for a
    thousand releases).
    """
    kinds = _event_kinds(deployments, incidents)
    if not kinds:
        return fig
    if subplots:
        shapes = [
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": x,
                "x1": x,
                "y0": 0,
                "y1": 1,
                "opacity": opacity,
                "line": {"color": colour, "width": 1, "dash": dash},
            }
            for (colour, dash, opacity), instants in kinds.items()
            for x in instants
        ]
        return fig.update_layout(shapes=list(fig.layout.shapes) + shapes)
    traces, axis = _row_events(kinds, row)
    return fig.add_traces(traces).update_layout(axis)


def _row_events(
    kinds: dict[tuple[str, str, float], list], row: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A row's event lines (`_event_kinds`) as traces, one per kind, its lines joined by gaps,
    on the row's hidden 0-1 axis laid over it (y99 for the first row, y100 for the second, ...),
    and that axis as a layout update.

    Plotly validates, sends and draws a shape per line, and a KPI chart at a year's scale holds
    a hundred and more. Three points a line: at 12 KPI rows of 111 releases each, the browser
    spends about 0.2 s on them."""
    xaxis, yaxis = axis_names(row)
    events = 98 + row
    traces = [
        {
            "type": "scatter",
            "x": [v for x in instants for v in (x, x, None)],
            "y": [0, 1, None] * len(instants),
            "xaxis": xaxis,
            "yaxis": f"y{events}",
            "mode": "lines",
            "line": {"color": colour, "width": 1, "dash": dash},
            "opacity": opacity,
            "hoverinfo": "skip",
            "showlegend": False,
        }
        for (colour, dash, opacity), instants in kinds.items()
    ]
    axis = {"overlaying": yaxis, "range": [0, 1], "visible": False, "fixedrange": True}
    return traces, ({f"yaxis{events}": axis} if traces else {})


def _event_kinds(
    deployments: pd.DataFrame | None, incidents: pd.DataFrame | None
) -> dict[tuple[str, str, float], list]:
    """(colour, dash, opacity) -> the instants drawn so: production deployments, then
    incidents."""
    kinds: dict[tuple[str, str, float], list] = {}
    if deployments is not None and not deployments.empty:
        production = deployments[deployments["is_production"]]
        for finished_at, status in zip(
            production["finished_at"], production["status"], strict=True
        ):
            colour = COLOURS["success"] if status == "success" else COLOURS["failure"]
            kinds.setdefault((colour, "solid", 0.5), []).append(finished_at)
    if incidents is not None and not incidents.empty:
        kinds.setdefault((COLOURS["incident"], "dash", 0.7), []).extend(incidents["opened_at"])
    return kinds


def percent(value: float | None, unit: str | None) -> str:
    """A KPI value in plain words (see metrics.status.format_kpi)."""
    return format_kpi(None if value is None or pd.isna(value) else float(value), unit)


def kpi_name(kpi: str) -> str:
    """A KPI's name as a label: click_through_rate → Click through rate."""
    return kpi.replace("_", " ").capitalize()


@dataclass(frozen=True)
class KpiPanel:
    """One KPI as a row of a KPI chart: its `title` over the row, its contract reading (`kpi`:
    label, unit, target, guardrail), its days (`series`: date, value), and the releases and
    incidents marked on it."""

    title: str
    kpi: dict[str, Any]
    series: pd.DataFrame
    deployments: pd.DataFrame | None = None
    incidents: pd.DataFrame | None = None


# Pixels between two KPI rows: room for the upper row's dates and the lower row's title.
KPI_ROW_GAP = 70


def kpi_chart(panels: Sequence[KpiPanel], title: str, row_height: int = 200) -> go.Figure:
    """Each KPI per day in its unit, one row per panel (one figure: the browser lays out one
    plot, not one per KPI), with its target and guardrail, releases and incidents marked; the
    rows share the x axis and each shows its dates.

    Ratios read as percentages on the axis. The target's label sits at the left, the
    guardrail's at the right, each on the side of its line away from the other line, so the
    two never overlap however close they are.
    """
    top = 60
    height = top + len(panels) * row_height + (len(panels) - 1) * KPI_ROW_GAP + 30
    fig = subplots(
        rows=len(panels),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=KPI_ROW_GAP / (height - top - 30),
        subplot_titles=[panel.title for panel in panels],
    )
    # The titles (so far the figure's only annotations) at the left, over the y axis.
    titles = [{**a.to_plotly_json(), "xanchor": "left", "x": 0} for a in fig.layout.annotations]
    # Traces, lines, labels and axes gathered and added at once: each `add_scatter` and
    # `update_layout` validates what it is given again (the whole list of shapes, each time),
    # and `add_hline(row=...)` looks the row up in the grid on every call.
    traces: list[dict[str, Any]] = []
    lines, labels, axes = [], [], {}
    for row, panel in enumerate(panels, start=1):
        kpi = panel.kpi
        xaxis, yaxis = axis_names(row)
        traces.append(
            {
                "type": "scatter",
                "x": panel.series["date"],
                "y": panel.series["value"],
                "mode": "lines",
                "name": kpi["label"],
                # The first colour on every row, as a chart of its own would draw it (the
                # colorway would give each row the next one).
                "line": {"color": COLORWAY[0]},
                "xaxis": xaxis,
                "yaxis": yaxis,
            }
        )
        target, guardrail = kpi.get("target"), kpi.get("guardrail")
        # Higher is better when the guardrail is under the target: the target's label above
        # its line, the guardrail's below; the other way round when lower is better.
        target_on_top = guardrail is None or target is None or guardrail <= target
        for value, dash, name, side, on_top in (
            (target, "dot", "target", "left", target_on_top),
            (guardrail, "dash", "guardrail", "right", not target_on_top),
        ):
            if value is None:
                continue
            across = {"xref": f"{xaxis} domain", "yref": yaxis}
            lines.append(
                {
                    "type": "line",
                    **across,
                    "x0": 0,
                    "x1": 1,
                    "y0": value,
                    "y1": value,
                    "line": {"color": COLOURS["threshold"], "width": 1, "dash": dash},
                }
            )
            labels.append(
                {
                    **across,
                    "x": 0 if side == "left" else 1,
                    "y": value,
                    "xanchor": side,
                    "yanchor": "bottom" if on_top else "top",
                    "text": f"{name} {format_kpi(value, kpi['unit'])}",
                    "showarrow": False,
                    "font": {"color": COLOURS["threshold"]},
                }
            )
        marks, events_axis = _row_events(_event_kinds(panel.deployments, panel.incidents), row)
        traces += marks
        axes.update(events_axis)
        axis: dict[str, Any] = {}
        unit = kpi["unit"]
        if unit in {"ratio", "%"}:
            axis["tickformat"] = ".2%"
        elif unit:
            axis["title"] = {"text": unit}
        axes[f"yaxis{yaxis[1:]}"] = axis
        axes[f"xaxis{xaxis[1:]}"] = {"showticklabels": True}
    fig.add_traces(traces)
    # Assigned, not updated: an update merges a list into the one there item by item.
    fig.layout.shapes = lines
    fig.layout.annotations = titles + labels
    fig.update_layout(
        **axes,
        height=height,
        margin={"t": top, "b": 30},
        showlegend=False,
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 14}},
    )
    return fig


def kpi_title(kpi: dict[str, Any], model: str | None = None) -> str:
    """A KPI row's title: its name and unit, and its status in its colour (and its model,
    where rows hold several), so the chart reads red and amber where the sentences do."""
    unit = "%" if kpi["unit"] in {"ratio", "%"} else kpi["unit"]
    name = f"{kpi['label']} ({unit})" if unit else kpi["label"]
    status = kpi["status"]
    name += f" · <b><span style='color:{STATUS_COLOURS[status]}'>{status.upper()}</span></b>"
    return f"<b>{model}</b> · {name}" if model else name


def add_band(
    fig: go.Figure,
    x: Any,
    lower: Any,
    upper: Any,
    name: str,
    row: int | None = None,
    col: int | None = None,
    legend: bool = True,
) -> go.Figure:
    """A band between `lower` and `upper` (light fill, no line), one legend entry `name`
    (none when `legend` is false: the same band drawn again on another row).

    Drawn as the upper edge followed by the lower one filled to it ("tonexty"), so a gap in
    the steps leaves a gap in the band instead of a fill across it.
    """
    where = {} if row is None else {"row": row, "col": col or 1}
    fig.add_scatter(
        x=x,
        y=upper,
        mode="lines",
        line={"width": 0, "color": COLOURS["band"]},
        name=name,
        hoverinfo="skip",
        showlegend=False,
        legendgroup=name,
        **where,
    )
    fig.add_scatter(
        x=x,
        y=lower,
        mode="lines",
        line={"width": 0, "color": COLOURS["band"]},
        fill="tonexty",
        fillcolor=COLOURS["band"],
        name=name,
        showlegend=legend,
        legendgroup=name,
        hoverinfo="skip",
        **where,
    )
    return fig


# Up to this many tickets the cycle-time chart draws one point each; more are drawn as each
# day's median and 85th percentile: 3,500 points (the reference scale's four weeks) cost the
# browser about 0.4 s of CPU a view, and overlap into a smear.
TICKET_POINTS = 500


def cycle_time_traces(timed: pd.DataFrame, limit: int = TICKET_POINTS) -> list[go.Scatter]:
    """The cycle times (days) of finished tickets: one point per ticket, or, beyond `limit`
    tickets, each UTC day's median and 85th percentile (linear, as the summary's are)."""
    days = timed["cycle_time_hours"] / 24
    if len(timed) <= limit:
        return [
            go.Scatter(
                x=timed["finished_at"],
                y=days,
                mode="markers",
                text=timed["ticket_id"],
                name="ticket",
            )
        ]
    by_day = days.groupby(timed["finished_at"].dt.floor("D"))
    counts = by_day.size()
    return [
        go.Scatter(
            x=counts.index,
            y=by_day.quantile(share),
            mode="lines+markers",
            name=name,
            line={"color": COLOURS["estimate"], "dash": dash},
            customdata=counts.to_numpy(),
            hovertemplate=f"%{{x|%d %b}}: {name} %{{y:.1f}} days (%{{customdata}} tickets)"
            "<extra></extra>",
        )
        for share, name, dash in ((0.5, "day's median", "solid"), (0.85, "day's p85", "dash"))
    ]
