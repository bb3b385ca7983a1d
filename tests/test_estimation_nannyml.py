"""Tandem's CBPE and PCA reconstruction drift against NannyML's, on the same synthetic rows.

NannyML 0.13.1 installs beside our pins (requirements-dev.txt; the outcome is written at the top
of bench/estimation.py). Without it these tests skip, unless TANDEM_REQUIRE_NANNYML=1 (CI)
says it must be there.

Tolerances, and why they are what they are:
- CBPE on over-confident scores (both sides calibrate): both fit scikit-learn's
  IsotonicRegression (clip beyond the reference's scores) on the same labelled rows and sum the
  same calibrated probabilities, so accuracy, precision, recall and F1 agree to rounding: 1e-9
  (measured: 1e-16). NannyML rounds the expected TP/FP counts to 5 decimals before its ROC
  AUC: 1e-6 there (measured: 2e-9). Skipping the calibration moves the estimates by far more
  (checked below, so the comparison can fail).
- CBPE bands: by design Tandem's standard error is the larger of NannyML's (the reference's
  spread at the chunk's size) and the chunk's own, so Tandem's band holds NannyML's; on these
  rows it is at most 1.6 times as wide (ROC AUC, Hanley & McNeil), so at most 2 is asserted.
- CBPE on scores that are probabilities already: whether to calibrate is a check on held-out
  reference rows on both sides, but not the same check (NannyML 0.13.1: 10 pooled 90/10 splits,
  equal-count bins; Tandem: 3 splits averaged, equal-width bins), and they can decide
  differently; the estimates then differ by up to 0.011 here. Asserted: each of Tandem's
  estimates lies inside NannyML's band.
- Reconstruction drift: the same imputation, count encoding, scaling and PCA (65% of the
  variance), so each day's mean error agrees to 1e-9, and so do the band's ends (the reference
  days' mean +- 3 population standard deviations on both sides).
"""

from __future__ import annotations

import datetime as dt
import os
import sys

import numpy as np
import pandas as pd
import pytest

import settings
import warehouse
from connectors.loader import Batch, Loader
from metrics import db
from metrics.drift.multivariate import reconstruction_drift
from metrics.drift.windows import Window
from metrics.estimation import cbpe
from metrics.samples import daily_sample

# NannyML reports usage to an analytics service unless told not to; a test phones no one.
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")

REQUIRE_ENV = "TANDEM_REQUIRE_NANNYML"
CLASSIFICATION_TOLERANCE = {
    "accuracy": 1e-9,
    "precision": 1e-9,
    "recall": 1e-9,
    "f1": 1e-9,
    "roc_auc": 1e-6,
}
ERROR_TOLERANCE = 1e-9
# Slow: importing NannyML and its CBPE fit (a 10-fold calibration check) take about 6 s alone.
# NannyML warns when a window gives few chunks; a test's current window is a few days on purpose.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The resulting number of chunks is too low"),
]


def _nannyml():
    # NannyML imports FLAML, whose `import pyspark.pandas` starts a Spark session in this
    # process when PySpark is installed (it is, for the spark connector's tests, which then
    # would get that session instead of their own): FLAML falls back when that import fails.
    blocked = "pyspark.pandas" not in sys.modules
    if blocked:
        sys.modules["pyspark.pandas"] = None
    try:
        if os.environ.get(REQUIRE_ENV) == "1":
            import nannyml  # fails loudly: CI must have it

            return nannyml
        return pytest.importorskip("nannyml")
    finally:
        if blocked:
            del sys.modules["pyspark.pandas"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


# --- CBPE --------------------------------------------------------------------------------

START = pd.Timestamp("2026-06-01")
# The current days: the feature's mean per day (a covariate shift, the case CBPE is for).
SHIFTS = [0.0, 0.4, -0.6, 1.0, 0.2]


def _classified(rng: np.random.Generator, rows: int, shift: float, day: int) -> pd.DataFrame:
    x = rng.normal(shift, 1.0, rows)
    truth = -0.4 + 1.2 * x
    # The score is over-confident (its logit 1.8 times the truth's): calibration matters.
    score = _sigmoid(1.8 * truth)
    return pd.DataFrame(
        {
            "ts": START + pd.Timedelta(days=day) + pd.to_timedelta(rng.random(rows) * 86399, "s"),
            "score": score,
            "prediction": (score >= 0.5).astype(float),
            "label": (rng.random(rows) < _sigmoid(truth)).astype(float),
        }
    )


@pytest.fixture(scope="module")
def classifier_rows() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(2026)
    reference = pd.concat([_classified(rng, 2_000, 0.0, day) for day in range(10)])
    current = pd.concat(
        [_classified(rng, 3_000, shift, 10 + day) for day, shift in enumerate(SHIFTS)]
    )
    return reference.reset_index(drop=True), current.reset_index(drop=True)


@pytest.fixture(scope="module")
def nannyml_cbpe(classifier_rows):
    nannyml = _nannyml()
    reference, current = classifier_rows
    estimator = nannyml.CBPE(
        y_pred_proba="score",
        y_pred="prediction",
        y_true="label",
        timestamp_column_name="ts",
        metrics=list(cbpe.METRICS),
        chunk_period="D",
        problem_type="classification_binary",
    )
    estimator.fit(reference)
    # Without labels, as an unlabelled day is estimated.
    found = estimator.estimate(current.drop(columns="label")).filter(period="analysis").to_df()
    return estimator, found


def _ours_per_day(cal: cbpe.Calibration, current: pd.DataFrame) -> list[dict[str, cbpe.Band]]:
    days = current["ts"].dt.normalize()
    return [cbpe.estimate(cal, current[days == day]) for day in sorted(days.unique())]


def test_both_calibrate_these_scores(classifier_rows, nannyml_cbpe):
    # Otherwise the comparison below would hold NannyML's raw scores against our calibration.
    estimator, _ = nannyml_cbpe
    assert estimator.needs_calibration
    assert cbpe.fit(classifier_rows[0]).is_calibrated


@pytest.mark.parametrize("metric", cbpe.METRICS)
def test_cbpe_estimates_agree_with_nannyml_day_by_day(classifier_rows, nannyml_cbpe, metric):
    reference, current = classifier_rows
    _, theirs = nannyml_cbpe
    ours = _ours_per_day(cbpe.fit(reference), current)
    assert len(ours) == len(theirs) == len(SHIFTS)
    for day, band in enumerate(ours):
        assert band[metric].value == pytest.approx(
            theirs[(metric, "value")].iloc[day], abs=CLASSIFICATION_TOLERANCE[metric]
        ), f"{metric} on day {day}"


@pytest.mark.parametrize("metric", cbpe.METRICS)
def test_cbpe_bands_hold_nannyml_s_and_are_at_most_twice_as_wide(
    classifier_rows, nannyml_cbpe, metric
):
    reference, current = classifier_rows
    _, theirs = nannyml_cbpe
    ours = _ours_per_day(cbpe.fit(reference), current)
    tolerance = CLASSIFICATION_TOLERANCE[metric]
    for day, band in enumerate(ours):
        lower = theirs[(metric, "lower_confidence_boundary")].iloc[day]
        upper = theirs[(metric, "upper_confidence_boundary")].iloc[day]
        assert band[metric].lower <= lower + tolerance, f"{metric} on day {day}"
        assert band[metric].upper >= upper - tolerance, f"{metric} on day {day}"
        assert band[metric].upper - band[metric].lower <= 2 * (upper - lower)


def _probability_rows(rng: np.random.Generator, rows: int, day: int) -> pd.DataFrame:
    truth = _sigmoid(-0.4 + 1.2 * rng.normal(0.0, 1.0, rows))
    return pd.DataFrame(
        {
            "ts": START + pd.Timedelta(days=day) + pd.to_timedelta(rng.random(rows) * 86399, "s"),
            "score": truth,
            "prediction": (truth >= 0.5).astype(float),
            "label": (rng.random(rows) < truth).astype(float),
        }
    )


def test_on_scores_that_are_probabilities_our_estimates_lie_in_nannyml_s_bands():
    nannyml = _nannyml()
    rng = np.random.default_rng(0)  # a draw where the two calibration checks decide apart
    reference = pd.concat([_probability_rows(rng, 2_000, day) for day in range(10)])
    current = pd.concat([_probability_rows(rng, 3_000, 10 + day) for day in range(5)])
    estimator = nannyml.CBPE(
        y_pred_proba="score",
        y_pred="prediction",
        y_true="label",
        timestamp_column_name="ts",
        metrics=list(cbpe.METRICS),
        chunk_period="D",
        problem_type="classification_binary",
    ).fit(reference)
    theirs = estimator.estimate(current.drop(columns="label")).filter(period="analysis").to_df()
    ours = _ours_per_day(cbpe.fit(reference), current.reset_index(drop=True))
    for metric in cbpe.METRICS:
        for day, band in enumerate(ours):
            lower = theirs[(metric, "lower_confidence_boundary")].iloc[day]
            upper = theirs[(metric, "upper_confidence_boundary")].iloc[day]
            assert lower <= band[metric].value <= upper, f"{metric} on day {day}"


def test_the_tolerance_would_catch_a_missing_calibration(classifier_rows, nannyml_cbpe):
    """The raw scores read as probabilities (calibration skipped) miss NannyML's accuracy by
    far more than the tolerance on every day: the comparison above can fail."""
    reference, current = classifier_rows
    _, theirs = nannyml_cbpe
    fitted = cbpe.fit(reference)
    raw = cbpe.Calibration(
        scores=np.array([0.0, 1.0]),
        probabilities=np.array([0.0, 1.0]),
        threshold=fitted.threshold,
        reference_rows=fitted.reference_rows,
        spread=fitted.spread,
    )
    gaps = [
        abs(band["accuracy"].value - theirs[("accuracy", "value")].iloc[day])
        for day, band in enumerate(_ours_per_day(raw, current))
    ]
    assert min(gaps) > 0.01


# --- reconstruction drift ----------------------------------------------------------------

MODEL = "m"
REFERENCE = Window(dt.date(2026, 6, 1), dt.date(2026, 6, 11))
CURRENT = Window(dt.date(2026, 6, 11), dt.date(2026, 6, 17))
FEATURES = ["amount", "num_items", "tenure", "country"]
ROWS_PER_DAY = 400
# The current window's last 3 days: amount and num_items move apart instead of together, each
# with the same marginal distribution.
FLIPPED_FROM = dt.date(2026, 6, 14)


def _feature_rows() -> pd.DataFrame:
    rng = np.random.default_rng(17)
    days = []
    for offset in range((CURRENT.until - REFERENCE.since).days):
        day = REFERENCE.since + dt.timedelta(days=offset)
        rho = -0.9 if day >= FLIPPED_FROM else 0.9
        z1, z2 = rng.standard_normal((2, ROWS_PER_DAY))
        tenure = rng.gamma(2.0, 100.0, ROWS_PER_DAY)
        tenure[rng.random(ROWS_PER_DAY) < 0.05] = np.nan  # imputed with the reference mean
        days.append(
            pd.DataFrame(
                {
                    "request_id": [f"{day}-{i}" for i in range(ROWS_PER_DAY)],
                    "ts": pd.Timestamp(day, tz="UTC")
                    + pd.to_timedelta(rng.random(ROWS_PER_DAY) * 86399, "s"),
                    "model": MODEL,
                    "status": "ok",
                    "score": rng.random(ROWS_PER_DAY),
                    "amount": 50 + 10 * z1,
                    "num_items": 4 + 2 * (rho * z1 + np.sqrt(1 - rho**2) * z2),
                    "tenure": tenure,
                    "country": rng.choice(["FR", "DE", "ES"], ROWS_PER_DAY, p=[0.5, 0.3, 0.2]),
                }
            )
        )
    return pd.concat(days, ignore_index=True)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = tmp_path_factory.mktemp("nannyml") / "w.duckdb"
    with warehouse.writing(path) as write:
        Loader(write, settings.SourceConfig(name="fixture", kind="test"), "s1").load(
            Batch("inference", "fixture", frame=_feature_rows())
        )
    connection = db.prepare(warehouse.connect_read(path))
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def both_drifts(con):
    nannyml = _nannyml()
    ours = reconstruction_drift(con, MODEL, CURRENT, REFERENCE, per_day=ROWS_PER_DAY)

    def rows(window: Window) -> pd.DataFrame:
        # The rows Tandem read (every row: per_day is the day's count), with a timestamp.
        sample = daily_sample(con, MODEL, window.since, window.until, FEATURES, ROWS_PER_DAY)
        return sample.assign(ts=pd.to_datetime(sample["day"])).drop(columns="day")

    calculator = nannyml.DataReconstructionDriftCalculator(
        column_names=FEATURES, timestamp_column_name="ts", chunk_period="D", n_components=0.65
    )
    calculator.fit(rows(REFERENCE))
    theirs = calculator.calculate(rows(CURRENT)).filter(period="analysis").to_df()
    return ours, theirs, calculator


def test_both_read_the_same_features(both_drifts):
    ours, _, calculator = both_drifts
    assert sorted(ours.features) == sorted(FEATURES)
    assert sorted(calculator.continuous_column_names) == ["amount", "num_items", "tenure"]
    assert calculator.categorical_column_names == ["country"]


def test_reconstruction_error_agrees_with_nannyml_day_by_day(both_drifts):
    ours, theirs, _ = both_drifts
    assert len(ours.steps) == len(theirs) == CURRENT.days
    assert list(ours.steps["error"]) == pytest.approx(
        list(theirs[("reconstruction_error", "value")]), abs=ERROR_TOLERANCE
    )


def test_alerts_agree_with_nannyml_and_fire_on_the_flipped_days(both_drifts):
    ours, theirs, _ = both_drifts
    flipped = [day >= FLIPPED_FROM for day in ours.steps["day"]]
    assert list(ours.steps["alert"]) == flipped
    assert list(theirs[("reconstruction_error", "alert")]) == flipped


def test_the_band_is_nannyml_s(both_drifts):
    ours, theirs, _ = both_drifts
    lower = theirs[("reconstruction_error", "lower_threshold")].iloc[0]
    upper = theirs[("reconstruction_error", "upper_threshold")].iloc[0]
    assert (ours.window["lower"], ours.window["upper"]) == pytest.approx(
        (lower, upper), abs=ERROR_TOLERANCE
    )
    assert list(ours.steps["upper"]) == pytest.approx([upper] * CURRENT.days, abs=ERROR_TOLERANCE)
