"""Sync speed: a generated inference file loaded by Tandem against DuckDB's own plain load.

    python bench/sync.py [--rows 5000000] [--formats csv,parquet]

For each format it writes one file of `--rows` inference rows (8 features: floats, integers,
strings), then in the same run times
  - the baseline: DuckDB's own plain load of that file into a table of a new database file
    (`create table t as select * from read_csv(...)` / `read_parquet(...)`), and
  - Tandem: `python -m connectors sync` into a new warehouse (validation, typing, quarantine,
    upsert, shadow copy and swap included),
and prints rows/s for both and the ratio (Tandem / DuckDB; the target is at least 0.5).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import settings  # noqa: E402
from connectors import sync  # noqa: E402

GENERATE = """
    copy (
        select
            'req-' || i as request_id,
            timestamp '2026-01-01' + to_seconds(i * 6) as ts,
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
        from range({rows}) t(i)
    ) to '{path}' ({options})
"""


def _generate(folder: Path, rows: int, fmt: str) -> Path:
    path = folder / f"inference.{fmt}"
    options = "format csv, header true" if fmt == "csv" else "format parquet"
    con = duckdb.connect()
    con.execute(GENERATE.format(rows=int(rows), path=path, options=options))
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


def _tandem_sync(path: Path, folder: Path) -> tuple[float, dict]:
    wh = folder / "wh"
    shutil.rmtree(wh, ignore_errors=True)
    config = settings.parse(
        {
            "warehouse": {"path": str(wh / "tandem.duckdb")},
            "sources": [{"name": "bench", "kind": "files", "feed": "inference", "path": str(path)}],
        },
        folder,
        "bench",
    )
    start = time.perf_counter()
    report = sync.run(config)
    elapsed = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(report.sources[0].error)
    return elapsed, report.as_dict()["sources"][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--formats", default="csv,parquet")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp:
        folder = Path(tmp)
        print(
            f"{'format':8} {'rows':>10} {'duckdb s':>9} {'tandem s':>9} "
            f"{'duckdb rows/s':>14} {'tandem rows/s':>14} {'ratio':>6}  loaded/quarantined"
        )
        for fmt in args.formats.split(","):
            path = _generate(folder, args.rows, fmt)
            plain = _duckdb_plain_load(path, fmt, folder)
            tandem, row = _tandem_sync(path, folder)
            print(
                f"{fmt:8} {args.rows:>10,} {plain:>9.2f} {tandem:>9.2f} "
                f"{args.rows / plain:>14,.0f} {args.rows / tandem:>14,.0f} "
                f"{plain / tandem:>6.2f}  {row['loaded']:,}/{row['quarantined']:,}"
            )
            path.unlink()


if __name__ == "__main__":
    main()
