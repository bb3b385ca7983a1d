"""Drift verdicts that agree with Evidently 0.7's defaults, computed from profiles in seconds.

Evidently's `DataDriftPreset` (0.7.23, evidently/legacy/calculations/stattests/registry.py and
evidently/core/datasets.py), column by column:

- Type, from the current data: float -> numerical; integer -> categorical with at most 10
  distinct values, else numerical; boolean -> categorical; text -> categorical, or free text
  when distinct values exceed half the non-missing count (free text is not tested here: Evidently
  trains a classifier for it).
- NaN and infinities are dropped per column before testing.
- Method, by reference size n_ref (after cleaning) and distinct values across both sides:
  n_ref <= 1000: numerical with more than 5 values -> two-sample Kolmogorov-Smirnov (drift when
  p <= 0.05); otherwise chi-square (z-test of proportions with at most 2 values; drift when
  p < 0.05). n_ref > 1000: numerical with more than 5 values -> Wasserstein distance divided by
  the reference's population std (floor 0.001), drift when >= 0.1; otherwise Jensen-Shannon
  distance of value shares (natural log), drift when >= 0.1.
- Dataset drift: the share of drifted columns is at least 0.5.

How it is fast: value counts are exact in the profiles (profiling/), so chi-square,
z and Jensen-Shannon are exact. The Wasserstein distance is bounded from the fixed bins: each
bin knows its count, min and max on each side, so between bins both CDFs are known exactly and
inside a bin they are only known to lie between the bin's cumulative shares. That gives a
lower and an upper bound on the distance (and an estimate, assuming values spread evenly in
their bin's range). When the bounds fall on both sides of the threshold, the column is settled
exactly from its raw values with scipy, as Evidently does; so is KS, which only applies to
references of 1000 values or fewer.

The modules, in the order a verdict is built:

- `sides`: a column on one side (reference or current), from its profile rows.
- `statistics`: the tests and distances (KS, chi-square, z, Wasserstein, Jensen-Shannon).
- `verdicts`: one column's verdict, a comparison's dataset drift, a contract's drift terms.
- `windows`: whole-day windows, the reference a window is compared with, the timeline's steps.
- `frames`: two DataFrames compared directly.
- `stored`: one model's drift from the warehouse's per-day profiles (over a window, as a
  timeline, as distributions, as daily figures).

Callers use the package's names (`from metrics import drift; drift.model_drift(...)`).
"""

from metrics.drift.frames import FRAME_BINS, compare_frames
from metrics.drift.sides import (
    Bins,
    Side,
    numeric_side,
    sides_by_part,
    sides_from_profiles,
    value_side,
)
from metrics.drift.statistics import (
    chi_square_p,
    jensen_shannon,
    ks_from_bins,
    wasserstein_from_bins,
    z_test_p,
)
from metrics.drift.stored import (
    LOG_AXIS_RATIO,
    axis_title,
    column_unit,
    daily_figures,
    distributions,
    first_drift,
    model_drift,
    timeline,
    versions,
)
from metrics.drift.verdicts import (
    DATASET_DRIFT_SHARE,
    DISTANCE_METHOD_NAMES,
    INTEGER_CARDINALITY_LIMIT,
    METHODS,
    P_VALUE_METHODS,
    SMALL_REFERENCE,
    ColumnDrift,
    DriftResult,
    RawFetch,
    column_type,
    contract_terms,
    decide,
    is_drifted,
    most_drifted_first,
)
from metrics.drift.windows import (
    TIMELINE_DAILY_UP_TO_DAYS,
    Reference,
    Window,
    day_window,
    default_version,
    steps,
    timeline_bucket_days,
    version_window,
)

__all__ = [
    "DATASET_DRIFT_SHARE",
    "DISTANCE_METHOD_NAMES",
    "FRAME_BINS",
    "INTEGER_CARDINALITY_LIMIT",
    "LOG_AXIS_RATIO",
    "METHODS",
    "P_VALUE_METHODS",
    "SMALL_REFERENCE",
    "TIMELINE_DAILY_UP_TO_DAYS",
    "Bins",
    "ColumnDrift",
    "DriftResult",
    "RawFetch",
    "Reference",
    "Side",
    "Window",
    "axis_title",
    "chi_square_p",
    "column_type",
    "column_unit",
    "compare_frames",
    "contract_terms",
    "daily_figures",
    "day_window",
    "decide",
    "default_version",
    "distributions",
    "first_drift",
    "is_drifted",
    "jensen_shannon",
    "ks_from_bins",
    "model_drift",
    "most_drifted_first",
    "numeric_side",
    "sides_by_part",
    "sides_from_profiles",
    "steps",
    "timeline",
    "timeline_bucket_days",
    "value_side",
    "version_window",
    "versions",
    "wasserstein_from_bins",
    "z_test_p",
]
