"""Confidence-based performance estimation (CBPE) of a binary classifier, chunk by chunk.

NannyML's method: an isotonic regression fitted on labelled reference rows maps the model's
score to P(label = 1), unless (NannyML's check) the raw scores are better calibrated already.
On a chunk without labels, the calibrated probabilities give the
expected confusion matrix (expected TP = sum of p over the rows predicted positive, ...), and
from it accuracy, precision, recall and F1; the expected TPR/FPR curve over the score's
thresholds gives ROC AUC. Each estimate carries a band of 3 standard errors of the realized
metric at the chunk's size: the larger of NannyML's (the reference's spread at the chunk's
size) and the chunk's own (the spread of the realized figure were the labels drawn from the
calibrated probabilities). NannyML's alone is too narrow once the scores shift away from the
reference's: a reference of confident scores says little about a chunk of doubtful ones.

Pure functions on frames. The isotonic fit and NannyML's check are scikit-learn's, to the
last bit, without importing it (0.6 s on a page's first view, more than the fit): its
IsotonicRegression calls SciPy's pool-adjacent-violators (scipy.optimize.isotonic_regression),
and StratifiedShuffleSplit draws from NumPy's RandomState; both are done here the same way.
The fit calls SciPy's compiled routine itself (`_pava`), without importing scipy.optimize.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from metrics.estimation.bands import Band

METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
# Below these, the calibration curve and the reference's standard errors are guesses: isotonic
# regression on a few dozen rows steps wildly, and a class seen a handful of times gives no
# spread to read a standard error from.
MIN_REFERENCE_LABELS = 100
MIN_REFERENCE_PER_CLASS = 10
# The band is the estimate plus or minus this many standard errors (NannyML's default).
BAND_STANDARD_ERRORS = 3.0


class NotEnoughLabels(ValueError):
    """The reference has too few labelled rows (or too few of one class) to calibrate on."""


@dataclass(frozen=True)
class Calibration:
    """A classifier's score -> P(label = 1) map fitted on labelled reference rows, and the
    reference's spread of each metric (standard deviation, share of rows it rests on)."""

    scores: np.ndarray  # the isotonic fit's knots, increasing
    probabilities: np.ndarray  # P(label = 1) at each knot
    threshold: float
    reference_rows: int
    spread: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    is_calibrated: bool = True  # False: the scores were probabilities already, used as they are

    def calibrated(self, scores: np.ndarray) -> np.ndarray:
        """P(label = 1) for `scores`: linear between the knots, clipped beyond them, as
        sklearn's IsotonicRegression(out_of_bounds="clip").predict gives."""
        return np.interp(np.asarray(scores, dtype=float), self.scores, self.probabilities)


def predicted_class(rows: pd.DataFrame, threshold: float) -> np.ndarray:
    """The predicted class of each row: `prediction`, or score >= threshold where it is null."""
    by_score = (rows["score"].to_numpy(dtype=float) >= threshold).astype(float)
    if "prediction" not in rows:
        return by_score
    prediction = rows["prediction"].to_numpy(dtype=float)
    return np.where(np.isnan(prediction), by_score, prediction)


def _scored(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["score"].notna()]


def fit(reference: pd.DataFrame, threshold: float = 0.5) -> Calibration:
    """Fit the calibration and the metrics' spreads on labelled reference rows.

    Args:
        reference: columns score, prediction (may be null: the class is score >= threshold)
            and label (0/1); rows without a score or a label are left out.
        threshold: as in `predicted_class`.

    Raises:
        NotEnoughLabels: fewer than MIN_REFERENCE_LABELS labelled rows with a score, or fewer
            than MIN_REFERENCE_PER_CLASS of either class; the message says which.
    """
    rows = _scored(reference)
    rows = rows[rows["label"].notna()]
    labels = rows["label"].to_numpy(dtype=float)
    positives = int((labels == 1).sum())
    negatives = len(labels) - positives
    if len(labels) < MIN_REFERENCE_LABELS:
        raise NotEnoughLabels(
            f"{len(labels)} labelled rows with a score; calibrating needs at least "
            f"{MIN_REFERENCE_LABELS}"
        )
    if min(positives, negatives) < MIN_REFERENCE_PER_CLASS:
        raise NotEnoughLabels(
            f"{positives} positive and {negatives} negative labelled rows; calibrating needs "
            f"at least {MIN_REFERENCE_PER_CLASS} of each"
        )
    scores = rows["score"].to_numpy(dtype=float)
    if _calibrating_helps(scores, labels):
        knots, probabilities = _isotonic(scores, labels)
    else:
        knots, probabilities = np.array([0.0, 1.0]), np.array([0.0, 1.0])
    return Calibration(
        scores=np.asarray(knots, dtype=float),
        probabilities=np.asarray(probabilities, dtype=float),
        threshold=float(threshold),
        reference_rows=len(labels),
        spread=_spreads(labels, predicted_class(rows, threshold), scores),
        is_calibrated=len(knots) != 2 or tuple(probabilities) != (0.0, 1.0),
    )


def _isotonic(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(scores,
    labels): its knots and their values (X_thresholds_, y_thresholds_), the same arrays."""
    order = np.lexsort((labels, scores))
    x, y, weights = _make_unique(scores[order], labels[order])
    fitted = _pava(y, weights)
    np.clip(fitted, 0.0, 1.0, fitted)
    # the knots that bend the line: not those equal to both neighbours
    keep = np.ones(len(fitted), dtype=bool)
    keep[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return x[keep], fitted[keep]


def _pava(y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """scipy.optimize.isotonic_regression(y, weights=weights, increasing=True).x, to the last
    bit: the same compiled pool-adjacent-violators routine, called as that function calls it.

    Importing scipy.optimize brings all of it (minimize, linprog, ...): 0.24 s of a report's
    1.5 s as a process, and of the first view of a page that estimates. The routine alone
    loads in 0.01 s. Should it be missing or refuse its arguments (another SciPy), the public
    function does the fit.
    """
    routine = _pava_routine()
    if routine is not None:
        fitted = np.array(y, order="C", dtype=np.float64, copy=True)
        rows = np.array(weights, order="C", dtype=np.float64, copy=True)
        blocks = np.full(len(fitted) + 1, -1, dtype=np.intp)
        try:
            fitted, *_ = routine(fitted, rows, blocks)
            return np.asarray(fitted, dtype=float)
        except TypeError:
            pass
    from scipy.optimize import isotonic_regression

    return np.asarray(isotonic_regression(y, weights=weights, increasing=True).x, dtype=float)


PAVA_MODULE = "scipy.optimize._pava_pybind"


@functools.cache
def _pava_routine() -> Callable | None:
    """SciPy's compiled `pava` (scipy/optimize/_pava_pybind), loaded from its file; the one
    already imported when scipy.optimize is; None when there is no such file."""
    if PAVA_MODULE in sys.modules:
        return getattr(sys.modules[PAVA_MODULE], "pava", None)
    package = importlib.util.find_spec("scipy")  # finds the package without importing it
    for folder in (package.submodule_search_locations or []) if package else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folder, "optimize", f"_pava_pybind{suffix}")
            if path.is_file():
                loader = importlib.machinery.ExtensionFileLoader(PAVA_MODULE, str(path))
                module = importlib.util.module_from_spec(
                    importlib.util.spec_from_loader(PAVA_MODULE, loader)
                )
                loader.exec_module(module)
                return getattr(module, "pava", None)
    return None


# scikit-learn's _make_unique pools scores closer than this to the first of their run.
_RESOLUTION = float(np.finfo(np.float64).resolution)


def _make_unique(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted scores `x` pooled by value: each value, the mean of its labels, its rows. Labels
    are 0/1, so the sums are exact whatever their order."""
    starts = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])
    values = x[starts]
    if len(values) > 1 and np.diff(values).min() < _RESOLUTION:
        return _make_unique_pooling_close(x, y)
    rows = np.diff(np.r_[starts, len(x)]).astype(float)
    return values, np.add.reduceat(y, starts) / rows, rows


def _make_unique_pooling_close(
    x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_make_unique` for scores within the resolution of each other (scikit-learn's loop)."""
    values, means, rows = [], [], []
    current, total, count = x[0], 0.0, 0.0
    for value, label in zip([*x, np.inf], [*y, 0.0], strict=True):  # inf: closes the last
        if value - current >= _RESOLUTION:
            values.append(current)
            means.append(total / count)
            rows.append(count)
            current, total, count = value, 0.0, 0.0
        total += label
        count += 1.0
    return np.array(values), np.array(means), np.array(rows)


def _calibrating_helps(scores: np.ndarray, labels: np.ndarray) -> bool:
    """NannyML's check: on 3 stratified 90/10 splits of the reference, does the isotonic fit
    on the 90 lower the expected calibration error on the 10 below the raw scores'? Scores that
    are probabilities already stay as they are: an isotonic fit on them only adds its steps
    (and, where the reference's scores are sparse, an overconfident bias)."""
    if scores.min() < 0 or scores.max() > 1:
        return True  # not probabilities: they must be mapped
    raw, fitted = [], []
    for train, test in _stratified_splits(labels):
        knots, probabilities = _isotonic(scores[train], labels[train])
        # scikit-learn's predict: clipped to the knots, linear between them
        mapped = np.interp(scores[test], knots, probabilities)
        raw.append(_calibration_error(labels[test], scores[test]))
        fitted.append(_calibration_error(labels[test], mapped))
    return float(np.mean(fitted)) < float(np.mean(raw))


def _stratified_splits(
    labels: np.ndarray, splits: int = 3, test_share: float = 0.1, seed: int = 42
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """scikit-learn's StratifiedShuffleSplit(n_splits=3, test_size=0.1, random_state=42).split:
    the same (train, test) row positions, drawn the same way. `fit` has already made sure of
    10 rows of each class and 100 in all, which its checks ask."""
    test = math.ceil(test_share * len(labels))
    train = len(labels) - test
    _, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    by_class = np.split(np.argsort(codes, kind="stable"), np.cumsum(counts)[:-1])
    rng = np.random.RandomState(seed)
    for _ in range(splits):
        train_counts = _approximate_mode(counts, train, rng)
        test_counts = _approximate_mode(counts - train_counts, test, rng)
        picked_train: list[np.ndarray] = []
        picked_test: list[np.ndarray] = []
        for rows, n_train, n_test, n in zip(
            by_class, train_counts, test_counts, counts, strict=True
        ):
            shuffled = rows.take(rng.permutation(n), mode="clip")
            picked_train.append(shuffled[:n_train])
            picked_test.append(shuffled[n_train : n_train + n_test])
        # joined as arrays (scikit-learn extends a list, one row at a time): the same positions
        yield (
            rng.permutation(np.concatenate(picked_train)),
            rng.permutation(np.concatenate(picked_test)),
        )


def _approximate_mode(counts: np.ndarray, draws: int, rng: np.random.RandomState) -> np.ndarray:
    """scikit-learn's approximate mode of the multivariate hypergeometric: per class, its share
    of `draws` rounded down, the rest given to the largest remainders, ties broken by `rng`."""
    continuous = counts / counts.sum() * draws
    floored = np.floor(continuous)
    missing = int(draws - floored.sum())
    if missing > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            now = min(len(tied), missing)
            floored[rng.choice(tied, size=now, replace=False)] += 1
            missing -= now
            if missing == 0:
                break
    return floored.astype(int)


def _calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: over 10 equal-width bins of the probability, the row-weighted
    mean of |share of positives - mean probability|."""
    which = np.minimum((probabilities * bins).astype(int), bins - 1)
    error = 0.0
    for b in np.unique(which):
        inside = which == b
        error += inside.mean() * abs(labels[inside].mean() - probabilities[inside].mean())
    return error


def _spreads(
    labels: np.ndarray, predicted: np.ndarray, scores: np.ndarray
) -> dict[str, tuple[float, float] | None]:
    """Per metric, (standard deviation of its per-row terms, share of rows that carry one) on
    the reference: NannyML's sampling-error components. A chunk of n rows then has standard
    error std / sqrt(n * share)."""
    spread: dict[str, tuple[float, float] | None] = {}
    correct = (labels == predicted).astype(float)
    spread["accuracy"] = (float(np.std(correct)), 1.0)
    said_positive = predicted == 1
    spread["precision"] = (
        (float(np.std(labels[said_positive])), float(said_positive.mean()))
        if said_positive.any()
        else None
    )
    is_positive = labels == 1
    spread["recall"] = (float(np.std(predicted[is_positive])), float(is_positive.mean()))
    # F1 rests on the rows that are TP, FP or FN; each TP row weighs 1, others 0, scaled so
    # their mean is F1 (NannyML's observation-level F1).
    true_pos = int((said_positive & is_positive).sum())
    false_pos = int((said_positive & ~is_positive).sum())
    false_neg = int((~said_positive & is_positive).sum())
    relevant = true_pos + false_pos + false_neg
    if true_pos > 0:
        scale = relevant / (true_pos + 0.5 * (false_pos + false_neg))
        terms = np.concatenate([np.full(true_pos, scale), np.zeros(false_pos + false_neg)])
        spread["f1"] = (float(np.std(terms)), relevant / len(labels))
    else:
        spread["f1"] = None
    spread["roc_auc"] = _auc_spread(labels, scores)
    return spread


def _auc_spread(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """NannyML's AUROC component: the minority class's rows, each with the share of the other
    class ranked below it; their standard deviation and the minority's share of the rows."""
    if labels.mean() > 0.5:
        labels, scores = 1 - labels, 1 - scores
    order = np.argsort(scores, kind="stable")
    ordered = labels[order]
    positions = np.flatnonzero(ordered == 1)
    below = positions - np.arange(len(positions))  # negatives ranked under each positive
    negatives = len(labels) - len(positions)
    return float(np.std(below / negatives)), len(positions) / len(labels)


def _band(value: float | None, errors: list[float | None]) -> Band:
    """The value plus or minus BAND_STANDARD_ERRORS times the largest of the standard errors
    given, clipped to [0, 1]; no band when none is known."""
    known = [e for e in errors if e is not None and math.isfinite(e)]
    if value is None:
        return Band(None, None, None)
    if not known:
        return Band(value, None, None)
    error = BAND_STANDARD_ERRORS * max(known)
    return Band(value, max(0.0, value - error), min(1.0, value + error))


def _reference_error(spread: tuple[float, float] | None, rows: int) -> float | None:
    """NannyML's standard error at a chunk of `rows` rows: the reference's std over
    sqrt(rows x the share of rows the metric rests on)."""
    if spread is None or rows * spread[1] <= 0:
        return None
    return spread[0] / math.sqrt(rows * spread[1])


def _chunk_errors(predicted: np.ndarray, p: np.ndarray, auc: float | None) -> dict:
    """The standard error of each realized metric on this chunk if its labels were drawn from
    the calibrated probabilities `p`: exact for accuracy and precision (sums of independent
    Bernoulli terms over a known number of rows), the delta method for recall and F1, and
    Hanley & McNeil's formula at the expected class counts for ROC AUC (`auc`: the chunk's
    expected ROC AUC, as `_figures` gives it)."""
    said = predicted == 1
    variance = p * (1 - p)
    rows, said_positive = len(p), int(said.sum())
    tp, fn = p[said].sum(), p[~said].sum()  # expected positives found / missed
    var_tp, var_fn = variance[said].sum(), variance[~said].sum()
    errors: dict[str, float | None] = {
        "accuracy": math.sqrt(variance.sum()) / rows,
        "precision": math.sqrt(var_tp) / said_positive if said_positive else None,
    }
    positives = tp + fn
    errors["recall"] = (
        math.sqrt(fn**2 * var_tp + tp**2 * var_fn) / positives**2 if positives > 0 else None
    )
    # F1 = 2 TP / (TP + predicted positives + FN)
    denominator = tp + said_positive + fn
    errors["f1"] = (
        2 * math.sqrt((said_positive + fn) ** 2 * var_tp + tp**2 * var_fn) / denominator**2
        if denominator > 0
        else None
    )
    negatives = rows - positives
    if auc is None or positives <= 1 or negatives <= 1:
        errors["roc_auc"] = None
    else:
        q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
        errors["roc_auc"] = math.sqrt(
            max(
                auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2),
                0.0,
            )
            / (positives * negatives)
        )
    return errors


def _ratio(part: float, whole: float) -> float | None:
    return float(part / whole) if whole > 0 else None


def _expected_auc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """The area under the TPR/FPR curve when each row is a positive with weight `positive` and
    a negative with weight 1 - `positive`, thresholds at the distinct scores (tied scores move
    together, so a tie across classes counts half, as in the Mann-Whitney AUC)."""
    total_pos, total_neg = positive.sum(), (1 - positive).sum()
    if total_pos <= 0 or total_neg <= 0:
        return None
    order = np.argsort(-scores, kind="stable")
    ordered_scores, ordered_pos = scores[order], positive[order]
    last_of_tie = np.r_[ordered_scores[1:] != ordered_scores[:-1], True]
    tpr = np.r_[0.0, np.cumsum(ordered_pos)[last_of_tie] / total_pos]
    fpr = np.r_[0.0, np.cumsum(1 - ordered_pos)[last_of_tie] / total_neg]
    return float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2))


def _figures(scores: np.ndarray, predicted: np.ndarray, positive: np.ndarray) -> dict:
    """Accuracy, precision, recall, F1 and ROC AUC of a confusion matrix whose cells are sums
    of `positive` (1 or 0 for a label; P(label = 1) for an estimate)."""
    said = predicted == 1
    tp, fp = positive[said].sum(), (1 - positive[said]).sum()
    fn, tn = positive[~said].sum(), (1 - positive[~said]).sum()
    rows = len(scores)
    return {
        "accuracy": _ratio(tp + tn, rows),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "roc_auc": _expected_auc(scores, positive),
    }


def estimate(cal: Calibration, chunk: pd.DataFrame) -> dict[str, Band]:
    """Each metric's estimate on `chunk` (columns score, prediction; labels unused), with its
    band at the chunk's size. Rows without a score carry no confidence and are left out; a
    metric that is undefined (no predicted positive, no expected positive) is None."""
    rows = _scored(chunk)
    if rows.empty:
        return {name: Band(None, None, None) for name in METRICS}
    scores = rows["score"].to_numpy(dtype=float)
    predicted, p = predicted_class(rows, cal.threshold), cal.calibrated(scores)
    figures = _figures(scores, predicted, p)
    # the expected ROC AUC sorts the chunk's scores: computed once, for the figure and its error
    own = _chunk_errors(predicted, p, figures["roc_auc"])
    return {
        name: _band(figures[name], [_reference_error(cal.spread.get(name), len(rows)), own[name]])
        for name in METRICS
    }


def realized(chunk: pd.DataFrame, threshold: float = 0.5) -> dict[str, float | None]:
    """Each metric on the labelled rows of `chunk` that have a score (the rows an estimate
    reads); None where undefined or where no row is labelled."""
    rows = _scored(chunk)
    rows = rows[rows["label"].notna()]
    if rows.empty:
        return dict.fromkeys(METRICS)
    scores = rows["score"].to_numpy(dtype=float)
    labels = rows["label"].to_numpy(dtype=float)
    return _figures(scores, predicted_class(rows, threshold), labels)
