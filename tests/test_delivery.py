"""DORA metrics on one small history worked out by hand (window: the two weeks from Mon 2 Nov).

m1 (team a): p0 ok 30 Oct | p1 ok 2 Nov 12:00 | p2 FAILED 3 Nov 09:00 | p3 ok 3 Nov 15:00
             s1 staging ok 4 Nov | p6 ok 12 Nov 10:00
m2 (team b): p4 ROLLED BACK 9 Nov 10:00+02:00 | p5 ok 10 Nov 08:00 | p7 FAILED 15 Nov 10:00
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import settings
import warehouse
from connectors.loader import Batch, Loader
from metrics import db, delivery
from metrics.filters import Filters
from metrics.status import deployment_frequency_level, dora_level


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


WINDOW = Filters(utc("2026-11-02"), utc("2026-11-16"))

DEPLOYMENTS = pd.DataFrame(
    [
        ("p0", "m1", "Production", "a", "2026-10-30 10:00", "success"),
        ("p1", "m1", "production", "a", "2026-11-02 12:00", "success"),
        ("p2", "m1", "PRODUCTION", "a", "2026-11-03 09:00", "failed"),
        ("p3", "m1", "production", "a", "2026-11-03 15:00", "success"),
        ("s1", "m1", "staging", "a", "2026-11-04 10:00", "success"),
        ("p4", "m2", "production", "b", "2026-11-09 10:00+02:00", "rolled_back"),
        ("p5", "m2", "production", "b", "2026-11-10 08:00", "success"),
        ("p6", "m1", "production", "a", "2026-11-12 10:00", "success"),
        ("p7", "m2", "production", "b", "2026-11-15 10:00", "failed"),
    ],
    columns=["deployment_id", "model", "environment", "team", "finished_at", "status"],
)

CHANGES = pd.DataFrame(
    [
        ("c1", "p1", "2026-11-01 12:00", None),  # 24 h
        ("c2", "p2", "2026-11-03 03:00", None),  # names a failed one: ships with p3, 12 h
        ("c3", "p3", "2026-11-03 14:00", None),  # 1 h
        ("c4", "s1", "2026-11-04 09:00", None),  # staging: ships with p6, 193 h
        ("c5", "p6", "2026-11-12 11:00", None),  # first commit after the deploy: left out
        ("c6", "p0", "2026-10-29 10:00", None),  # shipped before the window
        ("c7", "p7", "2026-11-14 09:00", "2026-11-14 10:00"),  # nothing shipped it yet
    ],
    columns=["change_id", "deployment_id", "first_commit_at", "merged_at"],
)

INCIDENTS = pd.DataFrame(
    [
        # before m1 ever deployed: unattributed (and outside the window)
        ("i0", "m1", "a", "2026-10-01 10:00", "2026-10-02 10:00", None),
        # names none: the latest m1 success at or before it is p3
        ("i1", "m1", "a", "2026-11-03 16:00", "2026-11-03 18:00", None),
        # names p4
        ("i2", "m2", "b", "2026-11-09 09:00+00:00", "2026-11-09 13:00", "p4"),
        # names none: p5; never resolved
        ("i3", "m2", "b", "2026-11-14 10:00", None, None),
        # a model that never deployed: unattributed, inside the window
        ("i4", "m9", None, "2026-11-05 00:00", "2026-11-05 03:00", None),
    ],
    columns=["incident_id", "model", "team", "opened_at", "resolved_at", "deployment_id"],
)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = tmp_path_factory.mktemp("delivery") / "w.duckdb"
    source = settings.SourceConfig(name="fixture", kind="test")
    with warehouse.writing(path) as write:
        loader = Loader(write, source, "s1")
        for feed, frame in (
            ("deployments", DEPLOYMENTS),
            ("changes", CHANGES),
            ("incidents", INCIDENTS),
        ):
            assert loader.load(Batch(feed, feed, frame=frame)).quarantined == 0
    connection = db.prepare(warehouse.connect_read(path))
    yield connection
    connection.close()


def test_summary_for_the_window(con):
    assert delivery.summary(con, WINDOW) == {
        # p1, p3, p5, p6 succeeded, on 4 distinct days; 4 / (14 / 7) per week
        "deployments": 4,
        "deployment_days": 4,
        "deployments_per_week": 2.0,
        # 1, 12, 24, 193 h: median 18; p90 at rank 2.7 = 24 + 0.7 * (193 - 24)
        "lead_time_hours": {
            "median": 18.0,
            "p90": pytest.approx(142.3),
            "changes": 4,
            "left_out": 1,
        },
        # p1..p7 finished inside (s1 is staging); p2 failed, p3 has i1, p4 rolled back,
        # p5 has i3, p7 failed
        "change_failure_rate": pytest.approx(5 / 7),
        "failed_deployments": 5,
        "deployments_attempted": 7,
        # i1 2 h, i2 4 h, i4 3 h, and p2 (no incident) restored by p3 after 6 h: median 3.5;
        # i3 (open) and p7 (no later success) unrecovered
        "recovery_time_hours": {"median": 3.5, "recovered": 4, "unrecovered": 2},
        # p1, p3, p5, p6: no kind, no incident fix, none while an incident of its model was
        # open (i1 opened after p3; p4 finished before i2 opened and is not a success)
        "rework_rate": 0.0,
        "rework_deployments": 0,
        "unattributed_incidents": 1,
        "attribution": {
            "rule": "named deployment, else the model's latest successful production "
            "deployment before the incident opened (no window)",
            "window_hours": None,
        },
        "levels_source": "DORA 2023 bands (DORA's 2025 report replaced tiers with team "
        "profiles; rework rate has no band)",
        # median deployment days per week 2 (high); lead time median 18 h < 1 day (elite)
        "levels": {
            "deployment_frequency": "high",
            "lead_time": "elite",
            "change_failure_rate": "low",
            "recovery_time": "high",
        },
    }


def test_one_team(con):
    b = delivery.summary(con, Filters(WINDOW.since, WINDOW.until, team="b"))
    assert (b["deployments"], b["deployments_attempted"], b["failed_deployments"]) == (1, 3, 3)
    assert b["change_failure_rate"] == 1.0
    assert b["lead_time_hours"] == {"median": None, "p90": None, "changes": 0, "left_out": 0}
    assert b["recovery_time_hours"] == {"median": 4.0, "recovered": 1, "unrecovered": 2}
    assert b["levels"]["lead_time"] is None


def test_an_empty_window_is_null_not_zero(con):
    empty = delivery.summary(con, Filters(utc("2020-01-06"), utc("2020-01-20")))
    assert empty["deployments"] == 0 and empty["deployments_attempted"] == 0
    assert empty["change_failure_rate"] is None
    assert empty["lead_time_hours"]["median"] is None
    assert empty["recovery_time_hours"]["median"] is None
    assert empty["levels"] == {
        "deployment_frequency": "low",
        "lead_time": None,
        "change_failure_rate": None,
        "recovery_time": None,
    }


def test_detail_lists_the_rows_behind_the_numbers(con):
    detail = delivery.detail(con, WINDOW)
    assert detail["changes"] == [
        {"change_id": "c1", "deployment_id": "p1", "lead_time_hours": 24.0},
        {"change_id": "c2", "deployment_id": "p3", "lead_time_hours": 12.0},
        {"change_id": "c3", "deployment_id": "p3", "lead_time_hours": 1.0},
        {"change_id": "c4", "deployment_id": "p6", "lead_time_hours": 193.0},
        {"change_id": "c5", "deployment_id": "p6", "lead_time_hours": -1.0},
        {"change_id": "c7", "deployment_id": None, "lead_time_hours": None},
    ]
    assert detail["incidents"] == [
        {"incident_id": "i1", "deployment_id": "p3", "recovery_time_hours": 2.0},
        {"incident_id": "i4", "deployment_id": None, "recovery_time_hours": 3.0},
        {"incident_id": "i2", "deployment_id": "p4", "recovery_time_hours": 4.0},
        {"incident_id": "i3", "deployment_id": "p5", "recovery_time_hours": None},
    ]
    assert detail["deployments"] == [
        {"deployment_id": d, "failed": f, "rework": False, "rework_reasons": []}
        for d, f in (
            ("p1", False),
            ("p2", True),
            ("p3", True),
            ("p4", True),
            ("p5", True),
            ("p6", False),
            ("p7", True),
        )
    ]


def test_shipped_lead_times_leave_out_negative_and_unshipped(con):
    shipped = delivery.shipped_lead_times(con, WINDOW)
    assert shipped["change_id"].tolist() == ["c1", "c2", "c3", "c4"]  # not c5 (<0), not c7


def test_an_incident_before_any_deployment_is_unattributed(con):
    october = delivery.incidents(con, Filters(utc("2026-10-01"), utc("2026-10-02")))
    assert october[["incident_id", "is_unattributed"]].values.tolist() == [["i0", True]]


def test_weekly(con):
    weekly = delivery.weekly(con, WINDOW)
    assert weekly[
        ["deployments", "deployments_attempted", "failed_deployments"]
    ].values.tolist() == [[2, 3, 2], [2, 4, 3]]
    assert weekly["change_failure_rate"].tolist() == pytest.approx([2 / 3, 3 / 4])
    # week 1: c1 24, c2 12, c3 1 -> 12; week 2: c4 193 (c5 is negative)
    assert weekly["lead_time_median_hours"].tolist() == [12.0, 193.0]
    # incidents resolved: week 1 i1 2 h and i4 3 h; week 2 i2 4 h
    assert weekly["recovery_median_hours"].tolist() == [2.5, 4.0]


def test_by_team_and_model(con):
    teams = delivery.by_team(con, WINDOW).set_index("team")
    assert list(teams.index) == ["a", "b"]
    models = delivery.by_model(con, Filters(WINDOW.since, WINDOW.until, team="b"))
    assert models["model"].tolist() == ["m2"]
    assert models["change_failure_rate"].tolist() == [1.0]
    assert teams.loc["a", "deployments"] == 3 and teams.loc["b", "deployments"] == 1
    assert teams.loc["a", "lead_time_median_hours"] == 18.0


@pytest.mark.parametrize(
    ("metric", "value", "level"),
    [
        ("lead_time", 23.9, "elite"),
        ("lead_time", 24.0, "high"),
        ("lead_time", 167.9, "high"),
        ("lead_time", 168.0, "medium"),
        ("lead_time", 720.0, "low"),
        ("change_failure_rate", 0.05, "elite"),
        ("change_failure_rate", 0.051, "high"),
        ("change_failure_rate", 0.10, "high"),
        ("change_failure_rate", 0.15, "medium"),
        ("change_failure_rate", 0.151, "low"),
        ("recovery_time", 0.99, "elite"),
        ("recovery_time", 1.0, "high"),
        ("recovery_time", 24.0, "medium"),
        ("recovery_time", 168.0, "low"),
        ("recovery_time", None, None),
    ],
)
def test_dora_bands(metric, value, level):
    assert dora_level(metric, value) == level


@pytest.mark.parametrize(
    ("per_week", "per_month", "level"),
    [
        (5, 20, "elite"),
        (4.5, 20, "high"),
        (1, 4, "high"),
        (0.5, 2, "medium"),
        (0, 1, "medium"),
        (0, 0.5, "low"),
        (None, None, "low"),
    ],
)
def test_deployment_frequency_bands(per_week, per_month, level):
    assert deployment_frequency_level(per_week, per_month) == level


# Rework rate and the attribution window, on a second history worked out by hand (same window).
# r1 (team a): q0 planned 1 Nov 10:00 (before) | q1 HOTFIX 3 Nov 10:00 during j1 |
#   q2 4 Nov 10:00 ships k1 (fixes INC-7, not in the feed) | q3 FAILED 5 Nov 10:00 |
#   q4 6 Nov 10:00 ships k2 (names the failed q3, fixes j1) | q5 ROLLBACK kind 7 Nov 10:00 |
#   q6 planned 9 Nov 10:00 | q8 11 Nov 12:00, just as j3 resolved | q9 12 Nov 09:00, as j4 opened
# r2 (team b): q7 10 Nov 10:00 while j2 (team c, opened 20 Oct, never resolved) is open
# r3 (team a): d1 2 Nov 00:00; ja 23:59 later, jb 24:00 later, jc 24:01 later; jd names d1
REWORK_DEPLOYMENTS = pd.DataFrame(
    [
        ("q0", "r1", "a", "2026-11-01 10:00", "success", "planned"),
        ("q1", "r1", "a", "2026-11-03 10:00", "success", "Hotfix"),
        ("q2", "r1", "a", "2026-11-04 10:00", "success", None),
        ("q3", "r1", "a", "2026-11-05 10:00", "failed", None),
        ("q4", "r1", "a", "2026-11-06 10:00", "success", "planned"),
        ("q5", "r1", "a", "2026-11-07 10:00", "success", "rollback"),
        ("q6", "r1", "a", "2026-11-09 10:00", "success", "planned"),
        ("q7", "r2", "b", "2026-11-10 10:00", "success", None),
        ("q8", "r1", "a", "2026-11-11 12:00", "success", None),
        ("q9", "r1", "a", "2026-11-12 09:00", "success", None),
        ("d1", "r3", "a", "2026-11-02 00:00", "success", None),
    ],
    columns=["deployment_id", "model", "team", "finished_at", "status", "kind"],
).assign(environment="production")

REWORK_CHANGES = pd.DataFrame(
    [
        ("k1", "q2", "2026-11-04 08:00", "INC-7"),
        ("k2", "q3", "2026-11-05 08:00", "j1"),
        ("k3", "q6", "2026-11-09 08:00", None),
    ],
    columns=["change_id", "deployment_id", "first_commit_at", "incident_id"],
)

REWORK_INCIDENTS = pd.DataFrame(
    [
        ("j1", "r1", "a", "2026-11-03 09:00", "2026-11-03 12:00", None),
        ("j2", "r2", "c", "2026-10-20 09:00", None, None),
        ("j3", "r1", "a", "2026-11-11 08:00", "2026-11-11 12:00", None),
        ("j4", "r1", "a", "2026-11-12 09:00", "2026-11-12 10:00", None),
        ("ja", "r3", "a", "2026-11-02 23:59", "2026-11-03 00:59", None),
        ("jb", "r3", "a", "2026-11-03 00:00", "2026-11-03 01:00", None),
        ("jc", "r3", "a", "2026-11-03 00:01", "2026-11-03 02:01", None),
        ("jd", "r3", "a", "2026-11-05 00:00", "2026-11-05 04:00", "d1"),
    ],
    columns=["incident_id", "model", "team", "opened_at", "resolved_at", "deployment_id"],
)


@pytest.fixture(scope="module")
def rework_con(tmp_path_factory):
    path = tmp_path_factory.mktemp("rework") / "w.duckdb"
    source = settings.SourceConfig(name="fixture", kind="test")
    with warehouse.writing(path) as write:
        loader = Loader(write, source, "s1")
        for feed, frame in (
            ("deployments", REWORK_DEPLOYMENTS),
            ("changes", REWORK_CHANGES),
            ("incidents", REWORK_INCIDENTS),
        ):
            assert loader.load(Batch(feed, feed, frame=frame)).quarantined == 0
    connection = db.prepare(warehouse.connect_read(path))
    yield connection
    connection.close()


def test_rework_rate_counts_kind_fixing_changes_and_open_incidents(rework_con):
    # in the window, successful: q1 q2 q4 q5 q6 q7 q8 q9 d1 = 9; rework: q1 (hotfix, j1 open),
    # q2 (k1), q4 (k2 via the failed q3), q5 (rollback), q7 (j2, another team's, weeks old),
    # q9 (finished as j4 opened) = 6. Not q8 (j3 resolved as it finished), q6, d1.
    assert delivery.rework(rework_con, WINDOW) == {
        "rework_rate": pytest.approx(6 / 9),
        "rework_deployments": 6,
        "deployments": 9,
    }
    reasons = {
        d["deployment_id"]: d["rework_reasons"]
        for d in delivery.detail(rework_con, WINDOW)["deployments"]
        if d["rework"]
    }
    assert reasons == {
        "q1": ["kind hotfix", "open incident j1"],
        "q2": ["fixing change k1"],
        "q4": ["fixing change k2"],
        "q5": ["kind rollback"],
        "q7": ["open incident j2"],
        "q9": ["open incident j4"],
    }


def test_rework_per_team_week_and_empty_windows(rework_con):
    # team a: q1 q2 q4 q5 q6 q8 q9 d1 = 8, rework 5; team b: q7, rework
    teams = delivery.by_team(rework_con, WINDOW).set_index("team")
    assert teams.loc["a", "rework_rate"] == pytest.approx(5 / 8)
    assert teams.loc["b", "rework_rate"] == 1.0
    assert list(teams["rework_deployments"]) == [5, 1]
    # week of 2 Nov: q1 q2 q4 q5 d1, rework 4; week of 9 Nov: q6 q7 q8 q9, rework 2
    weeks = delivery.weekly(rework_con, WINDOW)
    assert list(weeks["rework_deployments"]) == [4, 2]
    assert list(weeks["rework_rate"]) == [pytest.approx(0.8), 0.5]
    # no deployment: null, not zero (team c only has an incident; the week after has nothing)
    for empty in (
        Filters(WINDOW.since, WINDOW.until, "c"),
        Filters(utc("2026-11-16"), utc("2026-11-23")),
    ):
        assert delivery.rework(rework_con, empty) == {
            "rework_rate": None,
            "rework_deployments": 0,
            "deployments": 0,
        }


def _attributed(con) -> dict:
    return {i["incident_id"]: i["deployment_id"] for i in delivery.detail(con, WINDOW)["incidents"]}


def test_attribution_window_bounds_the_fallback_and_a_named_deployment_wins(rework_con):
    # no window: the latest success of the model at or before the incident opened
    assert _attributed(rework_con) == {
        "j1": "q0",
        "ja": "d1",
        "jb": "d1",
        "jc": "d1",
        "jd": "d1",
        "j3": "q6",
        "j4": "q9",
    }
    try:
        delivery.use_attribution_window(rework_con, 24)
        # 24 h: ja (23:59 after d1) and jb (exactly 24:00) stay; jc (24:01) and j1 (q0, 47 h
        # before) and j3 (q6, 46 h) fall out; jd names d1 (3 days before) and keeps it; j4 is
        # 0 h after q9
        assert _attributed(rework_con) == {
            "j1": None,
            "ja": "d1",
            "jb": "d1",
            "jc": None,
            "jd": "d1",
            "j3": None,
            "j4": "q9",
        }
        summary = delivery.summary(rework_con, WINDOW)
        assert summary["unattributed_incidents"] == 3
        assert summary["attribution"]["window_hours"] == 24.0
        assert "at most 24 hours before" in summary["attribution"]["rule"]
        # unattributed ones still recover: j1 3 h, j3 4 h, ja 1 h, jb 1 h, jc 2 h, jd 4 h,
        # j4 1 h, and the failed q3 (no incident) restored by q4 after 24 h; median of
        # 1 1 1 2 3 4 4 24 is 2.5 (j2 opened before the window and is still open)
        recovery = delivery.recovery_time(rework_con, WINDOW)
        assert recovery["recovered"] == 8
        assert recovery["median"] == 2.5
    finally:
        delivery.use_attribution_window(rework_con, None)
    assert _attributed(rework_con)["jc"] == "d1"


# AI-assisted split, team level: e1 ok 3 Nov 10:00 | e2 FAILED 4 Nov 10:00 | e3 HOTFIX 5 Nov 10:00
# | e4 ok 6 Nov 10:00 (all m1, team a). AI-assisted: x1 (alice, 4 h) and x2 (bob, 2 h) on e1, x3
# (carol) names the failed e2 and ships with e3 (30 h). Not: x4 (dan, 1 h), x5 (erin, 3 h) on e4.
# Unknown: x6 (alice) on e3.
AI_DEPLOYMENTS = pd.DataFrame(
    [
        ("e1", "2026-11-03 10:00", "success", None),
        ("e2", "2026-11-04 10:00", "failed", None),
        ("e3", "2026-11-05 10:00", "success", "hotfix"),
        ("e4", "2026-11-06 10:00", "success", None),
    ],
    columns=["deployment_id", "finished_at", "status", "kind"],
).assign(model="m1", team="a", environment="production")

AI_CHANGES = pd.DataFrame(
    [
        ("x1", "e1", "2026-11-03 06:00", "alice", True),
        ("x2", "e1", "2026-11-03 08:00", "bob", True),
        ("x3", "e2", "2026-11-04 04:00", "carol", True),
        ("x4", "e4", "2026-11-06 09:00", "dan", False),
        ("x5", "e4", "2026-11-06 07:00", "erin", False),
        ("x6", "e3", "2026-11-05 08:00", "alice", None),
    ],
    columns=["change_id", "deployment_id", "first_commit_at", "author", "ai_assisted"],
)


@pytest.fixture(scope="module")
def ai_con(tmp_path_factory):
    path = tmp_path_factory.mktemp("ai") / "w.duckdb"
    source = settings.SourceConfig(name="fixture", kind="test")
    with warehouse.writing(path) as write:
        loader = Loader(write, source, "s1")
        for feed, frame in (("deployments", AI_DEPLOYMENTS), ("changes", AI_CHANGES)):
            assert loader.load(Batch(feed, feed, frame=frame)).quarantined == 0
    connection = db.prepare(warehouse.connect_read(path))
    yield connection
    connection.close()


def test_ai_assisted_split_per_team_withholds_small_groups(ai_con):
    withheld = "fewer than 3 people — hidden"
    assert delivery.by_ai_assisted(ai_con, WINDOW) == [
        # dan and erin: 2 people
        {"team": "a", "ai_assisted": "false", "withheld": withheld},
        # alice, bob, carol; deployments e1, e2 (named by x3), e3 (shipped x3): e2 failed, e3
        # is a hotfix; lead times 2, 4, 30 h
        {
            "team": "a",
            "ai_assisted": "true",
            "withheld": None,
            "people": 3,
            "lead_time_median_hours": 4.0,
            "changes": 3,
            "change_failure_rate": pytest.approx(1 / 3),
            "failed_deployments": 1,
            "deployments_attempted": 3,
            "rework_rate": 0.5,
            "rework_deployments": 1,
            "deployments": 2,
        },
        # alice alone
        {"team": "a", "ai_assisted": "unknown", "withheld": withheld},
    ]
    # two people are enough at min_people 2: e4 neither failed nor rework; 1 h and 3 h
    shown = {r["ai_assisted"]: r for r in delivery.by_ai_assisted(ai_con, WINDOW, 2)}
    assert shown["false"]["lead_time_median_hours"] == 2.0
    assert (shown["false"]["change_failure_rate"], shown["false"]["rework_rate"]) == (0.0, 0.0)
    assert shown["unknown"]["withheld"].startswith("fewer than 2 people")
    # a window without deployments has no group at all
    assert delivery.by_ai_assisted(ai_con, Filters(utc("2026-11-16"), utc("2026-11-23"))) == []


def test_delivery_and_privacy_settings(tmp_path):
    parsed = settings.parse(
        {"delivery": {"attribution_window_hours": 72}, "privacy": {"min_people": 5}},
        tmp_path,
        "t.toml",
    )
    assert (parsed.attribution_window_hours, parsed.min_people) == (72.0, 5)
    unset = settings.parse({}, tmp_path, "t.toml")
    assert (unset.attribution_window_hours, unset.min_people) == (None, 3)
    for bad in (
        {"delivery": {"attribution_window_hours": 0}},
        {"delivery": {"attribution_window_hours": "3 days"}},
        {"privacy": {"min_people": 0}},
        {"privacy": {"min_people": 2.5}},
    ):
        with pytest.raises(settings.ConfigError, match="attribution_window_hours|min_people"):
            settings.parse(bad, tmp_path, "t.toml")


def test_a_change_naming_a_ticket_linked_to_an_incident_is_a_fix(tmp_path):
    """A change that names no incident but whose title names a ticket the tracker linked to
    one (Jira: an issue link to an incident) fixes it: its deployment is rework. ML-40 is not
    ML-4, and a ticket without a link makes nothing rework."""
    path = tmp_path / "w.duckdb"
    deployments = pd.DataFrame(
        [
            ("p1", "m", "a", "2026-11-04 10:00", "success"),
            ("p2", "m", "a", "2026-11-05 10:00", "success"),
            ("p3", "m", "a", "2026-11-06 10:00", "success"),
        ],
        columns=["deployment_id", "model", "team", "finished_at", "status"],
    ).assign(environment="production")
    changes = pd.DataFrame(
        [
            ("c1", "p1", "2026-11-04 08:00", "ML-4: fix null user_id in the join"),
            ("c2", "p2", "2026-11-05 08:00", "ML-40 tidy the feature names"),
            ("c3", "p3", "2026-11-06 08:00", "Retrain (ML-2)"),
        ],
        columns=["change_id", "deployment_id", "first_commit_at", "title"],
    )
    tickets = pd.DataFrame(
        [
            ("ML-4", "2026-11-01 08:00", "ML-6"),
            ("ML-40", "2026-11-01 08:00", None),
            ("ML-2", "2026-11-01 08:00", None),
        ],
        columns=["ticket_id", "created_at", "incident_id"],
    )
    source = settings.SourceConfig(name="fixture", kind="test")
    with warehouse.writing(path) as write:
        loader = Loader(write, source, "s1")
        for feed, frame in (
            ("deployments", deployments),
            ("changes", changes),
            ("tickets", tickets),
        ):
            assert loader.load(Batch(feed, feed, frame=frame)).quarantined == 0
    con = db.prepare(warehouse.connect_read(path))
    try:
        assert delivery.rework(con, WINDOW) == {
            "rework_rate": pytest.approx(1 / 3),
            "rework_deployments": 1,
            "deployments": 3,
        }
        reasons = {
            d["deployment_id"]: d["rework_reasons"]
            for d in delivery.detail(con, WINDOW)["deployments"]
            if d["rework"]
        }
        assert reasons == {"p1": ["fixing change c1"]}
    finally:
        con.close()
