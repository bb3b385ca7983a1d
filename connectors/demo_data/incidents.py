"""Incidents of the demo year: some caused by a release (they name it), some not (data,
infrastructure, upstream), the drift story's, two still open at the end; and per model the
windows in which they hurt its traffic (the request log reads them).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from connectors.demo_data.catalogue import MODELS, MODELS_BY_NAME, STORY
from connectors.demo_data.year import Calendar, epoch_ns, hours, story_days, to_utc

_RELEASE_INCIDENT_TITLES = (
    "{model} error rate up after release {version}",
    "{model} responses slow after release {version}",
    "{model} scores missing for part of traffic after release {version}",
    "{model} release {version} reads {feature} from the wrong column",
)
_OTHER_INCIDENT_TITLES = (
    "{model} feature store lookups timing out",
    "Labels for {model} arriving late from the warehouse",
    "{model} nightly training job failed",
    "Upstream outage: {model} requests failing",
    "{model} predictions stale after cache node restart",
)


def draw_incidents(
    deployments: pd.DataFrame,
    cal: Calendar,
    moments: dict[str, dt.datetime],
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, dict[str, list[tuple[int, int, str]]]]:
    """Incidents of the year, and per model the windows in which they hurt its traffic."""
    rows: list[dict] = []
    severities = ["sev1", "sev2", "sev3"]
    typical_hours = {"sev1": 4, "sev2": 10, "sev3": 26}
    cutoff = cal.cutoff

    def resolution(severity: str) -> dt.timedelta:
        return hours(np.clip(rng.lognormal(np.log(typical_hours[severity]), 0.7), 0.5, 72))

    def describe(templates, model, version="", feature=None) -> str:
        spec = MODELS_BY_NAME[model]
        title = str(rng.choice(templates)).format(
            model=model.replace("_", " "),
            version=version,
            feature=feature or str(rng.choice(spec.features)),
        )
        return title[0].upper() + title[1:]

    production = deployments[deployments["environment"] == "production"]
    story_model = STORY["model"]
    days = story_days(cal)
    story_span = (cal.day(days["drift"] - 3), cal.day(days["recovery"] + 3))
    # Incidents that are not meant to be open at the end are resolved well before it.
    late = cutoff - dt.timedelta(days=5)

    # Releases that broke something after going out: they count as change failures.
    successes = production[
        (production["status"] == "success")
        & (production["finished_at"] < late)
        & ~((production["model"] == story_model) & production["finished_at"].between(*story_span))
    ]
    for _, release in successes.sample(n=min(14, len(successes)), random_state=rng).iterrows():
        severity = str(rng.choice(severities, p=[0.12, 0.4, 0.48]))
        opened = release["finished_at"] + hours(min(rng.lognormal(np.log(4), 0.9), 24))
        rows.append(
            {
                "model": release["model"],
                "team": release["team"],
                "opened_at": opened,
                "resolved_at": opened + resolution(severity),
                "severity": severity,
                "deployment_id": release["deployment_id"],
                "title": describe(_RELEASE_INCIDENT_TITLES, release["model"], release["version"]),
                "trouble_from": release["finished_at"],
            }
        )
    # About half of the rollbacks were triggered by an incident that names the release.
    for _, release in production[production["status"] == "rolled_back"].iterrows():
        if rng.random() < 0.5:
            opened = release["started_at"] + dt.timedelta(minutes=float(rng.uniform(12, 30)))
            rows.append(
                {
                    "model": release["model"],
                    "team": release["team"],
                    "opened_at": opened,
                    "resolved_at": release["finished_at"],
                    "severity": str(rng.choice(["sev2", "sev3"])),
                    "deployment_id": release["deployment_id"],
                    "title": describe(
                        _RELEASE_INCIDENT_TITLES, release["model"], release["version"]
                    ),
                    "trouble_from": opened,
                }
            )
    # Incidents no release caused: data, infrastructure, upstream services.
    live = [spec for spec in MODELS if not spec.is_prototype]
    for _ in range(11):
        spec = live[int(rng.integers(len(live)))]
        first = spec.launched_after_days or 0
        day = int(rng.integers(first + 5, cal.n_days - 5))
        opened = cal.day(day) + hours(rng.uniform(0, 24))
        if spec.name == story_model and story_span[0] <= opened <= story_span[1]:
            continue
        severity = str(rng.choice(severities, p=[0.1, 0.35, 0.55]))
        rows.append(
            {
                "model": spec.name,
                "team": spec.team,
                "opened_at": opened,
                "resolved_at": opened + resolution(severity),
                "severity": severity,
                "deployment_id": None,
                "title": describe(_OTHER_INCIDENT_TITLES, spec.name),
                "trouble_from": opened - hours(rng.uniform(0.2, 2)),
            }
        )
    # The story: noticed two days in; the upstream change is not a deployment of ours.
    rows.append(
        {
            "model": story_model,
            "team": MODELS_BY_NAME[story_model].team,
            "opened_at": moments["incident_opened_at"],
            "resolved_at": moments["retrain_finished_at"],
            "severity": "sev2",
            "deployment_id": None,
            "title": (
                "Recommendations got worse: click-through down since session length changed unit"
            ),
            "trouble_from": moments["drift_at"],
            "is_story": True,
        }
    )
    # Two still open at the end of the year. Late labels do not fail any request.
    rows.append(
        {
            "model": "fraud",
            "team": "risk",
            "opened_at": cutoff - hours(rng.uniform(40, 60)),
            "resolved_at": None,
            "severity": "sev3",
            "deployment_id": None,
            "title": "Chargeback labels from the payment provider arriving two days late",
            "trouble_from": None,
        }
    )
    recent = production[
        (production["status"] == "success")
        & (production["finished_at"] >= cutoff - dt.timedelta(days=7))
        & (production["finished_at"] < cutoff - dt.timedelta(hours=6))
    ]
    if len(recent):
        release = recent.iloc[-1]
        opened = release["finished_at"] + hours(rng.uniform(1, 5))
        rows.append(
            {
                "model": release["model"],
                "team": release["team"],
                "opened_at": opened,
                "resolved_at": None,
                "severity": "sev3",
                "deployment_id": release["deployment_id"],
                "title": describe(_RELEASE_INCIDENT_TITLES, release["model"], release["version"]),
                "trouble_from": release["finished_at"],
            }
        )

    frame = pd.DataFrame(rows)
    frame["is_story"] = frame["is_story"].eq(True)
    frame = frame[frame["opened_at"] < cutoff].sort_values("opened_at", kind="stable")
    frame = frame.reset_index(drop=True)
    frame["incident_id"] = [f"INC-{number:04d}" for number in range(1, len(frame) + 1)]

    trouble: dict[str, list[tuple[int, int, str]]] = {}
    story_ns = epoch_ns(moments["incident_opened_at"] + dt.timedelta(hours=8))
    for row in frame.itertuples():
        if row.trouble_from is None or pd.isna(row.trouble_from):
            continue
        until = cutoff if pd.isna(row.resolved_at) else row.resolved_at
        # In the story, requests failed only until validation was patched, hours after the
        # incident was opened; the wrong unit itself degraded quality, not availability.
        until_ns = story_ns if row.is_story else epoch_ns(until)
        trouble.setdefault(row.model, []).append(
            (epoch_ns(row.trouble_from), until_ns, row.severity)
        )

    frame["opened_at"] = to_utc(frame["opened_at"])
    frame["resolved_at"] = to_utc(frame["resolved_at"])
    frame["deployment_id"] = (
        frame["deployment_id"].astype(object).where(frame["deployment_id"].notna(), None)
    )
    return frame, trouble
