"""KPI before and after a release, on a hand-built history checked against hand-worked numbers
and intervals computed independently (math for Wald, scipy's own Welch test for Welch)."""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics

import pandas as pd
import pytest
from scipy import stats

import settings
import warehouse
from connectors.loader import Batch, Loader
from metrics import business, db
from metrics.filters import Filters
from metrics.status import badge_text, kpi_window_status, window_text


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


WINDOW = Filters(utc("2026-11-01"), utc("2026-11-15"))
DAYS = 3

# Release days and their sides with days=3 (the release day itself is in neither):
#   d1 churn 11-10 15:00: before 11-07..11-09, after 11-11..11-13
#   d4 fraud 11-12 08:00: before 11-09..11-11, after 11-13..11-15
#   d5 churn 11-14 11:00: before 11-11..11-13 (d1's after days: overlap is fine),
#                         after 11-15..11-17 with data on 11-15 and 11-16 only
DEPLOYMENTS = pd.DataFrame(
    [
        ("d0", "churn", "v1", "production", "growth", "2026-10-20 10:00", "success"),  # before
        ("d1", "churn", "v2", "production", "growth", "2026-11-10 15:00", "success"),
        ("d2", "churn", "v3", "production", "growth", "2026-11-12 09:00", "failed"),
        ("d3", "churn", "v3", "staging", "growth", "2026-11-11 10:00", "success"),
        ("d4", "fraud", "f7", "PRODUCTION", "risk", "2026-11-12 08:00", "success"),
        ("d5", "churn", "v4", "Production", "growth", "2026-11-14 11:00", "success"),
        ("d6", "churn", "v5", "production", "growth", "2026-11-15 00:00", "success"),  # after
    ],
    columns=["deployment_id", "model", "version", "environment", "team", "finished_at", "status"],
)

KPI_COLUMNS = ["date", "kpi", "model", "segment", "value", "numerator", "denominator", "unit"]


def ctr(date, segment, clicks, views):
    return (date, "ctr", "churn", segment, None, clicks, views, "ratio")


def aov(date, segment, value):
    return (date, "aov", "churn", segment, value, None, None, "EUR")


def chargebacks(date, charged, orders):
    return (date, "chargeback_rate", "fraud", "all", None, charged, orders, "ratio")


def revenue(date, euros, orders):
    return (date, "revenue_per_order", "fraud", "all", None, euros, orders, "EUR")


KPIS = pd.DataFrame(
    [
        # churn ctr, a proportion (clicks / views). Per day (clicks/views):
        ctr("2026-11-06", "web", 50, 100),  # d1 - 4 days: outside every side
        ctr("2026-11-07", "web", 10, 200),  # 16/300
        ctr("2026-11-07", "app", 6, 100),
        ctr("2026-11-08", "all", 12, 300),  # 12/300: the 'all' row alone
        ctr("2026-11-08", "web", 99, 100),
        ctr("2026-11-09", "web", 14, 300),  # 14/300
        ctr("2026-11-10", "web", 90, 100),  # d1's release day: in neither side
        ctr("2026-11-11", "web", 20, 200),  # 30/300
        ctr("2026-11-11", "app", 10, 100),
        ctr("2026-11-12", "web", 27, 300),  # 27/300
        ctr("2026-11-13", "web", 24, 300),  # 24/300
        ctr("2026-11-14", "web", 0, 100),  # d5's release day: in neither side
        ctr("2026-11-15", "web", 30, 300),  # 30/300
        ctr("2026-11-16", "web", 36, 300),  # 36/300
        ctr("2026-11-18", "web", 100, 100),  # d5 + 4 days: outside
        # churn aov, value-only; per day the mean of its segments:
        aov("2026-11-07", "all", 40.0),  # 40
        aov("2026-11-08", "web", 42.0),  # 43
        aov("2026-11-08", "app", 44.0),
        aov("2026-11-09", "all", 41.0),  # 41
        aov("2026-11-10", "all", 100.0),  # release day of d1
        aov("2026-11-11", "all", 43.0),
        aov("2026-11-12", "all", 40.0),
        aov("2026-11-13", "all", 45.0),
        aov("2026-11-15", "all", 44.0),
        aov("2026-11-16", "all", 46.0),
        # fraud chargeback_rate, a proportion:
        chargebacks("2026-11-09", 30, 1000),
        chargebacks("2026-11-10", 28, 1000),
        chargebacks("2026-11-11", 32, 1000),
        chargebacks("2026-11-12", 500, 1000),  # d4's release day
        chargebacks("2026-11-13", 10, 1000),
        chargebacks("2026-11-14", 12, 1000),
        chargebacks("2026-11-15", 11, 1000),
        # fraud revenue_per_order, a ratio that is no proportion (numerator > denominator):
        revenue("2026-11-09", 5000, 100),  # 50
        revenue("2026-11-10", 5200, 100),  # 52
        revenue("2026-11-11", 4800, 100),  # 48
        revenue("2026-11-13", 6000, 100),  # 60
        revenue("2026-11-14", 3150, 50),  # 63
        revenue("2026-11-15", 5700, 100),  # 57
    ],
    columns=KPI_COLUMNS,
)

Z95 = statistics.NormalDist().inv_cdf(0.975)


def wald(x0, n0, x1, n1, z=Z95):
    p0, p1 = x0 / n0, x1 / n1
    se = math.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
    return p1 - p0 - z * se, p1 - p0 + z * se


def welch(before, after, confidence=0.95):
    interval = stats.ttest_ind(after, before, equal_var=False).confidence_interval(confidence)
    return interval.low, interval.high


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    path = tmp_path_factory.mktemp("business") / "w.duckdb"
    source = settings.SourceConfig(name="fixture", kind="test")
    with warehouse.writing(path) as write:
        loader = Loader(write, source, "s1")
        for feed, frame in (("deployments", DEPLOYMENTS), ("kpis", KPIS)):
            stats_ = loader.load(Batch(feed, f"fixture:{feed}", frame=frame))
            assert stats_.quarantined == 0, feed
    return path


@pytest.fixture(scope="module")
def con(path):
    connection = db.prepare(warehouse.connect_read(path))
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def impact(con):
    found = business.release_impact(con, WINDOW, days=DAYS)
    return found.set_index(["deployment_id", "kpi"])


def test_rows_are_successful_production_deployments_in_the_window(con, impact):
    # d0 and d6 finished outside the window, d2 failed, d3 went to staging.
    assert sorted(impact.index) == [
        ("d1", "aov"),
        ("d1", "ctr"),
        ("d4", "chargeback_rate"),
        ("d4", "revenue_per_order"),
        ("d5", "aov"),
        ("d5", "ctr"),
    ]
    assert list(business.release_impact(con, WINDOW, days=DAYS).columns) == business.COLUMNS
    assert impact.loc[("d1", "ctr"), "version"] == "v2"
    assert impact.loc[("d4", "chargeback_rate"), "unit"] == "ratio"
    assert impact.loc[("d1", "ctr"), "finished_at"] == pd.Timestamp("2026-11-10 15:00", tz="UTC")


@pytest.mark.parametrize(
    ("key", "before", "after", "before_days", "after_days"),
    [
        # ctr d1: before (16 + 12 + 14) / (300 * 3) = 42/900, after (30 + 27 + 24) / 900 = 81/900;
        # the 11-06, 11-10 and 11-08 web rows would each change these if counted.
        (("d1", "ctr"), 42 / 900, 81 / 900, 3, 3),
        # ctr d5: before 81/900 (d1's after days), after (30 + 36) / 600 = 66/600; 11-14 and
        # 11-18 left out.
        (("d5", "ctr"), 81 / 900, 66 / 600, 3, 2),
        # aov d1, value-only: the mean of the rows, as kpi_window: (40 + 42 + 44 + 41) / 4 =
        # 41.75 before; (43 + 40 + 45) / 3 = 42.666... after.
        (("d1", "aov"), 41.75, 128 / 3, 3, 3),
        # aov d5: before 128/3, after (44 + 46) / 2 = 45.
        (("d5", "aov"), 128 / 3, 45.0, 3, 2),
        # chargeback_rate d4: before (30 + 28 + 32) / 3000 = 0.03, after 33/3000 = 0.011.
        (("d4", "chargeback_rate"), 0.03, 0.011, 3, 3),
        # revenue_per_order d4: before 15000/300 = 50, after (6000 + 3150 + 5700) / 250 = 59.4
        # (the mean of the daily ratios would be 60).
        (("d4", "revenue_per_order"), 50.0, 59.4, 3, 3),
    ],
)
def test_before_and_after_values(impact, key, before, after, before_days, after_days):
    row = impact.loc[key]
    assert row.before_value == pytest.approx(before)
    assert row.after_value == pytest.approx(after)
    assert row.before_days == before_days
    assert row.after_days == after_days
    assert row.difference == pytest.approx(after - before)
    assert row.relative_change == pytest.approx((after - before) / before)


@pytest.mark.parametrize(
    ("key", "method", "expected", "verdict"),
    [
        # 42/900 -> 81/900: 0.0433 ± 1.96 * 0.01185 = [0.0201, 0.0666], above 0.
        (("d1", "ctr"), "two-proportion wald", wald(42, 900, 81, 900), "up"),
        # 0.03 -> 0.011: -0.019 ± 1.96 * 0.00365 = [-0.0262, -0.0118], below 0.
        (("d4", "chargeback_rate"), "two-proportion wald", wald(90, 3000, 33, 3000), "down"),
        # daily 40, 43, 41 -> 43, 40, 45: 1.33 ± t(3.30 df) * 1.70, about [-3.8, 6.5].
        (("d1", "aov"), "welch t", welch([40, 43, 41], [43, 40, 45]), "no clear change"),
        # daily 50, 52, 48 -> 60, 63, 57: 10 ± t(3.48 df) * 2.08, about [3.9, 16.1].
        (
            ("d4", "revenue_per_order"),
            "welch t",
            welch([50, 52, 48], [60, 63, 57]),
            "up",
        ),
    ],
)
def test_intervals_and_verdicts(impact, key, method, expected, verdict):
    row = impact.loc[key]
    assert row.method == method
    assert (row.ci_low, row.ci_high) == pytest.approx(expected, rel=1e-9)
    assert row.verdict == verdict


@pytest.mark.parametrize(
    ("key", "method"), [(("d5", "ctr"), "two-proportion wald"), (("d5", "aov"), "welch t")]
)
def test_two_days_after_is_not_enough_data(impact, key, method):
    row = impact.loc[key]
    assert row.verdict == "not enough data"
    assert row.method == method
    assert math.isnan(row.ci_low) and math.isnan(row.ci_high)


@pytest.mark.parametrize(
    ("team", "model", "released"),
    [
        # d1 and d5 (churn), d4 (fraud); d2 failed, d3 went to staging, d0 and d6 are outside
        (None, None, ["churn", "fraud"]),
        ("growth", None, ["churn"]),
        (None, "fraud", ["fraud"]),
        ("risk", "churn", []),
    ],
)
def test_the_models_with_a_release_are_those_release_impact_has_rows_for(
    con, team, model, released
):
    window = Filters(WINDOW.since, WINDOW.until, team, model)
    assert business.released_models(con, window) == released
    assert sorted(set(business.release_impact(con, window)["model"])) == released


def test_the_report_gives_each_models_releases_and_segments_as_the_kpi_check_shows_them(path):
    """`report --json` carries the KPI check's two per-model tables: the releases, with the
    page's 7 days on each side, and each KPI per segment over the window."""
    from metrics.__main__ import report

    config = settings.Config(warehouse=path, sources=(), work_categories={}, origin="test")
    found = report(config, "2026-11-01", "2026-11-15", None, "churn", sections=["models"])
    churn = found["models"]["churn"]
    json.dumps(churn, allow_nan=False)  # JSON as it is printed: no NaN for a missing interval
    releases = {(r["deployment_id"], r["kpi"]): r for r in churn["releases"]}
    assert sorted(releases) == [("d1", "aov"), ("d1", "ctr"), ("d5", "aov"), ("d5", "ctr")]
    d1 = releases[("d1", "ctr")]
    assert (d1["version"], d1["finished_at"]) == ("v2", "2026-11-10T15:00:00+00:00")
    # 7 days on each side of 11-10: before 11-03..11-09 (50/100, 16/300, the 'all' row's
    # 12/300, 14/300) = 92/1000 on 4 days; after 11-11..11-17 (30/300, 27/300, 24/300, 0/100,
    # 30/300, 36/300) = 147/1600 on 6 days (d5's release day counts for d1).
    assert (d1["before_value"], d1["after_value"]) == pytest.approx((92 / 1000, 147 / 1600))
    assert (d1["before_days"], d1["after_days"]) == (4, 6)
    assert (d1["ci_low"], d1["ci_high"]) == pytest.approx(wald(92, 1000, 147, 1600), rel=1e-9)
    assert d1["method"] == "two-proportion wald"
    # 92/1000 -> 147/1600: 0.0001 ± 0.0233, zero inside.
    assert d1["verdict"] == "no clear change"
    # d5 (11-14): after it only 11-15 and 11-16 have data: no interval, said as None.
    d5 = releases[("d5", "aov")]
    assert (d5["ci_low"], d5["ci_high"], d5["verdict"]) == (None, None, "not enough data")
    # Each KPI per segment over [11-01, 11-15), 'all' left out: ctr on the web is the ratio of
    # its sums, (50 + 10 + 99 + 14 + 90 + 20 + 27 + 24 + 0) / (100 + 200 + 100 + 300 + 100 +
    # 200 + 300 + 300 + 100) = 334/1700 on 9 days; in the app 16/200 on 2.
    segments = {(s["kpi"], s["segment"]): (s["value"], s["days"]) for s in churn["segments"]}
    assert segments == {
        ("ctr", "web"): (pytest.approx(334 / 1700), 9),
        ("ctr", "app"): (pytest.approx(16 / 200), 2),
        ("aov", "web"): (pytest.approx(42.0), 1),
        ("aov", "app"): (pytest.approx(44.0), 1),
    }


@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
@pytest.mark.parametrize(("n0", "n1", "var0", "var1"), [(3, 4, 2.0, 5.0), (7, 30, 0.1, 9.0)])
def test_intervals_use_scipy_stats_quantiles_to_the_bit(confidence, n0, n1, var0, var1):
    # business.py calls scipy.special (ndtri, stdtrit) to spare the app scipy.stats' import:
    # the intervals must stay the ones stats.norm.ppf and stats.t.ppf give.
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    assert business.wald_interval(30, 1000, 45, 1000, confidence) == wald(30, 1000, 45, 1000, z)
    a, b = var0 / n0, var1 / n1
    df = (a + b) ** 2 / (a**2 / (n0 - 1) + b**2 / (n1 - 1))
    t = stats.t.ppf(1 - (1 - confidence) / 2, df)
    se = math.sqrt(a + b)
    assert business.welch_interval(1.0, var0, n0, 2.5, var1, n1, confidence) == (
        1.5 - t * se,
        1.5 + t * se,
    )


def test_confidence_widens_the_interval(con):
    found = business.release_impact(con, WINDOW, days=DAYS, confidence=0.99)
    row = found.set_index(["deployment_id", "kpi"]).loc[("d1", "ctr")]
    z99 = statistics.NormalDist().inv_cdf(0.995)
    assert (row.ci_low, row.ci_high) == pytest.approx(wald(42, 900, 81, 900, z99), rel=1e-9)


@pytest.mark.parametrize(
    ("team", "model", "deployments"),
    [("risk", None, {"d4"}), (None, "churn", {"d1", "d5"}), ("growth", "fraud", set())],
)
def test_team_and_model_filters(con, team, model, deployments):
    filters = Filters(WINDOW.since, WINDOW.until, team, model)
    assert set(business.release_impact(con, filters, days=DAYS).deployment_id) == deployments


def test_default_days_reach_further(con):
    # With 7 days, d1's before side starts 11-03 and so takes the 11-06 row (50/100) too.
    row = (
        business.release_impact(con, WINDOW).set_index(["deployment_id", "kpi"]).loc[("d1", "ctr")]
    )
    assert row.before_value == pytest.approx((50 + 42) / (100 + 900))
    assert row.before_days == 4


def test_empty_window_gives_an_empty_frame(con):
    found = business.release_impact(con, Filters(utc("2026-12-01"), utc("2026-12-08")))
    assert found.empty
    assert list(found.columns) == business.COLUMNS


@pytest.mark.parametrize(("days", "confidence"), [(0, 0.95), (7, 1.0), (7, 0.0)])
def test_bad_arguments_are_refused(con, days, confidence):
    with pytest.raises(ValueError):
        business.release_impact(con, WINDOW, days=days, confidence=confidence)


def test_kpi_before_after_for_a_chart(con):
    found = business.kpi_before_after(con, WINDOW, "d1", days=DAYS)
    ctr_days = found[found.kpi == "ctr"]
    assert [str(d.date()) for d in pd.to_datetime(ctr_days.date)] == [
        f"2026-11-{day:02d}" for day in range(7, 14)
    ]
    assert list(ctr_days.side) == ["before"] * 3 + ["release day"] + ["after"] * 3
    assert list(ctr_days.day_offset) == list(range(-3, 4))
    # per day: 16/300, 12/300 (the 'all' row), 14/300, 90/100, 30/300, 27/300, 24/300
    assert list(ctr_days.value) == pytest.approx(
        [16 / 300, 12 / 300, 14 / 300, 0.9, 0.1, 0.09, 0.08]
    )
    aov_days = found[found.kpi == "aov"]
    assert list(aov_days.value) == pytest.approx([40, 43, 41, 100, 43, 40, 45])
    assert set(found.model) == {"churn"} and set(found.deployment_id) == {"d1"}


def test_kpi_before_after_leaves_gaps_empty(con):
    # d5: 11-11 .. 11-17; no ctr row on 11-17, so its value is null, not 0.
    found = business.kpi_before_after(con, WINDOW, "d5", days=DAYS)
    ctr_days = found[found.kpi == "ctr"]
    assert len(ctr_days) == 7
    assert math.isnan(ctr_days.value.iloc[-1])
    assert ctr_days.value.iloc[:-1].notna().all()


@pytest.mark.parametrize(
    ("deployment_id", "team", "rows"),
    [("d3", None, 0), ("nope", None, 0), ("d4", "growth", 0), ("d4", "risk", 14)],
)
def test_kpi_before_after_scope(con, deployment_id, team, rows):
    # d3 is a staging deployment; d4 (fraud, 2 KPIs x 7 days) belongs to team risk.
    filters = Filters(WINDOW.since, WINDOW.until, team)
    assert len(business.kpi_before_after(con, filters, deployment_id, days=DAYS)) == rows


# kpi_value (sql/macros.sql) over one group of (numerator, denominator, value) rows.
@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # 1 click in 10 and 30 in 100: 31/110, not the mean of the ratios (0.2).
        pytest.param([(1, 10, 0.1), (30, 100, 0.3)], 31 / 110, id="ratio-of-sums"),
        # forecast accuracy: no counts, so the mean of the values.
        pytest.param([(None, None, 0.8), (None, None, 0.9)], 0.85, id="value-only"),
        # a segment sent as a value only has no volume to weigh: the counted rows decide.
        pytest.param([(3, 100, 0.03), (None, None, 0.9)], 0.03, id="null-denominator-row"),
        # a day whose rows all lack a denominator reads as the values sent.
        pytest.param([(None, None, 0.05)], 0.05, id="null-denominator-day"),
        # a segment with no traffic adds nothing (a mean of values would say 0.015).
        pytest.param([(0, 0, 0.0), (3, 100, 0.03)], 0.03, id="zero-denominator-row"),
        # no volume at all: the value the source sent (the loader demands one for 0/0) ...
        pytest.param([(0, 0, 0.0)], 0.0, id="zero-denominator-day"),
        # ... and without one, no reading: null (a gap in a chart), never 0.
        pytest.param([(0, 0, None)], None, id="zero-denominator-no-value"),
    ],
)
def test_kpi_value_macro(con, rows, expected):
    frame = pd.DataFrame(rows, columns=["numerator", "denominator", "value"], dtype=float)
    con.register("kpi_value_rows", frame)
    try:
        [(found,)] = con.execute(
            "select kpi_value(numerator, denominator, value) from kpi_value_rows"
        ).fetchall()
    finally:
        con.unregister("kpi_value_rows")
    if expected is None:
        assert found is None
    else:
        assert found == pytest.approx(expected, rel=1e-12)


# --- KPI status over a window (metrics.status.kpi_window_status) ---------------------------


def _days(*values: float | None) -> list[tuple[dt.date, float | None]]:
    """Daily values from 1 Nov on, one a day."""
    return [(dt.date(2026, 11, 1) + dt.timedelta(days=i), v) for i, v in enumerate(values)]


@pytest.mark.parametrize(
    ("value", "daily", "target", "guardrail", "level", "reason", "broken", "recovered"),
    [
        # Higher is better (guardrail 4% under the 5% target).
        (0.052, _days(0.05, 0.051, 0.055), 0.05, 0.04, "green", "on target", 0, None),
        (
            0.045,
            _days(0.044, 0.046, 0.045),
            0.05,
            0.04,
            "amber",
            "below target, guardrail holds",
            0,
            None,
        ),
        # 2 and 3 Nov under 4%, back from 4 Nov: amber, the count and the day it recovered.
        (
            0.048,
            _days(0.05, 0.03, 0.039, 0.045, 0.06),
            0.05,
            0.04,
            "amber",
            "broke its guardrail on 2 of the 5 days with data, recovered since 4 Nov",
            2,
            dt.date(2026, 11, 4),
        ),
        # The guardrail itself holds; a day without data is not a day.
        (0.05, _days(0.04, None, 0.06), 0.05, 0.04, "green", "on target", 0, None),
        # Broken on its latest day with data (3 Nov; 4 Nov has none): red.
        (
            0.05,
            _days(0.06, 0.05, 0.035, None),
            0.05,
            0.04,
            "red",
            "below its guardrail on its latest day, 3 Nov (broke it on 1 of the 3 days with data)",
            1,
            None,
        ),
        # Lower is better (guardrail 0.6% over the 0.5% target).
        (0.004, _days(0.004, 0.0045), 0.005, 0.006, "green", "on target", 0, None),
        (
            0.0055,
            _days(0.007, 0.005, 0.0055),
            0.005,
            0.006,
            "amber",
            "broke its guardrail on 1 of the 3 days with data, recovered since 2 Nov",
            1,
            dt.date(2026, 11, 2),
        ),
        (
            0.0058,
            _days(0.005, 0.0061),
            0.005,
            0.006,
            "red",
            "above its guardrail on its latest day, 2 Nov (broke it on 1 of the 2 days with data)",
            1,
            None,
        ),
        # No data, no terms.
        (None, [], 0.05, 0.04, "grey", "no data in this window", 0, None),
        (None, _days(None, None), 0.05, 0.04, "grey", "no data in this window", 0, None),
        (0.05, _days(0.05), None, None, "grey", "no target set", 0, None),
        # A target without a guardrail: nothing to break, judged by the target.
        (0.03, _days(0.01, 0.05), 0.05, None, "amber", "below target, guardrail holds", 0, None),
    ],
)
def test_kpi_status_over_the_window(
    value, daily, target, guardrail, level, reason, broken, recovered
):
    status = kpi_window_status(value, daily, target, guardrail)
    assert (status.level, status.reason) == (level, reason)
    assert (status.broken_days, status.recovered_since) == (broken, recovered)


def test_a_window_in_words():
    # Windows end at midnight (excluded): the last day is the one before.
    assert window_text(utc("2026-11-07"), utc("2026-12-05")) == "last 28 days to 4 Dec"
    assert window_text(utc("2026-11-27 17:00"), utc("2026-12-04 17:00")) == "last 7 days to 4 Dec"
    assert badge_text("amber", "last 7 days to 4 Dec") == "AMBER · last 7 days to 4 Dec"
