"""Business KPIs around releases: did a model's KPIs move after a production deployment?"""

from __future__ import annotations

import math
from typing import Any

import duckdb
import pandas as pd

from metrics.db import frame
from metrics.filters import Filters

MIN_DAYS = 3
WALD = "two-proportion wald"
WELCH = "welch t"

COLUMNS = [
    "deployment_id",
    "model",
    "version",
    "finished_at",
    "kpi",
    "unit",
    "before_value",
    "after_value",
    "before_days",
    "after_days",
    "difference",
    "relative_change",
    "ci_low",
    "ci_high",
    "method",
    "verdict",
]


def _check(days: int, confidence: float | None = None) -> None:
    if not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a whole number of days >= 1, got {days!r}")
    if confidence is not None and not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")


def wald_interval(
    x0: float, n0: float, x1: float, n1: float, confidence: float
) -> tuple[float, float]:
    """Two-proportion Wald interval of p1 - p0 from pooled counts (before x0/n0, after x1/n1)."""
    # scipy.special, not scipy.stats: stats.norm.ppf and stats.t.ppf are these two functions
    # (ndtri, stdtrit) behind argument checks, and importing scipy.stats costs about a second of
    # every app process's first page view, scipy.special a fifth of that; imported here, when a
    # release has an interval to give, so that a report without one imports no SciPy at all.
    from scipy.special import ndtri

    p0, p1 = x0 / n0, x1 / n1
    se = math.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
    z = ndtri(1 - (1 - confidence) / 2)
    return p1 - p0 - z * se, p1 - p0 + z * se


def welch_interval(
    mean0: float, var0: float, n0: int, mean1: float, var1: float, n1: int, confidence: float
) -> tuple[float, float]:
    """Welch's t interval of mean1 - mean0 from each side's daily mean, sample variance and
    number of days; Welch–Satterthwaite degrees of freedom."""
    from scipy.special import stdtrit  # as ndtri in wald_interval

    a, b = var0 / n0, var1 / n1
    se = math.sqrt(a + b)
    diff = mean1 - mean0
    if se == 0:
        # Constant days on both sides: no spread to scale, the difference is exact.
        return diff, diff
    df = (a + b) ** 2 / (a**2 / (n0 - 1) + b**2 / (n1 - 1))
    t = stdtrit(df, 1 - (1 - confidence) / 2)
    return diff - t * se, diff + t * se


def verdict(before_days: int, after_days: int, ci_low: float, ci_high: float) -> str:
    """'not enough data' below MIN_DAYS on a side; else 'up'/'down' when the interval
    excludes 0 and 'no clear change' when it holds it."""
    if before_days < MIN_DAYS or after_days < MIN_DAYS:
        return "not enough data"
    if ci_low > 0:
        return "up"
    if ci_high < 0:
        return "down"
    return "no clear change"


def _interval(row: Any, confidence: float) -> tuple[float, float]:
    if row.before_days < MIN_DAYS or row.after_days < MIN_DAYS:
        return math.nan, math.nan
    if row.is_proportion:
        return wald_interval(
            row.before_numerator,
            row.before_denominator,
            row.after_numerator,
            row.after_denominator,
            confidence,
        )
    return welch_interval(
        row.before_daily_mean,
        row.before_daily_variance,
        int(row.before_days),
        row.after_daily_mean,
        row.after_daily_variance,
        int(row.after_days),
        confidence,
    )


def released_models(con: duckdb.DuckDBPyConnection, filters: Filters) -> list[str]:
    """The models with a release in the window (a successful production deployment, for the
    filters' team and model), by name: those `release_impact` has rows for, when their KPIs
    have data on either side. Cheap: no KPI is read."""
    return frame(con, "kpi_released_models", **filters.params())["model"].tolist()


def release_impact(
    con: duckdb.DuckDBPyConnection, filters: Filters, days: int = 7, confidence: float = 0.95
) -> pd.DataFrame:
    """One row per (successful production deployment that finished in the window, KPI of its
    model): the KPI over the `days` whole UTC days before and after the deployment's day.

    Args:
        con: a prepared read connection (metrics.db.prepare).
        filters: the window picks deployments by `finished_at`; team and model the deployment.
        days: whole UTC days on each side; the deployment's own day is in neither.
        confidence: level of the interval of the difference.

    Returns:
        Columns deployment_id, model, version, finished_at, kpi, unit, before_value,
        after_value, before_days, after_days, difference (after - before), relative_change
        (difference / |before|), ci_low, ci_high, method ("two-proportion wald" on pooled counts
        for proportions, "welch t" on daily values otherwise) and verdict ("up", "down",
        "no clear change", "not enough data" when a side has fewer than 3 days with data).
    """
    _check(days, confidence)
    found = frame(con, "kpi_release_impact", **filters.params(), days=days)
    if found.empty:
        out = found.reindex(columns=COLUMNS)
        return out.astype({"ci_low": float, "ci_high": float, "method": str, "verdict": str})
    bounds = [_interval(row, confidence) for row in found.itertuples(index=False)]
    found["ci_low"] = [low for low, _ in bounds]
    found["ci_high"] = [high for _, high in bounds]
    found["method"] = found["is_proportion"].map({True: WALD, False: WELCH})
    found["verdict"] = [
        verdict(row.before_days, row.after_days, row.ci_low, row.ci_high)
        for row in found.itertuples(index=False)
    ]
    return found[COLUMNS]


def kpi_before_after(
    con: duckdb.DuckDBPyConnection, filters: Filters, deployment_id: str, days: int = 7
) -> pd.DataFrame:
    """One row per (KPI of a production deployment's model, UTC day) from `days` before its day
    to `days` after, for a before/after chart.

    Args:
        con: a prepared read connection (metrics.db.prepare).
        filters: team and model must match the deployment (the window is not used).
        deployment_id: the production deployment.
        days: whole UTC days on each side.

    Returns:
        Columns deployment_id, model, kpi, date, day_offset, side ("before", "release day",
        "after"), value (null on a day without data), unit. Empty for an unknown deployment.
    """
    _check(days)
    params = filters.params()
    return frame(
        con,
        "kpi_release_days",
        deployment_id=deployment_id,
        days=days,
        team=params["team"],
        model=params["model"],
    )
