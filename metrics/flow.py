"""Collaboration health from tickets: throughput, cycle time, WIP, hand-offs, work mix, outcomes.

Every function reads the tickets in scope (team, model) and their status transitions through
the table macros of sql/flow_macros.sql (created by metrics.db.prepare), with the workflow's
status lists deciding what is active, waiting, blocked, done or dropped. Definitions are in
METRICS.md.
"""

from __future__ import annotations

import math
from typing import Any

import duckdb
import pandas as pd

from metrics.db import frame
from metrics.filters import Filters
from settings import Workflow

UNGROUPED = "other"


def _params(filters: Filters, workflow: Workflow) -> dict[str, Any]:
    params = {**filters.params(), **workflow.params()}
    # Status lists compare with lower(trim(status)): a Workflow built in code may not be.
    for key, value in params.items():
        if key.endswith("_statuses"):
            params[key] = [status.strip().lower() for status in value]
    return params


def _frame(
    con: duckdb.DuckDBPyConnection, name: str, filters: Filters, workflow: Workflow
) -> pd.DataFrame:
    return frame(con, name, **_params(filters, workflow))


def _number(value: Any) -> float | None:
    """A plain float, or None for a missing value (NULL, NaN, pd.NA)."""
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def finished_tickets(
    con: duckdb.DuckDBPyConnection, filters: Filters, workflow: Workflow
) -> pd.DataFrame:
    """One row per ticket finished in the window, newest first.

    Returns columns ticket_id, title, team, model, work_category, finished_at, started_at,
    cycle_time_hours, active_hours, waiting_hours, blocked_hours, is_reopened. The last five are
    null for a ticket with no cycle (never active, or no transitions at all).
    """
    return _frame(con, "flow_finished_tickets", filters, workflow)


def status_split(
    con: duckdb.DuckDBPyConnection, filters: Filters, workflow: Workflow
) -> pd.DataFrame:
    """One row per status the tickets finished in the window spent their cycle time in.

    Returns columns status, kind (active, waiting, blocked, done, dropped, other), hours (summed
    over the tickets) and tickets (how many were in it), most hours first.
    """
    return _frame(con, "flow_status_split", filters, workflow)


def aging_wip(con: duckdb.DuckDBPyConnection, filters: Filters, workflow: Workflow) -> pd.DataFrame:
    """One row per ticket in progress at `filters.until`, oldest first.

    Returns columns ticket_id, title, team, model, work_category, status, status_kind, role,
    started_at, age_days (since the first active move) and days_in_status.
    """
    return _frame(con, "flow_aging_wip", filters, workflow)


def handoffs(con: duckdb.DuckDBPyConnection, filters: Filters, workflow: Workflow) -> pd.DataFrame:
    """One row per hand-off wait (a waiting stay between two roles) that ended in the window.

    Returns columns ticket_id, from_role, to_role, handoff ("data_science->engineering"),
    status, entered_at, left_at, wait_hours.
    """
    return _frame(con, "flow_handoffs", filters, workflow)


def handoff_waits(
    con: duckdb.DuckDBPyConnection, filters: Filters, workflow: Workflow
) -> pd.DataFrame:
    """One row per hand-off label with waits that ended in the window.

    Returns columns handoff, from_role, to_role, handoffs, median_wait_hours, p85_wait_hours.
    """
    return _frame(con, "flow_handoff_waits", filters, workflow)


def work_mix(con: duckdb.DuckDBPyConnection, filters: Filters, workflow: Workflow) -> pd.DataFrame:
    """One row per work category of the tickets finished in the window.

    Returns columns category ('uncategorised' when missing), tickets and share (summing to 1).
    """
    return _frame(con, "flow_work_mix", filters, workflow)


def work_mix_groups(
    con: duckdb.DuckDBPyConnection, filters: Filters, workflow: Workflow
) -> pd.DataFrame:
    """One row per work-mix group of the workflow, then 'other' for the categories in none.

    Returns columns group, tickets, share (of all tickets finished in the window; null when none
    finished), target (null for 'other' or a group without one) and difference (share - target
    in percentage points). 'other' appears only when it holds tickets.
    """
    return mix_groups(work_mix(con, filters, workflow), workflow)


def mix_groups(mix: pd.DataFrame, workflow: Workflow) -> pd.DataFrame:
    """`work_mix_groups` of a window's `work_mix` already read."""
    per_category = dict(zip(mix["category"], mix["tickets"].astype(int), strict=True))
    total = sum(per_category.values())
    targets = dict(workflow.mix_targets)
    groups: list[tuple[str, int, float | None]] = []
    grouped: set[str] = set()
    for group, categories in workflow.mix_groups:
        names = {category.strip().lower() for category in categories}
        grouped |= names
        groups.append((group, sum(per_category.get(name, 0) for name in names), targets.get(group)))
    other = sum(n for category, n in per_category.items() if category not in grouped)
    if other:
        groups.append((UNGROUPED, other, None))
    rows = []
    for group, tickets, target in groups:
        share = tickets / total if total else None
        difference = (share - target) * 100 if share is not None and target is not None else None
        rows.append(
            {
                "group": group,
                "tickets": tickets,
                "share": share,
                "target": target,
                "difference": difference,
            }
        )
    return pd.DataFrame(rows, columns=["group", "tickets", "share", "target", "difference"])


def experiments(
    con: duckdb.DuckDBPyConnection, filters: Filters, workflow: Workflow
) -> pd.DataFrame:
    """One row per experiment or research ticket decided (finished with an outcome label).

    Returns columns ticket_id, title, model, finished_at, outcome (the label after
    `workflow.outcome_label_prefix`, lowercase), newest first.
    """
    return _frame(con, "flow_experiments", filters, workflow)


def experiment_outcomes(
    con: duckdb.DuckDBPyConnection, filters: Filters, workflow: Workflow
) -> pd.DataFrame:
    """One row per outcome of the experiments decided in the window: outcome, tickets."""
    decided = experiments(con, filters, workflow)
    counts = decided.groupby("outcome").size().rename("tickets").reset_index()
    return counts.sort_values(["tickets", "outcome"], ascending=[False, True], ignore_index=True)


def prototype_to_production(
    con: duckdb.DuckDBPyConnection, filters: Filters, workflow: Workflow
) -> pd.DataFrame:
    """One row per model with a research or experiment ticket created before `filters.until`.

    Returns columns model, first_ticket_at, first_production_at (first successful production
    deployment after it, null if none yet), days (to production, or waited until `until`),
    is_in_production, has_earlier_production (live before its first research ticket, so the
    days do not measure a prototype). Models not yet in production first.
    """
    return _frame(con, "flow_prototype_to_production", filters, workflow)


def has_history(con: duckdb.DuckDBPyConnection, filters: Filters) -> bool:
    """Whether any ticket in scope (team, model; any time) has status transitions.

    Without them (a tracker's CSV export) cycle time, WIP, blocked time, hand-offs and reopens
    cannot be computed; throughput and work mix still can, from resolved_at.
    """
    result = _frame(con, "flow_history", filters, Workflow())
    return bool(result["tickets_with_history"].iloc[0] > 0)


def cycle_time(con: duckdb.DuckDBPyConnection, filters: Filters, workflow: Workflow) -> dict:
    """Cycle time over the tickets finished in the window, with those that have none counted.

    Returns {"median": hours|None, "p85": hours|None, "tickets": int (with a cycle time),
    "without_cycle_time": int (finished but never active, or with no history)}.
    """
    row = _frame(con, "flow_summary", filters, workflow).iloc[0]
    return {
        "median": _number(row["cycle_time_median_hours"]),
        "p85": _number(row["cycle_time_p85_hours"]),
        "tickets": int(row["tickets_with_cycle_time"]),
        "without_cycle_time": int(row["tickets_without_cycle_time"]),
    }


def flow_summary(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    workflow: Workflow,
    wip: int | None = None,
    mix: pd.DataFrame | None = None,
) -> dict:
    """The headline flow figures for one window, JSON-ready (plain numbers, None for no value).

    `wip`: the work in progress at `filters.until` when the caller already has it (WIP depends
    on the window's end alone, not on its start), else read here. `mix`: the window's
    `work_mix` when the caller already has it, else read here.

    Returns {"throughput", "cycle_time_hours": {"median", "p85"}, "wip", "flow_efficiency",
    "handoff_wait_hours": {"<from>-><to>": {"median", "count"}}, "work_mix": {category: share},
    "reopen_rate", "blocked_hours": {"total", "median"}}. An empty window gives 0 for counts
    and the blocked total, None for medians and rates, {} for the breakdowns.
    """
    row = _frame(con, "flow_summary", filters, workflow).iloc[0]
    waits = handoff_waits(con, filters, workflow)
    mix = work_mix(con, filters, workflow) if mix is None else mix
    return {
        "throughput": int(row["throughput"]),
        "cycle_time_hours": {
            "median": _number(row["cycle_time_median_hours"]),
            "p85": _number(row["cycle_time_p85_hours"]),
        },
        "wip": len(aging_wip(con, filters, workflow)) if wip is None else wip,
        "flow_efficiency": _number(row["flow_efficiency"]),
        "handoff_wait_hours": {
            str(wait.handoff): {
                "median": float(wait.median_wait_hours),
                "count": int(wait.handoffs),
            }
            for wait in waits.itertuples()
        },
        "work_mix": {str(m.category): float(m.share) for m in mix.itertuples()},
        "reopen_rate": _number(row["reopen_rate"]),
        "blocked_hours": {
            "total": float(row["blocked_hours_total"]),
            "median": _number(row["blocked_hours_median"]),
        },
    }
