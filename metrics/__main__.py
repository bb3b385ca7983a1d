"""`python -m metrics`: Tandem's numbers without the UI.

report [--config] [--since] [--until] [--team] [--model] [--reference-since]
       [--reference-until] [--detail] [--sections rows,activity,...] --json
retro  [--config] [--week 2026-W47] [--team] [--model] [--format md|html|json]
check  [--config] [--models models.toml] [--since] [--until]
digest [--config] [--week 2026-W47] [--team] [--model] --to file|webhook|email [--to ...]
       [--out digest.html] [--dry-run]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from pathlib import Path

import settings
import warehouse
from metrics import activity, contracts, db, delivery, drift, flow, privacy, samples
from metrics.filters import DEFAULT_WINDOW_DAYS, Filters, describe, window

# Each command imports what only it uses (digest: Plotly and Markdown; the notes store:
# SQLAlchemy and Alembic), so that a report starts in a fraction of a second.

CHECK_DAYS = 7
# What a report can hold; `--sections` computes only those named. `drift` alone is each
# model's univariate drift without the rest of its reading (what DataDriftPreset computes).
SECTIONS = ("rows", "activity", "delivery", "flow", "models", "drift", "notes")
FULL_REPORT = ("rows", "activity", "delivery", "flow", "models", "notes")

# The report's figures built from people (metrics.privacy): null, with `withheld` beside them,
# where fewer than `[privacy] min_people` people are behind the window.
DELIVERY_FIGURES = (
    "deployments",
    "deployment_days",
    "deployments_per_week",
    "lead_time_hours",
    "change_failure_rate",
    "failed_deployments",
    "deployments_attempted",
    "recovery_time_hours",
    "rework_rate",
    "rework_deployments",
    "unattributed_incidents",
    "levels",
)
# The activity counts that are delivery figures (the authors' basis).
ACTIVITY_DELIVERY = ("deployments", "successful_deployments", "failed_deployments")
FLOW_FIGURES = (
    "throughput",
    "cycle_time_hours",
    "wip",
    "flow_efficiency",
    "handoff_wait_hours",
    "work_mix",
    "reopen_rate",
    "blocked_hours",
)


def report(
    config: settings.Config,
    since: str | None,
    until: str | None,
    team: str | None,
    model: str | None,
    detail: bool = False,
    reference_since: str | None = None,
    reference_until: str | None = None,
    sections: list[str] | tuple[str, ...] | None = None,
) -> dict:
    """The headline numbers for one window, as plain JSON-ready values.

    Drift compares the window with the one before it, or with [reference_since,
    reference_until) when both are given. `sections` (default FULL_REPORT) names the parts
    computed (SECTIONS); `drift` gives `models.<m>.drift` alone, `models` the whole reading.
    """
    asked = set(FULL_REPORT if sections is None else sections)
    if asked - set(SECTIONS):
        raise ValueError(
            f"unknown report section {sorted(asked - set(SECTIONS))[0]!r}: "
            f"choose among {', '.join(SECTIONS)}"
        )
    filters = window(since, until, team, model)
    reference = None
    if reference_since or reference_until:
        if not (reference_since and reference_until):
            raise ValueError("give both --reference-since and --reference-until")
        reference = drift.Reference(
            "fixed",
            drift.Window(
                dt.date.fromisoformat(reference_since), dt.date.fromisoformat(reference_until)
            ),
        )
    # The quality reading and drift impact estimate the same performance: one read of its rows.
    with db.connect(config.warehouse) as con, samples.remembered(), privacy.counted_once():
        delivery.use_attribution_window(con, config.attribution_window_hours)
        hidden = privacy.withheld(con, filters, config.min_people)
        result = {
            "window": {"since": filters.since.isoformat(), "until": filters.until.isoformat()},
            "filters": {"team": filters.team, "model": filters.model},
        }
        if "rows" in asked:
            result["rows"] = activity.row_counts(con)
        if "activity" in asked:
            # Its deployment counts are delivery figures, its tickets finished a flow figure:
            # withheld as those are (a count hidden on the retro is not readable here).
            counts = privacy.blank(
                activity.activity_summary(con, filters), ACTIVITY_DELIVERY, hidden["authors"]
            )
            why_flow = hidden["assignees"]
            result["activity"] = {
                **privacy.blank(counts, ("tickets_finished",), why_flow),
                "withheld": counts["withheld"] or (why_flow.reason if why_flow else None),
            }
        if "delivery" in asked:
            result["delivery"] = privacy.blank(
                delivery.summary(con, filters), DELIVERY_FIGURES, hidden["authors"]
            )
        if "flow" in asked:
            result["flow"] = privacy.blank(
                flow.flow_summary(con, filters, config.workflow), FLOW_FIGURES, hidden["assignees"]
            )
        if "models" in asked:
            result["models"] = contracts.readings(
                con, filters, contracts.load(config.contracts), reference
            )
            _technical_counts(con, filters, result["models"], config.min_people)
            _kpi_tables(con, filters, result["models"])
            if filters.model:
                _drift_impact(con, filters, config, reference, result["models"])
        elif "drift" in asked:
            result["models"] = _drift_only(con, filters, config, reference)
        if "delivery" in asked:
            result["delivery"]["by_ai_assisted"] = delivery.by_ai_assisted(
                con, filters, config.min_people
            )
            # The same delivery figures for the window of the same length just before.
            before = filters.previous()
            result["delivery"]["previous"] = {
                "window": {"since": before.since.isoformat(), "until": before.until.isoformat()},
                **privacy.blank(
                    delivery.summary(con, before),
                    DELIVERY_FIGURES,
                    privacy.withheld(con, before, config.min_people)["authors"],
                ),
            }
            if detail:
                # The rows behind withheld figures are withheld with them.
                rows_shown = hidden["authors"] is None
                result["delivery"]["detail"] = delivery.detail(con, filters) if rows_shown else None
        if "notes" in asked:
            from metrics import writeback

            # What people wrote for this window and scope (the notes store; metrics.writeback).
            result.update(writeback.report_block(con, config, filters))
    return result


def _drift_only(con, filters, config, reference) -> dict:
    """Each model in scope with its univariate drift only (`--sections drift`): None without
    features or rows, as in the whole reading; no multivariate drift, quality or KPIs."""
    from profiling.store import model_columns

    terms = contracts.load(config.contracts)
    current = drift.day_window(filters.since, filters.until)
    models = {}
    for model in contracts._in_scope(con, filters, terms):
        models[model] = {"drift": None}
        if not any(c.role == "feature" for c in model_columns(con, model)):
            continue
        thresholds, share = drift.contract_terms(terms.get(model))
        found = drift.model_drift(con, model, current, reference, thresholds, share)
        if found.current["rows"]:
            models[model]["drift"] = {**found.as_json(), "tested": len(found.tested)}
    return models


def _technical_counts(con, filters, models: dict, min_people: int) -> None:
    """Add what Model overview counts beside a reading (its failed requests are in
    `serving.errors`): each model's production deployments (`deployments`) in the window."""
    shipped = activity.deployments(con, filters)
    production = shipped[shipped["is_production"]].groupby("model").size().to_dict()
    for model, reading in models.items():
        # A delivery count: withheld when fewer than min_people authors are behind the model's
        # deployments in the window, as on Model overview.
        one = Filters(filters.since, filters.until, filters.team, model)
        why = privacy.withheld(con, one, min_people)["authors"]
        reading["deployments"] = None if why else int(production.get(model, 0))
        reading["deployments_withheld"] = why.reason if why else None


def _kpi_tables(con, filters, models: dict) -> None:
    """Add the KPI check's two per-model tables to each reading: `segments` (each KPI per
    segment over the window) and `releases` (each production release in the window against
    the KPI: the 7 days before and after, the change's 95% interval and its verdict)."""
    from metrics import business
    from metrics import models as model_metrics

    segments = model_metrics.kpi_segments(con, filters)
    segments = segments[segments["segment"] != "all"]
    releases = business.release_impact(con, filters)
    for model, reading in models.items():
        reading["segments"] = _records(
            segments[segments["model"] == model], ["kpi", "segment", "value", "days", "unit"]
        )
        reading["releases"] = _records(
            releases[releases["model"] == model],
            [c for c in business.COLUMNS if c != "model"],
        )


def _records(rows, columns: list[str]) -> list[dict]:
    """Rows as JSON-ready dicts: timestamps in ISO 8601, numbers as Python's, missing as None."""
    out = []
    for row in rows[columns].itertuples(index=False):
        record = {}
        for name, value in zip(columns, row, strict=True):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                value = None
            elif hasattr(value, "isoformat"):
                value = value.isoformat()
            elif hasattr(value, "item"):
                value = value.item()
            record[name] = value
        out.append(record)
    return out


def _drift_impact(con, filters, config, reference, models: dict) -> None:
    """Add drift that matters (`drift.impact`) to the one model a report is scoped to: it
    scores every day of the window, too slow to run for every model of every report."""
    from metrics.drift import impact

    terms = contracts.load(config.contracts)
    current = drift.day_window(filters.since, filters.until)
    for model, reading in models.items():
        if reading.get("drift") is not None:
            found = impact.drift_impact(con, model, current, reference, terms.get(model))
            reading["drift"]["impact"] = found.as_json()


def check(
    config: settings.Config, models_path: str | None, since: str | None, until: str | None
) -> int:
    """Print every contract breach (and missed target) of the window; 1 if any breach.

    The window defaults to the last 7 days (whole UTC days, today included). With
    `[alerts] webhook_env` in the config, the breaches are also posted as JSON to the URL that
    variable holds.
    """
    terms = contracts.load(Path(models_path) if models_path else config.contracts)
    if not terms:
        raise contracts.ContractError(
            "no model contracts: pass --models or set [contracts] path in the config"
        )
    filters = window(since, until, days=CHECK_DAYS)
    with db.connect(config.warehouse) as con:
        readings = contracts.readings(con, filters, terms)
    found = contracts.breaches(readings)
    for line in found:
        print(f"BREACH  {line}")
    for line in contracts.warnings(readings):
        print(f"WARNING {line}")
    checked = sum(1 for r in readings.values() if r["contract"])
    print(
        f"{checked} contract{'s' if checked != 1 else ''} checked from "
        f"{filters.since:%Y-%m-%d %H:%M} to {filters.until:%Y-%m-%d %H:%M} UTC "
        f"({describe(filters)}): {len(found)} breach{'es' if len(found) != 1 else ''}"
    )
    if found and config.webhook_env:
        from metrics import alerts

        problem = alerts.post_breaches(config.webhook_env, found, filters)
        if problem:
            print(f"tandem: {problem}", file=sys.stderr)
    return 1 if found else 0


def retro_text(
    config: settings.Config,
    week: str | None,
    team: str | None,
    fmt: str,
    model: str | None = None,
) -> str:
    """The retro of an ISO week (default: the last 7 days, today included) as Markdown, HTML
    or JSON (the figures, their changes against last week and the highlights, as the page shows
    them). Like the page, it takes a team and a model, and picks its own week."""
    from metrics import retro

    window_ = retro.iso_week(week) if week else retro.rolling_week()
    label = week.upper() if week else retro.week_label(window_)
    with db.connect(config.warehouse) as con:
        delivery.use_attribution_window(con, config.attribution_window_hours)
        built = retro.build(con, window_, team, model, config.workflow, label, config.min_people)
    if fmt == "json":
        return json.dumps(retro.to_dict(built), indent=2, ensure_ascii=False) + "\n"
    return retro.to_html(built) if fmt == "html" else retro.to_markdown(built)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m metrics",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("report", help="headline numbers for a window")
    cmd.add_argument("--config", help="TOML config (default: $TANDEM_CONFIG, ./sources.toml)")
    cmd.add_argument(
        "--since",
        help=f"ISO date, included (default: {DEFAULT_WINDOW_DAYS} days before --until)",
    )
    cmd.add_argument(
        "--until",
        help=f"ISO date, excluded (default: the midnight after today, so by default the last "
        f"{DEFAULT_WINDOW_DAYS} whole UTC days, today included)",
    )
    cmd.add_argument("--team")
    cmd.add_argument("--model")
    cmd.add_argument("--reference-since", help="drift reference start, ISO date, included")
    cmd.add_argument("--reference-until", help="drift reference end, ISO date, excluded")
    cmd.add_argument("--detail", action="store_true", help="add the rows behind the numbers")
    cmd.add_argument(
        "--sections",
        help=f"compute only these, comma-separated: {', '.join(SECTIONS)} (default: all but "
        "drift; drift alone is each model's univariate drift, without the rest of its reading)",
    )
    cmd.add_argument("--json", action="store_true", help="print JSON (the only format for now)")
    retro_cmd = commands.add_parser(
        "retro", help="the weekly retrospective as Markdown, HTML or JSON"
    )
    retro_cmd.add_argument("--config", help="TOML config")
    retro_cmd.add_argument(
        "--week", help="ISO week like 2026-W47 (default: the last 7 days, today included)"
    )
    retro_cmd.add_argument("--team")
    retro_cmd.add_argument("--model")
    retro_cmd.add_argument(
        "--format",
        choices=("md", "html", "json"),
        default="md",
        help="json: the figures, changes (against last week) and highlights the page shows",
    )
    check_cmd = commands.add_parser("check", help="breaches of the model contracts; exit 1 if any")
    check_cmd.add_argument("--config", help="TOML config")
    check_cmd.add_argument("--models", help="contract file (default: [contracts] path)")
    check_cmd.add_argument(
        "--since", help=f"ISO date, included (default: {CHECK_DAYS} days before --until)"
    )
    check_cmd.add_argument(
        "--until", help="ISO date, excluded (default: the midnight after today, today included)"
    )
    digest_cmd = commands.add_parser(
        "digest", help="the week's retro, notes and charts to a file, a webhook or by email"
    )
    digest_cmd.add_argument("--config", help="TOML config ([digest] names webhook and SMTP)")
    digest_cmd.add_argument(
        "--week", help="ISO week like 2026-W47 (default: the last 7 days, today included)"
    )
    digest_cmd.add_argument("--team")
    digest_cmd.add_argument("--model")
    digest_cmd.add_argument(
        "--to",
        action="append",
        required=True,
        metavar="{file,webhook,email}",
        help="where to send it; repeat for several (each one's outcome is printed)",
    )
    digest_cmd.add_argument(
        "--out", help="the HTML file for --to file, the PDF beside it (default: digest-<week>.html)"
    )
    digest_cmd.add_argument(
        "--dry-run", action="store_true", help="print what would be written or sent; send nothing"
    )
    args = parser.parse_args(argv)
    if args.command == "digest":
        from metrics import digest

        unknown = [to for to in args.to if to not in digest.TARGETS]
        if unknown:
            choices = ", ".join(repr(t) for t in digest.TARGETS)
            digest_cmd.error(
                f"argument --to: invalid choice: {unknown[0]!r} (choose from {choices})"
            )
    try:
        config = settings.load(args.config)
        if args.command == "check":
            return check(config, args.models, args.since, args.until)
        if args.command == "digest":
            return digest.run(
                config, args.week, args.team, args.model, args.to, args.out, args.dry_run
            )
        if args.command == "retro":
            print(retro_text(config, args.week, args.team, args.format, args.model), end="")
            return 0
        result = report(
            config,
            args.since,
            args.until,
            args.team,
            args.model,
            args.detail,
            args.reference_since,
            args.reference_until,
            args.sections.split(",") if args.sections else None,
        )
    except (
        settings.ConfigError,
        warehouse.WarehouseError,
        contracts.ContractError,
        ValueError,
    ) as error:
        print(f"tandem: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
