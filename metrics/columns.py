"""How every table column is shown: its header (with its unit), its format and its width.

The one list of table columns, next to the registry of metrics: pages name the columns they
show, in order, and `pages/tables.table` reads their specs here. A column missing from the list
still shows, under its name in words and formatted by its type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from metrics import formats
from metrics.status import format_kpi

# How each kind of value is written, and whether it reads as a number (aligned right).
FORMATS: dict[str, Callable[[Any], str]] = {
    "text": formats.text,
    "count": formats.count,
    "number": lambda v: formats.number(v, 1),
    "whole": lambda v: formats.number(v, 0),
    "score": lambda v: formats.number(v, 3),
    "significant": lambda v: formats.significant(v, 3),
    "duration": formats.duration,
    "days": formats.days,
    "share": formats.share,
    "timestamp": formats.timestamp,
    "date": formats.date,
    "flag": formats.flag,
    "words": formats.words,
}
# Kinds whose format reads each row's unit from another column (`Column.unit_from`).
UNIT_FORMATS: dict[str, Callable[[Any, Any], str]] = {
    "kpi": lambda value, unit: format_kpi(None if formats.is_missing(value) else value, unit),
}
NUMERIC = frozenset(
    {"count", "number", "whole", "score", "significant", "duration", "days", "share", "kpi"}
)
TIMES = frozenset({"timestamp"})


@dataclass(frozen=True)
class Column:
    """One column as a table shows it.

    `width` is Streamlit's ("small", "medium", "large" or pixels); None lets it size itself.
    `unit_from` names the column that holds each row's unit, for values whose unit varies by
    row (a KPI's value is a ratio on one row, euros on the next).
    """

    label: str
    unit: str = ""
    kind: str = "text"
    width: str | int | None = None
    unit_from: str | None = None

    @property
    def header(self) -> str:
        # A duration's cells carry their own unit ("28.5 h", "2 d 4 h"): the header says none.
        if not self.unit or self.kind == "duration":
            return self.label
        return f"{self.label} ({self.unit})"

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC


def _ids(label: str) -> Column:
    return Column(label, width="medium")


# fmt: off
COLUMNS: dict[str, Column] = {
    # who and what
    "model": Column("Model"),
    "team": Column("Team"),
    "source": Column("Source"),
    "feed": Column("Feed"),
    "kind": Column("Kind"),
    "title": Column("Title", width="large"),
    "author": Column("Author"),
    "severity": Column("Severity"),
    "status": Column("Status"),
    "environment": Column("Environment"),
    "version": Column("Version"),
    "model_version": Column("Version"),
    "incident_id": _ids("Incident"),
    "deployment_id": _ids("Deployment"),
    "change_id": _ids("Change"),
    "ticket_id": Column("Ticket"),
    "named_deployment_id": _ids("Deployment named"),
    "attributed_deployment_id": _ids("Caused by deployment"),
    "shipping_deployment_id": _ids("Shipped by"),
    "work_category": Column("Category"),
    "status_kind": Column("Status kind"),
    "role": Column("Role"),
    "reason": Column("Reason", width="large"),
    "raw": Column("Raw row", width="large"),
    "origin": Column("Origin", width="medium"),
    # the access log
    "at": Column("When", kind="timestamp", width="medium"),
    "who": Column("Who", width="medium"),
    "event": Column("Event", kind="words"),
    "scope": Column("Scope", width="medium"),
    "detail": Column("What", width="large"),
    "row_key": Column("Key", width="medium"),
    "outcome": Column("Outcome"),
    "kpi": Column("KPI", kind="words", width="medium"),
    "kpi_label": Column("KPI", width="medium"),  # its contract's label
    "segment": Column("Segment"),
    # instants (UTC) and days
    "opened_at": Column("Opened", kind="timestamp", width="medium"),
    "resolved_at": Column("Resolved", kind="timestamp", width="medium"),
    "started_at": Column("Started", kind="timestamp", width="medium"),
    "finished_at": Column("Finished", kind="timestamp", width="medium"),
    "restored_at": Column("Restored", kind="timestamp", width="medium"),
    "first_commit_at": Column("First commit", kind="timestamp", width="medium"),
    "merged_at": Column("Merged", kind="timestamp", width="medium"),
    "shipped_at": Column("Shipped", kind="timestamp", width="medium"),
    "first_seen_at": Column("First seen", kind="timestamp", width="medium"),
    "last_seen_at": Column("Last seen", kind="timestamp", width="medium"),
    "latest_at": Column("Latest event", kind="timestamp", width="medium"),
    "quarantined_at": Column("Quarantined", kind="timestamp", width="medium"),
    "released": Column("Released", kind="date", width="small"),
    "day": Column("Day", kind="date", width="small"),
    # durations
    "recovery_time_hours": Column("Recovery time", "h", "duration", "small"),
    "lead_time_hours": Column("Lead time", "h", "duration", "small"),
    "cycle_time_hours": Column("Cycle time", "h", "duration", "small"),
    "active_hours": Column("Active", "h", "duration", "small"),
    "waiting_hours": Column("Waiting", "h", "duration", "small"),
    "blocked_hours": Column("Blocked", "h", "duration", "small"),
    "hours": Column("Time in status", "h", "duration", "small"),
    "hours_to_resolve": Column("Time to resolve", "h", "duration", "small"),
    "lead_time_median_hours": Column("Lead time, median", "h", "duration", "small"),
    "recovery_median_hours": Column("Recovery time, median", "h", "duration", "small"),
    "age_days": Column("Age", "days", "days", "small"),
    "days_in_status": Column("In this status", "days", "days", "small"),
    "days": Column("Days", kind="count", width="small"),
    # counts
    "deployments": Column("Deployments", kind="count", width="small"),
    "deployments_per_week": Column("Deployments per week", kind="number", width="small"),
    "unattributed_incidents": Column("Unattributed incidents", kind="count", width="small"),
    "incidents": Column("Incidents", kind="count", width="small"),
    "tickets": Column("Tickets", kind="count", width="small"),
    "rows": Column("Rows", kind="count", width="small"),
    "row_count": Column("Rows", kind="count", width="small"),
    "row_number": Column("Row", kind="count", width="small"),
    "quarantined": Column("Quarantined", kind="count", width="small"),
    "requests": Column("Requests", kind="count", width="small"),
    "errors": Column("Errors", kind="count", width="small"),
    "labelled": Column("Labelled", kind="count", width="small"),
    "reference_values": Column("Reference values", kind="count", width="small"),
    "current_values": Column("Current values", kind="count", width="small"),
    # shares
    "change_failure_rate": Column("Change failure rate", "%", "share", "small"),
    "rework_rate": Column("Rework rate", "%", "share", "small"),
    "error_rate": Column("Error rate", "%", "share", "small"),
    "labelled_share": Column("Labelled share", "%", "share", "small"),
    "missing_share": Column("Missing", "%", "share", "small"),
    # serving and quality
    "latency_p50_ms": Column("Latency p50", "ms", "whole", "small"),
    "latency_p95_ms": Column("Latency p95", "ms", "whole", "small"),
    "latency_p99_ms": Column("Latency p99", "ms", "whole", "small"),
    "accuracy": Column("Accuracy", kind="score", width="small"),
    "precision": Column("Precision", kind="score", width="small"),
    "recall": Column("Recall", kind="score", width="small"),
    "roc_auc": Column("ROC AUC", kind="score", width="small"),
    "mae": Column("MAE", kind="significant", width="small"),
    "rmse": Column("RMSE", kind="significant", width="small"),
    "precision_at_k": Column("Precision@k", kind="score", width="small"),
    "ndcg_at_k": Column("NDCG@k", kind="score", width="small"),
    "hit_rate_at_k": Column("Hit rate@k", kind="score", width="small"),
    "k": Column("k", kind="count", width="small"),
    "lists": Column("Lists", kind="count", width="small"),
    "labelled_lists": Column("Labelled lists", kind="count", width="small"),
    # drift
    "column": Column("Column", width="medium"),
    "type": Column("Type"),
    "method_name": Column("Method", width="medium"),
    "score": Column("Score", kind="significant", width="small"),
    "threshold": Column("Threshold", kind="significant", width="small"),
    "verdict": Column("Verdict"),
    "settled": Column("Computed from"),
    "note": Column("Note", width="large"),
    "mean": Column("Mean", kind="significant", width="small"),
    "std": Column("Std. dev.", kind="significant", width="small"),
    "p25": Column("p25", kind="significant", width="small"),
    "p50": Column("Median", kind="significant", width="small"),
    "p75": Column("p75", kind="significant", width="small"),
    "top_value": Column("Most common value"),
    # drift that matters
    "feature": Column("Feature", width="medium"),
    "first_drift": Column("First drifted", kind="date", width="small"),
    "drifted_days": Column("Days drifted", kind="count", width="small"),
    "harm": Column("Harm", kind="score", width="small"),
    "performance_rho": Column("Spearman ρ, performance", kind="score", width="small"),
    "performance_days": Column("Days, performance", kind="count", width="small"),
    "kpi_rho": Column("Spearman ρ, KPI", kind="score", width="small"),
    "kpi_days": Column("Days, KPI", kind="count", width="small"),
    "top_value_share": Column("Most common value's share", "%", "share", "small"),
    # flags
    "is_failed": Column("Failed", kind="flag", width="small"),
    "is_change_failure": Column("Change failure", kind="flag", width="small"),
    "is_unattributed": Column("Unattributed", kind="flag", width="small"),
    "is_left_out": Column("Left out", kind="flag", width="small"),
    "is_reopened": Column("Reopened", kind="flag", width="small"),
    "is_open": Column("Open", kind="flag", width="small"),
    "is_production": Column("Production", kind="flag", width="small"),
    # KPIs, each row in its KPI's unit
    "value": Column("Value", kind="kpi", width="small", unit_from="unit"),
    "before_value": Column("7 days before", kind="kpi", width="small", unit_from="unit"),
    "after_value": Column("7 days after", kind="kpi", width="small", unit_from="unit"),
    "unit": Column("Unit"),
    "result": Column("Result", width="medium"),
}
# fmt: on


def spec(name: str, frame: pd.DataFrame | None = None) -> Column:
    """The column `name` as listed; else its name in words, formatted by its dtype."""
    if name in COLUMNS:
        return COLUMNS[name]
    label = name.replace("_", " ").strip().capitalize() or name
    if frame is None or name not in frame:
        return Column(label)
    dtype = frame[name].dtype
    if pd.api.types.is_bool_dtype(dtype):
        return Column(label, kind="flag")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return Column(label, kind="timestamp")
    if pd.api.types.is_integer_dtype(dtype):
        return Column(label, kind="count")
    if pd.api.types.is_float_dtype(dtype):
        return Column(label, kind="significant")
    return Column(label)


def specs(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, Column]:
    """The spec of each of `columns` that `frame` holds, in the order given."""
    return {name: spec(name, frame) for name in columns if name in frame.columns}


def display(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """`frame`'s `columns` (those it holds), in that order, as people read them: human headers
    with units, every cell a formatted string."""
    chosen = specs(frame, columns)
    shown = pd.DataFrame(index=range(len(frame)))
    for name, column in chosen.items():
        header = column.header if column.header not in shown else f"{column.header} [{name}]"
        if column.unit_from:
            write_in = UNIT_FORMATS[column.kind]
            units = frame[column.unit_from].tolist()
            cells = [write_in(v, u) for v, u in zip(frame[name].tolist(), units, strict=True)]
        else:
            write = FORMATS[column.kind]
            cells = [write(value) for value in frame[name].tolist()]
        shown[header] = cells
    return shown


def raw(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The raw values behind `display`: the same columns under their own names, plus each
    column a value's unit is read from."""
    chosen = specs(frame, columns)
    names = list(chosen)
    for column in chosen.values():
        if column.unit_from and column.unit_from in frame and column.unit_from not in names:
            names.append(column.unit_from)
    return frame[names]


# Pixels per character and padding of a table cell at Streamlit's default font, and the widest a
# column grows: wide enough to read a title, narrow enough that the key columns stay in view.
CHAR_PX, PAD_PX, MIN_PX, MAX_PX, MAX_LARGE_PX = 7.5, 28, 64, 240, 420


def width(column: Column, header: str, cells: Sequence[str]) -> int:
    """A column's width in pixels: its longest cell or its header, within bounds (a "large"
    column, like a title, may grow further). Streamlit sizes columns by their header only,
    which cuts "recommender" to "recommenc" under "Model"."""
    longest = max([len(header), *(len(c) for c in cells)])
    cap = MAX_LARGE_PX if column.width == "large" else MAX_PX
    return int(min(max(longest * CHAR_PX + PAD_PX, MIN_PX), cap))


def has_times(frame: pd.DataFrame, columns: Sequence[str]) -> bool:
    """Whether any of the columns shown is an instant (so the table says "times in UTC")."""
    return any(c.kind in TIMES for c in specs(frame, columns).values())
