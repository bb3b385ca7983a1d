"""`python -m metrics report --json`: Tandem's numbers without the UI."""

from __future__ import annotations

import argparse
import json
import sys

import settings
import warehouse
from metrics import activity, db
from metrics.filters import window


def report(
    config: settings.Config,
    since: str | None,
    until: str | None,
    team: str | None,
    model: str | None,
) -> dict:
    """The headline numbers for one window, as plain JSON-ready values."""
    filters = window(since, until, team, model)
    with db.connect(config.warehouse) as con:
        return {
            "window": {"since": filters.since.isoformat(), "until": filters.until.isoformat()},
            "filters": {"team": filters.team, "model": filters.model},
            "rows": activity.row_counts(con),
            "activity": activity.activity_summary(con, filters),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m metrics", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("report", help="headline numbers for a window")
    cmd.add_argument("--config", help="TOML config (default: $TANDEM_CONFIG, ./sources.toml)")
    cmd.add_argument("--since", help="ISO date, included (default: 28 days before --until)")
    cmd.add_argument("--until", help="ISO date, excluded (default: now)")
    cmd.add_argument("--team")
    cmd.add_argument("--model")
    cmd.add_argument("--json", action="store_true", help="print JSON (the default for now)")
    args = parser.parse_args(argv)
    try:
        config = settings.load(args.config)
        result = report(config, args.since, args.until, args.team, args.model)
    except (settings.ConfigError, warehouse.WarehouseError, ValueError) as error:
        print(f"tandem: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"window {result['window']['since']} .. {result['window']['until']}")
        for feed, count in result["rows"].items():
            print(f"  {feed:20} {count:>12,}")
        for key, value in result["activity"].items():
            print(f"  {key:20} {value:>12,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
