"""Multivariate drift by PCA reconstruction error: hand-checked on tiny frames, and on a
warehouse where two features' correlation flips with their marginals unchanged."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from metrics import db, drift
from metrics.drift import multivariate
from metrics.samples import daily_sample
from tests.helpers.profiles import files_project

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
FLIP_DAY = 12  # from this day on, x1 and x2 are correlated -0.9 instead of 0.9
PER_DAY = 1000
FEATURES = ["segment", "spend", "x1", "x2"]


def day(index: int) -> dt.date:
    return (START + dt.timedelta(days=index)).date()


def window(first: int, last: int) -> drift.Window:
    return drift.Window(day(first), day(last))


# -- pure functions, by hand -----------------------------------------------------------------------


def test_points_on_a_line_keep_one_component_and_an_off_line_point_is_its_distance():
    # x = y: standardised, both are (v - 1.5) / sqrt(1.25); all the variance lies on (1, 1).
    reference = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0.0, 1.0, 2.0, 3.0]})
    fitted = multivariate.fit(reference, ["x", "y"], [])
    assert fitted.components == 1
    rows = pd.DataFrame({"x": [5.0, 3.0, 2.0], "y": [5.0, 0.0, 1.0]})
    # (3, 0) standardises to (1.5, -1.5) / sqrt(1.25), orthogonal to (1, 1): nothing of it is
    # kept, so its error is its whole length, 1.5 * sqrt(2 / 1.25); (2, 1) is a third of that.
    expected = [0.0, 1.5 * math.sqrt(1.6), 0.5 * math.sqrt(1.6)]
    assert multivariate.errors(fitted, rows) == pytest.approx(expected, abs=1e-9)


def test_categories_are_their_reference_share_and_missing_values_the_mean_or_mode():
    # x: 1, 3 and two unusable values -> mean 2; y = x after imputing; c: None -> mode "a".
    reference = pd.DataFrame(
        {
            "x": [1.0, 3.0, np.nan, np.inf],
            "y": [1.0, 3.0, 2.0, 2.0],
            "c": ["a", "a", "b", None],
        }
    )
    fitted = multivariate.fit(reference, ["x", "y"], ["c"])
    assert fitted.means == {"x": 2.0, "y": 2.0}
    assert fitted.modes == {"c": "a"}
    assert fitted.shares == {"c": {"a": 0.75, "b": 0.25}}
    # Standardised: x and y are equal (their line holds 2 of 3 units of variance, over 65%, so
    # one component is kept); c is [.75, .75, .25, .75], mean .625, std sqrt(.046875), and
    # uncorrelated with x, so it is not kept: a row's error is |c standardised| when x = y.
    assert fitted.components == 1
    rows = pd.DataFrame(
        {
            "x": [None, 1.0, 3.0],
            "y": [None, 1.0, 3.0],
            "c": [None, "z", "b"],  # missing -> "a" (.75); unseen -> 0; "b" -> .25
        }
    )
    expected = [1 / math.sqrt(3), 5 / math.sqrt(3), math.sqrt(3)]
    assert multivariate.errors(fitted, rows) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ({"x": [1.0, 2.0], "y": [np.nan, np.inf]}, r"fewer than two features \(x\)"),
        ({"x": [1.0, 1.0, 1.0], "y": [2.0, 2.0, 2.0]}, r"3 row\(s\) do not vary"),
        ({"x": [1.0], "y": [2.0]}, r"1 row\(s\) do not vary"),
    ],
)
def test_a_reference_without_two_columns_or_any_spread_is_refused(reference, message):
    with pytest.raises(multivariate.Unfit, match=message):
        multivariate.fit(pd.DataFrame(reference), ["x", "y"], [])


@pytest.mark.parametrize(
    ("step_errors", "expected"),
    [
        ([10.0, 10.0, 12.0, 12.0], (8.0, 14.0)),  # mean 11, population std 1 (NannyML's)
        ([1.0, 1.0, 3.0, 3.0], (0.0, 5.0)),  # mean 2, std 1: 2 - 3 floored at 0
        ([1.0], None),  # one step has no spread
        ([], None),
    ],
)
def test_the_band_is_the_reference_steps_mean_plus_or_minus_three_std(step_errors, expected):
    got = multivariate.band(step_errors)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


# -- on a warehouse --------------------------------------------------------------------------------


def correlated_rows(rng: np.random.Generator) -> pd.DataFrame:
    """16 days of 1,000 requests: x1, x2 standard normal, correlated 0.9 until FLIP_DAY and
    -0.9 from it (the marginals never change); a category and a number unrelated to them,
    with a few missing values."""
    frames = []
    for index in range(16):
        rho = 0.9 if index < FLIP_DAY else -0.9
        x1 = rng.standard_normal(PER_DAY)
        x2 = rho * x1 + math.sqrt(1 - rho**2) * rng.standard_normal(PER_DAY)
        segment = rng.choice(["a", "b", "c"], PER_DAY, p=[0.5, 0.3, 0.2]).astype(object)
        segment[rng.random(PER_DAY) < 0.03] = None
        spend = rng.gamma(2.0, 10.0, PER_DAY)
        spend[rng.random(PER_DAY) < 0.03] = np.nan
        frames.append(
            pd.DataFrame(
                {
                    "request_id": [f"r{index}-{i}" for i in range(PER_DAY)],
                    "ts": [
                        START + dt.timedelta(days=index, seconds=int(s))
                        for s in rng.integers(0, 86_400, PER_DAY)
                    ],
                    "model": "scorer",
                    "model_version": "1.0",
                    "latency_ms": rng.gamma(4, 10, PER_DAY),
                    "status": "ok",
                    "prediction": rng.random(PER_DAY),
                    "x1": x1,
                    "x2": x2,
                    "segment": segment,
                    "spend": spend,
                }
            )
        )
    # A model that logs no features, serving on every day.
    bare = pd.concat(frames)[["ts", "model_version", "latency_ms", "status", "prediction"]]
    frames.append(bare.assign(model="bare", request_id=[f"b{i}" for i in range(len(bare))]))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return files_project(
        tmp_path_factory.mktemp("multivariate"), correlated_rows(np.random.default_rng(17))
    )


def test_a_flipped_correlation_alerts_where_no_single_column_drifts(project):
    reference, current = window(0, 8), window(8, 16)
    with db.connect(project.warehouse) as con:
        univariate = drift.model_drift(con, "scorer", current, drift.Reference("fixed", reference))
        found = multivariate.reconstruction_drift(con, "scorer", current, reference)
    assert {c.column: c.drifted for c in univariate.features} == {
        "x1": False,
        "x2": False,
        "segment": False,
        "spend": False,
    }
    assert univariate.dataset_drift is False
    steps = found.steps.set_index("day")
    assert list(steps.index) == [day(i) for i in range(8, 16)]
    assert list(steps["alert"]) == [i >= FLIP_DAY for i in range(8, 16)]
    assert list(steps["rows"]) == [PER_DAY] * 8
    # Standardised, x1 and x2 share an axis of variance 1.9 and a minor one of 0.1; segment
    # and spend are independent, 1 each. 65% of 4 is 2.6: the PCA keeps the main axis and one
    # of the two, so a reference row's error is |the other| and |x1 - x2| / sqrt(2) (variance
    # 0.1) combined. Flipped, the minor axis carries 1.9: the error grows by about 0.6.
    assert found.components == 2
    lower, upper = found.window["lower"], found.window["upper"]
    assert lower < steps["error"].iloc[0] < upper
    assert steps.loc[[day(i) for i in range(FLIP_DAY, 16)], "error"].min() > upper + 0.3
    assert found.window["alert"] is True and found.window["rows"] == 8 * PER_DAY
    assert found.reference["rows"] == 8 * PER_DAY
    assert sorted(found.features) == FEATURES
    assert found.reason is None


def test_the_reference_alone_never_alerts_and_the_sample_is_bounded(project):
    reference, current = window(0, 6), window(6, FLIP_DAY)
    with db.connect(project.warehouse) as con:
        found = multivariate.reconstruction_drift(con, "scorer", current, reference, per_day=300)
    assert not found.steps["alert"].any() and found.window["alert"] is False
    assert list(found.steps["rows"]) == [300] * 6 and found.reference["rows"] == 6 * 300


def test_steps_of_several_days_take_their_band_from_reference_steps_of_that_size(project):
    reference, current = window(0, 8), window(8, 16)
    with db.connect(project.warehouse) as con:
        weekly = multivariate.reconstruction_drift(con, "scorer", current, reference, step_days=4)
        rows = daily_sample(con, "scorer", reference.since, reference.until, FEATURES, PER_DAY)
    fitted = multivariate.fit(rows, ["spend", "x1", "x2"], ["segment"])
    halves = [rows[rows["day"] < day(4)], rows[rows["day"] >= day(4)]]
    lower, upper = multivariate.band([multivariate.errors(fitted, h).mean() for h in halves])
    assert list(weekly.steps["day"]) == [day(8), day(12)]
    assert list(weekly.steps["rows"]) == [4 * PER_DAY] * 2
    assert (weekly.window["lower"], weekly.window["upper"]) == pytest.approx((lower, upper))
    # Two reference steps make a narrow band (their spread is one difference), so only the
    # flipped step is asserted: it lies far outside.
    assert weekly.steps["alert"].iloc[1] and weekly.steps["error"].iloc[1] > upper + 0.3


def test_a_model_without_features_or_reference_rows_gets_no_figure_and_a_reason(project):
    with db.connect(project.warehouse) as con:
        bare = multivariate.reconstruction_drift(con, "bare", window(1, 2), window(0, 1))
        early = multivariate.reconstruction_drift(con, "scorer", window(0, 2), window(-5, 0))
        short = multivariate.reconstruction_drift(con, "scorer", window(8, 16), window(7, 8))
        late = multivariate.reconstruction_drift(con, "scorer", window(16, 18), window(8, 16))
    assert bare.window["error"] is None and bare.reason == "bare logs no features"
    assert early.window["error"] is None
    assert early.reason == "scorer has no ok requests in the reference 2026-02-24–2026-03-01"
    assert list(early.steps["rows"]) == [0, 0] and early.steps["error"].isna().all()
    # One reference day is one step: the errors are there, the band is not.
    assert short.window["error"] is not None and short.window["alert"] is None
    assert short.reason.endswith("gives 1 step(s) of 1 day(s) with rows: a band needs two")
    # Nothing in the current window: the band is there, the errors are not.
    assert late.window["upper"] is not None and late.window["error"] is None
    assert late.window["alert"] is None and list(late.steps["rows"]) == [0, 0]
    assert late.reason == "scorer has no ok requests in 2026-03-17–2026-03-19"


def test_the_report_carries_the_multivariate_reading_against_the_same_reference(project):
    import settings
    from metrics.__main__ import report

    result = report(
        settings.load(project.config_path),
        "2026-03-09",
        "2026-03-17",
        None,
        None,
        reference_since="2026-03-01",
        reference_until="2026-03-09",
    )
    reading = result["models"]["scorer"]["drift"]
    related = reading["multivariate"]
    assert related["reference"] == {"since": "2026-03-01", "until": "2026-03-09", "rows": 8000}
    assert reading["reference"]["since"] == related["reference"]["since"]
    assert related["alert"] is True and related["rows"] == 8000
    assert [s["alert"] for s in related["steps"]] == [i >= FLIP_DAY for i in range(8, 16)]
    assert related["steps"][0]["day"] == "2026-03-09"
    assert reading["dataset_drift"] is False
    assert json.loads(json.dumps(related)) == related  # plain JSON values only
