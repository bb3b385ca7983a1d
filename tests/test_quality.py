"""Model quality on small hand-written inference rows, checked against scikit-learn and by hand."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    recall_score,
    roc_auc_score,
)

import settings
import warehouse
from connectors.loader import Batch, Loader
from metrics import db, quality
from metrics.filters import Filters


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


WINDOW = Filters(utc("2026-11-02"), utc("2026-11-23"))
NULL = None
COLUMNS = ["request_id", "ts", "model", "model_version", "status", "prediction", "score", "label"]

# fmt: off
ROWS = [
    # churn v1: a tie at 0.6 across the classes, r5 classed by its score, r6 unlabelled.
    ("r1", "2026-11-02 00:00", "churn", "v1", "ok", 1, 0.9, 1),  # since is included
    ("r2", "2026-11-03 01:00", "churn", "v1", "ok", 0, 0.2, 0),
    ("r3", "2026-11-03 02:00", "churn", "v1", "ok", 1, 0.6, 0),
    ("r4", "2026-11-03 03:00", "churn", "v1", "ok", 0, 0.6, 1),
    ("r5", "2026-11-03 04:00", "churn", "v1", "ok", NULL, 0.7, 1),
    ("r6", "2026-11-03 05:00", "churn", "v1", "ok", 1, 0.8, NULL),
    # errors never count, not even toward the kind (a label of -1 would make churn a regressor)
    ("r7", "2026-11-03 06:00", "churn", "v1", "error", NULL, NULL, -1),
    # churn v2: r10 classed by its score, r11 has a prediction but no score.
    ("r8", "2026-11-10 01:00", "churn", "v2", "ok", 1, 0.95, 1),
    ("r9", "2026-11-10 02:00", "churn", "v2", "ok", 0, 0.1, 0),
    ("r10", "2026-11-10 03:00", "churn", "v2", "ok", NULL, 0.4, 0),
    ("r11", "2026-11-10 04:00", "churn", "v2", "ok", 1, NULL, 0),
    ("r12", "2026-11-10 05:00", "churn", "v2", "ok", 0, 0.3, NULL),
    ("r13", "2026-10-01 00:00", "churn", "v2", "ok", 1, 0.9, 0),  # before the window
    ("r14", "2026-11-23 00:00", "churn", "v2", "ok", 1, 0.99, 0),  # until is excluded
    # spam: one class labelled only; s4 is labelled with neither prediction nor score.
    ("s1", "2026-11-04 01:00", "spam", "v1", "ok", 0, 0.1, 0),
    ("s2", "2026-11-04 02:00", "spam", "v1", "ok", 1, 0.7, 0),
    ("s3", "2026-11-04 03:00", "spam", "v1", "ok", 0, 0.2, 0),
    ("s4", "2026-11-04 04:00", "spam", "v1", "ok", NULL, NULL, 0),
    ("s5", "2026-11-04 05:00", "spam", "v1", "ok", 0, 0.3, NULL),
    # quiet: never predicts the positive class, and sends no score.
    ("q1", "2026-11-05 01:00", "quiet", "v1", "ok", 0, NULL, 1),
    ("q2", "2026-11-05 02:00", "quiet", "v1", "ok", 0, NULL, 0),
    ("q3", "2026-11-05 03:00", "quiet", "v1", "ok", 0, NULL, 0),
    # price: a regressor; p3 unlabelled, p4 an error, p7 labelled without a prediction.
    ("p1", "2026-11-02 00:00", "price", "v1", "ok", 10, NULL, 12),
    ("p2", "2026-11-06 02:00", "price", "v1", "ok", 20, NULL, 15),
    # p3's fractional prediction (no class, no position) is what makes price read as a regressor
    ("p3", "2026-11-06 03:00", "price", "v1", "ok", 30.5, NULL, NULL),
    ("p4", "2026-11-06 04:00", "price", "v1", "error", NULL, NULL, 100),
    ("p5", "2026-11-07 01:00", "price", "v2", "ok", 5, NULL, 5),
    ("p6", "2026-11-07 02:00", "price", "v2", "ok", 8, NULL, 4),
    ("p7", "2026-11-07 03:00", "price", "v2", "ok", NULL, NULL, 3),
    ("p8", "2026-11-23 00:00", "price", "v2", "ok", 100, NULL, 0),  # until is excluded
    # clicks: 0/1 classes and labels but a score above 1: no kind reads off these rows.
    ("c1", "2026-11-08 01:00", "clicks", "v1", "ok", 1, 3.0, 1),
    ("c2", "2026-11-08 02:00", "clicks", "v1", "ok", 0, 0.5, 1),
    # prob: a probability as the prediction of 0/1 labels (a classifier's score, or a regressor)
    ("u1", "2026-11-08 03:00", "prob", "v1", "ok", 0.8, NULL, 1),
    ("u2", "2026-11-08 04:00", "prob", "v1", "ok", 0.3, NULL, 0),
    # blank: nothing logged but the request
    ("n1", "2026-11-08 05:00", "blank", "v1", "ok", NULL, NULL, NULL),
]
# fmt: on
INFERENCE = pd.DataFrame(ROWS, columns=COLUMNS).astype(
    {"prediction": "float64", "score": "float64", "label": "float64"}
)


def build(tmp_path_factory, frame: pd.DataFrame):
    path = tmp_path_factory.mktemp("quality") / "w.duckdb"
    source = settings.SourceConfig(name="fixture", kind="test")
    with warehouse.writing(path) as write:
        stats = Loader(write, source, "s1").load(Batch("inference", "fixture", frame=frame))
        assert (stats.loaded, stats.quarantined) == (len(frame), 0)
    return db.prepare(warehouse.connect_read(path))


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    connection = build(tmp_path_factory, INFERENCE)
    yield connection
    connection.close()


# -- what scikit-learn says on the same rows ---------------------------------------------------


def counted(rows: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The rows a quality metric reads: ok, inside [since, until), of the filter's model."""
    ts = pd.to_datetime(rows["ts"], utc=True)
    keep = (ts >= filters.since) & (ts < filters.until) & (rows["status"] == "ok")
    if filters.model:
        keep &= rows["model"] == filters.model
    return rows[keep]


def none_if_nan(value) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def sklearn_classifier(rows: pd.DataFrame, threshold: float = 0.5) -> dict:
    by_score = (rows["score"] >= threshold).astype(float).where(rows["score"].notna())
    predicted = rows["prediction"].fillna(by_score)
    judged = rows["label"].notna() & predicted.notna()
    y, p = rows.loc[judged, "label"], predicted[judged]
    ranked = rows["label"].notna() & rows["score"].notna()
    y_rank, s_rank = rows.loc[ranked, "label"], rows.loc[ranked, "score"]
    labelled = int(rows["label"].notna().sum())
    return {
        "rows": len(rows),
        "labelled": labelled,
        "labelled_share": labelled / len(rows) if len(rows) else None,
        "accuracy": accuracy_score(y, p) if judged.any() else None,
        "precision": none_if_nan(precision_score(y, p, labels=[0, 1], zero_division=np.nan)),
        "recall": none_if_nan(recall_score(y, p, labels=[0, 1], zero_division=np.nan)),
        "roc_auc": roc_auc_score(y_rank, s_rank) if y_rank.nunique() == 2 else None,
    }


def sklearn_regressor(rows: pd.DataFrame) -> dict:
    both = rows["label"].notna() & rows["prediction"].notna()
    y, p = rows.loc[both, "label"], rows.loc[both, "prediction"]
    labelled = int(rows["label"].notna().sum())
    return {
        "rows": len(rows),
        "labelled": labelled,
        "labelled_share": labelled / len(rows) if len(rows) else None,
        "mae": mean_absolute_error(y, p) if both.any() else None,
        "rmse": math.sqrt(mean_squared_error(y, p)) if both.any() else None,
    }


def expected_frame(rows: pd.DataFrame, by_version: bool, compute) -> dict[tuple, dict]:
    keys = ["model", "model_version"] if by_version else ["model"]
    return {key: compute(group) for key, group in rows.groupby(keys)}


def actual_frame(result: pd.DataFrame, by_version: bool) -> dict[tuple, dict]:
    keys = ["model", "model_version"] if by_version else ["model"]
    return {
        tuple(record[k] for k in keys): {k: v for k, v in record.items() if k not in keys}
        for record in result.to_dict("records")
    }


def assert_same(actual: dict, expected: dict, tolerance: float = 1e-12) -> None:
    assert set(actual) == set(expected)
    for name, value in expected.items():
        got = actual[name]
        if value is None:
            assert got is None or math.isnan(got), name
        else:
            assert got == pytest.approx(value, abs=tolerance), name


def assert_frames(result: pd.DataFrame, expected: dict, tolerance: float = 1e-12) -> None:
    actual = actual_frame(result, by_version="model_version" in result.columns)
    assert list(actual) == sorted(expected)  # every group, ordered by model and version
    for key, values in expected.items():
        assert_same(actual[key], values, tolerance)


# -- the small warehouse -----------------------------------------------------------------------

CLASSIFIERS = ("churn", "spam", "quiet")
REGRESSORS = ("price", "clicks")


@pytest.mark.parametrize("by_version", [True, False])
@pytest.mark.parametrize("threshold", [0.5, 0.75])
def test_classifier_quality_matches_sklearn(con, by_version, threshold):
    rows = counted(INFERENCE, WINDOW)
    rows = rows[rows["model"].isin(CLASSIFIERS)]
    expected = expected_frame(rows, by_version, lambda g: sklearn_classifier(g, threshold))
    result = quality.classifier_quality(con, WINDOW, threshold, by_version=by_version)
    result = result[result["model"].isin(CLASSIFIERS)]
    assert_frames(result, expected)


@pytest.mark.parametrize("by_version", [True, False])
def test_regressor_quality_matches_sklearn(con, by_version):
    rows = counted(INFERENCE, WINDOW)
    rows = rows[rows["model"].isin(REGRESSORS)]
    expected = expected_frame(rows, by_version, sklearn_regressor)
    result = quality.regressor_quality(con, WINDOW, by_version=by_version)
    assert_frames(result[result["model"].isin(REGRESSORS)], expected)


# Worked out by hand from ROWS; None where the metric is undefined.
@pytest.mark.parametrize(
    ("key", "threshold", "expected"),
    [
        # judged r1-r5: predicted 1,0,1,0,1 vs labels 1,0,0,1,1. AUC: positives .9 .6 .7 against
        # negatives .2 .6 win 5 of 6 pairs and tie one: 5.5 / 6.
        (("churn", "v1"), 0.5, (6, 5, 5 / 6, 3 / 5, 2 / 3, 2 / 3, 11 / 12)),
        # at 0.75, r5 (score .7) is classed 0.
        (("churn", "v1"), 0.75, (6, 5, 5 / 6, 2 / 5, 1 / 2, 1 / 3, 11 / 12)),
        # judged r8-r11: predicted 1,0,0,1 vs labels 1,0,0,0; r11 has no score for the AUC.
        (("churn", "v2"), 0.5, (5, 4, 4 / 5, 3 / 4, 1 / 2, 1.0, 1.0)),
        # one class only: no actual positive (recall) and no AUC.
        (("spam", "v1"), 0.5, (5, 4, 4 / 5, 2 / 3, 0.0, None, None)),
        # no predicted positive (precision) and no score (AUC).
        (("quiet", "v1"), 0.5, (3, 3, 1.0, 2 / 3, None, 0.0, None)),
    ],
)
def test_classifier_quality_by_hand(con, key, threshold, expected):
    names = ("rows", "labelled", "labelled_share", "accuracy", "precision", "recall", "roc_auc")
    result = actual_frame(quality.classifier_quality(con, WINDOW, threshold), by_version=True)
    assert_same(result[key], dict(zip(names, expected, strict=True)))


def test_undefined_metrics_are_null_in_the_sql_not_nan(con):
    # DuckDB divides 0 by 0 into NaN; the SQL must say null itself, for every reader of it.
    params = {**WINDOW.params(), "threshold": 0.5, "by_version": True}
    columns = ("rows", "labelled", "labelled_share", "accuracy", "precision", "recall", "roc_auc")
    result = {
        (model, version): dict(zip(columns, values, strict=True))
        for model, version, *values in db.rows(con, "quality_classifier", **params)
    }
    assert result[("spam", "v1")]["recall"] is None
    assert result[("quiet", "v1")]["precision"] is None
    # clicks: two labelled scores, both positive.
    assert result[("clicks", "v1")]["roc_auc"] is None


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (("price", "v1"), (3, 2, 2 / 3, (2 + 5) / 2, math.sqrt((4 + 25) / 2))),
        (("price", "v2"), (3, 3, 1.0, (0 + 4) / 2, math.sqrt((0 + 16) / 2))),
        (("clicks", "v1"), (2, 2, 1.0, 0.5, math.sqrt(0.5))),
    ],
)
def test_regressor_quality_by_hand(con, key, expected):
    names = ("rows", "labelled", "labelled_share", "mae", "rmse")
    result = actual_frame(quality.regressor_quality(con, WINDOW), by_version=True)
    assert_same(result[key], dict(zip(names, expected, strict=True)))


def test_quality_pools_the_rows_of_every_version(con):
    report = quality.quality(con, WINDOW)
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    assert list(report) == ["blank", "churn", "clicks", "price", "prob", "quiet", "spam"]
    # churn pooled: judged r1-r5, r8-r11; AUC positives .9 .6 .7 .95 against negatives
    # .2 .6 .1 .4: 15.5 of 16 pairs, not the mean of the versions' 11/12 and 1.
    assert report["churn"] == {
        "kind": "classifier",
        "rows": 11,
        "labelled": 9,
        "labelled_share": pytest.approx(9 / 11),
        "accuracy": pytest.approx(6 / 9),
        "precision": pytest.approx(3 / 5),
        "recall": pytest.approx(3 / 4),
        "roc_auc": pytest.approx(15.5 / 16),
        "reason": None,
    }
    assert report["price"] == {
        "kind": "regressor",
        "rows": 6,
        "labelled": 5,
        "labelled_share": pytest.approx(5 / 6),
        "mae": pytest.approx((2 + 5 + 0 + 4) / 4),
        "rmse": pytest.approx(math.sqrt((4 + 25 + 0 + 16) / 4)),
        "reason": None,
    }
    # no kind: no quality figure at all, and the reason, never a classifier's or regressor's
    assert report["clicks"] == {
        "kind": None,
        "rows": 2,
        "labelled": 2,
        "labelled_share": 1.0,
        "reason": "no quality figure: its kind is not known — set kind in models.toml",
    }
    assert report["blank"]["kind"] is None and report["blank"]["labelled"] == 0
    assert report["spam"]["recall"] is None and report["spam"]["roc_auc"] is None
    assert report["quiet"]["precision"] is None and report["quiet"]["recall"] == 0.0
    rows = counted(INFERENCE, WINDOW)
    figures = {"kind", "reason"}
    for model in CLASSIFIERS:
        expected = sklearn_classifier(rows[rows["model"] == model])
        assert_same({k: v for k, v in report[model].items() if k not in figures}, expected)
    expected = sklearn_regressor(rows[rows["model"] == "price"])
    assert_same({k: v for k, v in report["price"].items() if k not in figures}, expected)


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        ("churn", "classifier"),
        ("spam", "classifier"),  # labels all 0 still read as a classifier
        ("quiet", "classifier"),  # no score at all: classes and labels decide
        ("price", "regressor"),  # a fractional prediction: neither a class nor a position
        ("clicks", None),  # a score above 1 with 0/1 classes: a classifier's logit, or not
        ("prob", None),  # a probability as prediction: a classifier's score, or a regressor
        ("blank", None),  # nothing to read
    ],
)
def test_the_kind_is_read_from_labels_and_scores(con, model, kind):
    assert quality.model_kinds(con)[model] == kind
    assert quality.model_kinds(con, model) == {model: kind}
    assert quality.quality(con, WINDOW)[model]["kind"] == kind


def test_a_declared_kind_wins_over_the_inferred_one(con):
    report = quality.quality(con, WINDOW, kinds={"clicks": "classifier"})
    # c1 predicted 1 (label 1), c2 predicted 0 (label 1); scores 3.0 and .5 rank the positives
    # only, so no AUC.
    assert report["clicks"] == {
        "kind": "classifier",
        "rows": 2,
        "labelled": 2,
        "labelled_share": 1.0,
        "accuracy": 0.5,
        "precision": 1.0,
        "recall": 0.5,
        "roc_auc": None,
        "reason": None,
    }
    assert report["price"]["kind"] == "regressor"
    with pytest.raises(ValueError, match="one of classifier, regressor, ranker"):
        quality.quality(con, WINDOW, kinds={"price": "forest"})


def test_the_model_filter_keeps_one_model(con):
    churn = Filters(WINDOW.since, WINDOW.until, None, "churn")
    assert set(quality.classifier_quality(con, churn)["model"]) == {"churn"}
    assert set(quality.regressor_quality(con, churn)["model"]) == {"churn"}
    assert list(quality.quality(con, churn)) == ["churn"]


def test_an_empty_window_gives_rows_zero_and_no_metrics(con):
    empty = Filters(utc("2020-01-01"), utc("2020-01-08"))
    assert quality.classifier_quality(con, empty).empty
    assert quality.regressor_quality(con, empty, by_version=False).empty
    assert quality.quality(con, empty) == {}
    for model, kind, metrics in (
        ("churn", "classifier", quality.CLASSIFIER_METRICS),
        ("price", "regressor", quality.REGRESSOR_METRICS),
    ):
        report = quality.quality(con, Filters(empty.since, empty.until, None, model))
        expected = {"kind": kind, "rows": 0, "labelled": 0, "labelled_share": None}
        assert report == {model: expected | dict.fromkeys(metrics) | {"reason": None}}


# -- many random rows --------------------------------------------------------------------------


def random_rows(n: int = 5_000, seed: int = 20261102) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def holes(values: np.ndarray, share: float) -> np.ndarray:
        return np.where(rng.random(n) < share, np.nan, values)

    is_classifier = rng.random(n) < 0.5
    label_class = rng.integers(0, 2, n).astype(float)
    # two decimals, so many scores tie, across the classes too
    score = np.round(np.clip(0.3 * label_class + 0.7 * rng.random(n), 0, 1), 2)
    flipped = rng.random(n) < 0.2
    predicted_class = np.where(flipped, 1 - (score >= 0.5), score >= 0.5).astype(float)
    truth = rng.normal(100, 20, n)
    estimate = truth + rng.normal(0, 5, n)
    minutes = rng.integers(-3 * 24 * 60, 24 * 24 * 60, n)  # some before and after the window
    return pd.DataFrame(
        {
            "request_id": [f"x{i}" for i in range(n)],
            "ts": [WINDOW.since + dt.timedelta(minutes=int(m)) for m in minutes],
            "model": np.where(is_classifier, "rand_clf", "rand_reg"),
            "model_version": rng.choice(["v1", "v2", "v3"], n),
            "status": np.where(rng.random(n) < 0.05, "error", "ok"),
            "prediction": holes(np.where(is_classifier, predicted_class, estimate), 0.2),
            "score": np.where(is_classifier, holes(score, 0.05), np.nan),
            "label": holes(np.where(is_classifier, label_class, truth), 0.1),
        }
    )


@pytest.fixture(scope="module")
def random_con(tmp_path_factory):
    frame = random_rows()
    connection = build(tmp_path_factory, frame)
    yield frame, connection
    connection.close()


@pytest.mark.parametrize("by_version", [True, False])
def test_random_rows_match_sklearn(random_con, by_version):
    frame, con = random_con
    rows = counted(frame, WINDOW)
    assert rows["score"].duplicated().sum() > 1_000  # the ties are really there
    classifier = rows[rows["model"] == "rand_clf"]
    regressor = rows[rows["model"] == "rand_reg"]
    assert_frames(
        quality.classifier_quality(
            con, Filters(WINDOW.since, WINDOW.until, None, "rand_clf"), by_version=by_version
        ),
        expected_frame(classifier, by_version, sklearn_classifier),
        tolerance=1e-9,
    )
    assert_frames(
        quality.regressor_quality(
            con, Filters(WINDOW.since, WINDOW.until, None, "rand_reg"), by_version=by_version
        ),
        expected_frame(regressor, by_version, sklearn_regressor),
        tolerance=1e-9,
    )
    report = quality.quality(con, WINDOW)
    assert {model: entry["kind"] for model, entry in report.items()} == {
        "rand_clf": "classifier",
        "rand_reg": "regressor",
    }


# -- rankers: one row per ranked item, position in `prediction`, relevance in `label` ---------

RANKED_COLUMNS = [*COLUMNS, "session"]
# fmt: off
RANKED = [
    # feed v1, list A (lists share model, version and ts): relevant at 2 and 4; a5 failed.
    ("a1", "2026-11-03 10:00", "feed", "v1", "ok", 1, NULL, 0, "s-a"),
    ("a2", "2026-11-03 10:00", "feed", "v1", "ok", 2, NULL, 1, "s-a"),
    ("a3", "2026-11-03 10:00", "feed", "v1", "ok", 3, NULL, 0, "s-a"),
    ("a4", "2026-11-03 10:00", "feed", "v1", "ok", 4, NULL, 1, "s-a"),
    ("a5", "2026-11-03 10:00", "feed", "v1", "error", NULL, NULL, 1, "s-a"),
    # list B, graded; b4 has a label but no position: in no list (rows and labelled only).
    ("b1", "2026-11-03 11:00", "feed", "v1", "ok", 1, NULL, 2, "s-b"),
    ("b2", "2026-11-03 11:00", "feed", "v1", "ok", 2, NULL, 0, "s-b"),
    ("b3", "2026-11-03 11:00", "feed", "v1", "ok", 3, NULL, 1, "s-b"),
    ("b4", "2026-11-03 11:00", "feed", "v1", "ok", NULL, NULL, 1, "s-b"),
    # list C: judged, nothing relevant.
    ("c1", "2026-11-04 09:00", "feed", "v1", "ok", 1, NULL, 0, "s-c"),
    ("c2", "2026-11-04 09:00", "feed", "v1", "ok", 2, NULL, 0, "s-c"),
    ("c3", "2026-11-04 09:00", "feed", "v1", "ok", 3, NULL, 0, "s-c"),
    # list D: no label yet, so it does not count.
    ("d1", "2026-11-04 10:00", "feed", "v1", "ok", 1, NULL, NULL, "s-d"),
    ("d2", "2026-11-04 10:00", "feed", "v1", "ok", 2, NULL, NULL, "s-d"),
    # feed v2, list E: the top item unlabelled (not relevant), the only click at 5.
    ("e1", "2026-11-05 10:00", "feed", "v2", "ok", 1, NULL, NULL, "s-e"),
    ("e2", "2026-11-05 10:00", "feed", "v2", "ok", 2, NULL, 0, "s-e"),
    ("e3", "2026-11-05 10:00", "feed", "v2", "ok", 3, NULL, 0, "s-e"),
    ("e4", "2026-11-05 10:00", "feed", "v2", "ok", 4, NULL, 0, "s-e"),
    ("e5", "2026-11-05 10:00", "feed", "v2", "ok", 5, NULL, 1, "s-e"),
    # list F: the same ts as A, another version: another list.
    ("f1", "2026-11-03 10:00", "feed", "v2", "ok", 1, NULL, 1, "s-f"),
    ("f2", "2026-11-03 10:00", "feed", "v2", "ok", 2, NULL, 0, "s-f"),
    # before the window
    ("g1", "2026-10-01 10:00", "feed", "v2", "ok", 1, NULL, 1, "s-g"),
    ("g2", "2026-10-01 10:00", "feed", "v2", "ok", 2, NULL, 0, "s-g"),
    # search: one list by its session, its items logged a second apart.
    ("q1", "2026-11-06 10:00:00", "search", "v1", "ok", 1, NULL, 0, "q-1"),
    ("q2", "2026-11-06 10:00:01", "search", "v1", "ok", 2, NULL, 1, "q-1"),
    ("q3", "2026-11-06 10:00:02", "search", "v1", "ok", 3, NULL, 1, "q-1"),
]
# fmt: on
RANKED_ROWS = pd.DataFrame(RANKED, columns=RANKED_COLUMNS).astype(
    {"prediction": "float64", "score": "float64", "label": "float64"}
)
LOG2_3 = math.log2(3)
# By hand, at k = 3 (rank: position order; gain: the label; discount: log2(rank + 1)):
# A: top 3 relevance 0 1 0 -> 1 hit; DCG 1/log2 3; ideal 1 + 1/log2 3.
NDCG_A3 = (1 / LOG2_3) / (1 + 1 / LOG2_3)
# B: 2 0 1 -> 2 hits; DCG 2 + 1/log2 4 = 2.5; ideal 2 + 1/log2 3.
NDCG_B = 2.5 / (2 + 1 / LOG2_3)
# At k = 10, A: DCG 1/log2 3 + 1/log2 5; E: the click at rank 5, 1/log2 6 against an ideal 1.
NDCG_A10 = (1 / LOG2_3 + 1 / math.log2(5)) / (1 + 1 / LOG2_3)
NDCG_E10 = 1 / math.log2(6)


@pytest.fixture(scope="module")
def ranked_con(tmp_path_factory):
    connection = build(tmp_path_factory, RANKED_ROWS)
    yield connection
    connection.close()


FEED = Filters(WINDOW.since, WINDOW.until, None, "feed")
RANKER_NAMES = ("rows", "labelled", "labelled_share", "lists", "labelled_lists", "k",
                "precision_at_k", "ndcg_at_k", "hit_rate_at_k")  # fmt: skip


@pytest.mark.parametrize(
    ("k", "by_version", "key", "expected"),
    [
        # v1: A B C D in lists (b4 in none), A B C labelled: P@3 (1/3 + 2/3 + 0) / 3, hits 2 of 3.
        (3, True, ("feed", "v1"), (13, 11, 11 / 13, 4, 3, 3, 1 / 3, (NDCG_A3 + NDCG_B) / 3, 2 / 3)),
        # v2: E has no hit in its top 3 (NDCG 0); F's click on top (NDCG 1).
        (3, True, ("feed", "v2"), (7, 6, 6 / 7, 2, 2, 3, 1 / 6, 1 / 2, 1 / 2)),
        # pooled: five labelled lists, never the mean of the versions' means.
        (3, False, ("feed",), (20, 17, 17 / 20, 6, 5, 3, 4 / 15, (NDCG_A3 + NDCG_B + 1) / 5, 3 / 5)),
        # k = 10 reaches E's click at 5; precision divides by k even for shorter lists.
        (10, False, ("feed",),
         (20, 17, 17 / 20, 6, 5, 10, (0.2 + 0.2 + 0 + 0.1 + 0.1) / 5,
          (NDCG_A10 + NDCG_B + 0 + NDCG_E10 + 1) / 5, 4 / 5)),
        # k = 1: hits only at the top (B, F).
        (1, False, ("feed",), (20, 17, 17 / 20, 6, 5, 1, 2 / 5, 2 / 5, 2 / 5)),
    ],
)  # fmt: skip
def test_ranker_quality_by_hand(ranked_con, k, by_version, key, expected):
    result = quality.ranker_quality(ranked_con, FEED, quality.Ranking(k), by_version=by_version)
    actual = actual_frame(result, by_version)
    assert_same(actual[key], dict(zip(RANKER_NAMES, expected, strict=True)))


@pytest.mark.parametrize("k", [1, 2, 3, 4, 10])
@pytest.mark.parametrize("by_version", [True, False])
def test_ndcg_equals_sklearn(ranked_con, k, by_version):
    from sklearn.metrics import ndcg_score

    rows = counted(RANKED_ROWS[RANKED_ROWS["model"] == "feed"], FEED)
    rows = rows[rows["prediction"].notna()]
    keys = ["model", "model_version"] if by_version else ["model"]
    expected = {}
    for key, group in rows.groupby(keys):
        scores = [
            ndcg_score([items["label"].fillna(0)], [-items["prediction"]], k=k)
            for _, items in group.groupby(["model_version", "ts"])
            if items["label"].notna().any()
        ]
        expected[key] = sum(scores) / len(scores)
    result = actual_frame(
        quality.ranker_quality(ranked_con, FEED, quality.Ranking(k), by_version=by_version),
        by_version,
    )
    assert {key: values["ndcg_at_k"] for key, values in result.items()} == pytest.approx(expected)


def test_a_list_column_groups_items_logged_apart(ranked_con):
    search = Filters(WINDOW.since, WINDOW.until, None, "search")
    by_session = quality.ranker_quality(ranked_con, search, quality.Ranking(3, "session"))
    # one list: relevance 0 1 1 -> P@3 2/3, DCG 1/log2 3 + 1/2 against an ideal 1 + 1/log2 3.
    expected = (3, 3, 1.0, 1, 1, 3, 2 / 3, (1 / LOG2_3 + 0.5) / (1 + 1 / LOG2_3), 1.0)
    assert_same(
        actual_frame(by_session, True)[("search", "v1")],
        dict(zip(RANKER_NAMES, expected, strict=True)),
    )
    # by ts, each item is a list of its own: hits in 2 of 3 lists, each a perfect one.
    by_ts = actual_frame(quality.ranker_quality(ranked_con, search, quality.Ranking(3)), True)
    expected = (3, 3, 1.0, 3, 3, 3, 2 / 9, 2 / 3, 2 / 3)
    assert_same(by_ts[("search", "v1")], dict(zip(RANKER_NAMES, expected, strict=True)))


def test_quality_reads_a_ranker_by_its_contract_terms(ranked_con):
    report = quality.quality(
        ranked_con,
        WINDOW,
        kinds={"feed": "ranker", "search": "ranker"},
        rankings={"feed": quality.Ranking(3), "search": quality.Ranking(3, "session")},
    )
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    assert report["feed"] == {
        "kind": "ranker",
        "rows": 20,
        "labelled": 17,
        "labelled_share": pytest.approx(17 / 20),
        "k": 3,
        "lists": 6,
        "labelled_lists": 5,
        "precision_at_k": pytest.approx(4 / 15),
        "ndcg_at_k": pytest.approx((NDCG_A3 + NDCG_B + 1) / 5),
        "hit_rate_at_k": pytest.approx(3 / 5),
        "reason": None,
    }
    assert report["search"]["lists"] == 1
    assert report["search"]["precision_at_k"] == pytest.approx(2 / 3)
    # the default terms: k 10, lists by ts
    default = quality.quality(ranked_con, FEED, kinds={"feed": "ranker"})["feed"]
    assert default["k"] == 10 and default["precision_at_k"] == pytest.approx(0.12)


def test_a_ranker_is_never_read_off_its_rows(ranked_con):
    # positions 1..5 and 0/1 labels: a ranker, or a regressor of counts; not for Tandem to guess
    assert quality.model_kinds(ranked_con) == {"feed": None, "search": None}
    report = quality.quality(ranked_con, WINDOW)["feed"]
    assert report["kind"] is None and "set kind in models.toml" in report["reason"]
    assert not set(report) & {*quality.CLASSIFIER_METRICS, *quality.RANKER_METRICS}


@pytest.mark.parametrize(
    ("column", "reason"),
    [
        ("query_id", "no quality figure: ranking.list names 'query_id', which feed's rows lack"),
        ("label", "no quality figure: ranking.list is 'label', one value per row, not per list"),
    ],
)
def test_an_unusable_list_column_gives_no_figure_and_says_why(ranked_con, column, reason):
    terms = {"feed": quality.Ranking(3, column)}
    report = quality.quality(ranked_con, FEED, {"feed": "ranker"}, rankings=terms)["feed"]
    assert report["reason"] == reason
    assert [report[name] for name in quality.RANKER_METRICS] == [None, None, None]
    assert (report["rows"], report["lists"]) == (20, 0)


def test_an_empty_window_gives_a_ranker_no_lists(ranked_con):
    empty = Filters(utc("2020-01-01"), utc("2020-01-08"), None, "feed")
    assert quality.ranker_quality(ranked_con, empty).empty
    report = quality.quality(ranked_con, empty, {"feed": "ranker"})["feed"]
    assert (report["rows"], report["lists"], report["ndcg_at_k"]) == (0, 0, None)


def test_a_contract_reading_carries_the_rankers_figures(ranked_con):
    from metrics import contracts

    terms = {
        "feed": contracts.Contract(model="feed", kind="ranker", ranking=quality.Ranking(3)),
        "search": contracts.Contract(model="search"),  # no kind: no figure, and why
    }
    readings = contracts.readings(ranked_con, WINDOW, terms)
    feed = readings["feed"]["quality"]
    assert (feed["kind"], feed["k"], feed["labelled_lists"]) == ("ranker", 3, 5)
    assert feed["ndcg_at_k"] == pytest.approx((NDCG_A3 + NDCG_B + 1) / 5)
    assert readings["search"]["quality"]["reason"] == quality.UNKNOWN_KIND


KINDS = {
    "churn": "classifier",
    "spam": "classifier",
    "quiet": "classifier",
    "price": "regressor",
    "clicks": None,
    "prob": None,
    "blank": None,
}


def test_a_synced_warehouse_reads_the_kind_from_what_each_day_said(tmp_path):
    # The sync keeps, per model and day, what the day's ok rows say about the kind
    # (inference_kind_days); the kind is read from those, not from every row ever logged.
    from profiling import store

    path = tmp_path / "w.duckdb"
    source = settings.SourceConfig(name="fixture", kind="test")
    with warehouse.writing(path) as write:
        Loader(write, source, "s1").load(Batch("inference", "fixture", frame=INFERENCE))
        store.refresh(write)
        ok = INFERENCE[INFERENCE["status"] == "ok"]
        days = {(m, t[:10]) for m, t in zip(ok["model"], ok["ts"], strict=True)}
        kept = write.execute("select model, cast(day as varchar) from inference_kind_days")
        assert sorted(kept.fetchall()) == sorted(days)  # one row per model and day with ok rows
        # With no row left to read, the kinds come from the days kept alone.
        write.execute("create table rows_kept as select * from inference")
        write.execute("delete from inference")
    with db.prepare(warehouse.connect_read(path)) as con:
        assert quality.model_kinds(con) == KINDS
        assert quality.model_kinds(con, "price") == {"price": "regressor"}

    # A later day with a negative prediction makes `prob` a regressor: only that day is read
    # again; when its row goes, the day's verdict goes with it.
    with warehouse.writing(path) as write:
        write.execute("insert into inference select * from rows_kept")
        extra = pd.DataFrame(
            [("u3", "2026-11-20 01:00", "prob", "v1", "ok", -0.5, NULL, 0)], columns=COLUMNS
        ).astype({"prediction": "float64", "score": "float64", "label": "float64"})
        Loader(write, source, "s2").load(Batch("inference", "fixture", frame=extra))
        assert store.refresh(write) == 1
    with db.prepare(warehouse.connect_read(path)) as con:
        assert quality.model_kinds(con) == {**KINDS, "prob": "regressor"}
    with warehouse.writing(path) as write:
        write.execute("delete from inference where request_id = 'u3'")
        store.refresh(write)
        assert write.execute(
            "select count(*) from inference_kind_days where day = date '2026-11-20'"
        ).fetchone() == (0,)
    with db.prepare(warehouse.connect_read(path)) as con:
        assert quality.model_kinds(con) == KINDS

    # A model whose rows came without a sync's profiling is read from its rows, beside the
    # models read from their days kept.
    with warehouse.writing(path) as write:
        late = pd.DataFrame(
            [("z1", "2026-11-21 01:00", "late", "v1", "ok", 1.0, 0.9, 1)], columns=COLUMNS
        ).astype({"prediction": "float64", "score": "float64", "label": "float64"})
        Loader(write, source, "s3").load(Batch("inference", "fixture", frame=late))
    with db.prepare(warehouse.connect_read(path)) as con:
        assert quality.model_kinds(con) == {**KINDS, "late": "classifier"}
