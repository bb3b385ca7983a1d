"""One model's drift from the warehouse's per-day profiles: over a window against its
reference, as a timeline, as two distributions, and as a column's daily figures.

Read only from the stored profiles (profiling/store.py), whoever computed them; raw inference
rows are read only to settle a column near its threshold, and only for the two windows.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from metrics.db import sql
from metrics.drift.sides import Bins, Side, sides_by_part, sides_from_profiles
from metrics.drift.verdicts import (
    DATASET_DRIFT_SHARE,
    DriftResult,
    clean_values,
    decide,
    is_drifted,
    read_once,
)
from metrics.drift.windows import Reference, Window, steps
from metrics.samples import remember
from profiling.store import model_columns


def _parts(windows: dict[str, Window]) -> list[dict]:
    return [{"part": k, "since": w.since, "until": w.until} for k, w in windows.items()]


def _profile_frames(
    con: duckdb.DuckDBPyConnection, model: str, windows: dict[str, Window]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    bound = {"model": model, "parts": _parts(windows)}
    bins = con.execute(sql("drift_parts_bins"), bound).df()
    values = con.execute(sql("drift_parts_values"), bound).df()
    rows = dict(con.execute(sql("drift_parts_rows"), bound).fetchall())
    return bins, values, rows


def model_drift(
    con: duckdb.DuckDBPyConnection,
    model: str,
    current: Window,
    reference: Reference | None = None,
    thresholds: dict[str, float] | None = None,
    share_threshold: float = DATASET_DRIFT_SHARE,
    exact: bool = True,
) -> DriftResult:
    """One model's drift, current window against its reference, from the per-day profiles.

    With `exact`, a column whose bounds straddle its threshold (and KS, for references of
    1000 values or fewer) reads that column's raw values for the two windows, and only those.
    """
    reference_window = (reference or Reference()).resolve(con, model, current)
    windows = {"reference": reference_window, "current": current}
    bins, values, rows = _profile_frames(con, model, windows)
    columns = model_columns(con, model)
    sides = sides_from_profiles(columns, bins, values)
    # A model profiled where its data lives (spark, sql push-down) has no raw rows here: its
    # scores near a threshold stay estimates, said so by `settled`.
    exact = exact and con.execute(sql("drift_has_rows"), {"model": model}).fetchone()[0]
    results = []
    for column in columns:

        def stored_values(side: str, name: str = column.name) -> np.ndarray:
            since, until = windows[side].instants()
            found = con.execute(
                sql("drift_raw_values"),
                {"model": model, "feature": name, "since": since, "until": until},
            ).fetchnumpy()["v"]
            return clean_values(pd.Series(found))

        raw = read_once(stored_values)
        ref, cur = sides[column.name]
        results.append(
            decide(column, ref, cur, raw if exact else None, (thresholds or {}).get(column.name))
        )
    return DriftResult(
        results,
        share_threshold,
        reference=reference_window.as_json(rows.get("reference", 0)),
        current=current.as_json(rows.get("current", 0)),
    )


def timeline(
    con: duckdb.DuckDBPyConnection,
    model: str,
    reference: Window,
    span: Window,
    bucket_days: int = 1,
    thresholds: dict[str, float] | None = None,
    share_threshold: float = DATASET_DRIFT_SHARE,
) -> pd.DataFrame:
    """Each day (or week) of `span` against the reference, from profiles only (estimates).

    One row per (bucket, column): start, column, role, method, score, threshold, drifted; plus
    one row per bucket with column None holding the drift share of the features.

    Within samples.remembered(), computed once per connection for the same arguments: the drift
    page's timeline and its drift impact ask for the same days against the same reference.
    """
    key = (
        "drift_timeline",
        model,
        reference,
        span,
        bucket_days,
        tuple(sorted((thresholds or {}).items())),
        share_threshold,
    )
    return remember(
        con,
        key,
        lambda: _timeline(con, model, reference, span, bucket_days, thresholds, share_threshold),
    )


def _timeline(
    con: duckdb.DuckDBPyConnection,
    model: str,
    reference: Window,
    span: Window,
    bucket_days: int,
    thresholds: dict[str, float] | None,
    share_threshold: float,
) -> pd.DataFrame:
    buckets = {"reference": reference, **steps(span, bucket_days)}
    bins, values, rows = _profile_frames(con, model, buckets)
    columns = model_columns(con, model)
    out = []
    by_part = sides_by_part(columns, bins, values)
    for key, window in buckets.items():
        if key == "reference" or not rows.get(key):
            continue
        verdicts = [
            decide(
                c,
                by_part.get((c.name, "reference"), Side()),
                by_part.get((c.name, key), Side()),
                None,
                (thresholds or {}).get(c.name),
            )
            for c in columns
        ]
        result = DriftResult(verdicts, share_threshold)
        for v in verdicts:
            if v.tested:
                out.append(
                    {
                        "start": window.since,
                        "column": v.column,
                        "role": v.role,
                        "method": v.method_name,
                        "score": v.score,
                        "threshold": v.threshold,
                        "drifted": v.drifted,
                        "rows": rows[key],
                    }
                )
        out.append(
            {
                "start": window.since,
                "column": None,
                "role": "dataset",
                "method": None,
                "score": result.drift_share,
                "threshold": result.share_threshold,
                "drifted": result.dataset_drift,
                "rows": rows[key],
            }
        )
    return pd.DataFrame(
        out, columns=["start", "column", "role", "method", "score", "threshold", "drifted", "rows"]
    )


def first_drift(
    line: pd.DataFrame, column: str | None, since: dt.date | None = None
) -> dt.date | None:
    """The start of the step from which `column` stays past its threshold to the timeline's end.

    Only steps starting on or after `since` count (the current window's steps, not the
    reference's). Past the threshold is Evidently's verdict for each step's score: KS at or below
    it, the other p-values below it, distances and the drift share (`column` None) at or above
    it. None when the last step is not past it: a column that drifted and came back, or never
    drifted, has no start of drift.
    """
    rows = line[line["column"].isna()] if column is None else line[line["column"] == column]
    if since is not None:
        starts = pd.to_datetime(rows["start"]).dt.date
        rows = rows[starts >= since]
    rows = rows.sort_values("start")
    began = None
    for start, method, score, threshold in zip(
        rows["start"], rows["method"], rows["score"], rows["threshold"], strict=True
    ):
        past = (
            score is not None
            and not pd.isna(score)
            and is_drifted(None if pd.isna(method) else method, float(score), float(threshold))
        )
        if not past:
            began = None
        elif began is None:
            began = pd.Timestamp(start).date()
    return began


# A feature's unit, read off the end of its name (session_length_s, latency_ms, basket_eur).
UNITS = {
    "s": "s",
    "sec": "s",
    "seconds": "s",
    "ms": "ms",
    "us": "µs",
    "min": "min",
    "minutes": "min",
    "h": "h",
    "hours": "h",
    "days": "days",
    "eur": "EUR",
    "usd": "USD",
    "gbp": "GBP",
    "pct": "%",
    "percent": "%",
    "bytes": "bytes",
    "kb": "kB",
    "mb": "MB",
    "gb": "GB",
    "km": "km",
    "kg": "kg",
}
# The distributions are drawn on a log axis when the two sides' means differ this much.
LOG_AXIS_RATIO = 100.0


def column_unit(name: str) -> str | None:
    """The unit a column's name ends with (`latency_ms` -> "ms"), or None."""
    head, _, suffix = name.rpartition("_")
    return UNITS.get(suffix.lower()) if head else None


def axis_title(name: str) -> str:
    """A column's name with its unit: "session_length_s (s)"."""
    unit = column_unit(name)
    return f"{name} ({unit})" if unit else name


def _mean(bins: pd.DataFrame) -> float:
    return float((bins["mean"] * bins["n"]).sum() / bins["n"].sum())


def distributions(
    con: duckdb.DuckDBPyConnection,
    model: str,
    feature: str,
    windows: dict[str, Window],
    display_bins: int = 40,
) -> pd.DataFrame:
    """One feature's reference and current distributions for an overlay chart.

    Numeric: the share of values in each of `display_bins` bins over both windows' range (from
    the profile bins, each placed by its mean); the bins are equal on a log scale, and `scale`
    is "log", when all values are positive and the two sides' means differ by LOG_AXIS_RATIO
    times or more (a mean, not a median: a window half in seconds and half in milliseconds
    has a median in seconds, yet its range squashes the other side to a sliver); else equal
    widths, "linear". Otherwise: the share of each value.
    Columns: part, label, x (bin centre or None), share, scale.
    """
    bins, values, _ = _profile_frames(con, model, windows)
    bins = bins[(bins["feature"] == feature) & bins["bin"].notna() & (bins["n"] > 0)]
    if not bins.empty:
        lo, hi = float(bins["minimum"].min()), float(bins["maximum"].max())
        means = [_mean(part) for _, part in bins.groupby("part")]
        log = lo > 0 and len(means) == 2 and max(means) / min(means) >= LOG_AXIS_RATIO
        if log:
            edges = np.geomspace(lo, hi, display_bins + 1)
            index = np.clip(
                np.searchsorted(edges, bins["mean"], side="right") - 1, 0, display_bins - 1
            )
            centres = np.sqrt(edges[:-1] * edges[1:])
        else:
            width = (hi - lo) / display_bins if hi > lo else 1.0
            index = np.clip(((bins["mean"] - lo) / width).astype(int), 0, display_bins - 1)
            centres = lo + (np.arange(display_bins) + 0.5) * width
        grouped = bins.assign(index=index).groupby(["part", "index"])["n"].sum().reset_index()
        grouped["share"] = grouped["n"] / grouped.groupby("part")["n"].transform("sum")
        grouped["x"] = centres[grouped["index"].to_numpy()]
        grouped["label"] = grouped["x"].map(lambda x: f"{x:.4g}")
        grouped["scale"] = "log" if log else "linear"
        return grouped[["part", "label", "x", "share", "scale"]]
    values = values[(values["feature"] == feature) & values["value"].notna()]
    grouped = values.groupby(["part", "value"])["n"].sum().reset_index()
    grouped["share"] = grouped["n"] / grouped.groupby("part")["n"].transform("sum")
    grouped = grouped.rename(columns={"value": "label"}).assign(x=None, scale="category")
    return grouped[["part", "label", "x", "share", "scale"]]


def versions(con: duckdb.DuckDBPyConnection, model: str) -> pd.DataFrame:
    """A model's versions and the day each served its first request, newest first."""
    return con.execute(sql("drift_versions"), {"model": model}).df()


def _quantile(bins: Bins, q: float, tolerance: float) -> float | None:
    """A quantile from bins, values spread evenly across each bin's [min, max]; None when the
    bin it falls in is wider than `tolerance` (the true value is only known within that bin)."""
    cumulative = np.cumsum(bins.n)
    target = q * cumulative[-1]
    at = min(int(np.searchsorted(cumulative, target)), len(cumulative) - 1)
    spread = bins.maximum[at] - bins.minimum[at]
    if spread > tolerance:
        return None
    before = cumulative[at - 1] if at else 0.0
    share = (target - before) / bins.n[at] if bins.n[at] else 0.0
    return float(bins.minimum[at] + share * spread)


def daily_figures(
    con: duckdb.DuckDBPyConnection, model: str, feature: str, window: Window
) -> pd.DataFrame:
    """One row per day of one column, from the profiles: rows, missing share, and mean, std and
    quartiles (numeric) or the most common value's share. Quartiles are interpolated within
    their bin and left out (None) where that bin spans more than 5% of the day's std."""
    days = steps(window)
    bins, values, rows = _profile_frames(con, model, days)
    columns = [c for c in model_columns(con, model) if c.name == feature]
    by_part = sides_by_part(columns, bins, values)
    out = []
    for key, w in days.items():
        side = by_part.get((feature, key))
        if side is None or not side.rows:
            continue
        row = {
            "day": w.since,
            "rows": side.rows,
            "missing_share": (side.rows - side.n) / side.rows,
        }
        if side.bins is not None:
            row.update(
                mean=side.mean,
                std=side.std,
                p25=_quantile(side.bins, 0.25, 0.05 * side.std),
                p50=_quantile(side.bins, 0.5, 0.05 * side.std),
                p75=_quantile(side.bins, 0.75, 0.05 * side.std),
            )
        elif side.values:
            top = max(side.values, key=lambda value: (side.values[value], str(value)))
            row.update(top_value=top, top_value_share=side.values[top] / side.n)
        out.append(row)
    return pd.DataFrame(out)
