"""Sync speed: a generated inference file loaded by Tandem against DuckDB's own plain load.

    python bench/sync.py [--rows 5000000] [--formats csv,parquet] [--incremental]

For each format it writes one file of `--rows` inference rows (8 features: floats, integers,
strings), then in the same run times
  - the baseline: DuckDB's own plain load of that file into a table of a new database file
    (`create table t as select * from read_csv(...)` / `read_parquet(...)`), and
  - Tandem: a sync into a new warehouse (validation, typing, quarantine, upsert, drift
    profiles, shadow copy and swap included), in a process of its own,
and prints rows/s for both, the ratio (Tandem / DuckDB; the target is at least 0.5) and the
sync process's peak RSS (VmHWM, read by the sync's own process).

`--incremental` then times, each in a process of its own, with its ratio to the full sync:
  - a re-sync with nothing new (every file unchanged: nothing read, nothing written),
  - a sync after 1% more rows arrive as a new file (new keys, later days): the first after a
    full sync, which copies the warehouse whole (there is no standby yet), and
  - the next such sync, which brings the standby up to date block by block (warehouse.py),
and prints how much of the warehouse each had to copy and where its time went (the copy, each
source, profiles, checkpoint, fsync, swap; DEBUG lines of the `tandem.timing` logger).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import settings  # noqa: E402
from connectors import sync  # noqa: E402

YEAR_SECONDS = 365 * 86_400
# One year of rows, like the reference warehouse (bench/pages.py): 12 models x 365 days.
GENERATE = """
    copy (
        select
            'req-' || i as request_id,
            timestamp '2026-01-01' + to_seconds(i * {step}) as ts,
            'model_' || (i % 12) as model,
            'v' || (i % 3) as model_version,
            round(5 + random() * 200, 3) as latency_ms,
            case when random() < 0.01 then 'error' else 'ok' end as status,
            (random() < 0.3)::int as prediction,
            random() as score,
            case when random() < 0.5 then (random() < 0.3)::int end as label,
            random() * 100 as amount,
            random() * 10 as session_minutes,
            (random() * 8)::int as num_items,
            (random() * 1000)::int as account_age_days,
            ['FR', 'DE', 'ES', 'IT', 'NL'][1 + (i % 5)] as country,
            ['web', 'ios', 'android'][1 + (i % 3)] as device,
            ['free', 'pro', 'team'][1 + (i % 3)] as plan,
            random() as ctr_7d
        from range({offset}, {offset} + {rows}) t(i)
    ) to '{path}' ({options})
"""


def _generate(
    folder: Path, rows: int, fmt: str, offset: int = 0, name: str = "inference-0"
) -> Path:
    path = folder / f"{name}.{fmt}"
    options = "format csv, header true" if fmt == "csv" else "format parquet"
    con = duckdb.connect()
    step = YEAR_SECONDS / (offset or rows)  # one year of rows; more rows come later
    con.execute(
        GENERATE.format(rows=int(rows), offset=int(offset), step=step, path=path, options=options)
    )
    con.close()
    return path


def _duckdb_plain_load(path: Path, fmt: str, folder: Path) -> float:
    db = folder / "plain.duckdb"
    db.unlink(missing_ok=True)
    reader = "read_csv" if fmt == "csv" else "read_parquet"
    con = duckdb.connect(str(db))
    con.execute("set enable_progress_bar = false")
    start = time.perf_counter()
    con.execute(f"create table t as select * from {reader}($path)", {"path": str(path)})
    con.execute("checkpoint")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


class _Phases(logging.Handler):
    """Collects the `tandem.timing` laps of one sync: phase -> seconds (summed)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seconds: dict[str, float] = {}
        self.copied = 0  # bytes written to bring the sync's copy of the warehouse up to date

    def emit(self, record: logging.LogRecord) -> None:
        phase = getattr(record, "phase", None)
        if phase is not None:
            self.seconds[phase] = self.seconds.get(phase, 0.0) + record.seconds
        copied = getattr(record, "copied_bytes", None)
        if copied is not None:
            self.copied += copied


def _sync_once(spec: str) -> None:
    """In a child process: one sync of the bench's config, its figures as JSON on stdout."""
    options = json.loads(spec)
    folder = Path(options["folder"])
    config = settings.parse(
        {
            "warehouse": {"path": str(folder / "wh" / "tandem.duckdb")},
            "sources": [
                {"name": "bench", "kind": "files", "feed": "inference", "path": options["glob"]}
            ],
        },
        folder,
        "bench",
    )
    phases = _Phases()
    timing = logging.getLogger("tandem.timing")
    timing.setLevel(logging.DEBUG)
    timing.addHandler(phases)
    start = time.perf_counter()
    report = sync.run(config)
    elapsed = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(report.sources[0].error)
    row = report.as_dict()["sources"][0]
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "row": row,
                "phases": phases.seconds,
                "copied_mib": phases.copied / 2**20,
                "warehouse_mib": (folder / "wh" / "tandem.duckdb").stat().st_size / 2**20,
                "rss_mib": _peak(),
            }
        )
    )


def _peak() -> float:
    """This process's peak RSS in MiB: VmHWM, which (unlike getrusage's ru_maxrss) does not
    carry over the parent's peak from before exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _tandem_sync(folder: Path, glob: str, fresh: bool = True) -> dict:
    """One sync in a process of its own: seconds, the source's row, phases, peak RSS (MiB)."""
    if fresh:
        shutil.rmtree(folder / "wh", ignore_errors=True)
    spec = json.dumps({"folder": str(folder), "glob": glob})
    child = subprocess.Popen(
        [sys.executable, __file__, "--sync-once", spec], stdout=subprocess.PIPE, text=True
    )
    out, _ = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"the sync failed (status {child.returncode})")
    return json.loads(out)


def _phases(figures: dict) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in figures["phases"].items() if v >= 0.005)


def _incremental(folder: Path, fmt: str, rows: int, full: dict) -> None:
    glob = str(folder / f"inference*.{fmt}")
    again = _tandem_sync(folder, glob, fresh=False)
    _generate(folder, rows // 100, fmt, offset=rows, name="inference-1")
    more = _tandem_sync(folder, glob, fresh=False)
    # The first sync after a full one has no standby yet (warehouse.py) and copies the file
    # whole; from the next one on, the file the last swap replaced is brought up to date.
    _generate(folder, rows // 100, fmt, offset=rows + rows // 100, name="inference-2")
    steady = _tandem_sync(folder, glob, fresh=False)
    runs = (
        ("full", full),
        ("nothing new", again),
        ("+1% rows, first", more),
        ("+1% rows, next", steady),
    )
    for label, figures in runs:
        row = figures["row"]
        what = "skipped" if row["skipped"] else f"read {row['read']:,} loaded {row['loaded']:,}"
        ratio = figures["seconds"] / full["seconds"]
        copied = (
            f"; {figures['copied_mib']:,.0f} of {figures['warehouse_mib']:,.0f} MiB copied"
            if figures["copied_mib"]
            else ""
        )
        print(
            f"  {label:16} {figures['seconds']:>7.2f} s  {ratio:>6.1%}"
            f"  {figures['rss_mib']:>6.0f} MiB  {what}{copied}; {_phases(figures)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--incremental", action="store_true")
    parser.add_argument("--sync-once", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sync_once:
        _sync_once(args.sync_once)
        return
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp:
        folder = Path(tmp)
        print(
            f"{'format':8} {'rows':>10} {'duckdb s':>9} {'tandem s':>9} "
            f"{'duckdb rows/s':>14} {'tandem rows/s':>14} {'ratio':>6} {'peak RSS':>9}"
            "  loaded/quarantined"
        )
        for fmt in args.formats.split(","):
            path = _generate(folder, args.rows, fmt)
            plain = _duckdb_plain_load(path, fmt, folder)
            full = _tandem_sync(folder, str(folder / f"inference*.{fmt}"))
            tandem, row = full["seconds"], full["row"]
            print(
                f"{fmt:8} {args.rows:>10,} {plain:>9.2f} {tandem:>9.2f} "
                f"{args.rows / plain:>14,.0f} {args.rows / tandem:>14,.0f} "
                f"{plain / tandem:>6.2f} {full['rss_mib']:>5.0f} MiB"
                f"  {row['loaded']:,}/{row['quarantined']:,}; {_phases(full)}"
            )
            if args.incremental:
                _incremental(folder, fmt, args.rows, full)
            for made in folder.glob(f"inference*.{fmt}"):
                made.unlink()


if __name__ == "__main__":
    main()
