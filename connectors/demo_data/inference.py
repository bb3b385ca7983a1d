"""The demo year's request log: per model, sampled requests with their features, predictions,
latency, errors and late-arriving labels, served by the version live at the time; the drift
story's unit change in the recommender's log.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from connectors.demo_data.catalogue import (
    COLUMNS,
    FEATURES,
    MODELS,
    STORY,
    ModelSpec,
    feature_columns,
)
from connectors.demo_data.delivery import Timeline
from connectors.demo_data.year import NS_PER_DAY, NS_PER_HOUR, Calendar, epoch_ns, story_moments

# Share of a day's requests per UTC hour: European traffic, quiet at night, busiest evenings.
_HOURLY_TRAFFIC = np.array(
    [
        1,
        0.6,
        0.4,
        0.3,
        0.3,
        0.5,
        1,
        2,
        3,
        4,
        4.5,
        4.8,
        5,
        4.8,
        4.6,
        4.6,
        4.8,
        5.2,
        5.8,
        6.2,
        6,
        5,
        3.5,
        2,
    ],
    dtype=float,
)
_HOURLY_TRAFFIC /= _HOURLY_TRAFFIC.sum()


def _utc_from_ns(ns: np.ndarray) -> pd.Series:
    return pd.Series(ns.astype("datetime64[ns]")).dt.tz_localize("UTC")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _draw_feature(
    name: str,
    rng: np.random.Generator,
    row_day: np.ndarray,
    ts_ns: np.ndarray,
    cal: Calendar,
) -> np.ndarray:
    """True values of one feature for the given requests: floats, or category codes."""
    n = len(row_day)
    year_fraction = row_day / cal.n_days
    match name:
        case "session_length_s":
            return rng.lognormal(np.log(180), 0.9, n)
        case "device":
            # The apps slowly win share from the web over the year.
            web = 0.5 - 0.08 * year_fraction
            u = rng.random(n)
            return np.where(u < web, 0, np.where(u < web + (1 - web) * 0.6, 1, 2))
        case "country":
            return rng.choice(6, n, p=[0.34, 0.2, 0.14, 0.13, 0.11, 0.08])
        case "num_items":
            return np.minimum(rng.poisson(1.8, n), 8).astype(float)
        case "days_since_last_visit":
            return rng.exponential(6.0, n)
        case "query_words":
            return np.clip(rng.poisson(2.4, n) + 1, 1, 10).astype(float)
        case "num_results":
            return np.minimum(rng.negative_binomial(2, 0.08, n), 60).astype(float)
        case "hour_of_day":
            return ((ts_ns // NS_PER_HOUR) % 24).astype(float)
        case "tenure_months":
            return np.minimum(rng.geometric(1 / 16, n) - 1, 72).astype(float)
        case "plan":
            return rng.choice(3, n, p=[0.45, 0.38, 0.17])
        case "monthly_spend_eur":
            return rng.lognormal(np.log(24), 0.7, n)
        case "support_tickets_90d":
            return np.minimum(rng.poisson(0.7, n), 8).astype(float)
        case "amount_eur":
            return rng.lognormal(np.log(45), 1.0, n)
        case "account_age_days":
            return rng.lognormal(np.log(420), 1.1, n)
        case "is_new_card":
            return (rng.random(n) < 0.12).astype(float)
        case "store_size_m2":
            return rng.lognormal(np.log(1200), 0.5, n)
        case "promo_active":
            return (rng.random(n) < 0.2).astype(float)
        case "day_of_week":
            return cal.weekday[row_day].astype(float)
        case "temperature_c":
            day_of_year = cal.first_day.timetuple().tm_yday + row_day
            season = np.sin(2 * np.pi * (day_of_year - 110) / 365.25)
            return 11 + 9 * season + rng.normal(0, 3.5, n)
        case "category":
            return rng.choice(5, n, p=[0.4, 0.12, 0.2, 0.18, 0.1])
        case "base_price_eur":
            return rng.lognormal(np.log(35), 0.8, n)
        case "competitor_price_gap":
            return rng.normal(0.0, 0.08, n)
    raise KeyError(name)


def _calibrate_intercept(signal: np.ndarray, rate: float) -> float:
    """The intercept b with mean(sigmoid(signal + b)) == rate, by bisection."""
    low, high = -20.0, 20.0
    for _ in range(40):
        middle = (low + high) / 2
        if _sigmoid(signal + middle).mean() < rate:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _request_times(
    spec: ModelSpec, cal: Calendar, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted request times (ns) of one model over the year, and each request's day index.

    Weekends are quieter, traffic grows through the year, some days are busier than others,
    and within a day requests follow European waking hours.
    """
    n_days = cal.n_days
    expected = (
        spec.daily_requests
        * np.where(cal.weekday >= 5, 0.7, 1.0)
        * (1 + 0.15 * np.arange(n_days) / n_days)
        * rng.lognormal(0, 0.07, n_days)
    )
    row_day = np.repeat(np.arange(n_days), rng.poisson(expected))
    hour = rng.choice(24, size=len(row_day), p=_HOURLY_TRAFFIC)
    within_day_ms = ((hour + rng.random(len(row_day))) * 3_600_000).astype(np.int64)
    # Offsets stay within their day, so sorting by (day, offset) keeps `row_day` in step.
    order = np.lexsort((within_day_ms, row_day))
    return cal.day_start_ns[row_day] + within_day_ms[order] * 10**6, row_day


def _model_signals(
    spec: ModelSpec,
    true_values: dict[str, np.ndarray],
    seen_values: dict[str, np.ndarray],
    retrained: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Per request: the truth's linear signal and the one the model computes from the log.

    Each feature is standardised as the model learnt it. Models saturate outside the range
    they were trained on (as tree ensembles do), so a value in the wrong unit carries no
    information any more; the retrained version learnt the new unit.
    """
    n = len(retrained)
    true_signal = np.zeros((n, len(spec.features)))
    seen_signal = np.zeros((n, len(spec.features)))
    for column, name in enumerate(spec.features):
        feature = FEATURES[name]
        if feature.dtype == "category":
            effect = rng.normal(0, 1, len(feature.categories))
            effect = (effect - effect.mean()) / (effect.std() or 1.0)
            true_signal[:, column] = effect[true_values[name].astype(int)]
            seen_signal[:, column] = true_signal[:, column]
            continue
        scale = np.log1p if feature.log_scale else np.asarray
        true_scaled, seen_scaled = scale(true_values[name]), scale(seen_values[name])
        mean, std = true_scaled.mean(), true_scaled.std() or 1.0
        true_signal[:, column] = (true_scaled - mean) / std
        seen_signal[:, column] = np.clip((seen_scaled - mean) / std, -2.5, 2.5)
        if name == STORY["feature"] and retrained.any():
            relearnt = seen_scaled[retrained]
            seen_signal[retrained, column] = np.clip(
                (relearnt - relearnt.mean()) / relearnt.std(), -2.5, 2.5
            )

    weights = rng.normal(0, 1, len(spec.features))
    weights /= np.linalg.norm(weights)
    if spec.name == STORY["model"]:
        # Session length is the recommender's strongest signal, which is why its unit mattered.
        story_column = spec.features.index(STORY["feature"])
        others = np.delete(np.arange(len(weights)), story_column)
        weights[others] *= 0.4 / np.linalg.norm(weights[others])
        weights[story_column] = math.sqrt(1 - 0.4**2)
    strength = {"classifier": 1.6, "ranker": 2.0, "regressor": 1.0}[spec.kind]
    return strength * true_signal @ weights, strength * seen_signal @ weights


# Items a ranker returns per request: one list, logged as one row per item at the same ts.
LIST_SIZE = 10


def _ranked_lists(row_day: np.ndarray) -> np.ndarray:
    """Per request row (sorted by time, `row_day` ascending), the index of the list it is an
    item of: each day's rows in runs of LIST_SIZE (a day's last list may be shorter)."""
    day_start = np.concatenate(([0], np.cumsum(np.bincount(row_day))))[row_day]
    in_day = (np.arange(len(row_day)) - day_start) // LIST_SIZE
    # a list number unique across days: the day's first row index is far apart enough
    _, list_id = np.unique(day_start * LIST_SIZE + in_day, return_inverse=True)
    return list_id


def _list_times(ts: np.ndarray, row_day: np.ndarray) -> np.ndarray:
    """A ranker's request times with every item of a list at its list's first time."""
    list_id = _ranked_lists(row_day)
    first = np.concatenate(([0], np.cumsum(np.bincount(list_id))))[:-1]
    return ts[first[list_id]]


def _predictions(
    spec: ModelSpec,
    true_score: np.ndarray,
    model_score: np.ndarray,
    row_day: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prediction, score, outcome) per request, as the model's kind logs them."""
    n = len(true_score)
    if spec.kind == "classifier":
        intercept = _calibrate_intercept(true_score, spec.positive_rate)
        outcome = (rng.random(n) < _sigmoid(true_score + intercept)).astype(float)
        score = _sigmoid(model_score + intercept)
        return (score >= spec.threshold).astype(float), score, outcome
    if spec.kind == "ranker":
        # Each list's items are ranked by the model: position 1 for its highest score. Clicks
        # follow true relevance, discounted by position (an item shown tenth is seen a tenth
        # as often), so a model that ranks badly loses clicks though users want the same things.
        list_id = _ranked_lists(row_day)
        by_list = np.lexsort((-model_score, list_id))
        list_start = np.concatenate(([0], np.cumsum(np.bincount(list_id))))
        position = np.empty(n)
        position[by_list] = np.arange(n) - list_start[list_id[by_list]] + 1
        intercept = _calibrate_intercept(true_score, 0.1)
        outcome = (rng.random(n) < _sigmoid(true_score + intercept) / position).astype(float)
        return position, _sigmoid(model_score + intercept), outcome
    # Regressors: a positive target (units sold, euros) that is lognormal around its median.
    outcome = spec.target_median * np.exp(0.35 * true_score)
    if spec.name == "demand_forecast":
        outcome = np.round(outcome)  # units sold
    return spec.target_median * np.exp(0.35 * model_score), np.full(n, np.nan), outcome


def _inference_for_model(
    spec: ModelSpec,
    cal: Calendar,
    timeline: Timeline,
    rng: np.random.Generator,
) -> dict[str, np.ndarray] | None:
    """Inference rows of one model, one array per column; None for a model not in production."""
    served = timeline.served_versions[spec.name]
    if spec.is_prototype or not served:
        return None
    ts, row_day = _request_times(spec, cal, rng)
    if spec.kind == "ranker":
        ts = _list_times(ts, row_day)  # a list's items are logged together

    release_ns = np.array([ns for ns, _ in served], dtype=np.int64)
    versions = np.array(
        ["{}.{}.0".format(*spec.version_at_start), *[v for _, v in served]], dtype=object
    )
    version_index = np.searchsorted(release_ns, ts, side="right")
    if spec.launched_after_days is not None:
        # A model launched this year serves no traffic before its first production release.
        keep = version_index > 0
        ts, row_day, version_index = ts[keep], row_day[keep], version_index[keep]
    n = len(ts)

    # True feature values, then what the request log saw (the story's unit change).
    is_story_model = spec.name == STORY["model"]
    retrained = np.zeros(n, dtype=bool)
    if is_story_model:
        retrain_position = [v for _, v in served].index(timeline.story["retrain_version"]) + 1
        retrained = version_index >= retrain_position
    true_values: dict[str, np.ndarray] = {}
    seen_values: dict[str, np.ndarray] = {}
    for name in spec.features:
        true_values[name] = seen_values[name] = _draw_feature(name, rng, row_day, ts, cal)
        if is_story_model and name == STORY["feature"]:
            drift_ns = epoch_ns(story_moments(cal)["drift_at"])
            seen_values[name] = np.where(
                ts >= drift_ns,
                true_values[name] * STORY["feature_scale_after_drift"],
                true_values[name],
            )

    true_signal, seen_signal = _model_signals(spec, true_values, seen_values, retrained, rng)
    true_score = true_signal + rng.normal(0, 0.8, n)  # what no feature explains
    # Each version has its own skill: the noise it adds to what the features say.
    version_noise = rng.uniform(0.45, 0.75, len(versions))
    model_score = seen_signal + rng.normal(0, 1, n) * version_noise[version_index]
    prediction, score, outcome = _predictions(spec, true_score, model_score, row_day, rng)

    # Failures: a base rate per model, much higher while an incident hurt its traffic.
    error_chance = np.full(n, spec.error_rate)
    slower = np.ones(n)
    for start_ns, end_ns, severity in timeline.trouble.get(spec.name, []):
        window = (ts >= start_ns) & (ts < end_ns)
        error_chance[window] *= {"sev1": 12, "sev2": 6, "sev3": 2.5}[severity]
        slower[window] *= {"sev1": 1.8, "sev2": 1.5, "sev3": 1.15}[severity]
    is_error = rng.random(n) < np.minimum(error_chance, 0.5)

    # Latency: lognormal around the model's median, each version a little faster or slower,
    # a thin slow tail; failed requests either time out or fail fast.
    version_speed = rng.uniform(0.9, 1.12, len(versions))
    latency = (
        spec.latency_median_ms * version_speed[version_index] * slower * rng.lognormal(0, 0.35, n)
    )
    slow_tail = rng.random(n) < 0.004
    latency[slow_tail] *= rng.uniform(4, 15, slow_tail.sum())
    timed_out = is_error & (rng.random(n) < 0.5)
    latency[timed_out] = rng.uniform(1000, 3000, timed_out.sum())
    fast_fail = is_error & ~timed_out
    latency[fast_fail] = rng.uniform(3, 20, fast_fail.sum())

    # Labels arrive late: ~90% known after two weeks, none in the last two days.
    age_days = (epoch_ns(cal.cutoff) - ts) / NS_PER_DAY
    label_chance = np.clip(0.9 * (age_days - 2) / 12, 0, 0.9)
    label_draw = rng.random(n)
    if spec.kind == "ranker":
        # a list's clicks are known together: one draw per list (its first item's)
        list_id = _ranked_lists(row_day)
        label_draw = label_draw[np.concatenate(([0], np.cumsum(np.bincount(list_id))))[list_id]]
    has_label = (label_draw < label_chance) & ~is_error

    columns: dict[str, np.ndarray] = {
        "request_id": np.array([f"req-{spec.name}-{i:07d}" for i in range(1, n + 1)], dtype=object),
        "ts": ts,
        "model": np.full(n, spec.name, dtype=object),
        "model_version": versions[version_index],
        "latency_ms": np.round(latency, 2),
        "status": np.where(is_error, "error", "ok").astype(object),
        "prediction": np.round(np.where(is_error, np.nan, prediction), 4),
        "score": np.round(np.where(is_error, np.nan, score), 5),
        "label": np.where(has_label, outcome, np.nan),
    }
    for name in spec.features:
        feature = FEATURES[name]
        values = seen_values[name]
        if feature.dtype == "category":
            columns[name] = np.array(feature.categories, dtype=object)[values.astype(int)]
        elif feature.dtype == "int":
            columns[name] = values.astype(float)
        else:
            columns[name] = np.round(values, 3)
    return columns


def inference_log(cal: Calendar, timeline: Timeline, rng: np.random.Generator) -> pd.DataFrame:
    """One wide request log across models; a feature a model lacks is None/NaN on its rows."""
    parts = []
    for spec, model_rng in zip(MODELS, rng.spawn(len(MODELS)), strict=True):
        part = _inference_for_model(spec, cal, timeline, model_rng)
        if part is not None:
            parts.append(part)
    names = COLUMNS["inference"] + feature_columns()
    merged: dict[str, np.ndarray] = {}
    for name in names:
        pieces = []
        for part in parts:
            if name in part:
                pieces.append(part[name])
                continue
            size = len(part["ts"])
            if name in FEATURES and FEATURES[name].dtype == "category":
                pieces.append(np.full(size, None, dtype=object))
            else:
                pieces.append(np.full(size, np.nan))
        merged[name] = np.concatenate(pieces)
    order = np.argsort(merged["ts"], kind="stable")
    frame = pd.DataFrame({name: values[order] for name, values in merged.items()})
    frame["ts"] = _utc_from_ns(frame["ts"].to_numpy())
    # Integer features stay integers (nullable), as a real log would have them: drift tests
    # treat a low-cardinality integer as categorical, a float never.
    for name, feature in FEATURES.items():
        if feature.dtype == "int" and name in frame:
            frame[name] = frame[name].round().astype("Int64")
    return frame
