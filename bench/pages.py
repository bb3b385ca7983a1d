"""Page render time at the design's reference scale, against its 1-second target.

    python bench/pages.py [--rows 20000000] [--keep DIR] [--json OUT] [--baseline FILE]

Builds a warehouse of 1 year, 12 models, 20 million inference rows, 20k deployments, 50k
tickets (generated in DuckDB, written as Parquet, loaded by a real `connectors sync`), then
renders every page through app.py with Streamlit's AppTest: cold (caches cleared) and warm
(the same view again), and prints each time with its ratio to the 1 s target and the process's
CPU seconds beside it (steadier than wall time on a busy machine; the load average is printed
before and after), and the peak resident memory (RSS) of the process after the sync and after
the pages. The retro's cold view is also the process's first: it pays app.py's and the pages'
imports, and Streamlit's component discovery (a real server does that once at start).

Growth with rows: `--json OUT` keeps the figures; a later run at another scale with
`--baseline OUT` prints each figure's ratio to it. Pages read the drift and serving profiles,
not the rows, so they should not grow with rows:

    python bench/pages.py --rows 20000000 --json /tmp/pages-20m.json
    python bench/pages.py --rows 100000000 --baseline /tmp/pages-20m.json   # not in CI

`--sync-memory-limit` sets the config's `[warehouse] sync_memory_limit`: 200M rows sync within
the 2GB default (peak RSS 2.6 GB, spilling to disk), faster with "4GB" (peak 4.6 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import settings  # noqa: E402
from connectors import sync  # noqa: E402

TARGET_SECONDS = 1.0
PAGES = [
    "pages/weekly_retro.py",
    "pages/kpi_check.py",
    "pages/drift_investigation.py",
    "pages/model_overview.py",
    "pages/data_sources.py",
]

FEEDS = {
    "deployments": """
        select 'dep-' || i as deployment_id, 'model_' || (i % 12) as model,
            'v' || (i // 12) as version,
            case when i % 3 = 0 then 'staging' else 'production' end as environment,
            'team_' || (i % 12 // 4) as team,
            $end - to_seconds(cast((20000 - i) * 1577 as bigint)) - interval 10 minute
                as started_at,
            $end - to_seconds(cast((20000 - i) * 1577 as bigint)) as finished_at,
            case when i % 17 = 0 then 'failed' when i % 29 = 0 then 'rolled_back'
                else 'success' end as status,
            md5(i::varchar) as commit_sha
        from range(20000) t(i)""",
    "changes": """
        select 'chg-' || i as change_id, 'dep-' || (i // 2) as deployment_id,
            $end - to_seconds(cast((20000 - i // 2) * 1577 + 3600 * (1 + i % 72) as bigint))
                as first_commit_at,
            $end - to_seconds(cast((20000 - i // 2) * 1577 + 1800 as bigint)) as merged_at,
            'dev_' || (i % 40) as author, 'change ' || i as title
        from range(40000) t(i)""",
    "incidents": """
        select 'inc-' || i as incident_id, 'model_' || (i % 12) as model,
            'team_' || (i % 12 // 4) as team,
            $end - to_seconds(cast((2000 - i) * 15768 as bigint)) as opened_at,
            $end - to_seconds(cast((2000 - i) * 15768 - 7200 as bigint)) as resolved_at,
            'sev' || (1 + i % 3) as severity, null as deployment_id, 'incident ' || i as title
        from range(2000) t(i)""",
    "kpis": """
        select cast($end as date) - cast(d as integer) as date, 'ctr' as kpi,
            'model_' || m as model, 'all' as segment, null as value,
            300 + (random() * 60)::int as numerator, 10000 as denominator, 'ratio' as unit,
            0.031 as target, 0.027 as guardrail
        from range(365) a(d), range(12) b(m)""",
    "tickets": """
        select 'T-' || i as ticket_id, 'ticket ' || i as title,
            ['Story', 'Bug', 'Spike', 'Experiment', 'Learning'][1 + i % 5] as type,
            'team_' || (i % 3) as team, 'model_' || (i % 12) as model,
            'person_' || (i % 60) as assignee,
            ['data_science', 'engineering', 'product'][1 + i % 3] as role,
            $end - to_seconds(cast((50000 - i) * 630 + 86400 * 10 as bigint)) as created_at,
            case when i < 49000 then $end - to_seconds(cast((50000 - i) * 630 as bigint)) end
                as resolved_at,
            case when i < 49000 then 'Done' else 'In Progress' end as status,
            (1 + i % 8)::double as story_points, 'S' || (i // 1000) as sprint,
            ['ml', 'team_' || (i % 3)] as labels
        from range(50000) t(i)""",
    "ticket_transitions": """
        select 'T-' || (i // 4) as ticket_id,
            $end - to_seconds(cast((50000 - i // 4) * 630 + 86400 * (8 - 2 * (i % 4)) as bigint))
                as "at",
            ['To Do', 'In Progress', 'Ready for Engineering', 'In Review'][1 + i % 4]
                as from_status,
            ['In Progress', 'Ready for Engineering', 'In Review', 'Done'][1 + i % 4] as to_status,
            'person_' || (i % 60) as assignee,
            ['data_science', 'data_science', 'engineering', 'engineering'][1 + i % 4] as role
        from range(200000) t(i)""",
    "inference": """
        select 'r' || i as request_id,
            $end - to_seconds(cast(i * (31536000.0 / {rows}) as bigint)) as ts,
            'model_' || (i % 12) as model, 'v' || (i % 5) as model_version,
            5 + random() * 200 as latency_ms,
            case when random() < 0.01 then 'error' else 'ok' end as status,
            (random() < 0.3)::int as prediction, random() as score,
            case when random() < 0.5 then (random() < 0.3)::int end as label,
            random() * 100 as amount, (random() * 8)::int as num_items,
            ['FR', 'DE', 'ES', 'IT', 'NL'][1 + i % 5] as country,
            ['web', 'ios', 'android'][1 + i % 3] as device, random() as ctr_7d
        from range({rows}) t(i)""",
}


def build(folder: Path, inference_rows: int, figures: dict, memory_limit: str | None) -> Path:
    """Generate the feeds, write the config, sync; `figures` gets the sync's time and memory.
    `memory_limit`: the config's `[warehouse] sync_memory_limit` (None: the default)."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    end = con.execute("select date_trunc('hour', now())").fetchone()[0]
    sources = []
    for feed, query in FEEDS.items():
        path = folder / f"{feed}.parquet"
        start = time.perf_counter()
        con.execute(
            f"copy ({query.format(rows=int(inference_rows))}) to '{path}' (format parquet)",
            {"end": end} if "$end" in query else {},
        )
        print(f"generated {feed:20} {time.perf_counter() - start:6.1f} s", flush=True)
        sources.append({"name": feed, "kind": "files", "feed": feed, "path": str(path)})
    config_path = folder / "sources.toml"
    lines = [f'[warehouse]\npath = "{folder / "tandem.duckdb"}"\n']
    if memory_limit:
        lines[0] += f'sync_memory_limit = "{memory_limit}"\n'
    for source in sources:
        lines.append("[[sources]]\n" + "".join(f'{k} = "{v}"\n' for k, v in source.items()))
    config_path.write_text("\n".join(lines))
    start = time.perf_counter()
    report = sync.run(settings.load(config_path))
    if not report.ok:
        raise SystemExit(report.as_dict())
    figures["sync_s"] = time.perf_counter() - start
    figures["sync_peak_rss_mb"] = _peak_rss_mb()
    print(f"synced the warehouse in {figures['sync_s']:.1f} s", flush=True)
    print(f"peak RSS through the sync {figures['sync_peak_rss_mb']:,.0f} MB", flush=True)
    return config_path


def _load() -> str:
    """The machine's load average (1, 5, 15 min): read every time beside it."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def render(config_path: Path) -> dict[str, tuple[float, float, float, float]]:
    """Each page's (cold s, warm s, cold CPU s, warm CPU s)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["TANDEM_CONFIG"] = str(config_path)
    print(f"\nload average {_load()}")
    print(
        f"{'page':32} {'cold s':>7} {'warm s':>7} {'warm / 1 s target':>18}"
        f" {'cold cpu s':>10} {'warm cpu s':>10}"
    )
    times = {}
    for page in PAGES:
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.query_params["window"] = "28d"
        start, cpu = time.perf_counter(), time.process_time()
        at.run()  # the default page (the retro), with its cold loads
        if page != PAGES[0]:
            at.run()  # warm the shared filters, so only the page itself is cold below
            start, cpu = time.perf_counter(), time.process_time()
            at.switch_page(page).run()
        cold, cold_cpu = time.perf_counter() - start, time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        at.run()
        warm, warm_cpu = time.perf_counter() - start, time.process_time() - cpu
        problems = [e.value for e in at.exception]
        times[page] = (cold, warm, cold_cpu, warm_cpu)
        print(
            f"{page:32} {cold:7.2f} {warm:7.2f} {warm / TARGET_SECONDS:18.2f}"
            f" {cold_cpu:10.2f} {warm_cpu:10.2f}" + (f"  ERROR {problems}" if problems else ""),
            flush=True,
        )
    print(f"load average {_load()}")
    print(f"peak RSS through the pages {_peak_rss_mb():,.0f} MB", flush=True)
    return times


def _growth(figures: dict, baseline_path: Path) -> None:
    """Each figure against the same figure in an earlier run's --json: the sync's time and
    memory, each page's cold and warm time and CPU, and the process's peak memory."""
    base = json.loads(baseline_path.read_text())
    rows = figures["rows"]
    print(f"\ngrowth from {base['rows']:,} to {rows:,} rows ({rows / base['rows']:.1f}x rows)")
    for key, label in (
        ("sync_s", "sync s"),
        ("sync_peak_rss_mb", "sync peak RSS MB"),
        ("peak_rss_mb", "peak RSS MB (sync and pages)"),
    ):
        if key in figures and key in base:
            print(
                f"{label:32} {base[key]:10,.1f} -> {figures[key]:10,.1f}"
                f"  {figures[key] / base[key]:5.2f}x"
            )
    names = ("cold", "warm", "cold cpu", "warm cpu")
    print(f"{'page':32} " + " ".join(f"{name + ' x':>10}" for name in names))
    for page, now in figures["pages"].items():
        before = base["pages"].get(page)
        if before:
            # an older --json holds (cold, warm) only: compare what both have
            ratios = [f"{a / b:10.2f}" for a, b in zip(now, before, strict=False)]
            print(f"{page:32} " + " ".join(ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", "--inference-rows", type=int, default=20_000_000)
    parser.add_argument("--keep", help="build in this folder and keep it")
    parser.add_argument("--json", help="write the page times here (for a later --baseline)")
    parser.add_argument("--baseline", help="an earlier run's --json: print the growth")
    parser.add_argument(
        "--sync-memory-limit",
        help="the sync's [warehouse] sync_memory_limit (default 2GB)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tandem-pages-") as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "sources.toml"
        figures: dict = {"rows": args.rows}
        if not (args.keep and config.exists()):
            config = build(folder, args.rows, figures, args.sync_memory_limit)
        figures["pages"] = render(config)
        figures["peak_rss_mb"] = _peak_rss_mb()
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    if args.baseline:
        _growth(figures, Path(args.baseline))


if __name__ == "__main__":
    main()
