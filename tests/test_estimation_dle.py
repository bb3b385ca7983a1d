"""Direct loss estimation for regressors (metrics/estimation/dle.py) and contract budgets on
estimates (metrics/contracts.py)."""

from __future__ import annotations

import datetime as dt
import importlib
import math
import re

import numpy as np
import pandas as pd
import pytest

import settings
import warehouse
from connectors.loader import Batch, Loader
from metrics import contracts, db, quality
from metrics.contracts import Contract
from metrics.estimation import dle
from metrics.estimation.bands import Band
from metrics.filters import Filters

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


# Contract budgets on estimates (metrics/contracts.py).


def band(value, lower, upper, realized=None):
    return {"value": value, "lower": lower, "upper": upper, "realized": realized}


NOTE = "no labels yet for 2 of the 28 days"
TRUSTED = {"calibration": {"trusted": True, "reason": None}, "reason": None}


@pytest.mark.parametrize(
    ("budgets", "estimated", "reasons"),
    [
        # A minimum: the whole band 0.68-0.74 under 0.80 -> red.
        (
            {"accuracy": 0.80},
            {"accuracy": band(0.71, 0.68, 0.74)},
            [("red", f"estimated accuracy 0.71 is under its 0.80 budget ({NOTE})")],
        ),
        # The estimate under, its band reaching the budget -> amber.
        (
            {"accuracy": 0.80},
            {"accuracy": band(0.78, 0.75, 0.81)},
            [
                (
                    "amber",
                    "estimated accuracy 0.78 is under its 0.80 budget, but its band 0.75 to 0.81 "
                    f"reaches it ({NOTE})",
                )
            ],
        ),
        # The band's edge on the budget is not the whole band past it -> amber.
        ({"accuracy": 0.80}, {"accuracy": band(0.78, 0.76, 0.80)}, ["amber"]),
        # The estimate on the budget, or over it with a band below it -> held.
        ({"accuracy": 0.80}, {"accuracy": band(0.80, 0.77, 0.83)}, []),
        ({"roc_auc": 0.70}, {"roc_auc": band(0.72, 0.65, 0.79)}, []),
        # A maximum: MAE 13.4 with its band 12.5-14.3 over 12 -> red; 12.6 (11.8-13.4) amber.
        (
            {"mae": 12.0},
            {"mae": band(13.4, 12.5, 14.3)},
            [("red", f"estimated MAE 13.40 is over its 12.00 budget ({NOTE})")],
        ),
        ({"mae": 12.0}, {"mae": band(12.6, 11.8, 13.4)}, ["amber"]),
        ({"rmse": 20.0}, {"rmse": band(19.0, 17.0, 21.0)}, []),
        # The numbers shown tell value and budget apart.
        (
            {"f1": 0.8},
            {"f1": band(0.7996, 0.7990, 0.7999)},
            [("red", f"estimated F1 0.7996 is under its 0.8000 budget ({NOTE})")],
        ),
        # Two budgets, one broken.
        (
            {"mae": 12.0, "rmse": 20.0},
            {"mae": band(11.0, 10.0, 12.0), "rmse": band(21.0, 20.5, 21.5)},
            [("red", f"estimated RMSE 21.00 is over its 20.00 budget ({NOTE})")],
        ),
    ],
)
def test_budget_reasons_on_estimates(budgets, estimated, reasons):
    found = contracts.estimated_reasons(budgets, estimated, TRUSTED, NOTE)
    if reasons and isinstance(reasons[0], str):
        assert [level for level, _ in found] == reasons
    else:
        assert found == reasons


@pytest.mark.parametrize(
    ("budgets", "estimated", "estimation", "reasons"),
    [
        # No estimate, or one that is not trusted: grey, never red on a figure we doubt.
        (
            {"accuracy": 0.8},
            None,
            None,
            [("grey", "budget on estimated accuracy not checked: no estimate")],
        ),
        (
            {"accuracy": 0.8},
            {"accuracy": band(None, None, None)},
            {"reason": "too few labelled reference rows (12; at least 200)"},
            [
                (
                    "grey",
                    "budget on estimated accuracy not checked: too few labelled reference rows "
                    "(12; at least 200)",
                )
            ],
        ),
        (
            {"accuracy": 0.8},
            {"accuracy": band(0.5, 0.45, 0.55)},
            {
                "calibration": {
                    "trusted": False,
                    "reason": "estimated accuracy missed the realized one on 9 of 20 labelled days",
                }
            },
            [
                (
                    "grey",
                    "budget on estimated accuracy not checked: estimated accuracy missed the "
                    "realized one on 9 of 20 labelled days",
                )
            ],
        ),
    ],
)
def test_without_a_trusted_estimate_a_budget_is_not_checked(
    budgets, estimated, estimation, reasons
):
    assert contracts.estimated_reasons(budgets, estimated, estimation, NOTE) == reasons


@pytest.mark.parametrize(
    ("days", "unlabelled", "note"),
    [
        (28, 2, "no labels yet for 2 of the 28 days"),
        (28, 0, "labels for all 28 days"),
        (28, 28, "no labels yet for any of the 28 days"),
        (1, 1, "no labels yet for its one day"),
        (1, 0, "labels for its one day"),
        (0, 0, "no rows in this window"),
    ],
)
def test_labels_note(days, unlabelled, note):
    assert contracts.labels_note(days, unlabelled) == note


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "kind = 'classifier'\nestimated = { accuracy = 0.8, auc = 0.7 }\n",
            "model 'x': estimated.auc is not an estimated metric (one of accuracy, precision, "
            "recall, f1, roc_auc, mae, rmse)",
        ),
        (
            "kind = 'regressor'\nestimated = { accuracy = 0.8 }\n",
            "model 'x': estimated.accuracy applies to kind = \"classifier\" only, and this model "
            "is a regressor",
        ),
        (
            "kind = 'ranker'\nestimated = { mae = 3 }\n",
            "model 'x': estimated.mae applies to kind = \"regressor\" only, and this model is a "
            "ranker",
        ),
        (
            "estimated = { mae = 3 }\n",
            "model 'x': estimated.mae applies to kind = \"regressor\" only; set the model's kind",
        ),
        ("kind = 'classifier'\nestimated = 0.8\n", "model 'x': estimated is a table like"),
        (
            "kind = 'classifier'\nestimated = { recall = 80 }\n",
            "model 'x': estimated.recall must be above 0 and at most 1, got 80",
        ),
        (
            "kind = 'regressor'\nestimated = { rmse = 0 }\n",
            "model 'x': estimated.rmse must be above 0, got 0",
        ),
        (
            "kind = 'regressor'\nestimated = { mae = 'low' }\n",
            "model 'x': estimated.mae must be a number, got 'low'",
        ),
    ],
)
def test_a_bad_estimated_budget_names_the_model_and_key(tmp_path, toml, message):
    path = tmp_path / "models.toml"
    path.write_text("[models.x]\n" + toml)
    with pytest.raises(contracts.ContractError, match=re.escape(message)):
        contracts.load(path)


def test_estimated_budgets_are_read(tmp_path):
    path = tmp_path / "models.toml"
    path.write_text(
        "[models.c]\nkind = 'classifier'\nestimated = { accuracy = 0.8, roc_auc = 0.75 }\n"
        "[models.r]\nkind = 'regressor'\nestimated = { mae = 12 }\n[models.n]\n"
    )
    loaded = contracts.load(path)
    assert loaded["c"].estimated == {"accuracy": 0.8, "roc_auc": 0.75}
    assert loaded["r"].estimated == {"mae": 12.0}
    assert loaded["n"].estimated == {}


# A regressor r over 3 Nov (labelled) and 4 Nov (not yet) and a classifier c on 4 Nov only.
INFERENCE = pd.DataFrame(
    {
        "request_id": ["r1", "r2", "r3", "c1"],
        "ts": ["2026-11-03 10:00", "2026-11-03 11:00", "2026-11-04 09:00", "2026-11-04 09:00"],
        "model": ["r", "r", "r", "c"],
        "latency_ms": [10.0, 10.0, 10.0, 10.0],
        "status": ["ok", "ok", "ok", "ok"],
        "prediction": [10.0, 12.0, 11.0, 1.0],
        "label": [11.0, None, None, None],
    }
)
WINDOW = Filters(dt.datetime(2026, 11, 2, tzinfo=dt.UTC), dt.datetime(2026, 11, 9, tzinfo=dt.UTC))


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = tmp_path_factory.mktemp("estimated") / "w.duckdb"
    with warehouse.writing(path) as write:
        loader = Loader(write, settings.SourceConfig(name="fixture", kind="test"), "s1")
        loader.load(Batch("inference", "inference", frame=INFERENCE))
    connection = db.prepare(warehouse.connect_read(path))
    yield connection
    connection.close()


def test_readings_and_check_alert_on_an_estimate_past_its_budget(con, monkeypatch):
    # The estimates stand in for metrics/estimation's (quality.estimated and .estimation, as
    # contracts.readings carries them): r's MAE band wholly over 12 (red), c's accuracy under
    # 0.8 with its band reaching it (amber).
    estimates = {
        "r": {"estimated": {"mae": band(13.4, 12.5, 14.3)}, "estimation": TRUSTED},
        "c": {"estimated": {"accuracy": band(0.78, 0.70, 0.86)}, "estimation": TRUSTED},
    }
    real = quality.quality

    def with_estimates(*args, **kwargs):
        result = real(*args, **kwargs)
        for model, estimated in estimates.items():
            result[model].update(estimated)
        return result

    monkeypatch.setattr(quality, "quality", with_estimates)
    # Where metrics.estimation.reading exists (branch i17-cbpe), readings take the estimates
    # from it: it gives the same stand-ins.
    package = importlib.import_module("metrics.estimation")
    if hasattr(package, "reading"):
        monkeypatch.setattr(
            package, "reading", lambda con, model, *args, **kwargs: estimates.get(model, {})
        )
    terms = {
        "r": Contract(model="r", kind="regressor", estimated={"mae": 12.0}),
        "c": Contract(model="c", kind="classifier", estimated={"accuracy": 0.8}),
    }
    readings = contracts.readings(con, WINDOW, terms)
    assert readings["r"]["status"] == "red"
    assert readings["r"]["breaches"] == [
        "estimated MAE 13.40 is over its 12.00 budget (no labels yet for 1 of the 2 days)"
    ]
    assert readings["r"]["budgets"]["estimated"] == {"mae": 12.0}
    assert readings["c"]["status"] == "amber"
    assert contracts.breaches(readings) == [
        "r: estimated MAE 13.40 is over its 12.00 budget (no labels yet for 1 of the 2 days)"
    ]
    assert contracts.warnings(readings) == [
        "c: estimated accuracy 0.78 is under its 0.80 budget, but its band 0.70 to 0.86 "
        "reaches it (no labels yet for its one day)"
    ]


def test_a_contract_without_estimated_budgets_reads_as_before(con):
    readings = contracts.readings(con, WINDOW, {"r": Contract(model="r", kind="regressor")})
    assert not any("estimated" in text for text in readings["r"]["reasons"])
    assert readings["r"]["budgets"]["estimated"] == {}


def test_a_status_only_reading_skips_the_estimates_no_budget_reads(con, monkeypatch):
    # KPI check and the drift page read `deep=False`: an estimate is computed only for a
    # model whose contract budgets it, the realized quality (no status reads it) not at all,
    # and every status and reason stays the same.
    asked, realized = [], []
    package = importlib.import_module("metrics.estimation")
    real = package.reading
    real_quality = contracts.quality.quality

    def counted(con, model, *args, **kwargs):
        asked.append(model)
        return real(con, model, *args, **kwargs)

    def counted_quality(*args, **kwargs):
        realized.append(args)
        return real_quality(*args, **kwargs)

    kinds_read = []
    real_kinds = contracts.quality.model_kinds

    def counted_kinds(*args, **kwargs):
        kinds_read.append(args)
        return real_kinds(*args, **kwargs)

    monkeypatch.setattr(package, "reading", counted)
    monkeypatch.setattr(contracts.quality, "quality", counted_quality)
    monkeypatch.setattr(contracts.quality, "model_kinds", counted_kinds)
    terms = {
        "r": Contract(model="r", kind="regressor", estimated={"mae": 12.0}),
        "c": Contract(model="c", kind="classifier"),
    }
    deep = contracts.readings(con, WINDOW, terms)
    assert sorted(set(asked)) == ["c", "r"] and len(realized) == 1
    assert len(kinds_read) == 1  # the kinds the rows say: read once, for quality and estimates
    asked.clear()
    realized.clear()
    kinds_read.clear()
    shallow = contracts.readings(con, WINDOW, terms, deep=False)
    assert asked == ["r"] and realized == [] and len(kinds_read) == 1
    assert "estimated" in shallow["r"]["quality"] and "estimated" not in shallow["c"]["quality"]
    assert shallow["r"]["quality"]["estimated"] == deep["r"]["quality"]["estimated"]
    assert "mae" in deep["r"]["quality"] and "mae" not in shallow["r"]["quality"]
    for model in terms:
        assert shallow[model]["status"] == deep[model]["status"]
        assert shallow[model]["reasons"] == deep[model]["reasons"]
        if deep[model]["drift"]:
            assert "multivariate" not in shallow[model]["drift"]
