"""Confidence-based performance estimation: by hand on a tiny chunk, and on synthetic warehouses
whose truth is known (calibrated scores; a score->label relation that changes; too few labels)."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import f1_score, roc_auc_score

import settings
import warehouse
from connectors.loader import Batch, Loader
from metrics import contracts, db
from metrics.contracts import Contract
from metrics.drift.windows import Reference, Window
from metrics.estimation import cbpe, estimated
from metrics.estimation.bands import Band
from metrics.filters import Filters
from tests.helpers.project import ROOT

# -- by hand -------------------------------------------------------------------------------------


def identity(**spread) -> cbpe.Calibration:
    """A calibration that keeps the score as P(label = 1)."""
    return cbpe.Calibration(np.array([0.0, 1.0]), np.array([0.0, 1.0]), 0.5, 100, spread)


# Calibrated probabilities 0.9, 0.8, 0.6, 0.3, 0.2; classes by the 0.5 threshold: 1 1 1 0 0
# (the third row's prediction is given, the others are read off the score).
TINY = pd.DataFrame(
    {"score": [0.9, 0.8, 0.6, 0.3, 0.2], "prediction": [None, None, 1.0, None, None]}
)


def test_the_expected_confusion_matrix_by_hand():
    got = cbpe.estimate(identity(), TINY)
    # TP = .9 + .8 + .6 = 2.3   FP = .1 + .2 + .4 = 0.7
    # FN = .3 + .2 = 0.5        TN = .7 + .8 = 1.5            (sum 5 rows)
    assert got["accuracy"].value == pytest.approx((2.3 + 1.5) / 5)  # 0.76
    assert got["precision"].value == pytest.approx(2.3 / 3.0)  # 0.7667
    assert got["recall"].value == pytest.approx(2.3 / 2.8)  # 0.8214
    assert got["f1"].value == pytest.approx(2 * 2.3 / (2 * 2.3 + 0.7 + 0.5))  # 0.7931
    # ROC AUC: thresholds at .9 .8 .6 .3 .2, from the top; expected positives 2.8, negatives 2.2.
    #   cumulative positives .9 1.7 2.3 2.6 2.8; cumulative negatives .1 .3 .7 1.4 2.2
    #   trapezoids (Δneg × mean of cumulative positives): .1×.45 + .2×1.3 + .4×2.0 + .7×2.45
    #   + .8×2.7 = .045 + .26 + .8 + 1.715 + 2.16 = 4.98, over 2.8 × 2.2 = 6.16 -> 0.80844
    assert got["roc_auc"].value == pytest.approx(4.98 / 6.16)


def test_the_band_is_three_reference_standard_errors_at_the_chunk_size_clipped_to_0_1():
    cal = identity(accuracy=(0.5, 1.0), precision=(0.4, 0.6))
    got = cbpe.estimate(cal, TINY)
    # accuracy: the reference's 0.5 / sqrt(5 rows × 1.0) = 0.2236 beats the chunk's 0.1855
    # (below); 3 × 0.2236 = 0.6708, and 0.76 + 0.67 clips at 1
    assert got["accuracy"].lower == pytest.approx(0.76 - 1.5 / math.sqrt(5))
    assert got["accuracy"].upper == 1.0
    # precision: the reference's 0.4 / sqrt(5 × 0.6) = 0.2309 loses to the chunk's 0.2333
    assert got["precision"].lower == pytest.approx(2.3 / 3 - 0.7)
    assert got["precision"].upper == 1.0


def test_the_band_is_three_standard_errors_of_the_chunk_when_the_reference_says_less():
    got = cbpe.estimate(identity(), TINY)  # no reference spread: the chunk's own errors
    # accuracy: P(correct) .9 .8 .6 .7 .8; variances .09 .16 .24 .21 .16 sum .86;
    # standard error sqrt(.86) / 5 = 0.1855; 0.76 - 3 × 0.1855 = 0.2036, 0.76 + 0.5564 > 1
    assert got["accuracy"].lower == pytest.approx(0.76 - 3 * math.sqrt(0.86) / 5)
    assert got["accuracy"].upper == 1.0
    # precision over the 3 rows predicted positive: variances .09 .16 .24, sum .49;
    # standard error sqrt(.49) / 3 = 0.2333
    assert got["precision"].lower == pytest.approx(2.3 / 3 - 3 * 0.7 / 3)
    # recall = TP / (TP + FN), TP 2.3 (variance .49), FN 0.5 (variance .21 + .16 = .37):
    # delta method sqrt(FN² var TP + TP² var FN) / (TP + FN)² = sqrt(.1225 + 1.9573) / 7.84
    assert got["recall"].lower == pytest.approx(2.3 / 2.8 - 3 * math.sqrt(0.1225 + 1.9573) / 7.84)


def test_an_undefined_metric_is_none():
    # Every row predicted negative: no precision; recall and F1 are 0 (positives expected, none
    # found); a chunk without scores estimates nothing.
    negative = pd.DataFrame({"score": [0.3, 0.2], "prediction": [0.0, 0.0]})
    got = cbpe.estimate(identity(), negative)
    assert got["precision"].value is None
    assert got["recall"].value == 0.0 and got["f1"].value == 0.0
    nothing = pd.DataFrame({"score": [None], "prediction": [1.0]}, dtype=float)
    assert all(
        band == Band(None, None, None) for band in cbpe.estimate(identity(), nothing).values()
    )
    # Every expected probability 1: no expected negative, no ROC curve.
    assert cbpe.estimate(identity(), pd.DataFrame({"score": [1.0, 1.0]}))["roc_auc"].value is None


def test_realized_figures_agree_with_scikit_learn():
    rng = np.random.default_rng(3)
    scores = np.round(rng.random(400), 1)  # ties on purpose
    labels = (rng.random(400) < scores).astype(float)
    rows = pd.DataFrame({"score": scores, "prediction": np.nan, "label": labels})
    got = cbpe.realized(rows)
    assert got["roc_auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert got["f1"] == pytest.approx(f1_score(labels, scores >= 0.5))


def test_the_calibration_is_sklearns_isotonic_fit_clipped():
    rng = np.random.default_rng(5)
    scores = rng.random(500) * 0.8 + 0.1
    labels = (rng.random(500) < scores**2).astype(float)  # over-confident scores
    cal = cbpe.fit(pd.DataFrame({"score": scores, "prediction": np.nan, "label": labels}))
    iso = IsotonicRegression(out_of_bounds="clip").fit(scores, labels)
    probe = np.linspace(-0.2, 1.2, 57)  # beyond the reference's scores on both sides
    assert cal.is_calibrated and cal.calibrated(probe) == pytest.approx(iso.predict(probe))
    assert cal.reference_rows == 500


def _calibration_cases():
    rng = np.random.default_rng(13)
    for n in (100, 777, 5000):
        scores = rng.random(n)
        yield scores, (rng.random(n) < scores**2).astype(float)
        yield np.round(scores, 2), (rng.random(n) < scores).astype(float)  # many ties
    scores = rng.random(300) * 4 - 1  # not probabilities
    yield scores, (rng.random(300) < 0.3).astype(float)
    # scores closer than float64's resolution pool together, as scikit-learn pools them
    tiny = np.r_[rng.random(200), 1e-300 * rng.integers(1, 50, 100)]
    yield tiny, (rng.random(300) < 0.5).astype(float)


def test_the_isotonic_fit_and_the_calibration_check_are_sklearns_to_the_last_bit():
    from sklearn.model_selection import StratifiedShuffleSplit

    for scores, labels in _calibration_cases():
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(scores, labels)
        knots, probabilities = cbpe._isotonic(scores, labels)
        assert knots.tolist() == iso.X_thresholds_.tolist()
        assert probabilities.tolist() == iso.y_thresholds_.tolist()
        splits = StratifiedShuffleSplit(n_splits=3, test_size=0.1, random_state=42)
        theirs = [(a.tolist(), b.tolist()) for a, b in splits.split(scores, labels)]
        assert [(a.tolist(), b.tolist()) for a, b in cbpe._stratified_splits(labels)] == theirs


def test_fitting_a_calibration_imports_neither_scikit_learn_nor_scipy_optimize():
    # scipy.optimize whole is 0.24 s of a report's process; the fit loads its PAVA routine only
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from metrics.estimation import cbpe\n"
        "rng = np.random.default_rng(5)\n"
        "s = rng.random(500) * 0.8 + 0.1\n"
        "rows = pd.DataFrame({'score': s, 'label': (rng.random(500) < s**2).astype(float)})\n"
        "assert cbpe.fit(rows).is_calibrated\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'\n"
        "    or m in ('scipy', 'scipy.optimize')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[]"


def _refuses(*args):
    raise TypeError("pava(): incompatible function arguments")


@pytest.mark.parametrize("routine", [None, _refuses], ids=["no routine", "another signature"])
def test_without_scipys_routine_the_public_function_fits_the_same(monkeypatch, routine):
    # Another SciPy (no such file, or the routine takes other arguments): the fit falls back
    # to scipy.optimize.isotonic_regression, and is still scikit-learn's to the last bit.
    monkeypatch.setattr(cbpe, "_pava_routine", lambda: routine)
    for scores, labels in _calibration_cases():
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(scores, labels)
        knots, probabilities = cbpe._isotonic(scores, labels)
        assert knots.tolist() == iso.X_thresholds_.tolist()
        assert probabilities.tolist() == iso.y_thresholds_.tolist()


def test_scores_calibrated_already_are_left_as_they_are():
    # NannyML's check: isotonic does not lower the calibration error of these on held-out rows
    rng = np.random.default_rng(8)
    scores = rng.random(2000)
    labels = (rng.random(2000) < scores).astype(float)
    cal = cbpe.fit(pd.DataFrame({"score": scores, "prediction": np.nan, "label": labels}))
    assert not cal.is_calibrated
    assert cal.calibrated(np.array([0.1, 0.37, 0.9])) == pytest.approx([0.1, 0.37, 0.9])


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([1.0] * 40 + [0.0] * 59, "99 labelled rows with a score; calibrating needs at least 100"),
        ([1.0] * 9 + [0.0] * 200, "9 positive and 200 negative labelled rows; calibrating needs"),
    ],
)
def test_too_few_labels_is_said(labels, message):
    rows = pd.DataFrame({"score": np.linspace(0, 1, len(labels)), "label": labels})
    unlabelled = pd.DataFrame({"score": [0.5] * 50, "label": [None] * 50}, dtype=float)
    with pytest.raises(cbpe.NotEnoughLabels, match=re.escape(message)):
        cbpe.fit(pd.concat([rows, unlabelled]))  # unlabelled rows never count


# -- synthetic warehouses ------------------------------------------------------------------------

REFERENCE = Window(dt.date(2026, 8, 23), dt.date(2026, 9, 21))  # 29 labelled days
CURRENT = Window(dt.date(2026, 9, 21), dt.date(2026, 11, 20))  # 60 days
PER_DAY = 400


def synthetic(model: str, seed: int, relation=None, labelled_from=None) -> pd.DataFrame:
    """PER_DAY rows a day from REFERENCE's start to CURRENT's end. The scores are calibrated
    (label ~ Bernoulli(score)) unless `relation(day_index, scores)` gives P(label = 1) in the
    current window; the scores grow harder day by day there (a rising share from U(0, 1), the
    rest near 0 or 1), so the realized accuracy falls from about 0.91 (0.2 × 0.75 + 0.8 × 0.95)
    to about 0.77 (0.9 × 0.75 + 0.1 × 0.95)."""
    rng = np.random.default_rng(seed)
    frames = []
    day = REFERENCE.since
    while day < CURRENT.until:
        index = (day - CURRENT.since).days
        hard = 0.2 if index < 0 else 0.2 + 0.7 * index / (CURRENT.days - 1)
        is_hard = rng.random(PER_DAY) < hard
        easy = np.where(
            rng.random(PER_DAY) < 0.5, rng.random(PER_DAY) * 0.1, 0.9 + rng.random(PER_DAY) * 0.1
        )
        scores = np.where(is_hard, rng.random(PER_DAY), easy)
        chance = scores if index < 0 or relation is None else relation(index, scores)
        labels = (rng.random(PER_DAY) < chance).astype(float)
        if labelled_from is not None and not labelled_from(index):
            labels[:] = np.nan
        starts = pd.Timestamp(day, tz="UTC") + pd.to_timedelta(np.arange(PER_DAY) * 200, unit="s")
        frames.append(
            pd.DataFrame(
                {
                    "request_id": [f"{model}-{day:%m%d}-{i}" for i in range(PER_DAY)],
                    "ts": starts,
                    "model": model,
                    "model_version": "v1",
                    "status": "ok",
                    # every other row logs its class, the rest are classed by the threshold
                    "prediction": np.where(
                        np.arange(PER_DAY) % 2 == 0, (scores >= 0.5) * 1.0, np.nan
                    ),
                    "score": scores,
                    "label": labels,
                }
            )
        )
        day += dt.timedelta(days=1)
    return pd.concat(frames, ignore_index=True)


def few_labels() -> pd.DataFrame:
    rows = synthetic("sparse", 11)
    in_reference = pd.to_datetime(rows["ts"]).dt.date < CURRENT.since
    keep = np.zeros(len(rows), dtype=bool)
    keep[np.flatnonzero(in_reference)[::250]] = True  # 47 labelled reference rows
    rows.loc[in_reference & ~keep, "label"] = np.nan
    return rows


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    rows = pd.concat(
        [
            synthetic("steady", 1),
            # after the reference, P(label = 1) no longer follows the score: it is 1 - score
            synthetic("turned", 2, relation=lambda index, scores: 1 - scores),
            # calibrated, but labels only arrived for the first 20 days of the window
            synthetic("late", 3, labelled_from=lambda index: index < 20),
            few_labels(),
        ],
        ignore_index=True,
    )
    path = tmp_path_factory.mktemp("cbpe") / "w.duckdb"
    with warehouse.writing(path) as write:
        Loader(write, settings.SourceConfig(name="fixture", kind="test"), "s1").load(
            Batch("inference", "fixture", frame=rows)
        )
    connection = db.prepare(warehouse.connect_read(path))
    yield connection
    connection.close()


def test_calibrated_scores_the_realized_figure_lies_in_the_band_on_95_percent_of_days(con):
    result = estimated(con, "steady", "classifier", CURRENT, REFERENCE)
    assert result.reason is None and result.method == "cbpe"
    assert result.reference_labelled == REFERENCE.days * PER_DAY
    steps = result.steps
    assert len(steps) == CURRENT.days * len(cbpe.METRICS)
    assert set(steps["rows"]) == {PER_DAY} and set(steps["labelled"]) == {PER_DAY}
    for metric, days in steps.groupby("metric"):
        inside = (days["lower"] <= days["realized"]) & (days["realized"] <= days["upper"])
        assert inside.mean() >= 0.95, metric
    accuracy = steps[steps["metric"] == "accuracy"].set_index("day")
    # the truth moved, and the estimate with it: from about 0.91 in the first week to about
    # 0.77 in the last, within 0.03 of the realized week by week
    first, last = accuracy.iloc[:7], accuracy.iloc[-7:]
    assert first["realized"].mean() > 0.88 and last["realized"].mean() < 0.80
    assert abs(first["value"].mean() - first["realized"].mean()) < 0.03
    assert abs(last["value"].mean() - last["realized"].mean()) < 0.03
    assert result.calibration["trusted"] is True and result.calibration["reason"] is None
    assert result.calibration["checked"] == CURRENT.days
    # Over the whole window (24,000 rows) the band is about ±0.007 wide, narrower than what the
    # isotonic map fitted on a reference of mostly confident scores gets wrong on doubtful ones
    # (it overstates them a little): the band is sampling error only, and says so in METRICS.md.
    window = result.window["accuracy"]
    assert window["upper"] - window["lower"] < 0.02
    assert abs(window["value"] - window["realized"]) < 0.015


def test_a_changed_score_label_relation_is_flagged_not_trusted(con):
    result = estimated(con, "turned", "classifier", CURRENT, REFERENCE)
    verdict = result.calibration
    assert verdict["trusted"] is False
    found = re.fullmatch(
        r"estimated (\S+|ROC AUC) missed the realized one on (\d+) of 60 labelled days "
        r"\(mean gap \+\d\.\d{3}\)",
        verdict["reason"],
    )
    assert found, verdict["reason"]
    words = {"accuracy": "accuracy", "F1": "f1", "ROC AUC": "roc_auc"}
    worst = verdict["metrics"][words.get(found[1], found[1])]
    assert int(found[2]) == worst["misses"] > 6
    # the estimate still says the calibrated figure; the realized accuracy is its mirror image
    accuracy = verdict["metrics"]["accuracy"]
    assert accuracy["misses"] == 60 and accuracy["mean_gap"] > 0.4


def test_labels_on_some_days_check_those_days_only(con):
    result = estimated(con, "late", "classifier", CURRENT, REFERENCE, step_days=7)
    steps = result.steps[result.steps["metric"] == "accuracy"]
    # 60 days in steps of 7: eight whole weeks and a 4-day tail
    assert list(steps["rows"]) == [7 * PER_DAY] * 8 + [4 * PER_DAY]
    assert list(steps["labelled"]) == [7 * PER_DAY] * 2 + [6 * PER_DAY] + [0] * 6
    assert steps["realized"].isna().tolist() == [False] * 3 + [True] * 6
    assert steps["value"].notna().all()
    assert result.calibration["checked"] == 3
    assert result.calibration["basis"] == "checked against 3 labelled weeks"


def test_too_few_labelled_reference_rows_give_a_reason_and_no_estimate(con):
    result = estimated(con, "sparse", "classifier", CURRENT, REFERENCE)
    assert result.reason == (
        "no estimate: the reference window 2026-08-23 – 2026-09-21 has 47 labelled rows with a "
        "score; calibrating needs at least 100"
    )
    assert result.calibration["trusted"] is False
    assert result.steps["value"].isna().all()
    assert all(figure["value"] is None for figure in result.window.values())
    # the labels that did come still give the realized figure
    assert result.window["accuracy"]["realized"] is not None
    json.dumps(result.as_json(with_steps=True), allow_nan=False)


def test_report_carries_the_estimate_beside_the_realized_figure(con):
    last_30 = Filters(
        dt.datetime(2026, 10, 21, tzinfo=dt.UTC), dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    )
    # models come into a reading by the catalog or a contract: these have only inference rows
    named = {m: Contract(m) for m in ("steady", "turned", "late", "sparse")}
    readings = contracts.readings(con, last_30, named)
    assert json.loads(json.dumps(readings, allow_nan=False)) == readings
    steady = readings["steady"]["quality"]
    assert list(steady["estimated"]) == ["accuracy", "precision", "recall", "f1", "roc_auc"]
    for figure in steady["estimated"].values():
        assert list(figure) == ["value", "lower", "upper", "realized"]
        assert figure["lower"] <= figure["value"] <= figure["upper"]
    # the window before (21 Sep - 21 Oct) is the reference, as for the drift reading
    assert steady["estimation"]["reference"] == {
        "since": "2026-09-21",
        "until": "2026-10-21",
        "labelled": 30 * PER_DAY,
    }
    assert steady["estimation"]["method"] == "cbpe"
    assert steady["estimation"]["calibration"]["trusted"] is True
    # the realized accuracy beside the estimate is the quality reading's own, on the same rows
    assert steady["estimated"]["accuracy"]["realized"] == pytest.approx(steady["accuracy"])
    # the turned model's window before is turned too: a score that falls as P(label = 1)
    # rises has no increasing map, the estimates sit near chance, and the check says so
    turned = readings["turned"]["quality"]["estimation"]["calibration"]
    assert turned["trusted"] is False
    assert turned["reason"].startswith("estimated ") and "of 30 labelled days" in turned["reason"]
    sparse = readings["sparse"]["quality"]
    assert sparse["estimation"]["reason"] is None  # its window before is fully labelled
    # late: labels for 20 days of its reference, none in the window: estimated, unchecked
    late = readings["late"]["quality"]
    assert late["estimation"]["reference"]["labelled"] == 20 * PER_DAY
    assert late["estimated"]["accuracy"]["realized"] is None
    assert late["estimated"]["accuracy"]["value"] is not None
    assert late["estimation"]["calibration"]["checked"] == 0


def test_a_run_that_reads_the_quality_and_the_drift_impact_estimates_once(con, monkeypatch):
    """Inside `samples.remembered()` (a page's run, a report), the estimate the quality reading
    and the drift impact both ask for is computed once; each gets the same figures, its own
    copy, and the same figures as without the block."""
    import metrics.estimation as estimation_module
    from metrics import samples
    from metrics.drift import impact

    alone = estimated(con, "steady", "classifier", CURRENT, REFERENCE).as_json(with_steps=True)
    computed = []
    real = estimation_module._estimated
    monkeypatch.setattr(
        estimation_module, "_estimated", lambda *args: computed.append(args[1]) or real(*args)
    )
    with samples.remembered():
        reading = estimation_module.reading(
            con, "steady", "classifier", CURRENT, Reference("fixed", REFERENCE)
        )
        figure, steps = impact.performance_daily(con, "steady", "classifier", CURRENT, REFERENCE)
        again = estimated(con, "steady", "classifier", CURRENT, REFERENCE)
        again.window["accuracy"]["value"] = -1.0  # a caller's change stays its own
        third = estimated(con, "steady", "classifier", CURRENT, REFERENCE)
        other = estimated(con, "turned", "classifier", CURRENT, REFERENCE)
    assert computed == ["steady", "turned"]
    assert third.as_json(with_steps=True) == alone
    assert reading["estimated"] == alone["window"]
    # drift impact's performance per day: the estimated ROC AUC of each day
    auc = [s["value"] for s in alone["steps"] if s["metric"] == "roc_auc"]
    assert steps["value"].tolist() == auc and figure.name == "roc_auc"
    assert other.calibration["trusted"] is False
    # outside the block, computed each time
    estimated(con, "steady", "classifier", CURRENT, REFERENCE)
    assert computed == ["steady", "turned", "steady"]


def test_a_regressor_is_estimated_by_dle_and_other_kinds_say_why(con):
    # read as a regressor, sparse's reference has too few rows with a prediction and a label
    result = estimated(con, "sparse", "regressor", CURRENT, REFERENCE)
    assert result.method == "dle"
    assert re.fullmatch(
        r"no estimate: the reference window 2026-08-23 – 2026-09-21 has \d+ labelled reference "
        r"rows; the loss estimate needs at least 200",
        result.reason,
    )
    assert list(result.window) == ["mae", "rmse"]
    assert result.window["mae"]["value"] is None and result.window["mae"]["realized"] is not None
    ranker = estimated(con, "steady", "ranker", CURRENT, REFERENCE)
    assert ranker.reason == "no estimate for a model of kind ranker" and ranker.window == {}
