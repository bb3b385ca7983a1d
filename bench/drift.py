"""Drift at scale: Tandem's engine against Evidently's DataDriftPreset on the same frames.

1 million reference rows and 1 million current rows x 20 mixed columns (10 float, 3 integer,
3 low-cardinality integer, 3 text categories, 1 boolean), a few of them drifted, some near the
threshold, with missing values. Both run in this process on the same data; the benchmark
prints both times, the ratio, and whether every column's verdict (and the dataset's) agreed.

With --whole-process, the comparison a user makes from a shell instead: 1 million reference
and 1 million current rows x 10 feature columns of one model are loaded into a warehouse by a
real sync (no labels); then `python -m metrics report --json --model M` (Tandem's whole
process: start, imports, the whole report: KPIs, serving, quality, univariate and multivariate
drift, drift impact) and the same with `--sections drift` (the univariate drift alone, what
DataDriftPreset computes) are timed against a script that imports Evidently, reads the same
rows from Parquet and runs DataDriftPreset, each as its own process (wall seconds, best of
--repeat for Tandem, one run for Evidently), with the ratios and whether the verdicts agreed.

    .venv/bin/python bench/drift.py [--rows 1000000] [--repeat 3]
    .venv/bin/python bench/drift.py --whole-process [--rows 1000000] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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


# The whole-process comparison: 10 of the frames' columns (floats near and far from the
# threshold, skewed, integer, low-cardinality, text and boolean), 14 days on each side.
PROCESS_COLUMNS = ["f0", "f1", "f3", "f4", "f6", "f7", "i2", "k2", "s0", "b0"]
MODEL = "bench_model"
DAYS = 14
REFERENCE_SINCE = dt.date(2026, 3, 1)
CURRENT_SINCE = REFERENCE_SINCE + dt.timedelta(days=DAYS)
CURRENT_UNTIL = CURRENT_SINCE + dt.timedelta(days=DAYS)

EVIDENTLY_SCRIPT = """
import json, sys
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

reference = pd.read_parquet(sys.argv[1])
current = pd.read_parquet(sys.argv[2])
snapshot = Report([DataDriftPreset()]).run(current, reference).dict()
columns, share = {}, None
for metric in snapshot["metrics"]:
    config = metric["config"]
    if "column" in config:
        columns[config["column"]] = [config["method"], metric["value"], config["threshold"]]
    else:
        share = metric["value"]["share"]
print(json.dumps({"columns": columns, "share": share}))
"""


def _inference(frame: pd.DataFrame, since: dt.date, prefix: str) -> pd.DataFrame:
    """One side's rows as the inference feed: spread evenly over DAYS days from `since`."""
    rows = len(frame)
    start = pd.Timestamp(since, tz="UTC")
    seconds = np.arange(rows) * (DAYS * 86_400 / rows)
    rng = np.random.default_rng(len(prefix))
    return pd.DataFrame(
        {
            "request_id": [f"{prefix}{i}" for i in range(rows)],
            "ts": start + pd.to_timedelta(seconds, unit="s"),
            "model": MODEL,
            "model_version": "v1",
            "latency_ms": rng.gamma(2.0, 20.0, rows),
            "status": "ok",
            "prediction": (frame["f0"] > 100).astype(float),
            "score": rng.random(rows),
        }
    ).join(frame[PROCESS_COLUMNS])


def build_warehouse(folder: Path, rows: int) -> tuple[Path, Path, Path]:
    """The warehouse (loaded by a real sync) and the same rows as two Parquet files."""
    import settings
    from connectors import sync

    reference, current = frames(rows)
    reference_path, current_path = folder / "reference.parquet", folder / "current.parquet"
    reference[PROCESS_COLUMNS].to_parquet(reference_path)
    current[PROCESS_COLUMNS].to_parquet(current_path)
    feed = folder / "inference.parquet"
    pd.concat(
        [_inference(reference, REFERENCE_SINCE, "r"), _inference(current, CURRENT_SINCE, "c")],
        ignore_index=True,
    ).to_parquet(feed)
    config_path = folder / "sources.toml"
    config_path.write_text(
        f'[warehouse]\npath = "{folder / "tandem.duckdb"}"\n\n'
        f'[[sources]]\nname = "inference"\nkind = "files"\nfeed = "inference"\n'
        f'path = "{feed}"\n'
    )
    start = time.perf_counter()
    result = sync.run(settings.load(config_path))
    if not result.ok:
        raise SystemExit(result.as_dict())
    print(f"synced {2 * rows:,} rows in {time.perf_counter() - start:.1f} s", flush=True)
    return config_path, reference_path, current_path


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


# As a user's shell runs them: Python keeps the compiled modules (.pyc) between runs. A
# PYTHONDONTWRITEBYTECODE=1 inherited from a CI or sandbox would recompile Tandem's own modules
# at every run (about 0.2 s), a cost no installed Tandem pays.
_USER_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _timed(command: list[str], repeat: int) -> tuple[float, list[float], str]:
    """Wall seconds of a whole process, best of `repeat`, and its last output; prints the CPU
    seconds (user + system, all threads) of the best run too, which a busy machine inflates
    less than the wall time."""
    times, cpu, out = [], [], ""
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), _children_cpu()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=_USER_ENV)
        times.append(time.perf_counter() - start)
        cpu.append(_children_cpu() - start_cpu)
        if done.returncode:
            raise SystemExit(f"{command[:4]} failed:\n{done.stderr}")
        out = done.stdout
    print(f"          cpu {cpu[times.index(min(times))]:.2f} s (user + system) in the best run")
    return min(times), times, out


def report_command(config_path: Path) -> list[str]:
    """Tandem's CLI for the model's drift of the current window against the reference."""
    return [
        sys.executable,
        "-m",
        "metrics",
        "report",
        "--json",
        "--config",
        str(config_path),
        "--model",
        MODEL,
        "--since",
        CURRENT_SINCE.isoformat(),
        "--until",
        CURRENT_UNTIL.isoformat(),
        "--reference-since",
        REFERENCE_SINCE.isoformat(),
        "--reference-until",
        CURRENT_SINCE.isoformat(),
    ]


def whole_process(folder: Path, rows: int, repeat: int) -> None:
    config_path, reference_path, current_path = build_warehouse(folder, rows)
    print(f"{rows:,} + {rows:,} rows x {len(PROCESS_COLUMNS)} columns, whole processes")
    full = report_command(config_path)
    only_drift = [*full, "--sections", "drift"]
    timed = {}
    for name, command in (("report", full), ("drift", only_drift)):
        best, times, out = _timed(command, repeat)
        timed[name] = (best, out)
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"Tandem {name:7} {best:7.2f} s  (best of {repeat}: {runs})")
        print("          python " + " ".join(command[1:]).replace(str(folder), "$DIR"))
    evidently_command = [
        sys.executable,
        "-c",
        EVIDENTLY_SCRIPT,
        str(reference_path),
        str(current_path),
    ]
    evidently, _, theirs_out = _timed(evidently_command, 1)
    print(f"Evidently      {evidently:7.2f} s  (import evidently, read Parquet, DataDriftPreset)")
    for name, (best, _) in timed.items():
        print(f"ratio {name:8} {evidently / best:7.1f}x faster")
    ours = json.loads(timed["report"][1])["models"][MODEL]["drift"]
    assert json.loads(timed["drift"][1])["models"][MODEL]["drift"] == {
        k: v for k, v in ours.items() if k not in ("multivariate", "impact")
    }, "--sections drift gave another drift than the whole report"
    theirs = json.loads(theirs_out)
    disagreements = 0
    for column in PROCESS_COLUMNS:
        method, score, threshold = theirs["columns"][column]
        mine = ours["columns"][column]
        agree = mine["drifted"] == drifted(method, score, threshold)
        disagreements += not agree
        print(f"  {column:4} {mine['score']:12.6g} {score:12.6g}  {'agree' if agree else 'DIFFER'}")
    print(
        f"every verdict agreed: {disagreements == 0} "
        f"({len(PROCESS_COLUMNS) - disagreements}/{len(PROCESS_COLUMNS)} columns); "
        f"dataset drift Tandem {ours['dataset_drift']}, Evidently share {theirs['share']:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--whole-process",
        action="store_true",
        help="time `python -m metrics report` against an Evidently script, as processes",
    )
    parser.add_argument("--keep", help="with --whole-process: build the warehouse in this folder")
    args = parser.parse_args()
    if args.whole_process:
        if args.keep:
            Path(args.keep).mkdir(parents=True, exist_ok=True)
            whole_process(Path(args.keep), args.rows, args.repeat)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                whole_process(Path(tmp), args.rows, args.repeat)
        return
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
