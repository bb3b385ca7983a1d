"""Drift verdicts against the real Evidently, on the same data, column by column.

Evidently 0.7.23's DataDriftPreset is the reference: for every column the method, the score
and the verdict must match, and so must the dataset's drift share. Scores computed from the
profiles' bins (Wasserstein far from its threshold) must lie inside the bounds the engine
reports and within 2% of Evidently's; every other score is exact.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from metrics import db, drift, evidently_report
from tests.helpers.profiles import far_from_zero, m2_errors

evidently = evidently_report.verdicts
evidently_drifted = evidently_report.drifted


def assert_agrees(ours: drift.DriftResult, reference: pd.DataFrame, current: pd.DataFrame):
    theirs, share = evidently(reference, current)
    assert {c.column for c in ours.tested} == set(theirs)
    for column in ours.tested:
        method, score, threshold = theirs[column.column]
        where = f"{column.column}: ours {column.method_name} {column.score}, theirs {score}"
        assert column.method_name == method, where
        assert column.threshold == threshold, where
        assert column.drifted == evidently_drifted(method, score, threshold), where
        if column.settled == "profile" and column.method == "wasserstein":
            low, high = column.bounds
            assert low - 1e-9 <= score <= high + 1e-9, where
            assert column.score == pytest.approx(score, rel=0.02, abs=1e-4), where
        else:
            assert column.score == pytest.approx(score, rel=1e-7, abs=1e-12), where
    # Evidently's own count of drifted columns: an independent check of every verdict.
    assert ours.drift_share == pytest.approx(share)


def mixed(n: int, shift: float, rng: np.random.Generator) -> pd.DataFrame:
    """Numeric, skewed, integer (few and many values), low-cardinality float, text, boolean."""
    frame = pd.DataFrame(
        {
            "amount": rng.normal(50 + 4 * shift, 10, n),
            "latency": rng.lognormal(3 + 0.2 * shift, 0.5, n),
            "items": rng.integers(0, 4 + (shift > 0), n),  # integer, <= 10 values: categorical
            "age_days": rng.integers(0, 40 + int(10 * shift), n),  # integer, many values
            "rating": rng.choice([1.0, 2.0, 3.0], n, p=[0.5 - 0.1 * shift, 0.3, 0.2 + 0.1 * shift]),
            "flag": rng.choice([0.0, 1.0], n),  # float with two values: z-test or JS
            "country": rng.choice(
                ["de", "fr", "pt", "es"], n, p=[0.4, 0.3, 0.2 - 0.05 * shift, 0.1 + 0.05 * shift]
            ),
            "new_card": rng.random(n) < 0.2 + 0.05 * shift,
        }
    )
    missing = rng.random(n) < 0.03
    frame.loc[missing, "amount"] = np.nan
    frame.loc[rng.random(n) < 0.01, "latency"] = np.inf
    # Evidently's DriftedColumnsCount cleans a column only when it holds a NaN (infinities
    # alone are left in and its test fails quietly), so latency gets one NaN as well.
    frame.loc[0, "latency"] = np.nan
    frame.loc[rng.random(n) < 0.05, "country"] = None
    return frame


@pytest.mark.parametrize(
    ("n_reference", "n_current", "shift"),
    [
        (300, 400, 0.5),  # small reference: KS, chi-square, z-test
        (1000, 900, 0.3),  # exactly at the boundary before cleaning; NaNs put some below
        (1035, 1200, 0.3),  # just above it: amount (3% missing) falls to <= 1000, others don't
        (1200, 1200, 0.0),  # large reference, no drift
        (20_000, 15_000, 0.35),  # large: Wasserstein and Jensen-Shannon, some drifted
    ],
)
def test_verdicts_match_evidently_column_by_column(n_reference, n_current, shift):
    rng = np.random.default_rng(n_reference + n_current)
    reference, current = mixed(n_reference, 0.0, rng), mixed(n_current, shift, rng)
    ours = drift.compare_frames(reference, current)
    assert_agrees(ours, reference, current)
    methods = {c.method for c in ours.tested}
    if n_reference <= 1000:
        assert methods <= {"ks", "chisquare", "z"}
    if n_reference >= 1200:
        assert "wasserstein" in methods and "jensenshannon" in methods


def test_the_1000_row_boundary_is_counted_after_dropping_missing_values():
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 1010)})
    current = pd.DataFrame({"x": rng.normal(0.1, 1, 1010)})
    reference.loc[:9, "x"] = np.nan  # 1000 values left: still KS
    ours = drift.compare_frames(reference, current)
    assert ours.column("x").method == "ks"
    reference.loc[:9, "x"] = 0.5  # 1010 values: Wasserstein
    assert drift.compare_frames(reference, current).column("x").method == "wasserstein"
    assert_agrees(drift.compare_frames(reference, current), reference, current)


def test_scores_near_the_threshold_are_settled_from_raw_values():
    rng = np.random.default_rng(11)
    values = rng.normal(0, 1, 50_000)
    reference = pd.DataFrame({"x": values})
    # The same values shifted by a tenth of their std: the normed distance is 0.1, on the line.
    current = pd.DataFrame({"x": values + 0.1 * np.std(values)})
    ours = drift.compare_frames(reference, current)
    column = ours.column("x")
    assert column.settled == "raw"
    assert_agrees(ours, reference, current)


def test_wasserstein_bounds_contain_the_exact_distance():
    from scipy import stats

    rng = np.random.default_rng(5)
    for trial in range(20):
        a = rng.gamma(1 + trial % 4, 2, 3000)
        b = rng.gamma(1 + trial % 3, 2.2, 2500) + (trial % 5) * 0.3
        ours = drift.compare_frames(pd.DataFrame({"x": a}), pd.DataFrame({"x": b}))
        low, high = ours.column("x").bounds
        exact = stats.wasserstein_distance(a, b) / np.std(a)
        assert low - 1e-9 <= exact <= high + 1e-9


def test_hand_computed_jensen_shannon_and_z_test():
    # Shares (1/2, 1/2) against (1/4, 3/4): JS distance by hand with natural logs.
    p, q = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    m = (p + q) / 2
    by_hand = np.sqrt((np.sum(p * np.log(p / m)) + np.sum(q * np.log(q / m))) / 2)
    assert drift.jensen_shannon({"a": 2, "b": 2}, {"a": 1, "b": 3}) == pytest.approx(by_hand)
    # z-test: 50/100 against 70/100 -> pooled 0.6, z = -0.2 / sqrt(0.24 * 0.02) = -2.8868
    z = -0.2 / np.sqrt(0.6 * 0.4 * (1 / 100 + 1 / 100))
    from scipy.stats import norm

    expected = 2 * (1 - norm.cdf(abs(z)))
    assert drift.z_test_p({"a": 50, "b": 50}, {"a": 30, "b": 70}) == pytest.approx(expected)


def test_free_text_and_empty_columns_are_not_tested():
    rng = np.random.default_rng(2)
    reference = pd.DataFrame(
        {
            "note": [f"text {i}" for i in range(2000)],
            "x": rng.normal(0, 1, 2000),
            "gone": [np.nan] * 2000,
        }
    )
    current = reference.assign(x=rng.normal(0, 1, 2000))
    ours = drift.compare_frames(reference, current)
    assert ours.column("note").type == "text" and not ours.column("note").tested
    assert ours.column("gone").type == "empty" and not ours.column("gone").tested
    assert [c.column for c in ours.tested] == ["x"]
    assert ours.drift_share == 0.0


# --- The warehouse: per-day profiles at sync, drift over windows of days ----------------------

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def inference_rows(rng: np.random.Generator) -> pd.DataFrame:
    """20 days of a model's requests, 2000 a day; from day 10, `amount` shifts by one std and
    `country` leans to pt. `items` (integer, 4 values) never changes."""
    frames = []
    for day in range(20):
        n = 2000
        drifted = day >= 10
        frames.append(
            pd.DataFrame(
                {
                    "request_id": [f"r{day}-{i}" for i in range(n)],
                    "ts": [
                        START + dt.timedelta(days=day, seconds=int(s))
                        for s in rng.integers(0, 86_400, n)
                    ],
                    "model": "pricing",
                    "model_version": "1.0" if day < 5 else "1.1",
                    "latency_ms": rng.gamma(4, 10, n),
                    "status": "ok",
                    "prediction": rng.normal(10, 2, n),
                    "amount": rng.normal(60 if drifted else 50, 10, n),
                    "items": rng.integers(0, 4, n),
                    "country": rng.choice(
                        ["de", "fr", "pt"], n, p=[0.2, 0.2, 0.6] if drifted else [0.4, 0.4, 0.2]
                    ),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    from tests.helpers.project import Project

    project = Project(tmp_path_factory.mktemp("drift"))
    rows = inference_rows(np.random.default_rng(8))
    (project.root / "exports").mkdir()
    rows.to_parquet(project.root / "exports" / "inference.parquet")
    project.configure(
        '[[sources]]\nname = "logs"\nkind = "files"\nfeed = "inference"\n'
        'path = "exports/inference.parquet"\n'
    )
    report = project.sync()
    assert report.ok and report.profiled_days == 20
    return project, rows


def window(first_day: int, last_day: int) -> drift.Window:
    return drift.Window(
        (START + dt.timedelta(days=first_day)).date(), (START + dt.timedelta(days=last_day)).date()
    )


def rows_in(rows: pd.DataFrame, w: drift.Window) -> pd.DataFrame:
    since, until = w.instants()
    scoped = rows[(rows["ts"] >= since) & (rows["ts"] < until)]
    return scoped[["amount", "items", "country", "prediction"]].reset_index(drop=True)


@pytest.mark.parametrize(
    ("reference", "current"),
    [((0, 10), (10, 20)), ((0, 5), (5, 10)), ((6, 10), (10, 12))],
)
def test_warehouse_drift_matches_evidently_on_the_same_rows(synced, reference, current):
    project, rows = synced
    ref_w, cur_w = window(*reference), window(*current)
    with db.connect(project.warehouse) as con:
        ours = drift.model_drift(con, "pricing", cur_w, drift.Reference("fixed", ref_w))
    ref_rows, cur_rows = rows_in(rows, ref_w), rows_in(rows, cur_w)
    assert ours.reference["rows"] == len(ref_rows) and ours.current["rows"] == len(cur_rows)
    features = ref_rows[["amount", "items", "country"]], cur_rows[["amount", "items", "country"]]
    assert_agrees(
        drift.DriftResult(ours.features, reference=ours.reference, current=ours.current),
        *features,
    )
    prediction = ours.column("prediction")
    theirs, _ = evidently(ref_rows[["prediction"]], cur_rows[["prediction"]])
    assert prediction.drifted == evidently_drifted(*theirs["prediction"])


def test_the_default_reference_is_the_previous_window_and_version_starts_work(synced):
    project, _ = synced
    with db.connect(project.warehouse) as con:
        default = drift.model_drift(con, "pricing", window(10, 20))
        version = drift.model_drift(
            con, "pricing", window(10, 20), drift.Reference("version", version="1.1", days=3)
        )
    assert default.reference == {"since": "2026-03-01", "until": "2026-03-11", "rows": 20000}
    assert default.column("amount").drifted and default.column("country").drifted
    assert not default.column("items").drifted
    assert default.drift_share == pytest.approx(2 / 3) and default.dataset_drift
    assert version.reference == {"since": "2026-03-06", "until": "2026-03-09", "rows": 6000}


def test_the_timeline_shows_the_day_drift_began(synced):
    project, _ = synced
    with db.connect(project.warehouse) as con:
        line = drift.timeline(con, "pricing", window(0, 5), window(0, 20))
    amount = line[line["column"] == "amount"].set_index("start")["drifted"]
    first = amount[amount].index.min()
    assert first == window(10, 11).since == drift.first_drift(line, "amount", window(5, 20).since)
    assert drift.first_drift(line, "items", window(5, 20).since) is None
    assert not amount[amount.index < first].any() and amount[amount.index >= first].all()
    share = line[line["role"] == "dataset"].set_index("start")["score"]
    assert share.loc[window(9, 10).since] == 0 and share.loc[window(12, 13).since] == pytest.approx(
        2 / 3
    )


def test_one_run_reads_a_timeline_once_and_each_caller_gets_its_own(synced, monkeypatch):
    """The drift page's timeline and its drift impact ask for the same days against the same
    reference: inside samples.remembered() the profiles are read for it once."""
    from metrics import samples
    from metrics.drift import stored

    project, _ = synced
    reads = []
    real = stored._profile_frames
    monkeypatch.setattr(stored, "_profile_frames", lambda *a: reads.append(a[1]) or real(*a))
    with db.connect(project.warehouse) as con:
        alone = drift.timeline(con, "pricing", window(0, 5), window(0, 20))
        with samples.remembered():
            first = drift.timeline(con, "pricing", window(0, 5), window(0, 20))
            first.loc[:, "score"] = -1.0  # one caller's change
            again = drift.timeline(con, "pricing", window(0, 5), window(0, 20))
            other = drift.timeline(con, "pricing", window(0, 5), window(0, 20), 7)  # weekly
    assert len(reads) == 3  # alone, the first in the run, the weekly one
    pd.testing.assert_frame_equal(again, alone)
    assert len(other) < len(alone)


# --- First drifted: from which step of the current window the score stays past its threshold --

DAY0 = dt.date(2026, 10, 1)
WASSERSTEIN = "Wasserstein distance (normed)"
KS = "K-S p_value"
CHI = "chi-square p_value"


def scored_line(method: str | None, scores: list[float], threshold: float) -> pd.DataFrame:
    """A timeline of one column (method None: the drift share), one step a day from DAY0."""
    return pd.DataFrame(
        {
            "start": [DAY0 + dt.timedelta(days=i) for i in range(len(scores))],
            "column": "x" if method else None,
            "role": "feature" if method else "dataset",
            "method": method,
            "score": scores,
            "threshold": threshold,
        }
    )


@pytest.mark.parametrize(
    ("method", "scores", "threshold", "since_day", "first_day"),
    [
        # A distance that never reaches its threshold: no start of drift.
        (WASSERSTEIN, [0.02, 0.05, 0.09, 0.03], 0.1, None, None),
        # Past from day 2 to the end.
        (WASSERSTEIN, [0.02, 0.05, 0.4, 0.9, 0.8], 0.1, None, 2),
        # Past, back under, past again from day 3: the last run counts.
        (WASSERSTEIN, [0.5, 0.6, 0.05, 0.3, 0.2], 0.1, None, 3),
        # Past and back: it did not stay, so none.
        (WASSERSTEIN, [0.02, 0.5, 0.6, 0.05], 0.1, None, None),
        # Past only on the last day.
        (WASSERSTEIN, [0.02, 0.05, 0.09, 0.2], 0.1, None, 3),
        # A distance exactly at its threshold has drifted (Evidently: score >= threshold).
        (WASSERSTEIN, [0.05, 0.1, 0.1], 0.1, None, 1),
        # A p-value drifts below its threshold, not above: large p-values are stable.
        (CHI, [0.9, 0.6, 0.01, 0.001], 0.05, None, 2),
        (CHI, [0.01, 0.02, 0.5], 0.05, None, None),
        # Chi-square exactly at the threshold is stable (p < threshold); KS at it drifts (<=).
        (CHI, [0.3, 0.05, 0.01], 0.05, None, 2),
        (KS, [0.3, 0.05, 0.01], 0.05, None, 1),
        # The drift share: at or above the dataset's share.
        (None, [0.0, 0.25, 0.5, 0.75], 0.5, None, 2),
        # Only the current window's steps count: the reference's days (0-1, past here because a
        # day of the reference against the whole of it is noisy) are not a start of drift.
        (WASSERSTEIN, [0.3, 0.2, 0.05, 0.4, 0.5], 0.1, 2, 3),
        (WASSERSTEIN, [0.3, 0.2, 0.4, 0.4, 0.5], 0.1, 2, 2),
    ],
)
def test_first_drift_is_where_the_score_stays_past_its_threshold(
    method, scores, threshold, since_day, first_day
):
    line = scored_line(method, scores, threshold)
    since = None if since_day is None else DAY0 + dt.timedelta(days=since_day)
    expected = None if first_day is None else DAY0 + dt.timedelta(days=first_day)
    assert drift.first_drift(line, "x" if method else None, since) == expected


def test_first_drift_ignores_other_columns_and_untested_steps():
    line = pd.concat(
        [
            scored_line(WASSERSTEIN, [0.05, 0.5, 0.5], 0.1),
            scored_line(WASSERSTEIN, [0.5, 0.5, 0.5], 0.1).assign(column="y"),
            scored_line(WASSERSTEIN, [0.5, 0.5, np.nan], 0.1).assign(column="z"),
        ]
    )
    assert drift.first_drift(line, "x") == DAY0 + dt.timedelta(days=1)
    assert drift.first_drift(line, "y") == DAY0
    assert drift.first_drift(line, "z") is None  # not scored on the last step: not past it
    assert drift.first_drift(line, "absent") is None


# --- A version's first days as the reference: never past today, never into the window ---------


def days_from(day: int) -> dt.date:
    return DAY0 + dt.timedelta(days=day)


@pytest.mark.parametrize(
    ("first", "days", "current", "today_until", "expected"),
    [
        # Well before the window: its 7 days as they are.
        (0, 7, (20, 48), 50, (0, 7)),
        # Its 7 days run into the window (from day 20): cut at the window's start.
        (16, 7, (20, 48), 50, (16, 20)),
        # A reference window before a version started today: cut at the end of today.
        (10, 7, (30, 58), 13, (10, 13)),
        # Starts on the window's first day, or inside it: nothing left.
        (20, 7, (20, 48), 50, None),
        (25, 7, (20, 48), 50, None),
    ],
)
def test_a_version_reference_stops_at_the_window_and_at_today(
    first, days, current, today_until, expected
):
    current_window = drift.Window(days_from(current[0]), days_from(current[1]))
    got = drift.version_window(days_from(first), days, current_window, days_from(today_until))
    assert got == (None if expected is None else drift.Window(*map(days_from, expected)))


@pytest.mark.parametrize(
    ("firsts", "days", "expected"),
    [
        # Newest first. v3's 7 days (from day 15) end on day 22, past the window's start (20):
        # v2's (from day 5) end on 12, before it.
        ({"v3": 15, "v2": 5, "v1": 0}, 7, "v2"),
        # With 3 days, v3's end on day 18: v3 fits.
        ({"v3": 15, "v2": 5, "v1": 0}, 3, "v3"),
        # v4 started inside the window: never the default while an older one fits.
        ({"v4": 30, "v3": 15, "v2": 5}, 7, "v2"),
        # None fits whole: the newest that started before the window (cut short).
        ({"v4": 30, "v3": 15}, 7, "v3"),
        # None started before the window: the newest (the page then says nothing is left).
        ({"v5": 40, "v4": 30}, 7, "v5"),
    ],
)
def test_the_default_version_is_the_newest_whose_first_days_end_before_the_window(
    firsts, days, expected
):
    versions = pd.DataFrame(
        {"version": list(firsts), "first_day": [days_from(d) for d in firsts.values()]}
    )
    current = drift.Window(days_from(20), days_from(48))
    assert drift.default_version(versions, days, current) == expected
    assert drift.default_version(versions.iloc[0:0], days, current) is None


def test_a_version_reference_in_the_warehouse_is_clamped_or_refused(synced):
    project, _ = synced
    with db.connect(project.warehouse) as con:
        # 1.1 first served on day 5; its 10 days would run to day 15, past the window (day 8).
        clamped = drift.model_drift(
            con, "pricing", window(8, 20), drift.Reference("version", version="1.1", days=10)
        )
        assert clamped.reference == {"since": "2026-03-06", "until": "2026-03-09", "rows": 6000}
        with pytest.raises(ValueError, match="nothing before the window"):
            drift.model_drift(
                con, "pricing", window(5, 20), drift.Reference("version", version="1.1", days=3)
            )


def test_a_second_sync_profiles_nothing_and_a_changed_day_is_profiled_again(tmp_path):
    from tests.helpers.project import Project

    project = Project(tmp_path)
    rows = inference_rows(np.random.default_rng(3))
    rows = rows[rows["ts"] < START + dt.timedelta(days=3)].reset_index(drop=True)
    (project.root / "exports").mkdir()
    rows.to_parquet(project.root / "exports" / "inference.parquet")
    project.configure(
        '[[sources]]\nname = "logs"\nkind = "files"\nfeed = "inference"\n'
        'path = "exports/inference.parquet"\n'
    )
    assert project.sync().profiled_days == 3
    bins = "select * from drift_profile_bins where day <> $day order by all"
    second_day = window(1, 2).since
    before = project.query(bins, {"day": second_day})
    before_all = project.query("select * from drift_profile_bins order by all")
    again = project.sync()
    assert again.profiled_days == 0
    assert project.query("select * from drift_profile_bins order by all") == before_all

    on_day_two = (rows["ts"] >= START + dt.timedelta(days=1)) & (
        rows["ts"] < START + dt.timedelta(days=2)
    )
    rows.loc[on_day_two, "amount"] += 100.0
    rows.to_parquet(project.root / "exports" / "inference.parquet")
    changed = project.sync()
    assert changed.profiled_days == 1
    assert project.query(bins, {"day": second_day}) == before  # the other days untouched
    (mean,) = project.query(
        "select sum(n * mean) / sum(n) from drift_profile_bins "
        "where feature = 'amount' and day = $day and bin is not null",
        {"day": second_day},
    )[0]
    assert mean == pytest.approx(rows.loc[on_day_two, "amount"].mean(), rel=1e-12)


def test_the_headless_report_gives_each_models_drift(synced):
    import settings
    from metrics.__main__ import report

    project, rows = synced
    result = report(
        settings.load(project.config_path),
        "2026-03-11",
        "2026-03-21",
        None,
        "pricing",
        reference_since="2026-03-01",
        reference_until="2026-03-06",
    )
    reading = result["models"]["pricing"]["drift"]
    assert reading["reference"] == {"since": "2026-03-01", "until": "2026-03-06", "rows": 10000}
    assert reading["current"] == {"since": "2026-03-11", "until": "2026-03-21", "rows": 20000}
    assert set(reading["columns"]) == {"amount", "items", "country"}
    assert reading["columns"]["amount"] == {
        "type": "numerical",
        "method": "Wasserstein distance (normed)",
        "score": pytest.approx(1.0, abs=0.1),  # shifted by one std
        "threshold": 0.1,
        "drifted": True,
    }
    assert reading["columns"]["items"]["type"] == "categorical"
    assert reading["dataset_drift"] is True and reading["drift_share"] == pytest.approx(2 / 3)
    assert "its inputs drifted: 2 of 3 features" in " ".join(result["models"]["pricing"]["reasons"])


def test_daily_figures_come_from_the_profiles_and_match_the_raw_rows(synced):
    project, rows = synced
    with db.connect(project.warehouse) as con:
        daily = drift.daily_figures(con, "pricing", "amount", window(8, 12))
        countries = drift.daily_figures(con, "pricing", "country", window(8, 12))
    assert list(daily["rows"]) == [2000] * 4 and (daily["missing_share"] == 0).all()
    for day, row in zip(range(8, 12), daily.itertuples(), strict=True):
        raw = rows_in(rows, window(day, day + 1))["amount"]
        assert row.mean == pytest.approx(raw.mean(), rel=1e-12)
        assert row.std == pytest.approx(raw.std(ddof=0), rel=1e-9)
        # Interpolated within a bin narrower than 5% of the std: that close to the true median.
        assert abs(row.p50 - raw.median()) <= 0.05 * raw.std(ddof=0)
    for day, row in zip(range(8, 12), countries.itertuples(), strict=True):
        shares = rows_in(rows, window(day, day + 1))["country"].value_counts(normalize=True)
        assert row.top_value == shares.idxmax() and row.top_value_share == shares.max()
    assert list(countries["top_value"])[2:] == ["pt", "pt"]  # the drift began on day 10


def test_a_contracts_drift_overrides_change_the_verdicts(synced, tmp_path):
    from metrics import contracts

    project, _ = synced
    path = tmp_path / "models.toml"
    path.write_text("[models.pricing]\ndrift = { share = 0.7, thresholds = { amount = 5.0 } }\n")
    thresholds, share = drift.contract_terms(contracts.load(path)["pricing"])
    assert (thresholds, share) == ({"amount": 5.0}, 0.7)
    with db.connect(project.warehouse) as con:
        result = drift.model_drift(con, "pricing", window(10, 20), None, thresholds, share)
    amount = result.column("amount")
    assert amount.threshold == 5.0 and not amount.drifted  # a one-std shift is below 5
    assert result.drift_share == pytest.approx(1 / 3)  # country alone
    assert result.dataset_drift is False


# --- m2 on values far from zero -----------------------------------------------------------------


def duckdb_numeric(frame: pd.DataFrame):
    import duckdb

    from profiling import queries

    def query(spec) -> pd.DataFrame:
        con = duckdb.connect()
        con.execute("set TimeZone = 'UTC'")
        con.register("t", frame)
        text = queries.numeric_sql(
            [queries.ProfiledColumn("x", "DOUBLE")], {"x": spec}, '"t"', queries.DAY
        )
        return con.execute(text).df()

    return query


def test_m2_keeps_its_digits_on_values_far_from_zero():
    # Taken about each bin's lower edge: within 1e-9 of exact (a plain var_pop was 2e-5 off).
    assert m2_errors(far_from_zero(), duckdb_numeric(far_from_zero())) < 1e-9
