"""Metrics on small hand-written warehouses, checked against numbers worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys

import duckdb
import numpy as np
import pandas as pd
import pytest

import settings
import warehouse
from connectors import demo_data
from connectors.loader import Batch, Loader
from metrics import activity, db, models, registry, sources
from metrics.filters import Filters, describe, last_days, window
from metrics.status import kpi_status
from tests.helpers.project import DEMO_END, ROOT, subprocess_env


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


# 2026-11-02, -09 and -16 are Mondays.
WINDOW = Filters(utc("2026-11-02"), utc("2026-11-23"))

FRAMES = {
    "deployments": pd.DataFrame(
        [
            ("d1", "churn", "production", "growth", "2026-11-02 10:00", "success"),
            ("d2", "churn", "Production", "growth", "2026-11-03 12:00", "failed"),
            ("d3", "churn", "staging", "growth", "2026-11-04 09:00", "success"),
            ("d4", "fraud", "PRODUCTION", "risk", "2026-11-10 09:00", "rolled_back"),
            ("d5", "fraud", "production", "risk", "2026-11-11 09:00", "success"),
            ("d6", "churn", "production", "growth", "2026-10-30 09:00", "success"),
        ],
        columns=["deployment_id", "model", "environment", "team", "finished_at", "status"],
    ),
    "incidents": pd.DataFrame(
        [
            ("i1", "churn", "growth", "2026-11-03 13:00", "2026-11-03 15:30"),
            ("i2", "churn", "growth", "2026-10-20 13:00", None),
            ("i3", "fraud", "risk", "2026-11-22 23:59", None),
        ],
        columns=["incident_id", "model", "team", "opened_at", "resolved_at"],
    ),
    "tickets": pd.DataFrame(
        [
            ("t1", "growth", "churn", "2026-10-01", "2026-11-05"),
            ("t2", "growth", "churn", "2026-10-01", None),
            ("t3", "risk", "fraud", "2026-09-01", "2026-10-01"),
        ],
        columns=["ticket_id", "team", "model", "created_at", "resolved_at"],
    ),
    "kpis": pd.DataFrame(
        [
            ("2026-11-02", "ctr", "churn", "web", None, 3, 100, 0.02, 0.01),
            ("2026-11-02", "ctr", "churn", "app", None, 1, 300, 0.02, 0.01),
            ("2026-11-03", "ctr", "churn", "all", 0.5, None, None, 0.02, 0.01),
            ("2026-11-03", "ctr", "churn", "web", 0.9, None, None, 0.02, 0.01),
            ("2026-11-04", "aov", "fraud", "web", 10.0, None, None, None, None),
            ("2026-11-04", "aov", "fraud", "app", 20.0, None, None, None, None),
        ],
        columns=[
            "date",
            "kpi",
            "model",
            "segment",
            "value",
            "numerator",
            "denominator",
            "target",
            "guardrail",
        ],
    ),
    "inference": pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(7)],
            "ts": ["2026-11-02 01:00"] * 5 + ["2026-11-03 01:00"] * 2,
            "model": ["churn"] * 7,
            "latency_ms": [10.0, 20.0, 30.0, 40.0, 1000.0, 5.0, 7.0],
            "status": ["ok", "ok", "error", "ok", "ok", "ok", "ok"],
            "amount": [1.0, 2.0, 3.0, None, 4.0, 10.0, 30.0],
            "country": ["FR", "FR", "DE", "FR", None, "DE", "DE"],
        }
    ),
}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = tmp_path_factory.mktemp("metrics") / "w.duckdb"
    source = settings.SourceConfig(name="fixture", kind="test")
    with warehouse.writing(path) as write:
        loader = Loader(write, source, "s1")
        for feed, frame in FRAMES.items():
            stats = loader.load(Batch(feed, f"fixture:{feed}", frame=frame))
            assert stats.quarantined == 0, feed
    connection = db.prepare(warehouse.connect_read(path))
    yield connection
    connection.close()


def test_row_counts(con):
    assert activity.row_counts(con) == {
        "deployments": 6,
        "changes": 0,
        "incidents": 3,
        "inference": 7,
        "kpis": 6,
        "tickets": 3,
        "ticket_transitions": 0,
    }


@pytest.mark.parametrize(
    ("team", "model", "expected"),
    [
        # production only (any case): d1, d2 (failed), d4 (rolled back), d5; d3 is staging and
        # d6 finished before the window. i1 and i3 opened inside it; t1 resolved inside it.
        (
            None,
            None,
            {
                "deployments": 4,
                "successful_deployments": 2,
                "failed_deployments": 2,
                "incidents_opened": 2,
                "tickets_finished": 1,
            },
        ),
        (
            "risk",
            None,
            {
                "deployments": 2,
                "successful_deployments": 1,
                "failed_deployments": 1,
                "incidents_opened": 1,
                "tickets_finished": 0,
            },
        ),
        (
            None,
            "churn",
            {
                "deployments": 2,
                "successful_deployments": 1,
                "failed_deployments": 1,
                "incidents_opened": 1,
                "tickets_finished": 1,
            },
        ),
    ],
)
def test_activity_summary(con, team, model, expected):
    filters = Filters(WINDOW.since, WINDOW.until, team, model)
    assert activity.activity_summary(con, filters) == expected


def test_an_empty_window_counts_zero(con):
    empty = Filters(utc("2020-01-01"), utc("2020-01-08"))
    assert set(activity.activity_summary(con, empty).values()) == {0}
    assert activity.deployments(con, empty).empty


def test_deployments_weekly_is_zero_filled(con):
    weekly = activity.deployments_weekly(con, WINDOW)
    assert [d.date().isoformat() for d in weekly["week_start"]] == [
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
    ]
    assert weekly[["succeeded", "failed", "rolled_back"]].values.tolist() == [
        [1, 1, 0],
        [1, 0, 1],
        [0, 0, 0],
    ]


def test_week_comparison(con):
    comparison = activity.week_comparison(con, WINDOW).set_index("metric")
    # this week = Nov 16-22: i3 only; last week = Nov 9-15: d4, d5; 4 weeks from Oct 26.
    assert comparison.loc["incidents_opened", ["this_week", "last_week"]].tolist() == [1, 0]
    assert comparison.loc["deployments", ["this_week", "last_week"]].tolist() == [0, 2]
    # Oct 26 - Nov 22: d6, d1, d2, d4, d5 = 5 production deployments, / 4 weeks.
    assert comparison.loc["deployments", "four_week_average"] == pytest.approx(5 / 4)


def test_incidents_in_window_with_hours_to_resolve(con):
    incidents = activity.incidents(con, WINDOW).set_index("incident_id")
    assert list(incidents.index) == ["i3", "i1"]
    assert incidents.loc["i1", "hours_to_resolve"] == pytest.approx(2.5)
    assert bool(incidents.loc["i3", "is_open"]) and pd.isna(incidents.loc["i3", "hours_to_resolve"])


def test_kpi_daily_ratio_of_sums_and_the_all_segment(con):
    daily = models.kpi_daily(con, WINDOW).set_index(["model", "kpi", "date"])["value"]
    # 3/100 and 1/300 pool to 4/400, not the mean of the two ratios (0.0167).
    assert daily[("churn", "ctr", pd.Timestamp("2026-11-02"))] == pytest.approx(0.01)
    # A day with an 'all' row uses it, not the web segment beside it.
    assert daily[("churn", "ctr", pd.Timestamp("2026-11-03"))] == pytest.approx(0.5)
    # Value-only segments average.
    assert daily[("fraud", "aov", pd.Timestamp("2026-11-04"))] == pytest.approx(15.0)


def test_kpi_window_pools_days(con):
    kpis = models.kpi_window(con, Filters(utc("2026-11-02"), utc("2026-11-03"))).set_index(
        ["model", "kpi"]
    )
    assert kpis.loc[("churn", "ctr"), "value"] == pytest.approx(0.01)
    assert kpis.loc[("churn", "ctr"), ["target", "guardrail"]].tolist() == [0.02, 0.01]
    none = models.kpi_window(con, Filters(utc("2020-01-01"), utc("2020-01-02")))
    assert none.empty


def test_serving_daily_matches_numpy(con):
    serving = models.serving_daily(con, WINDOW).set_index("day")
    day = serving.loc[pd.Timestamp("2026-11-02")]
    latencies = [10.0, 20.0, 30.0, 40.0, 1000.0]
    assert (day["requests"], day["errors"]) == (5, 1)
    assert day["error_rate"] == pytest.approx(0.2)
    for column, q in (("latency_p50_ms", 50), ("latency_p95_ms", 95), ("latency_p99_ms", 99)):
        assert day[column] == pytest.approx(np.percentile(latencies, q))


def test_feature_daily_numeric_and_categorical(con):
    churn = Filters(WINDOW.since, WINDOW.until, None, "churn")
    amount = models.feature_daily(con, churn, "amount").set_index("day")
    first = amount.loc[pd.Timestamp("2026-11-02")]
    assert (first["rows"], first["missing_share"]) == (5, pytest.approx(0.2))
    assert first["mean"] == pytest.approx(2.5) and first["p50"] == pytest.approx(2.5)
    country = models.feature_daily(con, churn, "country").set_index("day")
    assert country.loc[pd.Timestamp("2026-11-02"), "top_value"] == "FR"
    assert country.loc[pd.Timestamp("2026-11-02"), "top_value_share"] == pytest.approx(3 / 4)
    assert list(models.model_features(con, "churn")["feature"]) == ["amount", "country"]


def test_source_status(con):
    status = sources.source_status(con)
    assert status.empty  # no sync ran through sync.run, so no sync_runs rows


@pytest.mark.parametrize(
    ("value", "target", "guardrail", "level"),
    [
        (0.031, 0.030, 0.025, "green"),
        (0.030, 0.030, 0.025, "green"),  # meeting the target exactly is on target
        (0.028, 0.030, 0.025, "amber"),
        (0.025, 0.030, 0.025, "amber"),  # the guardrail itself still holds
        (0.024, 0.030, 0.025, "red"),
        (0.004, 0.005, 0.010, "green"),  # lower is better: guardrail above target
        (0.008, 0.005, 0.010, "amber"),
        (0.011, 0.005, 0.010, "red"),
        (0.5, None, None, "grey"),
        (None, 0.03, 0.025, "grey"),
        (0.02, 0.03, None, "amber"),
    ],
)
def test_kpi_status_at_each_boundary(value, target, guardrail, level):
    assert kpi_status(value, target, guardrail).level == level


def test_every_metric_has_its_sql_and_a_documented_definition():
    doc = (ROOT / "METRICS.md").read_text()
    headings = set(re.findall(r"^## (.+)$", doc, flags=re.M))
    assert len(registry.METRICS) == len(registry.ENTRIES), "two entries share a name"
    for metric in registry.ENTRIES:
        assert metric.section in headings, f"METRICS.md has no '## {metric.section}' section"
        section = doc.split(f"## {metric.section}\n", 1)[1].split("\n## ", 1)[0]
        assert metric.sql or metric.no_sql, f"{metric.name} names no SQL file and says not why"
        for name in metric.sql:
            assert (db.SQL_DIR / f"{name}.sql").exists(), metric.name
            assert f"`{name}.sql`" in section, (
                f"{metric.name}: '## {metric.section}' names no {name}"
            )


def test_every_entry_is_loaded_or_read_off_a_loaded_one():
    for metric in registry.ENTRIES:
        assert metric.shown_on, metric.name
        if metric.call is None and registry.REPORT not in metric.shown_on:
            assert metric.read_from, f"{metric.name} is neither loaded nor read off an entry"
        for name in metric.read_from:
            assert registry.METRICS[name].call is not None, f"{metric.name} reads off {name}"


def test_metrics_md_table_is_the_one_the_registry_generates():
    doc = (ROOT / "METRICS.md").read_text()
    assert registry.rewrite(doc) == doc, "run python -m metrics.registry --markdown"
    for metric in registry.ENTRIES:  # a label shown in the table, one row per place it is shown
        rows = [
            line
            for line in doc.splitlines()
            if line.startswith("| ") and metric.label in line and f"[{metric.section}]" in line
        ]
        assert len(rows) >= len(metric.shown_on), metric.name


def test_every_sql_file_states_its_grain():
    for path in sorted(db.SQL_DIR.glob("*.sql")):
        first = path.read_text().splitlines()[0]
        assert first.startswith("-- "), path.name


def test_window_defaults_and_errors():
    now = utc("2026-11-23 15:00")
    # The last 28 days are the 28 whole UTC days ending with today (Mon 23 Nov), today included.
    default = window(now=now)
    assert (default.since, default.until) == (utc("2026-10-27"), utc("2026-11-24"))
    assert default == last_days(28, now) and default.days == 28
    assert window("2026-11-01", "2026-11-08", now=now).days == 7
    # One date given: the other end follows (28 days before --until; today's end after --since).
    only_until = window(until="2026-11-08", now=now)
    assert (only_until.since, only_until.until) == (utc("2026-10-11"), utc("2026-11-08"))
    only_since = window(since="2026-11-20", now=now)
    assert (only_since.since, only_since.until) == (utc("2026-11-20"), utc("2026-11-24"))
    assert window(now=now, days=7) == last_days(7, now)
    with pytest.raises(ValueError, match="--since must be an ISO date"):
        window("yesterday", now=now)
    with pytest.raises(ValueError, match="the window is empty"):
        window("2026-11-08", "2026-11-01", now=now)
    # Whole days: a time inside a day is refused, not silently moved to its midnight.
    with pytest.raises(ValueError, match=r"--until must be a date .*whole UTC days.*T12:00"):
        window("2026-11-01", "2026-11-08T12:00", now=now)
    assert window("2026-11-01T00:00:00Z", "2026-11-08", now=now).days == 7


@pytest.mark.parametrize(
    ("now", "n", "since", "until"),
    [
        # Late in the day, first minute of a day, and across a year's end.
        ("2026-11-19 23:00", 7, "2026-11-13", "2026-11-20"),
        ("2026-11-20 00:00", 7, "2026-11-14", "2026-11-21"),
        ("2027-01-02 09:00", 28, "2026-12-06", "2027-01-03"),
        ("2026-11-19 12:00", 1, "2026-11-19", "2026-11-20"),
    ],
)
def test_the_last_n_days_end_with_today(now, n, since, until):
    filters = last_days(n, utc(now), team="growth")
    assert (filters.since, filters.until, filters.team) == (utc(since), utc(until), "growth")


def test_the_last_n_days_follow_the_pinned_clock():
    # settings.now() is the suite's pinned 2026-11-19T23:00Z: today is Thu 19 Nov.
    assert last_days(7) == Filters(utc("2026-11-13"), utc("2026-11-20"))
    with pytest.raises(ValueError, match="the last 0 days hold no day"):
        last_days(0)


@pytest.mark.parametrize(
    ("since", "until", "text"),
    [
        ("2026-11-07", "2026-12-05", "the 28 days 7 Nov – 4 Dec 2026 (UTC)"),
        ("2026-11-13", "2026-11-20", "the 7 days 13 – 19 Nov 2026 (UTC)"),
        ("2026-12-20", "2027-01-03", "the 14 days 20 Dec 2026 – 2 Jan 2027 (UTC)"),
        ("2026-11-19", "2026-11-20", "the day 19 Nov 2026 (UTC)"),
        ("2026-11-19 06:00", "2026-11-20", "19 Nov 2026 06:00 to 20 Nov 2026 00:00 (UTC)"),
    ],
)
def test_a_window_in_words(since, until, text):
    assert describe(Filters(utc(since), utc(until))) == text


# A month inside the demo year, which ends on DEMO_END.
_TODAY = DEMO_END
SINCE = (_TODAY - dt.timedelta(days=60)).isoformat()
UNTIL = (_TODAY - dt.timedelta(days=30)).isoformat()


def test_report_json(demo_env):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "metrics",
            "report",
            "--json",
            "--since",
            SINCE,
            "--until",
            UNTIL,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=subprocess_env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["window"] == {
        "since": f"{SINCE}T00:00:00+00:00",
        "until": f"{UNTIL}T00:00:00+00:00",
    }
    counts = demo_env.query(
        "select (select count(*) from deployments), (select count(*) from inference), "
        "(select count(*) from ticket_transitions)"
    )[0]
    assert set(report["rows"]) == {
        "deployments",
        "changes",
        "incidents",
        "inference",
        "kpis",
        "tickets",
        "ticket_transitions",
    }
    assert (
        report["rows"]["deployments"],
        report["rows"]["inference"],
        report["rows"]["ticket_transitions"],
    ) == counts
    assert set(report["delivery"]) == {
        "deployments",
        "deployment_days",
        "deployments_per_week",
        "lead_time_hours",
        "change_failure_rate",
        "failed_deployments",
        "deployments_attempted",
        "recovery_time_hours",
        "rework_rate",
        "rework_deployments",
        "unattributed_incidents",
        "attribution",
        "levels_source",
        "levels",
        "by_ai_assisted",
        "previous",
        "withheld",
    }
    # every team together: well over 3 authors and assignees, nothing withheld
    assert report["delivery"]["withheld"] is None and report["flow"]["withheld"] is None
    assert set(report["flow"]) >= {
        "throughput",
        "cycle_time_hours",
        "wip",
        "flow_efficiency",
        "handoff_wait_hours",
        "work_mix",
        "reopen_rate",
    }
    assert "detail" not in report["delivery"]
    assert set(report["models"]) == {m.name for m in demo_data.MODELS}
    recommender = report["models"]["recommender"]
    assert set(recommender) >= {"kpis", "serving", "quality", "status", "reasons"}
    assert set(recommender["kpis"]["click_through_rate"]) >= {
        "value",
        "previous",
        "target",
        "guardrail",
        "status",
    }
    assert set(recommender["serving"]) == {"requests", "errors", "latency_ms", "error_rate"}
    assert recommender["serving"]["errors"] <= recommender["serving"]["requests"]
    assert recommender["deployments"] >= 0  # production deployments, as Model overview counts
    assert recommender["status"] in {"green", "amber", "red", "grey"}
    # a ranker (models.toml), scored over its lists at the contract's k, never by accuracy
    quality = recommender["quality"]
    assert (quality["kind"], quality["k"], quality["reason"]) == ("ranker", 10, None)
    assert quality["labelled_lists"] > 100 and "accuracy" not in quality
    for name in ("precision_at_k", "ndcg_at_k", "hit_rate_at_k"):
        assert 0 < quality[name] < 1, name


def test_report_detail_lists_the_rows(demo_env):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "metrics",
            "report",
            "--json",
            "--detail",
            "--since",
            SINCE,
            "--until",
            UNTIL,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=subprocess_env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    delivery_ = json.loads(result.stdout)["delivery"]  # the demo year covers these dates
    detail = delivery_["detail"]
    assert len(detail["deployments"]) == delivery_["deployments_attempted"]
    assert sum(d["failed"] for d in detail["deployments"]) == delivery_["failed_deployments"]
    lead = [
        c["lead_time_hours"]
        for c in detail["changes"]
        if c["lead_time_hours"] is not None and c["lead_time_hours"] >= 0
    ]
    assert len(lead) == delivery_["lead_time_hours"]["changes"]
    assert lead  # the demo ships changes every month
    assert delivery_["lead_time_hours"]["median"] == pytest.approx(float(np.median(lead)))


def test_report_with_a_bad_date_says_so(demo_env):
    result = subprocess.run(
        [sys.executable, "-m", "metrics", "report", "--json", "--since", "last week"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=subprocess_env(),
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "tandem: --since must be an ISO date like 2026-11-01, got 'last week'"
    )


def test_the_demo_story_reads_through_the_metrics(demo_project):
    story = demo_data.story(DEMO_END)
    drift = pd.Timestamp(story["drift_start"]).to_pydatetime().replace(tzinfo=dt.UTC)
    span = dt.timedelta(days=7)
    before = Filters(drift - span, drift, None, story["model"])
    after = Filters(
        drift + dt.timedelta(days=1), drift + dt.timedelta(days=8), None, story["model"]
    )
    with db.connect(demo_project.warehouse) as con:
        feature_before = models.feature_daily(con, before, story["feature"])["mean"].mean()
        feature_after = models.feature_daily(con, after, story["feature"])["mean"].mean()
        kpi = models.kpi_window(con, after).set_index("kpi").loc[story["kpi"]]
        kpi_before = models.kpi_window(con, before).set_index("kpi").loc[story["kpi"]]
        incidents = activity.incidents(con, Filters(drift, drift + span, None, story["model"]))
        deployments = activity.deployments(
            con, Filters(drift, drift + dt.timedelta(days=14), None, story["model"])
        )
    assert feature_after > 100 * feature_before  # logged in ms instead of s
    assert kpi["value"] < kpi["guardrail"] < kpi_before["value"]
    assert story["incident_id"] in set(incidents["incident_id"])
    retrain = deployments.set_index("deployment_id").loc[story["retrain_deployment_id"]]
    assert (retrain["environment"], retrain["status"]) == ("production", "success")


def test_serving_per_version(con):
    versions = models.serving_versions(con, WINDOW)
    # The fixture logs no version: its rows group as "(none)"; 7 requests, 1 error.
    assert versions[["model", "model_version", "requests", "errors"]].values.tolist() == [
        ["churn", "(none)", 7, 1]
    ]
    latencies = [10.0, 20.0, 30.0, 40.0, 1000.0, 5.0, 7.0]
    assert versions["latency_p95_ms"].iloc[0] == pytest.approx(np.percentile(latencies, 95))


def test_kpi_segments(con):
    segments = models.kpi_segments(con, WINDOW).set_index(["model", "kpi", "segment"])["value"]
    assert segments[("churn", "ctr", "app")] == pytest.approx(1 / 300)
    assert segments[("churn", "ctr", "all")] == pytest.approx(0.5)
    assert segments[("fraud", "aov", "web")] == pytest.approx(10.0)


def test_kpi_segments_are_scoped_to_a_team(con):
    # churn belongs to growth, fraud to risk: a team sees only its own models' segments.
    growth = Filters(WINDOW.since, WINDOW.until, team="growth")
    risk = Filters(WINDOW.since, WINDOW.until, team="risk")
    assert set(models.kpi_segments(con, growth)["model"]) == {"churn"}
    assert set(models.kpi_segments(con, risk)["model"]) == {"fraud"}


def test_serving_health_is_scoped_to_a_team(con):
    # churn ships through team growth (its deployments and incidents); fraud through risk.
    growth = Filters(WINDOW.since, WINDOW.until, team="growth")
    risk = Filters(WINDOW.since, WINDOW.until, team="risk")
    for reading in (models.serving_daily, models.serving_versions):
        assert set(reading(con, growth)["model"]) == {"churn"}
        assert reading(con, risk).empty
    assert models.serving_versions(con, growth)["requests"].tolist() == [7]


def test_report_gives_the_previous_windows_delivery_figures(demo_env):
    """`delivery.previous` is what `report` gives for the window of the same length just
    before: the 28 days to 22 Oct beside the 28 days to 19 Nov, rework rate included."""
    from metrics.__main__ import report

    config = settings.load(demo_env.config_path)
    now = report(config, "2026-10-23", "2026-11-20", None, None)["delivery"]
    before = report(config, "2026-09-25", "2026-10-23", None, None)["delivery"]
    previous = now["previous"]
    assert previous["window"] == {
        "since": "2026-09-25T00:00:00+00:00",
        "until": "2026-10-23T00:00:00+00:00",
    }
    figures = set(previous) - {"window"}
    assert {"deployments", "change_failure_rate", "rework_rate", "lead_time_hours"} <= figures
    assert {k: previous[k] for k in figures} == {k: before[k] for k in figures}
    assert previous["deployments"] != now["deployments"] or previous != now


def test_feature_daily_most_common_value_ties_pick_the_greatest():
    # Two values as common as each other: the greatest as text, on every run, as the profiles'
    # daily figures pick it (metrics/drift/stored.py: daily_figures).
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    warehouse.ensure_schema(con)
    con.execute("alter table inference add column country varchar")
    rows = [
        ("2026-11-02 01:00", "DE"),
        ("2026-11-02 02:00", "FR"),
        ("2026-11-02 23:59", "ES"),
        ("2026-11-02 23:59", "FR"),
        ("2026-11-03 00:00", "DE"),
        ("2026-11-03 05:00", "ES"),
    ]
    con.executemany(
        "insert into inference (request_id, ts, model, status, source, row_hash, synced_at, "
        "country) values (?, cast(? || '+00' as timestamptz), 'churn', 'ok', 'test', 0, now(), ?)",
        [(f"r{i}", ts, country) for i, (ts, country) in enumerate(rows)],
    )
    db.prepare(con, stored=())
    day = Filters(utc("2026-11-02"), utc("2026-11-04"), None, "churn")
    for _ in range(5):
        found = models.feature_daily(con, day, "country").set_index("day")
        assert found.loc[pd.Timestamp("2026-11-02"), ["rows", "top_value"]].tolist() == [4, "FR"]
        assert found.loc[pd.Timestamp("2026-11-02"), "top_value_share"] == pytest.approx(2 / 4)
        assert found.loc[pd.Timestamp("2026-11-03"), ["rows", "top_value"]].tolist() == [2, "ES"]
