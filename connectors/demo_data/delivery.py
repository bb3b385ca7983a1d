"""The demo year's delivery timeline: deployments (staging before production, failures fixed
forward), the pull requests each release shipped, and the incidents, with the story's ids.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from connectors.demo_data.catalogue import (
    MODELS,
    MODELS_BY_NAME,
    PEOPLE,
    STORY,
    ModelSpec,
    feed_frame,
)
from connectors.demo_data.incidents import draw_incidents
from connectors.demo_data.rework import annotate
from connectors.demo_data.year import (
    Calendar,
    epoch_ns,
    hours,
    random_streams,
    story_days,
    story_moments,
    to_utc,
    working_time,
    year_calendar,
)

_CHANGE_TITLES = (
    "Add {feature} to the {model} feature pipeline",
    "Tune {model} hyperparameters after weekly retrain",
    "Refactor {model} preprocessing into the shared library",
    "Handle missing {feature} in {model} requests",
    "Bump base image of the {model} service",
    "Log {feature} at request time",
    "Speed up {model} batch scoring",
    "Retrain {model} on the last 90 days",
    "Add input validation for {feature}",
    "Update {model} evaluation notebook and thresholds",
    "Cache {model} lookups for returning users",
    "Clean up unused {model} feature flags",
)
_FIX_TITLES = (
    "Fix {model} release: pin serializer version",
    "Revert {feature} encoding change in {model}",
    "Fix health check timeout in the {model} service",
    "Fix schema mismatch for {feature}",
)


@dataclass
class Timeline:
    """Deployments, changes and incidents of the year, with the story's ids."""

    deployments: pd.DataFrame
    changes: pd.DataFrame
    incidents: pd.DataFrame
    # Per model: (finished_at ns, version) of successful production releases, in time order.
    served_versions: dict[str, list[tuple[int, str]]]
    story: dict
    # Per model: (start ns, end ns, severity) of incident windows that hurt its traffic.
    trouble: dict[str, list[tuple[int, int, str]]]


def _plan_release_days(spec: ModelSpec, cal: Calendar, rng: np.random.Generator) -> list[int]:
    """Days with a planned production release of `spec`, before fix-forwards are added."""
    if spec.is_prototype:
        return []
    per_weekday = spec.production_releases_per_month * 12 / 261
    first = spec.launched_after_days or 0
    blocked = range(-1, -1)
    if spec.name == STORY["model"]:
        # The owning team froze releases while the drift was investigated and right after the
        # retrain, so the story's before/after reads cleanly.
        days = story_days(cal)
        blocked = range(days["drift"] - 2, days["retrain"] + 3)
    planned = []
    for day in range(first, cal.n_days):
        chance = per_weekday if cal.weekday[day] < 5 else per_weekday * 0.04
        is_launch = spec.launched_after_days is not None and day == first
        if day not in blocked and (is_launch or rng.random() < chance):
            planned.append(day)
    return planned


def _ensure_recent_release(
    plans: dict[str, list[int]], cal: Calendar, rng: np.random.Generator
) -> tuple[str, int] | None:
    """Make sure the last 7 days hold a production release; return the (model, day) added."""
    recent = range(cal.n_days - 7, cal.n_days - 1)
    if any(day in recent for days in plans.values() for day in days):
        return None
    weekdays = [day for day in recent if cal.weekday[day] < 5]
    model, day = "search_ranking", int(rng.choice(weekdays))
    plans[model] = sorted({*plans[model], day})
    return model, day


class _DeliveryLog:
    """Deployments and the changes they shipped, as recorded, before they get their ids."""

    def __init__(self, deploy_rng: np.random.Generator, change_rng: np.random.Generator):
        self.deploy_rng = deploy_rng
        self.change_rng = change_rng
        self.deployments: list[dict] = []
        self.changes: list[dict] = []

    def deploy(
        self,
        spec: ModelSpec,
        environment: str,
        version: str,
        started: dt.datetime,
        minutes: float,
        status: str,
    ) -> dict:
        started = started.replace(microsecond=0)
        row = {
            "ref": len(self.deployments),
            "model": spec.name,
            "version": version,
            "environment": environment,
            "team": spec.team,
            "started_at": started,
            "finished_at": started + dt.timedelta(seconds=round(float(minutes) * 60)),
            "status": status,
            "commit_sha": self.deploy_rng.bytes(20).hex(),
        }
        self.deployments.append(row)
        return row

    def stage(
        self, spec: ModelSpec, version: str, production_start: dt.datetime, not_before: dt.datetime
    ) -> dt.datetime:
        """Deploy `version` to staging (retrying once if it fails); return when production
        may start: `production_start`, or later if staging took longer."""
        rng = self.deploy_rng
        lead_hours = rng.uniform(1, 4.5) if rng.random() < 0.7 else rng.uniform(20, 27)
        started = max(production_start - hours(lead_hours), not_before + dt.timedelta(minutes=10))
        status = "failed" if rng.random() < 0.08 else "success"
        attempt = self.deploy(spec, "staging", version, started, rng.uniform(4, 14), status)
        if status == "failed":
            retry_at = attempt["finished_at"] + dt.timedelta(minutes=float(rng.uniform(30, 90)))
            attempt = self.deploy(spec, "staging", version, retry_at, rng.uniform(4, 14), "success")
        return max(production_start, attempt["finished_at"] + dt.timedelta(minutes=20))

    def ship_changes(
        self,
        spec: ModelSpec,
        release: dict,
        count: int,
        previous_start: dt.datetime | None,
        titles: tuple[str, ...] = _CHANGE_TITLES,
        is_fix: bool = False,
    ) -> None:
        """Record `count` pull requests that `release` shipped."""
        rng = self.change_rng
        authors = [name for name, role in PEOPLE[spec.team] if role != "product"]
        for _ in range(count):
            # Lead time (first commit to release): median ~1.7 days, a few hours to 3 weeks;
            # a fix after a failed release is written in a few hours.
            lead = (
                rng.uniform(2, 8)
                if is_fix
                else float(np.clip(rng.lognormal(np.log(40), 1.05), 2, 21 * 24))
            )
            first_commit = min(
                release["finished_at"] - hours(lead),
                release["started_at"] - dt.timedelta(minutes=45),
            )
            span = (release["started_at"] - first_commit).total_seconds() / 3600
            merged = first_commit + hours(span * rng.uniform(0.35, 0.95))
            in_office_hours = working_time(merged, rng)
            if in_office_hours < release["started_at"] - dt.timedelta(minutes=10):
                merged = in_office_hours  # people merge during the day
            # A pull request merged before the previous release would have shipped with it.
            if previous_start is not None and merged <= previous_start:
                latest = release["started_at"] - dt.timedelta(minutes=10)
                earliest = max(previous_start, first_commit) + dt.timedelta(minutes=5)
                if earliest < latest:
                    merged = earliest + (latest - earliest) * float(rng.uniform(0.2, 1))
            title = str(rng.choice(titles)).format(
                model=spec.name.replace("_", " "), feature=str(rng.choice(spec.features))
            )
            self.changes.append(
                {
                    "deployment_ref": release["ref"],
                    "model": spec.name,
                    "first_commit_at": first_commit,
                    "merged_at": merged,
                    "author": str(rng.choice(authors)),
                    "title": title[0].upper() + title[1:],
                }
            )


def _release_history(
    spec: ModelSpec,
    release_days: list[int],
    must_release: tuple[str, int] | None,
    cal: Calendar,
    log: _DeliveryLog,
) -> tuple[list[tuple[dt.datetime, str]], dict | None]:
    """Record one model's deployments of the year.

    Returns the (finished_at, version) of its successful production releases in time order,
    and the story's retrain release (None for other models).
    """
    rng = log.deploy_rng
    major, minor = spec.version_at_start
    patch = 0
    busy_until = cal.start
    previous_start: dt.datetime | None = None
    served: list[tuple[dt.datetime, str]] = []
    retrain_release = None

    if spec.is_prototype or spec.launched_after_days:
        # Work before the first production release shows as staging deployments of 0.x.
        first_staging = 40 if spec.launched_after_days else cal.n_days - 60
        last_staging = spec.launched_after_days or cal.n_days
        for pre_minor, day in enumerate(range(first_staging, last_staging, 11), start=1):
            started = working_time(cal.day(day) + hours(rng.uniform(9, 16)), rng)
            if started >= cal.cutoff - dt.timedelta(hours=1):
                break
            log.deploy(spec, "staging", f"0.{pre_minor}.0", started, rng.uniform(4, 14), "success")

    retrain_day = story_days(cal)["retrain"] if spec.name == STORY["model"] else None
    if retrain_day is not None:
        release_days = sorted([*release_days, retrain_day])
    for day in release_days:
        if day == retrain_day:
            moments = story_moments(cal)
            major, minor, patch = major + 1, 0, 0
            version = f"{major}.{minor}.{patch}"
            log.deploy(spec, "staging", version, moments["retrain_staging_at"], 11, "success")
            retrain_release = log.deploy(
                spec, "production", version, moments["retrain_started_at"], 22, "success"
            )
            log.ship_changes(
                spec,
                retrain_release,
                1,
                previous_start,
                titles=("Retrain recommender with session length in milliseconds",),
            )
            log.ship_changes(
                spec,
                retrain_release,
                1,
                previous_start,
                titles=("Add unit check on {feature} at ingestion",),
            )
            served.append((retrain_release["finished_at"], version))
            busy_until = retrain_release["finished_at"]
            previous_start = retrain_release["started_at"]
            continue
        planned_start = working_time(cal.day(day) + hours(rng.uniform(9.5, 16.5)), rng)
        settling = planned_start - dt.timedelta(hours=30) < busy_until
        if settling and (spec.name, day) != must_release:
            continue  # the previous release (or its fix) is still settling
        is_launch = day == spec.launched_after_days
        if is_launch:
            major, minor, patch = 1, 0, 0
        else:
            minor, patch = minor + 1, 0
        version = f"{major}.{minor}.{patch}"
        start = log.stage(spec, version, planned_start, not_before=busy_until)
        outcome = (
            "success"
            if is_launch
            else str(rng.choice(["success", "failed", "rolled_back"], p=[0.87, 0.065, 0.065]))
        )
        minutes = {
            "success": rng.uniform(8, 35),
            "failed": rng.uniform(3, 20),
            # Watched for a while, then reverted: the row finishes when the rollback does.
            "rolled_back": rng.uniform(40, 180),
        }[outcome]
        release = log.deploy(spec, "production", version, start, minutes, outcome)
        changes = int(rng.choice([1, 2, 3, 4, 5], p=[0.28, 0.3, 0.22, 0.12, 0.08]))
        log.ship_changes(spec, release, changes, previous_start)
        previous_start, busy_until = release["started_at"], release["finished_at"]
        if outcome == "success":
            served.append((release["finished_at"], version))
            continue
        # Fix forward: a patch release after the failed one, always successful.
        patch += 1
        version = f"{major}.{minor}.{patch}"
        fix_start = working_time(release["finished_at"] + hours(rng.uniform(2, 26)), rng)
        fix_start = log.stage(spec, version, fix_start, not_before=release["finished_at"])
        fix = log.deploy(spec, "production", version, fix_start, rng.uniform(8, 30), "success")
        fix["fix_of"] = release["ref"]
        log.ship_changes(spec, fix, 1, previous_start, titles=_FIX_TITLES, is_fix=True)
        served.append((fix["finished_at"], version))
        previous_start, busy_until = fix["started_at"], fix["finished_at"]
    return served, retrain_release


def delivery_timeline(end: dt.date, seed: int) -> Timeline:
    """Deployments, changes and incidents for the year ending on `end` (cheap: no inference)."""
    cal = year_calendar(end)
    streams = random_streams(seed)
    moments = story_moments(cal)
    plans = {spec.name: _plan_release_days(spec, cal, streams["deployments"]) for spec in MODELS}
    must_release = _ensure_recent_release(plans, cal, streams["deployments"])
    log = _DeliveryLog(streams["deployments"], streams["changes"])
    cutoff_ns = epoch_ns(cal.cutoff)
    served: dict[str, list[tuple[int, str]]] = {}
    retrain_release: dict = {}
    for spec in MODELS:
        history, retrain = _release_history(spec, plans[spec.name], must_release, cal, log)
        served[spec.name] = [(epoch_ns(at), v) for at, v in history if epoch_ns(at) < cutoff_ns]
        if retrain is not None:
            retrain_release = retrain
    deployments, changes = log.deployments, log.changes

    deploy_frame = pd.DataFrame(deployments)
    # Everything happens before the end of the last day.
    deploy_frame = deploy_frame[deploy_frame["finished_at"] < cal.cutoff]
    deploy_frame = deploy_frame.sort_values(["model", "started_at", "ref"], kind="stable")
    deploy_frame["deployment_id"] = (
        "dep-"
        + deploy_frame["model"]
        + "-"
        + (deploy_frame.groupby("model").cumcount() + 1).map("{:04d}".format)
    )
    id_of_ref = dict(zip(deploy_frame["ref"], deploy_frame["deployment_id"], strict=True))

    change_frame = pd.DataFrame(changes)
    change_frame["deployment_id"] = change_frame["deployment_ref"].map(id_of_ref)
    change_frame = change_frame.dropna(subset=["deployment_id"])
    change_frame = change_frame.sort_values(["merged_at", "deployment_id"], kind="stable")
    change_frame["change_id"] = (
        "pr-"
        + change_frame["model"]
        + "-"
        + (change_frame.groupby("model").cumcount() + 101).map("{:04d}".format)
    )

    incidents, trouble = draw_incidents(deploy_frame, cal, moments, streams["incidents"])
    retrain_id = id_of_ref[retrain_release["ref"]]
    story_incident = incidents.loc[incidents["is_story"]].iloc[0]
    previous_versions = [
        v for ns, v in served[STORY["model"]] if ns < epoch_ns(moments["retrain_finished_at"])
    ]
    days = story_days(cal)
    story_facts = {
        "model": STORY["model"],
        "feature": STORY["feature"],
        "kpi": STORY["kpi"],
        "drift_start": cal.day(days["drift"]).date(),
        "drift_started_at": pd.Timestamp(moments["drift_at"], tz="UTC"),
        "incident_id": story_incident["incident_id"],
        "incident_opened_at": pd.Timestamp(moments["incident_opened_at"], tz="UTC"),
        "retrain_deployment_id": retrain_id,
        "retrain_version": retrain_release["version"],
        "version_before_retrain": (
            previous_versions[-1]
            if previous_versions
            else "{}.{}.0".format(*MODELS_BY_NAME[STORY["model"]].version_at_start)
        ),
        "retrain_finished_at": pd.Timestamp(moments["retrain_finished_at"], tz="UTC"),
        "recovery": cal.day(days["recovery"]).date(),
    }

    deploy_out = deploy_frame.assign(
        started_at=to_utc(deploy_frame["started_at"]),
        finished_at=to_utc(deploy_frame["finished_at"]),
    )
    change_out = change_frame.assign(
        first_commit_at=to_utc(change_frame["first_commit_at"]),
        merged_at=to_utc(change_frame["merged_at"]),
        team=change_frame["model"].map(lambda model: MODELS_BY_NAME[model].team),
    )
    fixed_release = deploy_out["fix_of"].map(id_of_ref) if "fix_of" in deploy_out else None
    story_changes = list(change_out.loc[change_out["deployment_id"].eq(retrain_id), "change_id"])
    deploy_out, change_out = annotate(
        deploy_out.assign(fix_of=fixed_release),
        change_out,
        incidents,
        story_changes,
        streams["rework"],
    )
    return Timeline(
        deployments=feed_frame(
            deploy_out.sort_values(["finished_at", "deployment_id"]), "deployments"
        ),
        changes=feed_frame(change_out, "changes"),
        incidents=incidents,
        served_versions=served,
        story=story_facts,
        trouble=trouble,
    )
