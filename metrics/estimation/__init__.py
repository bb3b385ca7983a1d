"""Estimated performance of one model per step and over a window, before its labels arrive.

A binary classifier is estimated by CBPE (`cbpe.py`), a regressor by direct loss estimation
(`dle.py`), both fitted on the labelled rows of a reference window. Beside each estimate stands
the realized figure where labels have arrived, and the calibration check says whether the
estimates held where they could be checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from metrics.drift.windows import Reference, Window
from metrics.drift.windows import steps as window_steps
from metrics.estimation import cbpe
from metrics.estimation.bands import Band
from metrics.samples import daily_sample, remember
from profiling.store import model_columns

# Rows read per UTC day, for the reference and the current window alike (hash-picked by
# metrics.samples, so the same day gives the same rows). A daily sample of 20,000 rows puts the
# sample's own error on a daily accuracy under 0.004 (one standard error at p = 0.5), far inside
# the bands that matter, and bounds the work: 90 days are at most 1.8 million rows of three
# numbers. A busier day is estimated (and its realized figure computed) on its sample.
PER_DAY = 20_000
# The estimates are trusted while the realized figure falls outside the band on at most this
# share of the labelled steps: a 3-standard-error band misses about 0.3% of the time when the
# calibration holds, so more than 1 miss in 10 says the score->label relation has moved.
MISS_SHARE = 0.10
METRIC_WORDS = {
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "mae": "MAE",
    "rmse": "RMSE",
}
KIND_METRICS = {"classifier": cbpe.METRICS, "regressor": ("mae", "rmse")}
STEP_COLUMNS = ["day", "metric", "value", "lower", "upper", "realized", "rows", "labelled"]


@dataclass
class Estimation:
    """One model's estimated performance: over the whole current window (`window`), per step
    (`steps`, long: one row per step and metric) and the calibration check (`calibration`).
    `reason` says why there is no estimate at all (None when there is one)."""

    model: str
    kind: str | None
    method: str | None
    current: Window
    reference: Window
    reference_labelled: int
    window: dict[str, dict[str, float | None]]
    steps: pd.DataFrame
    calibration: dict[str, Any]
    reason: str | None = None

    def as_json(self, with_steps: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = {
            "method": self.method,
            "reference": {
                "since": self.reference.since.isoformat(),
                "until": self.reference.until.isoformat(),
                "labelled": self.reference_labelled,
            },
            "window": self.window,
            "calibration": self.calibration,
            "reason": self.reason,
        }
        if with_steps:
            records = self.steps.assign(day=self.steps["day"].map(lambda d: d.isoformat()))
            result["steps"] = [
                {k: _plain(v) for k, v in record.items()} for record in records.to_dict("records")
            ]
        return result


@dataclass(frozen=True)
class _Method:
    """What a kind of model is estimated with: the columns read, which rows it can read, the fit,
    the estimate and the realized figures."""

    name: str
    metrics: tuple[str, ...]
    columns: list[str]
    usable: Callable[[pd.DataFrame], pd.Series]
    fit: Callable[[pd.DataFrame], Any]
    estimate: Callable[[Any, pd.DataFrame], dict[str, Band]]
    realized: Callable[[pd.DataFrame], dict[str, float | None]]
    fit_errors: tuple[type[Exception], ...] = (cbpe.NotEnoughLabels,)


def _classifier(threshold: float) -> _Method:
    return _Method(
        name="cbpe",
        metrics=cbpe.METRICS,
        columns=["score", "prediction", "label"],
        usable=lambda rows: rows["score"].notna(),
        fit=lambda reference: cbpe.fit(reference, threshold),
        estimate=cbpe.estimate,
        realized=lambda rows: cbpe.realized(rows, threshold),
    )


def _regressor(con: duckdb.DuckDBPyConnection, model: str) -> _Method:
    """Direct loss estimation on the model's feature columns (imported here: it brings
    scikit-learn's boosters, which the CLI need not load for other models)."""
    from metrics.estimation import dle

    features = [c.name for c in model_columns(con, model) if c.role == "feature"]
    return _Method(
        name="dle",
        metrics=KIND_METRICS["regressor"],
        columns=[*features, "prediction", "label"],
        usable=lambda rows: rows["prediction"].notna(),
        fit=lambda reference: dle.fit(reference, features),
        estimate=dle.estimate,
        realized=dle.realized,
        fit_errors=(dle.TooFewRows,),
    )


def estimated(
    con: duckdb.DuckDBPyConnection,
    model: str,
    kind: str | None,
    current: Window,
    reference: Window,
    step_days: int = 1,
    threshold: float = 0.5,
    per_day: int = PER_DAY,
) -> Estimation:
    """The model's estimated performance over `current`, per step of `step_days` days and for
    the whole window, fitted on the labelled rows of `reference`.

    Both windows are read through `metrics.samples.daily_sample` (at most `per_day` ok rows a
    day, hash-picked): the estimators need rows, not profiles, and a bounded sample keeps a
    90-day window within a page's time. The realized figures beside the estimates are computed
    on the same sampled rows, so the two always describe the same rows.

    Args:
        con: a read connection prepared by `metrics.db.prepare`.
        model: the model.
        kind: "classifier" (CBPE) or "regressor" (DLE); any other kind gets a reason, no
            estimate.
        current: the window estimated; reference: the window calibrated on (its labelled rows).
        step_days: the step of `steps` (1: per day).
        threshold: a classifier's class for rows without a prediction: score >= threshold.
        per_day: rows read per day (see PER_DAY).

    Returns:
        An `Estimation`. Its `window` maps each metric to {value, lower, upper, realized};
        `steps` has one row per step and metric (steps without rows included, with None);
        `calibration` holds, per metric, the labelled steps checked, the misses (realized
        outside the band of the estimate on the same labelled rows) and the mean gap
        (estimate - realized), with `trusted` and a plain `reason` when not trusted.

    Inside `metrics.samples.remembered()`, estimated once per connection and arguments: the
    quality reading and drift impact ask for the same estimate.
    """
    return remember(
        con,
        ("estimated", model, kind, current, reference, step_days, threshold, per_day),
        lambda: _estimated(con, model, kind, current, reference, step_days, threshold, per_day),
    )


def _estimated(
    con: duckdb.DuckDBPyConnection,
    model: str,
    kind: str | None,
    current: Window,
    reference: Window,
    step_days: int,
    threshold: float,
    per_day: int,
) -> Estimation:
    method: _Method | str
    if kind == "classifier":
        method = _classifier(threshold)
    elif kind == "regressor":
        method = _regressor(con, model)
    else:
        method = f"no estimate for a model of kind {kind or 'unknown'}"
    if isinstance(method, str):
        return _without(model, kind, None, current, reference, 0, (), None, method)

    def read(window: Window) -> pd.DataFrame:
        rows = daily_sample(con, model, window.since, window.until, method.columns, per_day)
        return rows[method.usable(rows)] if not rows.empty else rows

    reference_rows = read(reference)
    labelled_reference = (
        reference_rows[reference_rows["label"].notna()] if not reference_rows.empty else None
    )
    labelled = 0 if labelled_reference is None else len(labelled_reference)
    current_rows = read(current)
    if labelled_reference is None or labelled == 0:
        fitted, reason = None, "no labelled rows"
    else:
        try:
            fitted, reason = method.fit(labelled_reference), None
        except method.fit_errors as error:
            fitted, reason = None, str(error)
    if fitted is None:
        why = f"no estimate: the reference window {_span(reference)} has {reason}"
        return _without(
            model, kind, method, current, reference, labelled, current_rows, step_days, why
        )

    records: list[dict[str, Any]] = []
    checks: dict[str, list[tuple[bool, float]]] = {name: [] for name in method.metrics}
    within = _stepper(current_rows)
    for step in window_steps(current, step_days).values():
        chunk = within(step)
        records += _step_records(method, fitted, chunk, step, checks)
    whole = _step_records(method, fitted, current_rows, current, {})
    return Estimation(
        model=model,
        kind=kind,
        method=method.name,
        current=current,
        reference=reference,
        reference_labelled=labelled,
        window={
            r["metric"]: {k: r[k] for k in ("value", "lower", "upper", "realized")} for r in whole
        },
        steps=pd.DataFrame(records, columns=STEP_COLUMNS),
        calibration=_verdict(checks, step_days),
    )


def _stepper(rows: pd.DataFrame) -> Callable[[Window], pd.DataFrame]:
    """Rows of one step at a time: the rows sorted by day once, each step a slice found by
    binary search (comparing a column of date objects per step cost more than the estimate)."""
    if rows.empty:
        return lambda _window: rows
    ordered = rows.sort_values("day", kind="stable")
    days = pd.to_datetime(ordered["day"]).to_numpy(dtype="datetime64[D]")

    def within(window: Window) -> pd.DataFrame:
        lo, hi = np.searchsorted(
            days, [np.datetime64(window.since, "D"), np.datetime64(window.until, "D")]
        )
        return ordered.iloc[lo:hi]

    return within


def _step_records(
    method: _Method,
    fitted: Any,
    chunk: pd.DataFrame,
    step: Window,
    checks: dict[str, list[tuple[bool, float]]],
) -> list[dict[str, Any]]:
    """One record per metric for one step; where the step has labels, each checked metric
    appends (missed, estimate - realized) to `checks`: the estimate and its band on the step's
    labelled rows alone, against the realized figure on those rows."""
    rows = len(chunk)
    labelled_rows = chunk[chunk["label"].notna()] if rows else chunk
    bands = method.estimate(fitted, chunk) if rows else {}
    realized = method.realized(labelled_rows) if len(labelled_rows) else {}
    on_labelled = (
        (bands if len(labelled_rows) == rows else method.estimate(fitted, labelled_rows))
        if len(labelled_rows)
        else {}
    )
    records = []
    for name in method.metrics:
        band = bands.get(name, Band(None, None, None))
        actual = _plain(realized.get(name))
        check = on_labelled.get(name)
        if name in checks and actual is not None and check is not None and check.lower is not None:
            missed = not (check.lower <= actual <= check.upper)
            checks[name].append((missed, float(check.value) - actual))
        records.append(
            {
                "day": step.since,
                "metric": name,
                "value": _plain(band.value),
                "lower": _plain(band.lower),
                "upper": _plain(band.upper),
                "realized": actual,
                "rows": rows,
                "labelled": len(labelled_rows),
            }
        )
    return records


def _verdict(checks: dict[str, list[tuple[bool, float]]], step_days: int) -> dict[str, Any]:
    """Per metric: labelled steps checked, misses, mean gap; trusted unless a metric missed on
    more than MISS_SHARE of its checked steps (the reason names the worst)."""
    unit = "days" if step_days == 1 else "weeks" if step_days == 7 else f"{step_days}-day steps"
    metrics = {
        name: {
            "steps": len(found),
            "misses": sum(missed for missed, _ in found),
            "mean_gap": float(np.mean([gap for _, gap in found])) if found else None,
        }
        for name, found in checks.items()
    }
    failing = [
        (figures["misses"] / figures["steps"], name)
        for name, figures in metrics.items()
        if figures["steps"] and figures["misses"] > MISS_SHARE * figures["steps"]
    ]
    checked = max((f["steps"] for f in metrics.values()), default=0)
    reason = None
    if failing:
        _, worst = max(failing)
        figures = metrics[worst]
        reason = (
            f"estimated {METRIC_WORDS[worst]} missed the realized one on {figures['misses']} "
            f"of {figures['steps']} labelled {unit} (mean gap {figures['mean_gap']:+.3f})"
        )
    return {
        "trusted": not failing,
        "reason": reason,
        "checked": checked,
        "basis": (
            f"checked against {checked} labelled {unit}"
            if checked
            else "no labelled step in the window yet: the estimate rests on the reference's "
            "calibration alone"
        ),
        "metrics": metrics,
    }


def _without(
    model: str,
    kind: str | None,
    method: _Method | None,
    current: Window,
    reference: Window,
    labelled: int,
    current_rows: Any,
    step_days: int | None,
    reason: str,
) -> Estimation:
    """No estimate, said why; the realized figures stay where labels exist."""
    # the kind's metrics, even without a method to compute them: the keys stay the same
    names = method.metrics if method else KIND_METRICS.get(kind or "", ())
    rows = current_rows if isinstance(current_rows, pd.DataFrame) else pd.DataFrame()
    records: list[dict[str, Any]] = []

    def realized_records(chunk: pd.DataFrame, step: Window) -> list[dict[str, Any]]:
        labelled_rows = chunk[chunk["label"].notna()] if len(chunk) else chunk
        realized = method.realized(labelled_rows) if method and len(labelled_rows) else {}
        return [
            {
                "day": step.since,
                "metric": name,
                "value": None,
                "lower": None,
                "upper": None,
                "realized": _plain(realized.get(name)),
                "rows": len(chunk),
                "labelled": len(labelled_rows),
            }
            for name in names
        ]

    if method and step_days:
        within = _stepper(rows)
        for step in window_steps(current, step_days).values():
            records += realized_records(within(step), step)
    whole = (
        realized_records(rows, current)
        if method
        else [
            {"metric": n, "value": None, "lower": None, "upper": None, "realized": None}
            for n in names
        ]
    )
    return Estimation(
        model=model,
        kind=kind,
        method=method.name if method else None,
        current=current,
        reference=reference,
        reference_labelled=labelled,
        window={
            r["metric"]: {k: r[k] for k in ("value", "lower", "upper", "realized")} for r in whole
        },
        steps=pd.DataFrame(records, columns=STEP_COLUMNS),
        calibration={
            "trusted": False,
            "reason": reason,
            "checked": 0,
            "basis": None,
            "metrics": {},
        },
        reason=reason,
    )


def _span(window: Window) -> str:
    return f"{window.since.isoformat()} – {window.until.isoformat()}"


def _plain(value: Any) -> Any:
    # numpy scalars and NaN are not JSON; an undefined figure is None, never NaN.
    if hasattr(value, "item"):
        value = value.item()
    return None if isinstance(value, float) and np.isnan(value) else value


def reading(
    con: duckdb.DuckDBPyConnection,
    model: str,
    kind: str | None,
    current: Window,
    reference: Reference | None = None,
) -> dict[str, Any]:
    """What `report --json` carries under `models.<m>.quality` for a classifier or regressor:
    `estimated` ({metric: {value, lower, upper, realized}} over the whole window) and
    `estimation` (method, reference, calibration verdict, reason), against `reference` resolved
    as the drift reading resolves it (default: the window of equal length just before). Other
    kinds: nothing (an empty dict)."""
    if kind not in ("classifier", "regressor"):
        return {}
    resolved = (reference or Reference()).resolve(con, model, current)
    result = estimated(con, model, kind, current, resolved).as_json()
    return {"estimated": result.pop("window"), "estimation": result}
