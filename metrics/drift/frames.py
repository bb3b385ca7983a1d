"""Two frames compared directly, as Evidently would judge them (no warehouse involved).

Both frames are profiled in one in-memory DuckDB pass with the same profile queries the
warehouse uses, binned finer than stored days (fewer columns then need their raw values).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd

from metrics.drift.sides import sides_from_profiles
from metrics.drift.verdicts import (
    DATASET_DRIFT_SHARE,
    DriftResult,
    clean_values,
    decide,
    read_once,
)
from profiling import queries

# Two frames compared once are binned finer than stored days: fewer columns need raw values.
FRAME_BINS = 4000


def compare_frames(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[str] | None = None,
    thresholds: dict[str, float] | None = None,
    share_threshold: float = DATASET_DRIFT_SHARE,
) -> DriftResult:
    """Drift of `current` against `reference`, both raw frames, as Evidently would judge it.

    Both frames are profiled in one DuckDB pass each for numeric and for other columns, then
    judged from the profiles; columns near a threshold are settled from the raw values.
    """
    names = list(columns) if columns is not None else list(current.columns)
    typed = queries.frame_columns(current[names])
    con = duckdb.connect(":memory:")
    try:
        con.execute("set enable_progress_bar = false")
        con.register("reference_frame", reference[names])
        con.register("current_frame", current[names])
        relation = (
            "(select 'reference' as __side, * from reference_frame "
            "union all by name select 'current' as __side, * from current_frame)"
        )
        specs = queries.bin_specs(con, relation, typed, bins=FRAME_BINS)
        bins = values = pd.DataFrame(columns=["part", "feature", "bin", "value", "capped"])
        numeric = queries.numeric_sql(typed, specs, relation, "__side")
        if numeric:
            bins = con.execute(numeric).df()
        other = queries.values_sql(typed, relation, "__side")
        if other:
            values = con.execute(other).df()
    finally:
        con.close()
    sides = sides_from_profiles(typed, bins, values)
    results = []
    for column in typed:

        def frame_values(side: str, name: str = column.name) -> np.ndarray:
            return clean_values((reference if side == "reference" else current)[name])

        raw = read_once(frame_values)
        ref, cur = sides[column.name]
        results.append(decide(column, ref, cur, raw, (thresholds or {}).get(column.name)))
    return DriftResult(
        results,
        share_threshold,
        reference={"rows": len(reference)},
        current={"rows": len(current)},
    )
