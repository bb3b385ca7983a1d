"""Why the demo's deployments happened and what its changes fix: `deployments.kind`,
`changes.incident_id` and `changes.ai_assisted`, drawn after the timeline from a stream of
their own, so that no other figure of the year moves.

- A fix-forward released after a rolled-back release is a hotfix (production was hurt enough to
  revert); one after a release that failed to deploy is planned (it never served: the patched
  release is the release again). Every other deployment is planned, and a staging deployment
  shares the kind of the production release of its version. The demo's deploy tool records a
  rollback as the rolled-back release's status, so no row has kind `rollback`.
- An incident's fix ships with the first successful production deployment of its model that
  started after the incident opened, within a week: one of its changes merged after the opening
  names the incident (always for an incident a release caused, about half the time for the
  others, whose fix is often a configuration change outside any release) and is titled for it;
  that deployment is a hotfix if it started while the incident was open. The story's
  changes in the retrain release that were merged after its incident opened name it (the
  retrain itself was planned: the team froze releases and scheduled it).
- A share of each team's changes were made with an AI assistant (teams differ a little).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Share of each team's pull requests made with an AI assistant.
AI_SHARE = {"growth": 0.38, "risk": 0.26, "forecasting": 0.32}
# An incident's fix still counts as its fix when released within this time of its opening.
FIX_WITHIN = pd.Timedelta(days=7)
# Chance that an incident no release caused is fixed by a change in a release.
OTHER_FIX_CHANCE = 0.5


def annotate(
    deployments: pd.DataFrame,
    changes: pd.DataFrame,
    incidents: pd.DataFrame,
    story_changes: list[str],
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`deployments` with `kind`, `changes` with `incident_id` and `ai_assisted`.

    Args:
        deployments: one row per deployment, UTC times, with `fix_of` (the deployment_id of
            the failed or rolled-back release a fix-forward follows, else null).
        changes: one row per pull request, UTC times, with `model` and `team`.
        incidents: the year's incidents, UTC times, with `is_story`.
        story_changes: change_ids of the retrain release's changes (they fix the story).
        rng: the stream of its own (`random_streams(seed)["rework"]`).

    Returns:
        The two frames, copied, with the new columns.
    """
    deployments = deployments.copy()
    changes = changes.copy()
    status = dict(zip(deployments["deployment_id"], deployments["status"], strict=True))
    kind = pd.Series("planned", index=deployments.index, dtype=object)
    after_rollback = deployments["fix_of"].map(status).eq("rolled_back")
    kind[after_rollback] = "hotfix"

    fixes = pd.Series([None] * len(changes), index=changes.index, dtype=object)
    titles = changes["title"].copy()
    production = deployments[
        deployments["environment"].eq("production") & deployments["status"].eq("success")
    ].sort_values(["started_at", "deployment_id"], kind="stable")
    for incident in incidents.sort_values(["opened_at", "incident_id"]).itertuples():
        if incident.is_story:
            # One merged before the incident was filed could not name it.
            story = changes["change_id"].isin(story_changes)
            fixes[story & (changes["merged_at"] >= incident.opened_at)] = incident.incident_id
            continue
        caused = incident.deployment_id is not None and not pd.isna(incident.deployment_id)
        # One no release caused is often fixed outside any release, and one still open at the
        # end has no fix yet.
        if not caused and (rng.random() >= OTHER_FIX_CHANCE or pd.isna(incident.resolved_at)):
            continue
        candidates = production[
            production["model"].eq(incident.model)
            & (production["started_at"] > incident.opened_at)
            & (production["started_at"] <= incident.opened_at + FIX_WITHIN)
        ]
        if candidates.empty:
            continue
        release = candidates.iloc[0]
        mine = changes[
            changes["deployment_id"].eq(release["deployment_id"])
            & (changes["merged_at"] >= incident.opened_at)
            & fixes.isna()
        ].sort_values(["merged_at", "change_id"], kind="stable")
        if mine.empty:
            continue
        fix = mine.index[0]
        fixes[fix] = incident.incident_id
        if not after_rollback[release.name]:  # a fix-forward keeps its own fix title
            what = incident.title[0].lower() + incident.title[1:]
            titles[fix] = f"Fix {incident.incident_id}: {what}"
        still_open = pd.isna(incident.resolved_at) or release["started_at"] < incident.resolved_at
        if still_open:
            kind[release.name] = "hotfix"

    # A staging deployment of a hotfix's version was the hotfix on its way.
    hotfix_versions = set(
        zip(
            deployments.loc[kind.eq("hotfix"), "model"],
            deployments.loc[kind.eq("hotfix"), "version"],
            strict=True,
        )
    )
    staging = deployments["environment"].eq("staging")
    of_hotfix = [
        (model, version) in hotfix_versions
        for model, version in zip(deployments["model"], deployments["version"], strict=True)
    ]
    kind[staging & pd.Series(of_hotfix, index=deployments.index)] = "hotfix"
    deployments["kind"] = kind

    share = changes["team"].map(AI_SHARE).fillna(0.3).to_numpy()
    changes["ai_assisted"] = pd.Series(rng.random(len(changes)) < share, index=changes.index)
    changes["ai_assisted"] = changes["ai_assisted"].astype(object)
    changes["incident_id"] = fixes
    changes["title"] = titles
    return deployments, changes
