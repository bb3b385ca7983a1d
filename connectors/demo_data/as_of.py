"""The demo year as it stands at a given instant: nothing in any feed happens after `now`.

The year is generated whole, up to the end of its last day; `cut` then removes what has not
happened yet, so a year seen earlier is the same year with its future missing (ids, versions
and every past row unchanged):
- deployments: only those finished by `now` (one still running vanishes, and with it the
  changes it ships: merged, not yet deployed); an incident naming a release that is still
  running names none yet;
- incidents: only those opened by `now`; one resolved later is still open (no `resolved_at`);
- inference: only requests made by `now`;
- kpis: daily rows, so only whole days over by `now` (today's row comes tomorrow);
- tickets and transitions are cut in `tickets` (status, assignee and sprint as of `now`).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd


def utc_instant(now: dt.datetime) -> pd.Timestamp:
    """`now` as a UTC timestamp; a naive datetime is read as UTC."""
    moment = pd.Timestamp(now)
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def naive_utc(now: dt.datetime) -> dt.datetime:
    """`now` as a naive datetime in UTC, the way the recipes keep their moments."""
    return utc_instant(now).tz_localize(None).to_pydatetime()


def cut(frames: dict[str, pd.DataFrame], now: dt.datetime) -> dict[str, pd.DataFrame]:
    """The delivery, inference and KPI feeds of `frames` as they stand at `now` (tickets and
    transitions are passed through: `tickets_and_transitions` cuts them)."""
    moment = utc_instant(now)
    deployments = frames["deployments"]
    deployments = deployments[deployments["finished_at"] <= moment]
    shipped = set(deployments["deployment_id"])
    changes = frames["changes"]
    changes = changes[changes["deployment_id"].isin(shipped)]

    incidents = frames["incidents"]
    incidents = incidents[incidents["opened_at"] <= moment].copy()
    resolved_later = incidents["resolved_at"] > moment
    incidents["resolved_at"] = incidents["resolved_at"].mask(resolved_later)
    unshipped = incidents["deployment_id"].notna() & ~incidents["deployment_id"].isin(shipped)
    incidents["deployment_id"] = incidents["deployment_id"].astype(object).mask(unshipped, None)

    inference = frames["inference"]
    inference = inference[inference["ts"] <= moment]

    # A KPI row is a whole day's figure: the day must be over (its next midnight reached).
    kpis = frames["kpis"]
    day_over = kpis["date"] + pd.Timedelta(days=1) <= moment.tz_localize(None)
    kpis = kpis[day_over]

    return {
        **frames,
        "deployments": deployments.reset_index(drop=True),
        "changes": changes.reset_index(drop=True),
        "incidents": incidents.reset_index(drop=True),
        "inference": inference.reset_index(drop=True),
        "kpis": kpis.reset_index(drop=True),
    }
