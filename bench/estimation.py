"""Estimated performance and multivariate drift of one model over 90 days, against NannyML.

NannyML beside our pins (Python 3.11, a fresh venv, 2026-12-05): `pip install -r
requirements.txt nannyml` resolved without a conflict: nannyml 0.13.1 (the newest on PyPI,
from 2025-07) with our numpy 2.4.6, pandas 2.3.3, pyarrow 26.0.1, plotly 5.24.1, scipy 1.17.1
and scikit-learn 1.9.1; `pip check`: no broken requirements. Two costs: about 1.3 GB and 30 s
more on top of requirements-dev.txt (xgboost with nvidia-nccl-cu12 through FLAML[automl],
kaleido, lightgbm, gcsfs, s3fs), and python-dateutil held below 3 (2.9.0.post0; 4.0.0
without it). It also imports statsmodels without declaring it (Evidently brings it here). So it
is in requirements-dev.txt only, for this benchmark and tests/test_estimation_nannyml.py.

One binary classifier at the reference scale's rate (20 million rows a year over 12 models:
about 4,600 rows a day), 90 labelled days of reference then the 90 days estimated, written as
Parquet and loaded by a real `connectors sync`. Its scores are over-confident (calibration
matters), labels arrive late (none in the last week), a feature shifts from day 30 and the
relation between two others flips from day 60 with their marginals unchanged. Each side runs in
this process on the same rows (the bounded daily sample `metrics.samples.daily_sample` reads):

- estimated performance: Tandem's `metrics.estimation.estimated` (reading the warehouse
  included) against NannyML's CBPE (the same read, then fit and estimate per day), and against
  the realized computation (sql/quality_classifier.sql, one call per day);
- multivariate drift: Tandem's `metrics.drift.multivariate.reconstruction_drift` against
  NannyML's DataReconstructionDriftCalculator on the same sample.

It prints rows, seconds (best of --repeat), peak RSS (the process's high-water mark while a step
ran, and its rise over the RSS the step started from), the ratios, and how far the estimates
are apart per metric.

    .venv/bin/python bench/estimation.py [--rows 411000] [--days 90] [--repeat 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# NannyML reports usage to an analytics service unless told not to; a benchmark phones no one.
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")

import settings  # noqa: E402
from connectors import sync  # noqa: E402
from metrics import db  # noqa: E402
from metrics.drift.windows import Window  # noqa: E402
from metrics.filters import Filters  # noqa: E402
from metrics.quality import classifier_quality  # noqa: E402
from metrics.samples import daily_sample  # noqa: E402

MODEL = "churn_model"
DAYS = 90
# The design's reference scale: 20 million inference rows a year over 12 models.
REFERENCE_ROWS_PER_DAY = 20_000_000 / 365 / 12
DEFAULT_ROWS = round(REFERENCE_ROWS_PER_DAY * DAYS, -3)
# A fixed end, so the same --rows gives the same rows; nothing here reads the real date.
END = dt.date(2026, 11, 19)
CURRENT = Window(END - dt.timedelta(days=DAYS), END)
REFERENCE = Window(END - dt.timedelta(days=2 * DAYS), END - dt.timedelta(days=DAYS))
NUMERIC = ["amount", "num_items", "tenure_days", "session_length_s", "ctr_7d"]
CATEGORIES = ["country", "device"]
CBPE_METRICS = ["accuracy", "precision", "recall", "f1", "roc_auc"]
THRESHOLD = 0.5
# The design's page target (warm, at the reference scale): what a figure on a page must fit in.
PAGE_TARGET_SECONDS = 1.0
# The model's scores: its logit is the truth's times this, so it is over-confident.
OVERCONFIDENCE = 1.6
# No labels for the last week; every row has one from 4 weeks back.
LABEL_DELAY_DAYS = (7, 28)


# --- the rows -----------------------------------------------------------------------------


def inference_rows(rows_per_window: int, seed: int = 17) -> pd.DataFrame:
    """The model's inference rows over the reference and current windows (2 x 90 days).

    Truth: P(label = 1 | features) is fixed (covariate shift only, the case CBPE is built
    for); the model's score is that probability made over-confident.
    """
    rng = np.random.default_rng(seed)
    total = 2 * rows_per_window
    start = pd.Timestamp(REFERENCE.since, tz="UTC")
    seconds = np.sort(rng.integers(0, 2 * DAYS * 86400, total))
    ts = start + pd.to_timedelta(seconds, unit="s")
    day = seconds // 86400 - DAYS  # day of the current window: < 0 in the reference
    # session_length_s shifts from day 30; amount and num_items go from moving together to
    # moving apart from day 60, each with the same marginal distribution throughout.
    shifted = day >= 30
    flipped = day >= 60
    z1 = rng.standard_normal(total)
    z2 = rng.standard_normal(total)
    rho = np.where(flipped, -0.8, 0.8)
    z_items = rho * z1 + np.sqrt(1 - rho**2) * z2
    amount = np.exp(3.5 + 0.6 * z1)
    num_items = np.clip(np.round(4 + 2 * z_items), 0, None)
    tenure = rng.gamma(2.0, 200.0, total)
    session = rng.gamma(4.0, 60.0, total) * np.where(shifted, 1.5, 1.0)
    ctr = rng.beta(2, 30, total)
    country = rng.choice(["FR", "DE", "ES", "IT", "NL"], total, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    device = rng.choice(["web", "ios", "android"], total, p=[0.5, 0.3, 0.2])
    truth_logit = (
        -0.6
        + 0.8 * z1
        - 0.5 * (tenure - 400) / 280
        - 0.6 * (session - 240) / 120
        + 8 * (ctr - 0.0625)
        + np.where(device == "web", 0.3, 0.0)
    )
    truth = 1 / (1 + np.exp(-truth_logit))
    score = 1 / (1 + np.exp(-OVERCONFIDENCE * truth_logit))
    label = (rng.random(total) < truth).astype(float)
    # Labels come late: by how many days before the end a row was logged.
    age = DAYS - 1 - day
    first, full = LABEL_DELAY_DAYS
    labelled_share = np.clip((age - first + 1) / (full - first), 0.0, 1.0)
    label[rng.random(total) >= labelled_share] = np.nan
    status = np.where(rng.random(total) < 0.01, "error", "ok")
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(total)],
            "ts": ts,
            "model": MODEL,
            "model_version": np.where(day < 45, "v7", "v8"),
            "latency_ms": rng.gamma(3.0, 15.0, total),
            "status": status,
            "prediction": (score >= THRESHOLD).astype(float),
            "score": score,
            "label": label,
            "amount": amount,
            "num_items": num_items,
            "tenure_days": tenure,
            "session_length_s": session,
            "ctr_7d": ctr,
            "country": country,
            "device": device,
        }
    )


def build(folder: Path, rows_per_window: int) -> Path:
    """The rows as Parquet, loaded by a real sync into a warehouse in `folder`; its path."""
    start = time.perf_counter()
    path = folder / "inference.parquet"
    inference_rows(rows_per_window).to_parquet(path, index=False)
    print(f"generated {2 * rows_per_window:,} rows in {time.perf_counter() - start:.1f} s")
    warehouse_path = folder / "tandem.duckdb"
    config_path = folder / "sources.toml"
    config_path.write_text(
        f'[warehouse]\npath = "{warehouse_path}"\n\n[[sources]]\nname = "inference"\n'
        f'kind = "files"\nfeed = "inference"\npath = "{path}"\n'
    )
    start = time.perf_counter()
    report = sync.run(settings.load(config_path))
    if not report.ok:
        raise SystemExit(report.as_dict())
    print(f"synced the warehouse in {time.perf_counter() - start:.1f} s", flush=True)
    return warehouse_path


# --- measuring ----------------------------------------------------------------------------


def _rss_kb(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", status).group(1))


def _reset_peak() -> bool:
    # Linux resets the high-water mark to the current RSS on "5" (since 4.0).
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@dataclass
class Timing:
    name: str
    seconds: float
    peak_mb: float | None
    rise_mb: float | None
    result: Any = None


def measure(name: str, run: Callable[[], Any], repeat: int) -> Timing:
    """Best of `repeat` runs' seconds; peak RSS over them (None where Linux cannot say)."""
    times, peak, rise, result = [], None, None, None
    for _ in range(repeat):
        resettable = _reset_peak()
        before = _rss_kb("VmRSS")
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
        if resettable:
            high = _rss_kb("VmHWM")
            peak = max(peak or 0, high / 1024)
            rise = max(rise or 0, (high - before) / 1024)
    return Timing(name, min(times), peak, rise, result)


def show(timing: Timing, rows: int) -> None:
    memory = (
        f"{timing.peak_mb:8.0f} MB {timing.rise_mb:+8.0f} MB"
        if timing.peak_mb is not None
        else f"{'n/a':>11} {'n/a':>11}"
    )
    print(f"{timing.name:46} {rows:>10,} {timing.seconds:8.2f} {memory}", flush=True)


def ratio(what: str, ours: Timing, peer: Timing, peer_name: str) -> None:
    times = peer.seconds / ours.seconds
    verdict = f"{times:.1f}x faster" if times >= 1 else f"{1 / times:.1f}x slower"
    print(
        f"{what}: Tandem {ours.seconds:.2f} s, {peer_name} {peer.seconds:.2f} s;"
        f" {peer_name} / Tandem = {times:.2f} (Tandem {verdict})"
    )


# --- the two sides ------------------------------------------------------------------------


def nannyml_frame(sample: pd.DataFrame) -> pd.DataFrame:
    """A daily sample as NannyML reads it: a timestamp per row (noon of its day)."""
    frame = sample.copy()
    frame["ts"] = pd.to_datetime(frame["day"]) + pd.Timedelta(hours=12)
    return frame.drop(columns="day")


def nannyml_cbpe(reference: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """NannyML's CBPE fitted on the labelled reference rows, per day of `current`."""
    import nannyml

    estimator = nannyml.CBPE(
        y_pred_proba="score",
        y_pred="prediction",
        y_true="label",
        timestamp_column_name="ts",
        metrics=CBPE_METRICS,
        chunk_period="D",
        problem_type="classification_binary",
    )
    labelled = reference[reference["label"].notna()]
    estimator.fit(nannyml_frame(labelled))
    return estimator.estimate(nannyml_frame(current)).filter(period="analysis").to_df()


def nannyml_reconstruction(reference: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    import nannyml

    calculator = nannyml.DataReconstructionDriftCalculator(
        column_names=NUMERIC + CATEGORIES,
        timestamp_column_name="ts",
        chunk_period="D",
        n_components=0.65,
    )
    calculator.fit(nannyml_frame(reference))
    return calculator.calculate(nannyml_frame(current)).filter(period="analysis").to_df()


def realized_per_day(con, window: Window) -> pd.DataFrame:
    """sql/quality_classifier.sql once per day of `window`, the way a daily timeline of
    realized figures is computed today."""
    days = []
    for offset in range(window.days):
        day = window.since + dt.timedelta(days=offset)
        since = dt.datetime.combine(day, dt.time(), dt.UTC)
        filters = Filters(since, since + dt.timedelta(days=1), model=MODEL)
        found = classifier_quality(con, filters, THRESHOLD, by_version=False)
        days.append(found.assign(day=day))
    return pd.concat(days, ignore_index=True)


def compare_cbpe(ours, theirs: pd.DataFrame, realized: pd.DataFrame) -> None:
    """Per metric: how far Tandem's daily estimate is from NannyML's, and how often each
    side's band holds the realized figure on days with labels."""
    steps = ours.steps.copy()
    steps["day"] = pd.to_datetime(steps["day"]).dt.date
    theirs_day = pd.to_datetime(theirs[("chunk", "start_date")]).dt.date
    header = f"{'metric':10} {'days':>5} {'|T - N| median':>15} {'max':>8}"
    print(f"\n{header}  {'realized in band':>24}")
    for metric in CBPE_METRICS:
        mine = steps[steps["metric"] == metric].set_index("day")
        other = pd.DataFrame(
            {
                "value": theirs[(metric, "value")].to_numpy(),
                "lower": theirs[(metric, "lower_confidence_boundary")].to_numpy(),
                "upper": theirs[(metric, "upper_confidence_boundary")].to_numpy(),
            },
            index=theirs_day,
        )
        both = mine.join(other, rsuffix="_n", how="inner")
        gap = (both["value"] - both["value_n"]).abs()
        truth = realized.set_index("day")[metric] if metric in realized else both["realized"]
        judged = both.join(truth.rename("truth")).dropna(subset=["truth"])
        judged = judged[judged["labelled"] >= 0.5 * judged["rows"]]
        shares = (
            judged["truth"].between(judged[f"lower{side}"], judged[f"upper{side}"]).mean()
            for side in ("", "_n")
        )
        in_ours, in_theirs = (f"{share:5.0%}" if len(judged) else "    -" for share in shares)
        print(
            f"{metric:10} {len(both):5} {gap.median():15.1e} {gap.max():8.1e}  "
            f"T {in_ours} N {in_theirs} of {len(judged):3} days"
        )


def compare_reconstruction(ours, theirs: pd.DataFrame) -> None:
    steps = ours.steps.copy()
    steps["day"] = pd.to_datetime(steps["day"]).dt.date
    other = pd.DataFrame(
        {
            "error_n": theirs[("reconstruction_error", "value")].to_numpy(),
            "alert_n": theirs[("reconstruction_error", "alert")].to_numpy(),
        },
        index=pd.to_datetime(theirs[("chunk", "start_date")]).dt.date,
    )
    both = steps.set_index("day").join(other, how="inner")
    gap = (both["error"] / both["error_n"] - 1).abs()
    agree = (both["alert"].astype(bool) == both["alert_n"].astype(bool)).mean()
    first = {
        side: (both.index[both[column].astype(bool)].min() if both[column].any() else None)
        for side, column in (("Tandem", "alert"), ("NannyML", "alert_n"))
    }
    print(
        f"\nreconstruction error per day, |Tandem / NannyML - 1|: median {gap.median():.1e},"
        f" max {gap.max():.1e}; alerts agree on {agree:.0%} of"
        f" {len(both)} days; first alert Tandem {first['Tandem']}, NannyML {first['NannyML']}"
    )


# --- the run ------------------------------------------------------------------------------


def run(warehouse_path: Path, repeat: int, days: int = DAYS) -> None:
    """Time both sides over the last `days` days (the reference: the `days` days before)."""
    from metrics.drift import multivariate
    from metrics.drift.multivariate import reconstruction_drift
    from metrics.estimation import PER_DAY as ESTIMATION_PER_DAY
    from metrics.estimation import estimated

    try:
        start = time.perf_counter()
        import nannyml  # noqa: F401

        print(f"imported nannyml {nannyml.__version__} in {time.perf_counter() - start:.1f} s")
    except ImportError:
        nannyml = None
        print("nannyml is not installed: `pip install -r requirements-dev.txt`; Tandem only")

    current_window = Window(END - dt.timedelta(days=days), END)
    reference_window = Window(current_window.since - dt.timedelta(days=days), current_window.since)
    print(
        f"timed over {current_window.since}..{current_window.until} against the reference"
        f" {reference_window.since}..{reference_window.until}"
    )
    with db.connect(warehouse_path) as con:
        print(f"\n{'step':46} {'rows':>10} {'seconds':>8} {'peak RSS':>11} {'rise':>11}")
        read = measure(
            "read the daily samples (both windows)",
            lambda: tuple(
                daily_sample(
                    con,
                    MODEL,
                    w.since,
                    w.until,
                    ["score", "prediction", "label"],
                    ESTIMATION_PER_DAY,
                )
                for w in (reference_window, current_window)
            ),
            repeat,
        )
        reference, current = read.result
        rows = len(current)
        show(read, len(reference) + rows)
        ours = measure(
            "Tandem estimated() per day, reading included",
            lambda: estimated(
                con,
                MODEL,
                "classifier",
                current_window,
                reference_window,
                1,
                THRESHOLD,
                ESTIMATION_PER_DAY,
            ),
            repeat,
        )
        realized = measure(
            f"realized: quality_classifier.sql x {days} days",
            lambda: realized_per_day(con, current_window),
            repeat,
        )
        theirs = None
        if nannyml is not None:
            theirs = measure(
                "NannyML CBPE fit + estimate (+ the read)",
                lambda: nannyml_cbpe(reference, current),
                repeat,
            )
            theirs.seconds += read.seconds
        show(ours, rows)
        if theirs is not None:
            show(theirs, rows)
        show(realized, rows)

        columns = NUMERIC + CATEGORIES
        mv_read = measure(
            "read the feature samples (both windows)",
            lambda: tuple(
                daily_sample(con, MODEL, w.since, w.until, columns, multivariate.PER_DAY)
                for w in (reference_window, current_window)
            ),
            repeat,
        )
        features_reference, features_current = mv_read.result
        show(mv_read, len(features_reference) + len(features_current))
        mv = measure(
            "Tandem reconstruction_drift, reading incl.",
            lambda: reconstruction_drift(
                con, MODEL, current_window, reference_window, 1, multivariate.PER_DAY
            ),
            repeat,
        )
        mv_theirs = None
        if nannyml is not None:
            mv_theirs = measure(
                "NannyML DataReconstructionDrift (+ the read)",
                lambda: nannyml_reconstruction(features_reference, features_current),
                repeat,
            )
            mv_theirs.seconds += mv_read.seconds
        show(mv, len(features_current))
        if mv_theirs is not None:
            show(mv_theirs, len(features_current))

        print()
        if theirs is not None:
            ratio(f"estimated performance, {days} days", ours, theirs, "NannyML CBPE")
        ratio("estimate against the realized SQL", ours, realized, "realized")
        if mv_theirs is not None:
            ratio(f"reconstruction drift, {days} days", mv, mv_theirs, "NannyML")
        print(
            f"against a page's {PAGE_TARGET_SECONDS:.0f} s target: the estimate"
            f" {ours.seconds / PAGE_TARGET_SECONDS:.1f}x, the reconstruction drift"
            f" {mv.seconds / PAGE_TARGET_SECONDS:.1f}x"
        )

        print("\nTandem over the whole current window (estimate [band], realized):")
        for metric, figures in ours.result.window.items():
            value, lower, upper, actual = (
                "-" if figures[k] is None else f"{figures[k]:.4f}"
                for k in ("value", "lower", "upper", "realized")
            )
            print(f"  {metric:10} {value} [{lower}, {upper}]  realized {actual}")
        calibration = ours.result.calibration
        print(
            f"  trusted: {calibration['trusted']} ({calibration['basis']})"
            + (f": {calibration['reason']}" if calibration["reason"] else "")
        )
        if theirs is not None:
            compare_cbpe(ours.result, theirs.result, realized.result)
            compare_reconstruction(mv.result, mv_theirs.result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        type=int,
        default=int(DEFAULT_ROWS),
        help=f"inference rows in each 90-day window (default {int(DEFAULT_ROWS):,}: the"
        " reference scale); a day gives each side at most its PER_DAY rows"
        " (metrics.estimation, metrics.drift.multivariate)",
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--days",
        type=int,
        default=DAYS,
        help=f"time over the last DAYS days ({LABEL_DELAY_DAYS[0]} to {DAYS}; 28: a page's default"
        " window),"
        " against the DAYS days before",
    )
    parser.add_argument("--keep", help="build in this folder and keep it (reused if there)")
    args = parser.parse_args()
    # Below a week, the reference falls in the last week, which has no labels to calibrate on.
    if not LABEL_DELAY_DAYS[0] <= args.days <= DAYS:
        parser.error(f"--days must be between {LABEL_DELAY_DAYS[0]} and {DAYS}")
    print(
        f"{MODEL}: {args.rows:,} rows generated in each of the reference"
        f" {REFERENCE.since}..{REFERENCE.until} and the current window"
        f" {CURRENT.since}..{CURRENT.until}"
    )
    if args.keep:
        folder = Path(args.keep)
        folder.mkdir(parents=True, exist_ok=True)
        warehouse_path = folder / "tandem.duckdb"
        if not warehouse_path.exists():
            build(folder, args.rows)
        run(warehouse_path, args.repeat, args.days)
        return
    with tempfile.TemporaryDirectory(prefix="tandem-estimation-") as tmp:
        run(build(Path(tmp), args.rows), args.repeat, args.days)


if __name__ == "__main__":
    main()
