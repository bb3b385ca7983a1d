"""`python -m connectors sync`: load the configured sources into the warehouse."""

from __future__ import annotations

import argparse
import json
import sys

import settings
import warehouse
from connectors import sync
from connectors.loader import Batch, LoadStats


class _Bars(sync.Progress):
    """A progress bar per source on a terminal (stderr), nothing elsewhere."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None

    def source_started(self, name: str, total_batches: int | None) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        self.bar = tqdm(
            total=total_batches,
            desc=name,
            unit="batch",
            file=sys.stderr,
            leave=True,
            dynamic_ncols=True,
        )
        self.rows = 0

    def batch_done(self, name: str, batch: Batch, stats: LoadStats) -> None:
        if self.bar is not None:
            self.rows += stats.read
            self.bar.set_postfix_str(f"{batch.feed}: {self.rows:,} rows")
            self.bar.update(1)

    def source_finished(self, name: str, result: sync.SourceResult) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _table(report: sync.SyncReport) -> str:
    header = ("source", "feed", "read", "loaded", "duplicates", "quarantined")
    rows = [header]
    for row in report.as_dict()["sources"]:
        if row["skipped"]:
            rows.append((row["name"], "unchanged, skipped", "0", "0", "0", "0"))
            continue
        if row["feed"] is None:
            continue
        rows.append(
            (
                row["name"],
                row["feed"],
                f"{row['read']:,}",
                f"{row['loaded']:,}",
                f"{row['duplicates']:,}",
                f"{row['quarantined']:,}",
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            str(c).ljust(w) if i < 2 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connectors", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    sync_cmd = commands.add_parser("sync", help="load the configured sources")
    sync_cmd.add_argument("--config", help="TOML config (default: $TANDEM_CONFIG, ./sources.toml)")
    sync_cmd.add_argument("--source", action="append", help="only this source (repeatable)")
    sync_cmd.add_argument("--json", action="store_true", help="print the summary as JSON")
    sync_cmd.add_argument(
        "--reread", action="store_true", help="read every file again, also unchanged ones"
    )
    args = parser.parse_args(argv)

    try:
        config = settings.load(args.config)
        report = sync.run(
            config, args.source, _Bars(sys.stderr.isatty() and not args.json), args.reread
        )
    except (settings.ConfigError, warehouse.WarehouseError) as error:
        print(f"tandem: {error}", file=sys.stderr)
        return 2
    for notice in report.notices:  # one line each: a key file made, people read again
        print(f"tandem: {notice}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(_table(report))
    for source in report.sources:
        if not source.ok:
            print(f"tandem: {source.error}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
