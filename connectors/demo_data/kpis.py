"""The demo year's daily business KPIs per model and segment: seasons, soft patches, release
nudges and the drift story's fall and recovery in click-through.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from connectors.demo_data.catalogue import MODELS, STORY, KpiSpec, ModelSpec
from connectors.demo_data.delivery import Timeline
from connectors.demo_data.year import NS_PER_DAY, Calendar, story_days, story_moments


def _story_kpi_factor(cal: Calendar) -> np.ndarray:
    """Per day, the share of the recommender's usual click-through that it reached.

    Full effect (-34%) while the feature was in the wrong unit, weighted by the hours of the
    day it lasted; after the retrain, three days to climb back as the new version's
    recommendations refresh.
    """
    days = story_days(cal)
    moments = story_moments(cal)
    drop = 0.34
    factor = np.ones(cal.n_days)
    drift_share = 1 - (moments["drift_at"] - cal.day(days["drift"])).total_seconds() / 86_400
    factor[days["drift"]] = 1 - drop * drift_share
    factor[days["drift"] + 1 : days["retrain"]] = 1 - drop
    retrain_share = (moments["retrain_finished_at"] - cal.day(days["retrain"])).total_seconds()
    retrain_share /= 86_400
    recovery_days = STORY["recovery_days_after_retrain"]
    factor[days["retrain"]] = 1 - drop * (retrain_share + (1 - retrain_share) * 0.9)
    for offset in range(1, recovery_days):
        factor[days["retrain"] + offset] = 1 - drop * (1 - offset / recovery_days)
    return factor


def daily_kpis(cal: Calendar, timeline: Timeline, rng: np.random.Generator) -> pd.DataFrame:
    """Daily KPI rows: one per (day, kpi, model, segment), "all" being the segments' sum."""
    n_days = cal.n_days
    dates = pd.to_datetime(cal.day_start_ns.astype("datetime64[ns]"))
    is_weekend = cal.weekday >= 5
    production = timeline.deployments[
        (timeline.deployments["environment"] == "production")
        & (timeline.deployments["status"] == "success")
    ]
    day_of = (
        (production["finished_at"].astype("int64") - cal.day_start_ns[0]) // NS_PER_DAY
    ).to_numpy()
    milestones = story_days(cal)
    frames = []
    for spec in MODELS:
        release_days = day_of[(production["model"] == spec.name).to_numpy()]
        for kpi in spec.kpis:
            # "Goodness" around 1: a slow season, a small yearly trend, two soft patches of a
            # few weeks (competitor promotions, a bad data week), daily wobble, and small
            # lasting nudges from releases that fade over a month.
            t = np.arange(n_days) / n_days
            swing = kpi.volatility
            goodness = (
                (1 + 0.012 * swing * (t - 0.5))
                * (1 + 0.018 * swing * np.sin(2 * np.pi * (t + rng.uniform())))
                * np.where(is_weekend, kpi.weekend_factor, 1.0)
                * rng.lognormal(0, kpi.daily_noise, n_days)
            )
            latest_patch_end = milestones["drift"] - 40
            for _ in range(2):
                length = int(rng.integers(9, 20))
                start = int(rng.integers(0, latest_patch_end - length))
                goodness[start : start + length] *= 1 - swing * rng.uniform(0.035, 0.06)
            nudge = np.zeros(n_days)
            for day in release_days:
                nudge[day] += swing * rng.normal(0.003, 0.006)
            carried = np.zeros(n_days)
            for day in range(n_days):
                carried[day] = (carried[day - 1] * 0.96 if day else 0.0) + nudge[day]
            goodness *= 1 + np.clip(carried, -0.03, 0.03)
            if spec.launched_after_days and kpi.name == "average_order_value":
                # Before the pricing model, orders were a little smaller.
                launch = spec.launched_after_days
                lift = np.clip((np.arange(n_days) - launch) / 14, 0, 1)
                goodness *= 0.98 + 0.02 * lift
            if spec.name == STORY["model"] and kpi.name == STORY["kpi"]:
                goodness *= _story_kpi_factor(cal)
            level = kpi.baseline * (goodness if kpi.higher_is_better else 1 / goodness)
            frames.append(_kpi_rows(spec, kpi, dates, level, rng))
    frame = pd.concat(frames, ignore_index=True)
    return frame.sort_values(["date", "model", "kpi", "segment"], kind="stable").reset_index(
        drop=True
    )


def _kpi_rows(
    spec: ModelSpec,
    kpi: KpiSpec,
    dates: pd.DatetimeIndex,
    level: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Rows of one KPI: per segment, and "all" as their sum so ratios aggregate correctly."""
    n_days = len(dates)
    segments = kpi.segments or (("all", 1.0, 1.0),)
    numerators, denominators, values = {}, {}, {}
    if kpi.shape == "value":
        values["all"] = np.round(level, 4)
    else:
        volume = kpi.daily_denominator * rng.lognormal(0, 0.05, n_days)
        for segment, share, relative in segments:
            denominator = rng.poisson(volume * share).astype(float)
            if kpi.shape == "proportion":
                numerator = rng.binomial(
                    denominator.astype(np.int64), np.clip(level * relative, 0, 1)
                ).astype(float)
            else:
                numerator = np.round(
                    denominator * level * relative * rng.lognormal(0, 0.004, n_days), 2
                )
            numerators[segment], denominators[segment] = numerator, denominator
        if kpi.segments:
            numerators["all"] = sum(numerators[s] for s, _, _ in segments)
            denominators["all"] = sum(denominators[s] for s, _, _ in segments)
        for segment in numerators:
            values[segment] = numerators[segment] / denominators[segment]
    rows = []
    for segment, value in values.items():
        rows.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "kpi": kpi.name,
                    "model": spec.name,
                    "segment": segment,
                    "value": value,
                    "numerator": numerators.get(segment, np.full(n_days, np.nan)),
                    "denominator": denominators.get(segment, np.full(n_days, np.nan)),
                    "unit": kpi.unit,
                    "target": kpi.target,
                    "guardrail": kpi.guardrail,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)
