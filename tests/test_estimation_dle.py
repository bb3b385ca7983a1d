"""Direct loss estimation for regressors (metrics/estimation/dle.py) and contract budgets on
estimates (metrics/contracts.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metrics.estimation import dle
from metrics.estimation.bands import Band

# A regressor whose error grows with feature x: prediction 2x, label 2x + N(0, sd) with
# sd = 0.5 + 0.5x, plus 1 in segment "c". E|e| = sqrt(2/pi) E[sd]; E[e^2] = E[sd^2].
# x ~ U(0, 4), segments a/b/c equally likely ("usual" rows):
#   E[sd] = 0.5 + 0.5 * 2 + 1/3 = 1.8333          -> MAE  0.79788 * 1.8333 = 1.4628
#   a = 0.5 + 0.5x ~ U(0.5, 2.5): E[a] 1.5, E[a^2] = 2^2/12 + 1.5^2 = 2.5833
#   E[sd^2] = 2.5833 + 2 * 1.5 / 3 + 1/3 = 3.9167  -> RMSE sqrt(3.9167) = 1.9791
# x ~ U(3, 4) ("high" rows): a ~ U(2, 2.5): E[a] 2.25, E[a^2] = 0.5^2/12 + 2.25^2 = 5.0833
#   E[sd] = 2.25 + 1/3 = 2.5833                    -> MAE  0.79788 * 2.5833 = 2.0612
#   E[sd^2] = 5.0833 + 2 * 2.25 / 3 + 1/3 = 6.9167 -> RMSE sqrt(6.9167) = 2.6300
USUAL = {"mae": 1.4628, "rmse": 1.9791}
HIGH = {"mae": 2.0612, "rmse": 2.6300}
FEATURES = ["x", "segment"]


def rows(count: int, high_share: float, seed: int, segments=("a", "b", "c")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    high = rng.random(count) < high_share
    x = np.where(high, rng.uniform(3, 4, count), rng.uniform(0, 4, count))
    segment = rng.choice(list(segments), count)
    sd = 0.5 + 0.5 * x + np.where(segment == "c", 1.0, 0.0)
    return pd.DataFrame(
        {"x": x, "segment": segment, "prediction": 2 * x, "label": 2 * x + rng.normal(0, sd)}
    )


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return rows(20_000, 0.0, seed=1)


@pytest.fixture(scope="module")
def model(reference) -> dle.LossModel:
    return dle.fit(reference, FEATURES)


@pytest.fixture(scope="module")
def shifted_days() -> list[pd.DataFrame]:
    # 60 days of 500 rows; the share of high-x rows grows from 0 to 59/60.
    return [rows(500, day / 60, seed=100 + day) for day in range(60)]


def test_the_estimate_holds_within_its_band_on_shifted_days(model, shifted_days):
    inside = {"mae": 0, "rmse": 0}
    for day in shifted_days:
        estimated, realized = dle.estimate(model, day), dle.realized(day)
        for metric in inside:
            band = estimated[metric]
            inside[metric] += band.lower <= realized[metric] <= band.upper
    assert inside["mae"] >= 57, inside  # 95% of 60 days
    assert inside["rmse"] >= 57, inside


def test_the_estimate_rises_with_the_feature_and_matches_the_hand_computed_loss(
    model, shifted_days
):
    first = pd.concat(shifted_days[:10])
    last = pd.concat(shifted_days[-10:])
    early, late = dle.estimate(model, first), dle.estimate(model, last)
    assert late["mae"].value > early["mae"].value + 0.3
    assert late["rmse"].value > early["rmse"].value + 0.3
    usual, high = (
        dle.estimate(model, rows(20_000, 0.0, 7)),
        dle.estimate(model, rows(20_000, 1.0, 8)),
    )
    for metric in ("mae", "rmse"):
        assert usual[metric].value == pytest.approx(USUAL[metric], abs=0.05)
        assert high[metric].value == pytest.approx(HIGH[metric], abs=0.08)


def test_a_categorical_feature_is_read_and_an_unseen_category_is_missing(model):
    # Segment "a" alone: E[sd] = 1.5 -> MAE 1.197; "c" alone: 2.5 -> 1.995.
    only_a = dle.estimate(model, rows(5_000, 0.0, 11, segments=("a",)))
    only_c = dle.estimate(model, rows(5_000, 0.0, 12, segments=("c",)))
    assert only_a["mae"].value == pytest.approx(1.197, abs=0.06)
    assert only_c["mae"].value == pytest.approx(1.995, abs=0.06)
    unseen = dle.estimate(model, rows(500, 0.0, 13, segments=("z",)))
    assert unseen["mae"].value is not None and math.isfinite(unseen["mae"].value)


def test_the_band_is_three_reference_standard_errors_at_the_chunks_size(model, reference):
    error = reference["label"] - reference["prediction"]
    assert model.sd_absolute == pytest.approx(np.std(error.abs()))
    assert model.mean_squared == pytest.approx(np.mean(error**2))
    chunk = rows(400, 0.0, 21)
    estimated = dle.estimate(model, chunk)
    mae = estimated["mae"]
    assert mae.upper - mae.value == pytest.approx(3 * np.std(error.abs()) / math.sqrt(400))
    assert mae.value - mae.lower == pytest.approx(mae.upper - mae.value)
    rmse = estimated["rmse"]
    half = 3 * np.std(error**2) / (2 * math.sqrt(400 * np.mean(error**2)))
    assert rmse.upper - rmse.value == pytest.approx(half)


def test_the_lower_edge_stops_at_zero(model):
    # Two rows: the band's half-width (3 * sd / sqrt(2)) is wider than the estimate itself.
    band = dle.estimate(model, rows(2, 0.0, 31))["mae"]
    assert band.lower == 0.0 < band.value < band.upper


def test_a_held_out_quarter_of_the_reference_checks_the_loss_model(model):
    assert model.reference_rows == 20_000
    assert model.fitted_rows == 15_000
    for metric in ("mae", "rmse"):
        check = model.holdout[metric]
        assert check["rows"] == 5_000
        assert check["estimated"] == pytest.approx(check["realized"], rel=0.05)


def test_the_fit_is_repeatable(reference, model):
    chunk = rows(300, 0.5, 41)
    assert dle.estimate(dle.fit(reference, FEATURES), chunk) == dle.estimate(model, chunk)


def test_the_fit_reads_at_most_the_cap(monkeypatch, reference):
    monkeypatch.setattr(dle, "MAX_FIT_ROWS", 1_000)
    assert dle.fit(reference, FEATURES).fitted_rows == 1_000


def test_unlabelled_rows_are_not_fitted_and_too_few_labels_give_the_reason():
    frame = rows(400, 0.0, 51)
    frame.loc[199:, "label"] = None  # 199 labelled rows
    with pytest.raises(dle.TooFewRows, match="199 labelled reference rows; .* at least 200"):
        dle.fit(frame, FEATURES)


def test_a_chunk_without_predictions_has_no_estimate(model):
    chunk = rows(10, 0.0, 61)
    chunk["prediction"] = None
    assert dle.estimate(model, chunk) == {
        "mae": Band(None, None, None),
        "rmse": Band(None, None, None),
    }


def test_realized_by_hand():
    # errors 1, 0, -2 (row 4 has no label): MAE 3/3 = 1, RMSE sqrt(5/3) = 1.2910
    chunk = pd.DataFrame({"prediction": [2.0, 2.0, 5.0, 9.0], "label": [1.0, 2.0, 3.0, None]})
    assert dle.realized(chunk) == pytest.approx({"mae": 1.0, "rmse": math.sqrt(5 / 3)})
    assert dle.realized(chunk.iloc[3:]) == {"mae": None, "rmse": None}
