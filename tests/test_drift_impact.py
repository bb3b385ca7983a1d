"""Drift that matters (metrics/drift/impact.py) on hand-made daily series.

Each timeline is written out day by day; the expected correlations are scipy's Spearman on
the same arrays, and the sentences are spelled out in full.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from scipy import stats

from metrics.drift import impact
from metrics.drift.windows import Window

WASSERSTEIN = "Wasserstein distance (normed)"
CHI_SQUARE = "chi-square p_value"
JENSEN_SHANNON = "Jensen-Shannon distance"
THRESHOLDS = {WASSERSTEIN: 0.1, CHI_SQUARE: 0.05, JENSEN_SHANNON: 0.1}

WINDOW = Window(dt.date(2026, 11, 1), dt.date(2026, 11, 11))  # 10 days, 1 to 10 Nov
DAYS = [WINDOW.since + dt.timedelta(days=i) for i in range(WINDOW.days)]
BEFORE = [WINDOW.since - dt.timedelta(days=i) for i in range(10, 0, -1)]  # the reference's days

# The KPI (higher is better) falls from day 4 on; the performance figure falls with it.
KPI = [0.050, 0.051, 0.049, 0.050, 0.046, 0.043, 0.041, 0.040, 0.038, 0.037]
AUC = [0.90, 0.91, 0.90, 0.89, 0.86, 0.84, 0.83, 0.80, 0.79, 0.78]
# "session_length_s" drifts from day 5 and grows as the KPI falls; "country" drifts a little on
# two days with no relation to it; "device" is a p-value method, its p falls as the KPI falls.
SESSION = [0.02, 0.03, 0.02, 0.04, 0.15, 0.30, 0.45, 0.60, 0.70, 0.85]
COUNTRY = [0.05, 0.12, 0.04, 0.06, 0.05, 0.11, 0.03, 0.05, 0.04, 0.06]
DEVICE = [0.60, 0.50, 0.70, 0.40, 0.04, 0.02, 0.01, 0.005, 0.002, 0.001]


def timeline(columns: dict[str, tuple[str, list[float]]], days=DAYS) -> pd.DataFrame:
    """A drift timeline as drift.timeline returns it: one row per (day, feature)."""
    rows = []
    for name, (method, scores) in columns.items():
        threshold = THRESHOLDS[method]
        for day, score in zip(days, scores, strict=True):
            drifted = score < threshold if method == CHI_SQUARE else score >= threshold
            rows.append(
                {
                    "start": day,
                    "column": name,
                    "role": "feature",
                    "method": method,
                    "score": score,
                    "threshold": threshold,
                    "drifted": drifted,
                    "rows": 100,
                }
            )
    return pd.DataFrame(rows)


def figure(name: str, values: list[float], higher: bool | None, source="KPI", days=DAYS):
    label = name.replace("_", " ")
    return impact.Figure(name, label, pd.Series(values, index=days), higher, source)


def test_the_feature_whose_drift_tracks_the_kpi_ranks_first():
    line = timeline(
        {
            "country": (JENSEN_SHANNON, COUNTRY),
            "session_length_s": (WASSERSTEIN, SESSION),
        }
    )
    result = impact.rank(
        line,
        figure("roc_auc", AUC, True, "realized"),
        figure("click_through_rate", KPI, True),
        WINDOW,
    )
    assert [f.feature for f in result.ranking] == ["session_length_s", "country"]
    top = result.ranking[0]
    rho_kpi, p_kpi = stats.spearmanr(SESSION, KPI)
    rho_auc, _ = stats.spearmanr(SESSION, AUC)
    assert top.kpi.rho == pytest.approx(rho_kpi) and top.kpi.p_value == pytest.approx(p_kpi)
    assert top.performance.rho == pytest.approx(rho_auc)
    assert top.kpi.days == top.performance.days == 10
    # Higher is better for both: the harm is the correlation's opposite.
    assert top.score == pytest.approx(max(-rho_kpi, -rho_auc))
    assert top.first_drift == dt.date(2026, 11, 5) and top.drifted_days == 6
    country = result.ranking[1]
    assert country.kpi.rho == pytest.approx(stats.spearmanr(COUNTRY, KPI)[0])
    assert country.first_drift == dt.date(2026, 11, 2) and country.drifted_days == 2
    # By hand, Pearson of the ranks (ties share their mean rank): SESSION ranks 1.5 3 1.5 4 5
    # 6 7 8 9 10, KPI ranks 8.5 10 7 8.5 6 5 4 3 2 1; deviations from 5.5 give a sum of
    # products of -75.25 and sums of squares of 82 on each side.
    assert rho_kpi == pytest.approx(-75.25 / 82)
    assert result.sentence == (
        "session_length_s drifted from 5 Nov and moves with the drop in click through rate "
        "(Spearman −0.92 over 10 days) and with the drop in roc auc "
        f"(realized, Spearman {-abs(rho_auc):+.2f} over 10 days).".replace("-", "−")
    )


def test_a_p_value_method_counts_a_smaller_p_as_more_drift():
    line = timeline({"device": (CHI_SQUARE, DEVICE)})
    result = impact.rank(line, None, figure("click_through_rate", KPI, True), WINDOW)
    (device,) = result.ranking
    # Drift magnitude is -p: Spearman on it is scipy's on -p (and the opposite of on p).
    assert device.kpi.rho == pytest.approx(stats.spearmanr([-p for p in DEVICE], KPI)[0])
    assert device.kpi.rho == pytest.approx(-stats.spearmanr(DEVICE, KPI)[0])
    assert device.kpi.harm > impact.TRACKS_AT
    assert device.first_drift == dt.date(2026, 11, 5)


def test_lower_is_better_turns_the_sign_of_harm():
    errors = [10 + 100 * s for s in SESSION]  # MAE rises with the drift
    line = timeline({"session_length_s": (WASSERSTEIN, SESSION)})
    result = impact.rank(line, figure("mae", errors, False, "realized"), None, WINDOW)
    (top,) = result.ranking
    assert top.performance.rho == pytest.approx(1.0)
    assert top.performance.harm == pytest.approx(1.0)
    assert result.sentence == (
        "session_length_s drifted from 5 Nov and moves with the rise in mae "
        "(realized, Spearman +1.00 over 10 days)."
    )
    assert impact.harm(0.6, None) == impact.harm(-0.6, None) == pytest.approx(0.6)


def test_drift_that_moves_with_nothing_is_said_so_with_the_closest_link():
    line = timeline({"country": (JENSEN_SHANNON, COUNTRY)})
    kpi = figure("click_through_rate", KPI, True)
    result = impact.rank(line, None, kpi, WINDOW)
    rho = stats.spearmanr(COUNTRY, KPI)[0]
    assert abs(rho) < impact.TRACKS_AT
    assert rho == pytest.approx(0.3437, abs=1e-4)
    assert result.sentence == (
        "country drifted from 2 Nov, but no drifting feature moves with a drop in click "
        "through rate: the closest, country against click through rate, has Spearman +0.34 "
        "over 10 days (moving with it takes −0.50 or beyond)."
    )


@pytest.mark.parametrize("days", [impact.MIN_DAYS - 1, impact.MIN_DAYS])
def test_too_few_days_give_a_sentence_and_no_ranking(days):
    window = Window(DAYS[0], DAYS[days])  # the first `days` days
    line = timeline({"session_length_s": (WASSERSTEIN, SESSION)})
    kpi = figure("click_through_rate", KPI, True)
    result = impact.rank(line, None, kpi, window)
    if days < impact.MIN_DAYS:
        assert result.ranking == []
        assert result.sentence == (
            "Too few days to tell which drift matters (1 Nov to 6 Nov): 6 day(s) with both the "
            "drift and click through rate, and a correlation needs 7."
        )
    else:
        assert [f.feature for f in result.ranking] == ["session_length_s"]
        assert result.ranking[0].kpi.days == 7
        assert result.ranking[0].kpi.rho == pytest.approx(stats.spearmanr(SESSION[:7], KPI[:7])[0])


def test_days_without_the_figure_are_left_out_of_the_pairs():
    # Labels stop arriving after day 6: the performance figure has 6 days, too few.
    auc = figure("roc_auc", AUC[:6], True, "realized", DAYS[:6])
    line = timeline({"session_length_s": (WASSERSTEIN, SESSION)})
    result = impact.rank(line, auc, figure("click_through_rate", KPI, True), WINDOW)
    (top,) = result.ranking
    assert top.performance is None and top.kpi.days == 10


def test_no_drifted_feature_means_no_ranking():
    calm = [0.02, 0.03, 0.02, 0.04, 0.05, 0.03, 0.04, 0.05, 0.02, 0.03]
    line = timeline({"session_length_s": (WASSERSTEIN, calm)})
    result = impact.rank(line, None, figure("click_through_rate", KPI, True), WINDOW)
    assert result.ranking == []
    assert result.sentence == (
        "No feature drifted on any day of the window (1 Nov to 10 Nov): there is no drift to rank."
    )


def test_a_feature_that_drifts_on_the_references_own_days_is_a_day_pattern():
    # day_of_week: one value a day against a week of them, so every day is "drifted".
    pattern = [0.4] * 10
    line = pd.concat(
        [
            timeline({"day_of_week": (JENSEN_SHANNON, pattern)}, BEFORE),
            timeline({"day_of_week": (JENSEN_SHANNON, pattern)}),
        ]
    )
    result = impact.rank(line, None, figure("click_through_rate", KPI, True), WINDOW)
    assert result.ranking == []
    assert result.day_patterns == {"day_of_week": (10, 10)}
    assert result.sentence == (
        "No feature drifted in the window (1 Nov to 10 Nov) beyond its usual day-to-day pattern "
        "(day_of_week is past its threshold on 10 of the reference's 10 days too): there is no "
        "drift to rank."
    )


def test_no_figure_at_all_is_said():
    line = timeline({"session_length_s": (WASSERSTEIN, SESSION)})
    result = impact.rank(line, None, None, WINDOW)
    assert result.ranking == []
    assert result.sentence == (
        "1 feature(s) drifted (1 Nov to 10 Nov), but this model has neither a performance "
        "figure nor a KPI per day to weigh the drift against."
    )


def test_a_constant_side_has_no_correlation():
    line = timeline({"session_length_s": (WASSERSTEIN, SESSION)})
    flat = figure("click_through_rate", [0.05] * 10, True)
    result = impact.rank(line, None, flat, WINDOW)
    (top,) = result.ranking
    assert top.kpi.rho is None and top.kpi.days == 10 and top.score is None
    assert result.sentence.endswith("no correlation could be measured (one side stays constant).")


def test_the_json_holds_the_ranking():
    line = timeline({"session_length_s": (WASSERSTEIN, SESSION)})
    result = impact.rank(line, None, figure("click_through_rate", KPI, True), WINDOW)
    out = result.as_json()
    assert out["window"] == {"since": "2026-11-01", "until": "2026-11-11"}
    assert out["min_days"] == impact.MIN_DAYS
    assert out["kpi"]["name"] == "click_through_rate" and out["kpi"]["days"] == 10
    (row,) = out["ranking"]
    assert row["feature"] == "session_length_s" and row["first_drift"] == "2026-11-05"
    assert row["kpi"]["rho"] == pytest.approx(stats.spearmanr(SESSION, KPI)[0])


class Terms:
    """A contract's KPI terms, as metrics.contracts.KpiTerms carries them."""

    def __init__(self, name, label, target, guardrail):
        self.name, self.label, self.target, self.guardrail = name, label, target, guardrail


class Contract:
    def __init__(self, kpis, retraining=None):
        self.kpis, self.retraining = tuple(kpis), retraining or {}

    def kpi(self, name):
        return next((k for k in self.kpis if k.name == name), None)


def test_the_main_kpi_is_the_retraining_kpi_else_the_first():
    kpis = pd.DataFrame(
        {
            "kpi": ["a_rate", "b_rate", "a_rate", "b_rate"],
            "date": [DAYS[0], DAYS[0], DAYS[1], DAYS[1]],
            "value": [0.1, 5.0, 0.2, 4.0],
            "target": [0.2, 3.0, 0.2, 3.0],
            "guardrail": [0.1, 4.0, 0.1, 4.0],
        }
    )
    both = [Terms("a_rate", "A rate", 0.2, 0.1), Terms("b_rate", "B rate", 3.0, 4.0)]
    assert impact.main_kpi(Contract(both, {"kpi": "b_rate"}), kpis) == "b_rate"
    assert impact.main_kpi(Contract(both), kpis) == "a_rate"
    assert impact.main_kpi(None, kpis) == "a_rate"
    chosen = impact.kpi_figure(Contract(both, {"kpi": "b_rate"}), kpis)
    assert chosen.label == "b rate" and chosen.higher_is_better is False
    assert list(chosen.values) == [5.0, 4.0]
    # Without a contract the feed's target and guardrail give the direction.
    assert impact.kpi_figure(None, kpis).higher_is_better is True


def test_blend_takes_the_realized_figure_where_enough_labels_back_it():
    steps = pd.DataFrame(
        {
            "day": DAYS[:4],
            "value": [0.80, 0.82, None, 0.70],
            "lower": [0.7, 0.7, None, 0.6],
            "upper": [0.9, 0.9, None, 0.8],
            "realized": [0.85, 0.60, None, None],
            "labelled": [impact.MIN_LABELLED, impact.MIN_LABELLED - 1, 0, 0],
        }
    )
    values, source = impact.blend(steps)
    # Day 1: 30 labels, realized; day 2: 29, the estimate; day 3: nothing; day 4: the estimate.
    assert values.to_dict() == {DAYS[0]: 0.85, DAYS[1]: 0.82, DAYS[3]: 0.70}
    assert source == "realized and estimated"
    only_estimates, source = impact.blend(steps.assign(realized=None))
    assert list(only_estimates) == [0.80, 0.82, 0.70] and source == "estimated"


def test_days_of_another_method_count_as_drifted_but_not_in_the_correlation():
    # Day 3 is scored by chi-square (its reference was small that day): p 0.01 is drifted, yet
    # a p-value is no distance, so the correlation reads the other 9 days.
    line = timeline({"session_length_s": (WASSERSTEIN, SESSION)})
    swapped = line["start"] == DAYS[2]
    line.loc[swapped, ["method", "score", "threshold", "drifted"]] = [CHI_SQUARE, 0.01, 0.05, True]
    result = impact.rank(line, None, figure("click_through_rate", KPI, True), WINDOW)
    (top,) = result.ranking
    assert top.first_drift == DAYS[2] and top.drifted_days == 7
    kept = [i for i in range(10) if i != 2]
    assert top.kpi.days == 9
    expected = stats.spearmanr([SESSION[i] for i in kept], [KPI[i] for i in kept])[0]
    assert top.kpi.rho == pytest.approx(expected)
