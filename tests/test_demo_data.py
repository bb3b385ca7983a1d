"""Demo data: the checks a user would make by hand on one generated year (end 2026-11-19, the
suite's DEMO_END), and on the same year as it stands at an instant of its last days."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

import settings
from connectors import demo_data
from connectors.demo import DemoConnector
from connectors.demo_data import as_of
from connectors.demo_data.delivery import delivery_timeline
from metrics.filters import last_days
from tests.helpers.project import DEMO_END

END = DEMO_END  # Thu 19 Nov 2026
YEAR_START = pd.Timestamp("2025-11-20", tz="UTC")  # END - 364 days
YEAR_CUTOFF = pd.Timestamp("2026-11-20", tz="UTC")  # the first moment after END
WEEK_START = YEAR_CUTOFF - pd.Timedelta(days=7)
# An afternoon of the last day: the year as it stands then.
NOW = pd.Timestamp("2026-11-19 14:00", tz="UTC")

# Written out by hand from the brief, so a renamed or reordered column fails here.
EXPECTED_COLUMNS = {
    "deployments": [
        "deployment_id",
        "model",
        "version",
        "environment",
        "team",
        "started_at",
        "finished_at",
        "status",
        "commit_sha",
        "kind",
    ],
    "changes": [
        "change_id",
        "deployment_id",
        "first_commit_at",
        "merged_at",
        "author",
        "title",
        "incident_id",
        "ai_assisted",
    ],
    "incidents": [
        "incident_id",
        "model",
        "team",
        "opened_at",
        "resolved_at",
        "severity",
        "deployment_id",
        "title",
    ],
    "inference": [
        "request_id",
        "ts",
        "model",
        "model_version",
        "latency_ms",
        "status",
        "prediction",
        "score",
        "label",
    ],
    "kpis": [
        "date",
        "kpi",
        "model",
        "segment",
        "value",
        "numerator",
        "denominator",
        "unit",
        "target",
        "guardrail",
    ],
    "tickets": [
        "ticket_id",
        "title",
        "type",
        "work_category",
        "team",
        "model",
        "assignee",
        "role",
        "created_at",
        "resolved_at",
        "status",
        "story_points",
        "sprint",
        "labels",
        "incident_id",
    ],
    "ticket_transitions": ["ticket_id", "at", "from_status", "to_status", "assignee", "role"],
}
KEYS = {
    "deployments": ["deployment_id"],
    "changes": ["change_id"],
    "incidents": ["incident_id"],
    "inference": ["request_id"],
    "kpis": ["date", "kpi", "model", "segment"],
    "tickets": ["ticket_id"],
    "ticket_transitions": ["ticket_id", "at", "to_status"],
}
TIMESTAMPS = {
    "deployments": ["started_at", "finished_at"],
    "changes": ["first_commit_at", "merged_at"],
    "incidents": ["opened_at", "resolved_at"],
    "inference": ["ts"],
    "tickets": ["created_at", "resolved_at"],
    "ticket_transitions": ["at"],
}
LIVE_MODELS = ["recommender", "search_ranking", "churn", "fraud", "demand_forecast", "pricing"]


@pytest.fixture(scope="module")
def year() -> dict[str, pd.DataFrame]:
    return demo_data.generate(END)


@pytest.fixture(scope="module")
def facts() -> dict:
    return demo_data.story(END)


@pytest.fixture(scope="module")
def story_ctr(year, facts) -> pd.Series:
    """The recommender's daily click-through rate over all segments, indexed by date."""
    kpis = year["kpis"]
    rows = kpis[
        (kpis["model"] == facts["model"])
        & (kpis["kpi"] == facts["kpi"])
        & (kpis["segment"] == "all")
    ]
    return rows.set_index("date")


def day(value: dt.date, offset: int = 0) -> pd.Timestamp:
    return pd.Timestamp(value) + pd.Timedelta(days=offset)


# --- shape of the feeds ----------------------------------------------------------------------


def test_generate_returns_exactly_the_seven_feeds(year):
    assert tuple(year) == demo_data.FEEDS
    assert set(demo_data.FEEDS) == set(EXPECTED_COLUMNS)


@pytest.mark.parametrize("feed", list(EXPECTED_COLUMNS))
def test_columns_are_exactly_the_canonical_ones_in_order(year, feed):
    columns = list(year[feed].columns)
    if feed == "inference":
        # Then one column per feature, each model's features among them.
        assert columns[:9] == EXPECTED_COLUMNS[feed]
        features = columns[9:]
        assert features == list(demo_data.feature_columns())
        for spec in demo_data.MODELS:
            assert 4 <= len(spec.features) <= 6
            assert set(spec.features) <= set(features)
    else:
        assert columns == EXPECTED_COLUMNS[feed]


def test_same_end_and_seed_give_identical_frames(year):
    # A `now` at the end of the year's last day cuts nothing: the same frames as no `now`.
    again = demo_data.generate(END, now=YEAR_CUTOFF.to_pydatetime(), seed=7)
    for feed in demo_data.FEEDS:
        pd.testing.assert_frame_equal(year[feed], again[feed], check_exact=True, obj=feed)


def test_another_seed_gives_another_year():
    other = demo_data.story(END, seed=8)
    assert other["drift_start"] == demo_data.story(END)["drift_start"]
    timeline = delivery_timeline(END, 8).deployments
    assert not timeline.equals(delivery_timeline(END, 7).deployments)


@pytest.mark.parametrize("feed", list(KEYS))
def test_keys_are_unique_and_never_null(year, feed):
    frame = year[feed]
    key = KEYS[feed]
    assert frame[key].notna().all().all()
    assert not frame.duplicated(subset=key).any()


@pytest.mark.parametrize("feed", list(TIMESTAMPS))
def test_timestamps_are_utc_and_inside_the_year(year, feed):
    for column in TIMESTAMPS[feed]:
        values = year[feed][column]
        assert str(values.dtype) == "datetime64[ns, UTC]", column
        present = values.dropna()
        # A change shipped early in the year may have been started up to 3 weeks before it.
        earliest = YEAR_START - pd.Timedelta(days=21) if feed == "changes" else YEAR_START
        assert present.min() >= earliest, column
        assert present.max() < YEAR_CUTOFF, column


def test_kpi_dates_are_naive_midnights_one_per_day_of_the_year(year):
    dates = year["kpis"]["date"]
    assert str(dates.dtype) == "datetime64[ns]"
    assert (dates == dates.dt.normalize()).all()
    days = pd.DatetimeIndex(sorted(dates.unique()))
    assert len(days) == 365
    assert days[0] == pd.Timestamp("2025-11-20") and days[-1] == pd.Timestamp(END)


def test_missing_values_are_none_or_nan_not_strings(year):
    incidents = year["incidents"]
    assert incidents["deployment_id"].isna().sum() > 0
    for value in incidents["deployment_id"]:
        assert value is None or isinstance(value, str)
    assert year["tickets"]["labels"].map(lambda labels: isinstance(labels, list)).all()


# --- allowed values --------------------------------------------------------------------------


def test_categorical_columns_stay_in_their_allowed_sets(year):
    deployments, tickets = year["deployments"], year["tickets"]
    assert set(deployments["environment"]) == {"production", "staging"}
    assert set(deployments["status"]) == {"success", "failed", "rolled_back"}
    assert set(year["inference"]["status"]) == {"ok", "error"}
    assert set(year["incidents"]["severity"]) <= {"sev1", "sev2", "sev3"}
    assert set(tickets["type"]) == {"Story", "Bug", "Task", "Spike", "Experiment", "Learning"}
    assert set(tickets["work_category"]) == {
        "research",
        "experiment",
        "development",
        "maintenance",
        "learning",
    }
    assert set(tickets["role"]) == {"data_science", "engineering", "product"}
    assert set(tickets["team"]) == set(demo_data.TEAMS)
    statuses = {"To Do", "In Progress", "In Review", "Done", "Blocked", "Ready for Engineering"}
    assert set(tickets["status"]) <= statuses
    transitions = year["ticket_transitions"]
    assert set(transitions["to_status"]) | set(transitions["from_status"]) <= statuses


def test_ids_and_shas_are_readable(year):
    deployments = year["deployments"]
    assert deployments["deployment_id"].str.fullmatch(r"dep-[a-z_]+-\d{4}").all()
    assert deployments["commit_sha"].str.fullmatch(r"[0-9a-f]{40}").all()
    assert year["inference"]["request_id"].str.fullmatch(r"req-[a-z_]+-\d+").all()
    assert year["tickets"]["sprint"].dropna().str.fullmatch(r"20\d\d-S\d\d").all()


# --- delivery: deployments, changes, incidents -----------------------------------------------


def test_each_live_model_ships_two_to_six_times_a_month(year):
    production = year["deployments"][year["deployments"]["environment"] == "production"]
    for model in LIVE_MODELS:
        shipped = production[production["model"] == model]
        live_days = (YEAR_CUTOFF - shipped["finished_at"].min()).days
        per_month = len(shipped) / (live_days / 30.4)
        assert 2 <= per_month <= 6.5, (model, per_month)
    failed_share = (production["status"] != "success").mean()
    assert 0.08 <= failed_share <= 0.15


def test_every_production_release_was_staged_first(year):
    deployments = year["deployments"]
    staging = deployments[deployments["environment"] == "staging"]
    production = deployments[deployments["environment"] == "production"]
    first_staged = staging.groupby(["model", "version"])["finished_at"].min()
    for release in production.itertuples():
        assert first_staged[(release.model, release.version)] < release.started_at


def test_the_prototype_never_reached_production(year):
    deployments = year["deployments"]
    prototype = deployments[deployments["model"] == "lifetime_value"]
    assert len(prototype) > 0 and set(prototype["environment"]) == {"staging"}
    assert "lifetime_value" not in set(year["inference"]["model"])
    assert (year["tickets"]["model"] == "lifetime_value").sum() > 0


def test_changes_are_committed_then_merged_then_deployed(year):
    shipped = year["changes"].merge(year["deployments"], on="deployment_id", how="left")
    assert shipped["finished_at"].notna().all()
    assert (shipped["first_commit_at"] < shipped["merged_at"]).all()
    assert (shipped["merged_at"] < shipped["started_at"]).all()
    lead_hours = (shipped["finished_at"] - shipped["first_commit_at"]).dt.total_seconds() / 3600
    assert lead_hours.min() >= 1.9 and lead_hours.max() <= 21 * 24 + 1
    assert 12 <= lead_hours.median() <= 96
    per_release = shipped[shipped["environment"] == "production"].groupby("deployment_id").size()
    assert per_release.between(1, 5).all()
    assert (shipped["environment"] == "production").all()
    assert (shipped["status"] == "failed").sum() > 0  # they ship with the next success


def test_incidents_name_real_deployments_and_two_are_still_open(year):
    incidents, deployments = year["incidents"], year["deployments"]
    named = incidents["deployment_id"].dropna()
    assert 0 < len(named) < len(incidents)
    assert set(named) <= set(deployments["deployment_id"])
    still_open = incidents[incidents["resolved_at"].isna()]
    assert 1 <= len(still_open) <= 2
    assert (still_open["opened_at"] >= WEEK_START).all()
    resolved = incidents.dropna(subset=["resolved_at"])
    assert (resolved["resolved_at"] > resolved["opened_at"]).all()


def test_every_deployment_says_why_it_happened(year):
    deployments = year["deployments"]
    production = deployments[deployments["environment"] == "production"]
    assert deployments["kind"].notna().all()
    # The demo's deploy tool records a rollback as the release's status, not as a row of its own.
    assert set(deployments["kind"]) == {"planned", "hotfix"}
    # A release that failed or was rolled back is planned work that went wrong.
    assert (production.loc[production["status"] != "success", "kind"] == "planned").all()
    hotfixes = production[production["kind"] == "hotfix"]
    assert 0.03 <= len(hotfixes) / len(production) <= 0.12
    # Each hotfix comes after a rolled-back release of its model or while an incident was open.
    incidents = year["incidents"]
    for hotfix in hotfixes.itertuples():
        before = production[
            (production["model"] == hotfix.model) & (production["finished_at"] < hotfix.started_at)
        ]
        after_rollback = before.iloc[-1]["status"] == "rolled_back"
        open_then = incidents[
            (incidents["model"] == hotfix.model)
            & (incidents["opened_at"] < hotfix.started_at)
            & ~(incidents["resolved_at"] <= hotfix.started_at)
        ]
        assert after_rollback or len(open_then), hotfix.deployment_id
    # A hotfix's staging deployment is a hotfix too; other staging deployments are planned.
    staging = deployments[deployments["environment"] == "staging"]
    hot_versions = set(zip(hotfixes["model"], hotfixes["version"], strict=True))
    pairs = zip(staging["model"], staging["version"], strict=True)
    staged_hot = [pair in hot_versions for pair in pairs]
    assert list(staging["kind"] == "hotfix") == staged_hot


def test_changes_that_fix_an_incident_name_it_and_ship_within_a_week(year, facts):
    changes, incidents = year["changes"], year["incidents"]
    fixes = (
        changes.dropna(subset=["incident_id"])
        .merge(year["deployments"], on="deployment_id")
        .merge(incidents, on="incident_id", suffixes=("", "_incident"))
    )
    assert len(fixes) == changes["incident_id"].notna().sum()  # every one names a real incident
    assert 10 <= len(fixes) <= 30
    assert (fixes["model"] == fixes["model_incident"]).all()
    assert (fixes["merged_at"] >= fixes["opened_at"]).all()
    assert (fixes["status"] == "success").all()
    # within a week, but for the story's, whose retrain took longer
    others = fixes[fixes["incident_id"] != facts["incident_id"]]
    assert (others["started_at"] - others["opened_at"] <= pd.Timedelta(days=7)).all()
    # The story's incident is fixed by the retrain release: its changes merged after the
    # incident opened name it (the unit fix in the pipeline), the one merged before does not.
    story = changes[changes["incident_id"] == facts["incident_id"]]
    assert set(story["deployment_id"]) == {facts["retrain_deployment_id"]}
    assert list(story["title"]) == ["Retrain recommender with session length in milliseconds"]
    # A still-open incident no release caused has no fix yet.
    open_other = incidents[incidents["resolved_at"].isna() & incidents["deployment_id"].isna()]
    assert not set(open_other["incident_id"]) & set(changes["incident_id"].dropna())


def test_a_share_of_each_teams_changes_were_made_with_an_ai_assistant(year):
    changes = year["changes"].merge(year["deployments"][["deployment_id", "team"]])
    assert set(changes["ai_assisted"].map(type)) == {bool}
    share = changes.groupby("team")["ai_assisted"].mean().astype(float)
    assert set(share.index) == set(demo_data.TEAMS)
    assert share.between(0.2, 0.45).all(), share
    assert share.max() - share.min() >= 0.05  # teams differ a little
    # Enough people behind each team's changes for a team-level split (min_people = 3).
    assert (changes.groupby("team")["author"].nunique() >= 3).all()


def test_the_rework_columns_move_no_other_figure(monkeypatch):
    # Drawn last, from a stream of their own: the year without them is the same row for row.
    drawn = delivery_timeline(END, seed=7)
    monkeypatch.setattr("connectors.demo_data.delivery.annotate", lambda d, c, i, s, rng: (d, c))
    bare = delivery_timeline(END, seed=7)
    assert drawn.deployments.drop(columns="kind").equals(bare.deployments.drop(columns="kind"))
    assert bare.deployments["kind"].isna().all()
    columns = ["incident_id", "ai_assisted", "title"]
    assert drawn.changes.drop(columns=columns).equals(bare.changes.drop(columns=columns))
    # A fix's title names its incident; every other title is as drawn.
    kept = drawn.changes["incident_id"].isna()
    assert drawn.changes.loc[kept, "title"].equals(bare.changes.loc[kept, "title"])
    assert drawn.incidents.equals(bare.incidents)
    assert drawn.story == bare.story


# --- inference -------------------------------------------------------------------------------


def test_inference_volume_errors_and_latency_are_believable(year):
    inference = year["inference"]
    assert 400_000 <= len(inference) <= 800_000
    assert set(inference["model"]) == set(LIVE_MODELS)
    error_rate = (inference["status"] == "error").groupby(inference["model"]).mean()
    assert error_rate.between(0.005, 0.02).all(), error_rate
    assert (inference["latency_ms"] > 0).all()
    assert (
        inference.groupby("model")["latency_ms"]
        .quantile(0.99)
        .gt(2 * inference.groupby("model")["latency_ms"].median())
        .all()
    )
    by_weekday = inference.groupby(inference["ts"].dt.dayofweek).size()
    assert by_weekday[[5, 6]].max() < 0.85 * by_weekday[[0, 1, 2, 3, 4]].min()


def test_predictions_match_the_kind_of_model(year):
    inference = year["inference"]
    ok = inference[inference["status"] == "ok"]
    for spec in demo_data.MODELS:
        rows = ok[ok["model"] == spec.name]
        if rows.empty:
            continue
        assert rows["prediction"].notna().all()
        if spec.kind == "classifier":
            assert rows["score"].between(0, 1).all()
            assert set(rows["prediction"]) == {0.0, 1.0}
            assert set(rows["label"].dropna()) == {0.0, 1.0}
        elif spec.kind == "ranker":
            assert rows["score"].between(0, 1).all()
            assert set(rows["prediction"]) == set(np.arange(1.0, 11.0))
        else:
            assert rows["score"].isna().all() and (rows["prediction"] > 0).all()
    errors = inference[inference["status"] == "error"]
    assert errors["prediction"].isna().all()


def test_each_model_logs_its_own_features_and_no_others(year):
    inference = year["inference"]
    all_features = set(demo_data.feature_columns())
    for spec in demo_data.MODELS:
        rows = inference[inference["model"] == spec.name]
        if rows.empty:
            continue
        assert rows[list(spec.features)].notna().all().all(), spec.name
        others = sorted(all_features - set(spec.features))
        assert rows[others].isna().all().all(), spec.name
    assert set(inference["device"].dropna()) == {"web", "ios", "android"}
    assert inference["num_items"].dropna().between(0, 8).all()


def test_labels_arrive_late(year):
    inference = year["inference"]
    ok = inference[inference["status"] == "ok"]
    age_days = (YEAR_CUTOFF - ok["ts"]).dt.total_seconds() / 86_400
    labelled = ok["label"].notna()
    assert 0.85 <= labelled[age_days > 14].mean() <= 0.95
    assert labelled[age_days < 2].sum() == 0
    assert 0.2 <= labelled[(age_days > 5) & (age_days < 11)].mean() <= 0.8


def test_served_versions_are_successful_production_releases(year):
    inference, deployments = year["inference"], year["deployments"]
    released = deployments[
        (deployments["environment"] == "production") & (deployments["status"] == "success")
    ]
    for model in LIVE_MODELS:
        served = set(inference.loc[inference["model"] == model, "model_version"])
        shipped = set(released.loc[released["model"] == model, "version"])
        assert len(served - shipped) <= 1, model  # the version live when the year began
        assert len(served & shipped) >= 20, model


# --- kpis ------------------------------------------------------------------------------------


def test_ratio_kpis_add_up(year):
    kpis = year["kpis"]
    ratios = kpis.dropna(subset=["denominator"])
    assert np.allclose(ratios["value"], ratios["numerator"] / ratios["denominator"])
    segmented = ratios[ratios["segment"] != "all"]
    assert set(segmented["segment"]) == {"web", "app"}
    summed = segmented.groupby(["date", "kpi", "model"])[["numerator", "denominator"]].sum()
    whole = ratios[ratios["segment"] == "all"].set_index(["date", "kpi", "model"])
    pd.testing.assert_frame_equal(
        summed, whole.loc[summed.index, ["numerator", "denominator"]], check_names=False
    )
    assert (kpis.groupby("kpi")["target"].nunique() == 1).all()
    assert (kpis.groupby("kpi")["guardrail"].nunique() == 1).all()


def test_kpis_are_mostly_green_outside_the_story(year, facts):
    """Weekly value against target: most weeks green; only the story breaks a guardrail."""
    kpis = year["kpis"]
    higher_is_better = {
        kpi.name: kpi.higher_is_better for spec in demo_data.MODELS for kpi in spec.kpis
    }
    weekly = (
        kpis[kpis["segment"] == "all"]
        .assign(week=lambda f: f["date"].dt.to_period("W"))
        .groupby(["kpi", "week"])
        .agg(value=("value", "mean"), target=("target", "first"), guardrail=("guardrail", "first"))
    )
    sign = weekly.index.get_level_values("kpi").map(higher_is_better).map({True: 1, False: -1})
    green = sign * weekly["value"] >= sign * weekly["target"]
    red = sign * weekly["value"] < sign * weekly["guardrail"]
    assert green.groupby(level="kpi").mean().min() >= 0.7
    assert set(weekly[red].index.get_level_values("kpi")) == {facts["kpi"]}


# --- tickets ---------------------------------------------------------------------------------


def test_ticket_volume_and_work_mix(year):
    tickets = year["tickets"]
    assert 1_500 <= len(tickets) <= 3_000
    mix = tickets["work_category"].value_counts(normalize=True)
    assert 0.52 <= mix["development"] + mix["maintenance"] <= 0.65
    assert 0.25 <= mix["research"] + mix["experiment"] <= 0.36
    assert 0.06 <= mix["learning"] <= 0.14
    assert tickets["model"].notna().mean() >= 0.75
    category_of_type = tickets.groupby("type")["work_category"].unique()
    assert set(category_of_type["Spike"]) == {"research"}
    assert set(category_of_type["Experiment"]) == {"experiment"}
    assert set(category_of_type["Bug"]) == {"maintenance"}


def test_transitions_are_ordered_and_agree_with_their_ticket(year):
    tickets = year["tickets"].set_index("ticket_id")
    transitions = year["ticket_transitions"].sort_values(["ticket_id", "at"], kind="stable")
    assert set(transitions["ticket_id"]) <= set(tickets.index)
    for ticket_id, moves in transitions.groupby("ticket_id", sort=False):
        ticket = tickets.loc[ticket_id]
        assert moves["at"].is_monotonic_increasing and moves["at"].is_unique
        assert moves["at"].iloc[0] > ticket["created_at"]
        assert moves["from_status"].iloc[0] == "To Do"
        assert (moves["from_status"].iloc[1:].to_numpy() == moves["to_status"].iloc[:-1]).all()
        assert moves["to_status"].iloc[-1] == ticket["status"]
        assert moves["assignee"].iloc[-1] == ticket["assignee"]
        if ticket["status"] == "Done":
            assert moves["at"].iloc[-1] == ticket["resolved_at"]
        else:
            assert pd.isna(ticket["resolved_at"])
    untouched = tickets.drop(index=transitions["ticket_id"].unique())
    assert (untouched["status"] == "To Do").all()


def test_hand_offs_move_work_from_data_science_to_engineering(year):
    transitions = year["ticket_transitions"]
    into_queue = transitions[transitions["to_status"] == "Ready for Engineering"]
    out_of_queue = transitions[transitions["from_status"] == "Ready for Engineering"]
    assert len(into_queue) >= 100
    assert set(into_queue["role"]) == {"data_science"}
    assert set(out_of_queue["role"]) == {"engineering"}
    reopened = transitions[transitions["from_status"] == "Done"]
    assert len(reopened) > 0 and set(reopened["to_status"]) == {"In Progress"}
    assert (transitions["to_status"] == "Blocked").sum() > 0


def test_decided_experiments_carry_one_outcome(year):
    tickets = year["tickets"]
    outcomes = tickets["labels"].map(lambda labels: [x for x in labels if x.startswith("outcome:")])
    experiments = tickets["type"] == "Experiment"
    done = tickets["status"] == "Done"
    assert (outcomes[experiments & done].map(len) == 1).all()
    assert (outcomes[~(experiments & done)].map(len) == 0).all()
    assert set(outcomes[experiments & done].map(lambda x: x[0])) == {
        "outcome:productionize",
        "outcome:abandon",
        "outcome:more-research",
    }


def test_work_is_still_open_at_the_end(year):
    tickets = year["tickets"]
    in_flight = tickets[
        tickets["status"].isin(["In Progress", "In Review", "Blocked", "Ready for Engineering"])
    ]
    assert len(in_flight) >= 15
    assert (in_flight["created_at"] < YEAR_CUTOFF - pd.Timedelta(days=30)).any()  # aging WIP


# --- the story -------------------------------------------------------------------------------


def test_story_dates_follow_from_the_end_date(facts):
    assert facts["model"] == demo_data.STORY["model"] == "recommender"
    assert facts["feature"] in demo_data.MODELS_BY_NAME["recommender"].features
    assert facts["drift_start"] == END - dt.timedelta(days=23)
    assert facts["incident_opened_at"].date() == facts["drift_start"] + dt.timedelta(days=2)
    assert facts["retrain_finished_at"].date() == facts["drift_start"] + dt.timedelta(days=9)
    assert facts["recovery"] == facts["drift_start"] + dt.timedelta(days=12)
    assert re.fullmatch(r"INC-\d{4}", facts["incident_id"])
    # For the suite's year, written out: Tue 27 Oct, Thu 29 Oct, Thu 5 Nov, Sun 8 Nov.
    assert facts["drift_started_at"] == pd.Timestamp("2026-10-27 10:12", tz="UTC")
    assert facts["incident_opened_at"] == pd.Timestamp("2026-10-29 09:41", tz="UTC")
    assert facts["retrain_finished_at"] == pd.Timestamp("2026-11-05 13:32", tz="UTC")
    assert facts["recovery"] == dt.date(2026, 11, 8)


def test_the_story_falls_inside_the_default_window_and_not_in_the_one_before(facts):
    """The pages open on the last 28 days (23 Oct - 19 Nov); the drift page compares them
    with the 28 days before (25 Sep - 22 Oct) by default."""
    window = last_days(28, now=NOW.to_pydatetime())
    assert (window.since, window.until) == (
        pd.Timestamp("2026-10-23", tz="UTC"),
        pd.Timestamp("2026-11-20", tz="UTC"),
    )
    # Four calm days open the window, then the shift, the incident, the retrain, the recovery.
    assert window.since + pd.Timedelta(days=4) < facts["drift_started_at"]
    assert facts["drift_started_at"] < facts["incident_opened_at"] < facts["retrain_finished_at"]
    assert pd.Timestamp(facts["recovery"], tz="UTC") + pd.Timedelta(days=12) == window.until
    assert window.previous().until <= facts["drift_started_at"]


def test_the_feature_shifts_strongly_and_stays_shifted(year, facts):
    inference = year["inference"]
    values = inference.loc[inference["model"] == facts["model"], ["ts", facts["feature"]]]
    drift = pd.Timestamp(facts["drift_start"], tz="UTC")
    before = values[(values["ts"] >= drift - pd.Timedelta(days=28)) & (values["ts"] < drift)]
    after = values[values["ts"] >= drift + pd.Timedelta(days=1)]
    last_week = values[values["ts"] >= WEEK_START]
    feature = facts["feature"]
    assert after[feature].median() / before[feature].median() > 100
    standardized_difference = (after[feature].mean() - before[feature].mean()) / before[
        feature
    ].std()
    assert standardized_difference > 50
    assert last_week[feature].median() / before[feature].median() > 100
    # The 28 days before were calm: no shift within them.
    halves = before[feature].groupby(before["ts"] < drift - pd.Timedelta(days=14)).median()
    assert 0.8 < halves.min() / halves.max() <= 1


def test_ctr_breaks_the_guardrail_until_the_retrain_then_recovers(story_ctr, facts):
    guardrail = story_ctr["guardrail"].iloc[0]
    drift, recovery = facts["drift_start"], facts["recovery"]
    retrain_day = facts["retrain_finished_at"].date()
    during = story_ctr.loc[day(drift, 1) : day(retrain_day, -1), "value"]
    after = story_ctr.loc[day(recovery) :, "value"]
    before = story_ctr.loc[day(drift, -28) : day(drift, -1), "value"]
    assert len(during) == 8 and (during < guardrail).all()
    assert len(after) == 12 and (after > guardrail).all()  # 8 - 19 Nov
    assert (before > guardrail).all()
    assert abs(after.mean() / before.mean() - 1) < 0.05


def test_the_default_window_shows_the_guardrail_break_and_the_recovery(story_ctr):
    """Click-through in the last 28 days is below its 4.3% guardrail (usually about 5.0%) from
    the shift's day to the day after the retrain: the shift at 10:12 leaves 58% of 27 Oct at
    -34% (-20% over the day, about 4.0%), the retrain at 13:32 leaves 5 Nov at -32%, 6 Nov is
    a third of the way back (-23%, about 3.9%); 7 Nov, two thirds back (-11%, about 4.4%),
    holds it again."""
    window = story_ctr.loc[pd.Timestamp("2026-10-23") : pd.Timestamp("2026-11-19")]
    assert len(window) == 28
    broken = window.index[window["value"] < window["guardrail"]]
    assert list(broken) == list(pd.date_range("2026-10-27", "2026-11-06"))  # 11 days
    assert window.loc[pd.Timestamp("2026-11-07") :, "value"].gt(0.043).all()


def test_the_incident_sits_between_shift_and_retrain(year, facts):
    incidents = year["incidents"].set_index("incident_id")
    incident = incidents.loc[facts["incident_id"]]
    assert incident["model"] == facts["model"] and incident["severity"] == "sev2"
    assert facts["drift_started_at"] < incident["opened_at"] < facts["retrain_finished_at"]
    assert incident["resolved_at"] == facts["retrain_finished_at"]
    assert incident["deployment_id"] is None


def test_errors_spike_around_the_incident(year, facts):
    inference = year["inference"]
    rows = inference[inference["model"] == facts["model"]]
    is_error = rows["status"] == "error"
    spike = rows["ts"].between(facts["drift_started_at"], facts["incident_opened_at"])
    assert is_error[spike].mean() > 3 * is_error[~spike].mean()


def test_the_retrain_is_a_new_version_in_production(year, facts):
    deployments = year["deployments"].set_index("deployment_id")
    retrain = deployments.loc[facts["retrain_deployment_id"]]
    assert (retrain["model"], retrain["environment"], retrain["status"]) == (
        facts["model"],
        "production",
        "success",
    )
    assert retrain["version"] == facts["retrain_version"]
    assert retrain["finished_at"] == facts["retrain_finished_at"]
    inference = year["inference"]
    rows = inference[inference["model"] == facts["model"]]
    served_before = rows.loc[rows["ts"] < retrain["finished_at"], "model_version"]
    assert facts["retrain_version"] not in set(served_before)
    assert served_before.iloc[-1] == facts["version_before_retrain"]
    next_day = rows[
        rows["ts"].between(retrain["finished_at"], retrain["finished_at"] + pd.Timedelta(days=1))
    ]
    assert set(next_day["model_version"]) == {facts["retrain_version"]}


def test_the_retrain_brings_ranking_quality_back(year, facts):
    inference = year["inference"]
    rows = inference[
        (inference["model"] == facts["model"])
        & inference["label"].notna()
        & (inference["prediction"] <= 3)
    ]
    period = np.select(
        [rows["ts"] < facts["drift_started_at"], rows["ts"] < facts["retrain_finished_at"]],
        ["before", "drifted"],
        "retrained",
    )
    # Share of the items shown in the top three places that were clicked.
    clicks_at_top = rows["label"].groupby(period).mean()
    assert clicks_at_top["drifted"] < 0.8 * clicks_at_top["before"]
    assert clicks_at_top["retrained"] > 0.9 * clicks_at_top["before"]


# --- this week -------------------------------------------------------------------------------


def test_the_last_week_has_data_in_every_feed(year):
    deployments = year["deployments"]
    assert (deployments["finished_at"] >= WEEK_START).sum() > 0
    production = deployments[deployments["environment"] == "production"]
    assert (production["finished_at"] >= WEEK_START).sum() > 0
    assert (year["inference"]["ts"] >= WEEK_START).sum() > 5_000
    assert (year["ticket_transitions"]["at"] >= WEEK_START).sum() > 30
    assert (year["kpis"]["date"] == pd.Timestamp(END)).sum() == year["kpis"].groupby(
        ["kpi", "model", "segment"]
    ).ngroups


# --- the year as it stands at now --------------------------------------------------------------


@pytest.fixture(scope="module")
def at_now() -> dict[str, pd.DataFrame]:
    return demo_data.generate(END, now=NOW.to_pydatetime())


def _latest(frame: pd.DataFrame, feed: str) -> pd.Timestamp:
    return max(frame[column].max() for column in TIMESTAMPS[feed])


@pytest.mark.parametrize("feed", list(TIMESTAMPS))
def test_no_feed_holds_anything_after_now(year, at_now, feed):
    assert _latest(at_now[feed], feed) <= NOW
    # Where the whole year has later moments, the cut had something to do (incidents and
    # changes have none after 14:00: they are cut on other days below).
    if feed not in ("changes", "incidents"):
        assert _latest(year[feed], feed) > NOW


def test_kpis_hold_only_days_that_are_over(year, at_now):
    """Daily rows: at 14:00 on 19 Nov the 19th is not over, so its rows come tomorrow."""
    assert at_now["kpis"]["date"].max() == pd.Timestamp("2026-11-18")
    pd.testing.assert_frame_equal(
        at_now["kpis"], year["kpis"][year["kpis"]["date"] < pd.Timestamp(END)]
    )


def test_a_deployment_still_running_at_now_vanishes_with_its_changes(year, at_now):
    """fraud 3.46.0: staged 13:16-13:24, in production 15:41-16:11 on 19 Nov, shipping one
    pull request merged the day before."""
    deployments = year["deployments"].set_index("deployment_id")
    assert deployments.loc["dep-fraud-0057", "finished_at"] == pd.Timestamp(
        "2026-11-19 16:11:39", tz="UTC"
    )
    shipped = year["changes"]
    assert list(shipped.loc[shipped["deployment_id"] == "dep-fraud-0057", "change_id"]) == [
        "pr-fraud-0158"
    ]
    assert "dep-fraud-0057" not in set(at_now["deployments"]["deployment_id"])
    assert "dep-fraud-0056" in set(at_now["deployments"]["deployment_id"])  # staging, done
    assert "pr-fraud-0158" not in set(at_now["changes"]["change_id"])
    # Nothing else moves: the same rows, ids and all, minus those two.
    pd.testing.assert_frame_equal(
        at_now["deployments"],
        year["deployments"][year["deployments"]["deployment_id"] != "dep-fraud-0057"].reset_index(
            drop=True
        ),
    )
    pd.testing.assert_frame_equal(
        at_now["changes"],
        shipped[shipped["change_id"] != "pr-fraud-0158"].reset_index(drop=True),
    )


def test_requests_after_now_are_not_logged_yet(year, at_now):
    inference = year["inference"]
    before = inference[inference["ts"] <= NOW].reset_index(drop=True)
    assert len(before) < len(inference) and len(at_now["inference"]) == len(before)
    assert (at_now["inference"]["request_id"] == before["request_id"]).all()
    # The last day's rows in full (all 640k would take seconds to compare).
    last_day = slice(int(before["ts"].searchsorted(pd.Timestamp(END, tz="UTC"))), None)
    pd.testing.assert_frame_equal(at_now["inference"][last_day], before[last_day])


def test_tickets_read_as_they_stood_at_now(year, at_now):
    """GRW-781 went from In Review to Done at 15:05:56 on 19 Nov: at 14:00 it is in review."""
    done = year["tickets"].set_index("ticket_id").loc["GRW-781"]
    in_review = at_now["tickets"].set_index("ticket_id").loc["GRW-781"]
    assert (done["status"], done["resolved_at"]) == (
        "Done",
        pd.Timestamp("2026-11-19 15:05:56", tz="UTC"),
    )
    assert in_review["status"] == "In Review" and pd.isna(in_review["resolved_at"])
    assert in_review["assignee"] == "Amara Okafor"
    transitions = year["ticket_transitions"]
    pd.testing.assert_frame_equal(
        at_now["ticket_transitions"],
        transitions[transitions["at"] <= NOW].reset_index(drop=True),
    )
    # The same tickets, ids and titles (none was created after 14:00 on the last day).
    assert list(at_now["tickets"]["ticket_id"]) == list(year["tickets"]["ticket_id"])
    assert list(at_now["tickets"]["title"]) == list(year["tickets"]["title"])


def test_an_incident_resolved_after_now_is_still_open_and_one_opened_later_is_not_there():
    """INC-0033 (fraud 3.45.0) was opened 12 Nov 14:36 and resolved 15 Nov 14:36; INC-0034
    was opened on 17 Nov. Seen on 13 Nov at noon, the first is open and the second unknown."""
    now = pd.Timestamp("2026-11-13 12:00", tz="UTC")
    incidents = demo_data.generate(END, now=now.to_pydatetime())["incidents"]
    incidents = incidents.set_index("incident_id")
    assert incidents.index[-1] == "INC-0033"
    assert incidents.loc["INC-0033", "opened_at"] == pd.Timestamp("2026-11-12 14:36:42", tz="UTC")
    assert pd.isna(incidents.loc["INC-0033", "resolved_at"])
    assert incidents.loc["INC-0033", "deployment_id"] == "dep-fraud-0055"
    assert incidents.loc["INC-0032", "resolved_at"] == pd.Timestamp("2026-10-31 00:41:27", tz="UTC")


def test_an_incident_naming_a_release_still_rolling_back_names_none_yet():
    """Hand-made rows: a release started at 10:00 is rolled back at 11:00; an incident opened
    at 10:20 names it. At 10:30 the release has not finished (a deployment is a finished
    attempt), so the incident is open and names no release yet."""
    utc = lambda text: pd.Timestamp(text, tz="UTC")  # noqa: E731
    frames = {
        "deployments": pd.DataFrame(
            {
                "deployment_id": ["dep-a", "dep-b"],
                "started_at": [utc("2026-11-19 08:00"), utc("2026-11-19 10:00")],
                "finished_at": [utc("2026-11-19 08:20"), utc("2026-11-19 11:00")],
            }
        ),
        "changes": pd.DataFrame(
            {"change_id": ["pr-1", "pr-2"], "deployment_id": ["dep-a", "dep-b"]}
        ),
        "incidents": pd.DataFrame(
            {
                "incident_id": ["INC-1", "INC-2"],
                "opened_at": [utc("2026-11-19 08:30"), utc("2026-11-19 10:20")],
                "resolved_at": [utc("2026-11-19 09:00"), utc("2026-11-19 11:00")],
                "deployment_id": ["dep-a", "dep-b"],
            }
        ),
        "inference": pd.DataFrame({"ts": [utc("2026-11-19 10:29"), utc("2026-11-19 10:31")]}),
        "kpis": pd.DataFrame({"date": pd.to_datetime(["2026-11-18", "2026-11-19"])}),
    }
    cut = as_of.cut(frames, dt.datetime(2026, 11, 19, 10, 30))
    assert list(cut["deployments"]["deployment_id"]) == ["dep-a"]
    assert list(cut["changes"]["change_id"]) == ["pr-1"]
    incidents = cut["incidents"].set_index("incident_id")
    assert incidents.loc["INC-1", "resolved_at"] == utc("2026-11-19 09:00")
    assert incidents.loc["INC-1", "deployment_id"] == "dep-a"
    assert pd.isna(incidents.loc["INC-2", "resolved_at"])
    assert incidents.loc["INC-2", "deployment_id"] is None
    assert list(cut["inference"]["ts"]) == [utc("2026-11-19 10:29")]
    assert list(cut["kpis"]["date"]) == [pd.Timestamp("2026-11-18")]


def test_the_demo_source_cuts_its_year_at_the_clock(monkeypatch):
    seen = {}

    def generate(end, now=None, seed=7):
        seen.update(end=end, now=now, seed=seed)
        return {feed: pd.DataFrame() for feed in demo_data.FEEDS}

    monkeypatch.setattr(demo_data, "generate", generate)
    monkeypatch.setenv(settings.NOW_ENV, "2026-11-19T14:00:00Z")
    source = settings.SourceConfig(name="demo", kind="demo", options={})
    assert [name for name, _ in DemoConnector(source).extract()] == list(demo_data.FEEDS)
    assert seen == {"end": END, "now": NOW.to_pydatetime(), "seed": 7}
