"""Delivery (DORA): deployment frequency, lead time for changes, change failure rate and
failed deployment recovery time, with their levels (DORA 2023 bands), and deployment rework
rate (no band), per window, team, model and week."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from metrics import privacy
from metrics.db import frame
from metrics.filters import Filters
from metrics.status import deployment_frequency_level, dora_level


def _number(value: Any) -> float | None:
    """A JSON-ready float: None for missing and NaN."""
    if value is None or pd.isna(value):
        return None
    return float(value)


def _one(con: duckdb.DuckDBPyConnection, name: str, filters: Filters) -> dict[str, Any]:
    return frame(con, name, **filters.params()).iloc[0].to_dict()


def deployment_frequency(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, Any]:
    """Successful production deployments that finished in the window, per week, on how many
    UTC days, and the DORA level (from median deployment days per week, else per month)."""
    row = _one(con, "delivery_frequency", filters)
    count = int(row["deployments"])
    return {
        "deployments": count,
        "deployment_days": int(row["deployment_days"]),
        "deployments_per_week": count / (filters.days / 7),
        "median_days_per_week": _number(row["median_days_per_week"]),
        "median_days_per_month": _number(row["median_days_per_month"]),
        "level": deployment_frequency_level(
            row["median_days_per_week"], row["median_days_per_month"]
        ),
    }


def lead_time(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, Any]:
    """Lead time for changes shipped in the window: median and p90 hours, changes counted,
    changes left out for a negative span, and the DORA level of the median."""
    row = _one(con, "delivery_lead_time", filters)
    median = _number(row["median_hours"])
    return {
        "median": median,
        "p90": _number(row["p90_hours"]),
        "changes": int(row["changes"]),
        "left_out": int(row["left_out"]),
        "level": dora_level("lead_time", median),
    }


def change_failure(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, Any]:
    """Change failure rate over production deployments that finished in the window."""
    row = _one(con, "delivery_change_failure", filters)
    rate = _number(row["change_failure_rate"])
    return {
        "change_failure_rate": rate,
        "failed_deployments": int(row["failed_deployments"]),
        "deployments_attempted": int(row["deployments_attempted"]),
        "level": dora_level("change_failure_rate", rate),
    }


def use_attribution_window(con: duckdb.DuckDBPyConnection, hours: float | None) -> None:
    """Set the incident attribution rule on this connection: with `hours`, an incident that names
    no deployment falls back to its model's latest successful production deployment only if that
    finished at most `hours` before the incident opened; None keeps the unbounded rule."""
    if hours is None:
        con.execute("reset variable attribution_window_hours")
    else:
        con.execute("set variable attribution_window_hours = $hours", {"hours": float(hours)})


def attribution_rule(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The incident attribution rule in force on this connection, JSON-ready and in words."""
    (hours,) = con.execute("select getvariable('attribution_window_hours')").fetchone()
    if hours is None:
        return {
            "rule": "named deployment, else the model's latest successful production "
            "deployment before the incident opened (no window)",
            "window_hours": None,
        }
    return {
        "rule": f"named deployment, else the model's latest successful production deployment "
        f"that finished at most {float(hours):g} hours before the incident opened",
        "window_hours": float(hours),
    }


def rework(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, Any]:
    """Deployment rework rate over successful production deployments that finished in the
    window (null without any). DORA publishes no band for it: no level."""
    row = _one(con, "delivery_rework", filters)
    return {
        "rework_rate": _number(row["rework_rate"]),
        "rework_deployments": int(row["rework_deployments"]),
        "deployments": int(row["deployments"]),
    }


def rework_deployments(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Successful production deployments that finished in the window, with is_rework and why."""
    return frame(con, "delivery_rework_deployments", **filters.params())


def _ids(value: Any) -> list[str]:
    """A DuckDB list column's value as a list of strings ([] for null)."""
    return [] if value is None or not hasattr(value, "__len__") else [str(v) for v in value]


def _reasons(row: Any) -> list[str]:
    """Every reason a deployment is rework: its kind, the incident fixes it ships, the incidents
    of its model open when it finished."""
    reasons = [f"kind {str(row.kind).lower()}"] if row.is_rework_kind else []
    if fixing := _ids(row.fixing_change_ids):
        reasons.append("fixing change " + ", ".join(fixing))
    if open_now := _ids(row.open_incident_ids):
        reasons.append("open incident " + ", ".join(open_now))
    return reasons


def by_ai_assisted(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    min_people: int = privacy.DEFAULT_MIN_PEOPLE,
) -> list[dict[str, Any]]:
    """Lead time, change failure rate and rework rate per team split by changes.ai_assisted
    (true, false, unknown), never per person. A group whose changes have fewer than
    `min_people` distinct authors keeps only its team, group and the reason it is withheld
    (metrics.privacy; a group whose changes name no author is withheld too: its people are
    unknown, and a split this small is where one person shows)."""
    rows = []
    for r in frame(con, "delivery_by_ai_assisted", **filters.params()).itertuples():
        people = int(r.people or 0)
        row: dict[str, Any] = {"team": r.team, "ai_assisted": r.ai_assisted}
        why = privacy.withhold(max(people, 1), min_people)
        if why is not None:
            row["withheld"] = why.reason
        else:
            row.update(
                {
                    "withheld": None,
                    "people": people,
                    "lead_time_median_hours": _number(r.lead_time_median_hours),
                    "changes": int(r.changes),
                    "change_failure_rate": _number(r.change_failure_rate),
                    "failed_deployments": int(r.failed_deployments),
                    "deployments_attempted": int(r.deployments_attempted),
                    "rework_rate": _number(r.rework_rate),
                    "rework_deployments": int(r.rework_deployments),
                    "deployments": int(r.deployments),
                }
            )
        rows.append(row)
    return rows


def recoveries(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Failures (incidents, and failed deployments without one) that recovered in the window
    or began in it and had not recovered by its end, with recovery_time_hours."""
    return frame(con, "delivery_recoveries", **filters.params())


def recovery_time(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, Any]:
    """Median hours to recover over failures that recovered in the window; unrecovered apart."""
    rows = recoveries(con, filters)
    recovered = rows[rows["is_recovered_in_window"].fillna(False).astype(bool)]
    median = _number(recovered["recovery_time_hours"].median()) if len(recovered) else None
    return {
        "median": median,
        "recovered": len(recovered),
        "unrecovered": int(rows["is_unrecovered"].fillna(False).astype(bool).sum()),
        "level": dora_level("recovery_time", median),
    }


def incidents(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Incidents opened in the window with their attributed deployment (or none)."""
    return frame(con, "delivery_incidents", **filters.params())


def changes(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Changes shipped in the window (and unshipped ones merged in it), with lead times."""
    return frame(con, "delivery_changes", **filters.params())


def shipped_lead_times(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """The changes whose lead time counts in the window (shipped in it, span not negative)."""
    rows = changes(con, filters)
    return rows[rows["shipping_deployment_id"].notna() & ~rows["is_left_out"].fillna(True)]


def deployments(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Production deployments that finished in the window, with is_change_failure."""
    return frame(con, "delivery_deployments", **filters.params())


def weekly(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Per Monday-based week: deployments, attempts, failures, change failure rate, median lead
    time and median recovery time (zero-filled counts; null medians in quiet weeks)."""
    return frame(con, "delivery_weekly", **filters.params())


def summary(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, Any]:
    """The delivery section of the headless report, JSON-ready."""
    frequency = deployment_frequency(con, filters)
    lead = lead_time(con, filters)
    failure = change_failure(con, filters)
    recovery = recovery_time(con, filters)
    redo = rework(con, filters)
    unattributed = int(incidents(con, filters)["is_unattributed"].sum())
    return {
        "deployments": frequency["deployments"],
        "deployment_days": frequency["deployment_days"],
        "deployments_per_week": frequency["deployments_per_week"],
        "lead_time_hours": {k: lead[k] for k in ("median", "p90", "changes", "left_out")},
        "change_failure_rate": failure["change_failure_rate"],
        "failed_deployments": failure["failed_deployments"],
        "deployments_attempted": failure["deployments_attempted"],
        "recovery_time_hours": {k: recovery[k] for k in ("median", "recovered", "unrecovered")},
        "rework_rate": redo["rework_rate"],
        "rework_deployments": redo["rework_deployments"],
        "unattributed_incidents": unattributed,
        "attribution": attribution_rule(con),
        "levels_source": "DORA 2023 bands (DORA's 2025 report replaced tiers with team "
        "profiles; rework rate has no band)",
        "levels": {
            "deployment_frequency": frequency["level"],
            "lead_time": lead["level"],
            "change_failure_rate": failure["level"],
            "recovery_time": recovery["level"],
        },
    }


def detail(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, list[dict]]:
    """The rows behind the summary: changes, incidents and deployments, JSON-ready."""
    change_rows = changes(con, filters)
    incident_rows = incidents(con, filters)
    deployment_rows = deployments(con, filters)
    rework_reasons = {
        r.deployment_id: _reasons(r)
        for r in rework_deployments(con, filters).itertuples()
        if r.is_rework
    }
    return {
        "changes": [
            {
                "change_id": r.change_id,
                "deployment_id": r.shipping_deployment_id
                if isinstance(r.shipping_deployment_id, str)
                else None,
                "lead_time_hours": _number(r.lead_time_hours),
            }
            for r in change_rows.itertuples()
        ],
        "incidents": [
            {
                "incident_id": r.incident_id,
                "deployment_id": r.attributed_deployment_id
                if isinstance(r.attributed_deployment_id, str)
                else None,
                "recovery_time_hours": _number(r.recovery_time_hours),
            }
            for r in incident_rows.itertuples()
        ],
        "deployments": [
            {
                "deployment_id": r.deployment_id,
                "failed": bool(r.is_change_failure),
                "rework": r.deployment_id in rework_reasons,
                "rework_reasons": rework_reasons.get(r.deployment_id, []),
            }
            for r in deployment_rows.itertuples()
        ],
    }


def by_group(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    column: str,
    values: list[str],
    min_people: int = privacy.DEFAULT_MIN_PEOPLE,
) -> pd.DataFrame:
    """The headline delivery figures per team or per model (`column`), one row per value; a
    row whose deployments carry changes of fewer than `min_people` authors keeps only its name
    and `withheld` (the reason; None on the rows shown)."""
    rows = []
    for value in values:
        scoped = Filters(
            filters.since,
            filters.until,
            value if column == "team" else filters.team,
            value if column == "model" else filters.model,
        )
        why = privacy.withheld(con, scoped, min_people)["authors"]
        if why is not None:
            rows.append({column: value, "withheld": why.reason})
            continue
        s = summary(con, scoped)
        rows.append(
            {
                column: value,
                "withheld": None,
                "deployments": s["deployments"],
                "deployments_per_week": s["deployments_per_week"],
                "lead_time_median_hours": s["lead_time_hours"]["median"],
                "change_failure_rate": s["change_failure_rate"],
                "rework_rate": s["rework_rate"],
                "rework_deployments": s["rework_deployments"],
                "recovery_median_hours": s["recovery_time_hours"]["median"],
                "unattributed_incidents": s["unattributed_incidents"],
            }
        )
    return pd.DataFrame(rows)


def by_team(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    min_people: int = privacy.DEFAULT_MIN_PEOPLE,
) -> pd.DataFrame:
    """The headline delivery figures for each team that deploys to production (see by_group
    for the rows withheld)."""
    teams = [
        t
        for (t,) in con.execute(
            "select distinct team from production_deployments() where team is not null order by 1"
        ).fetchall()
    ]
    return by_group(con, filters, "team", teams, min_people)


def by_model(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    min_people: int = privacy.DEFAULT_MIN_PEOPLE,
) -> pd.DataFrame:
    """The headline delivery figures for each model in production (of the team, if one; see
    by_group for the rows withheld)."""
    models = [
        m
        for (m,) in con.execute(
            "select distinct model from production_deployments() "
            "where model is not null and ($team is null or team = $team) order by 1",
            {"team": filters.team},
        ).fetchall()
    ]
    return by_group(con, filters, "model", models, min_people)
