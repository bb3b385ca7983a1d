"""The weekly retrospective: figures, highlights in words, and the Markdown/HTML exports."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

import settings
from metrics import db, delivery, flow, retro
from metrics.retro import Figure, format_value
from settings import Workflow
from tests.helpers.project import ROOT, subprocess_env


def _cells(markdown: str, label: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


@pytest.fixture(scope="module")
def last_week(demo_project):
    label = retro.recent_weeks(settings.now())[1]
    week = retro.iso_week(label)
    with db.connect(demo_project.warehouse) as con:
        built = retro.build(con, week, None, None, Workflow(), label)
        summary = delivery.summary(con, week)
        flows = flow.flow_summary(con, week, Workflow())
    return label, built, summary, flows


def test_the_markdown_carries_the_weeks_numbers(last_week):
    label, built, summary, flows = last_week
    markdown = retro.to_markdown(built)
    assert markdown.startswith(f"# Retro: {label}\n")
    assert _cells(markdown, "Deployments")[1] == str(summary["deployments"])
    assert _cells(markdown, "Deployments")[5] == summary["levels"]["deployment_frequency"]
    assert _cells(markdown, "Lead time (median)")[1] == format_value(
        summary["lead_time_hours"]["median"], "hours"
    )
    assert _cells(markdown, "Change failure rate")[1] == format_value(
        summary["change_failure_rate"], "share"
    )
    assert _cells(markdown, "Change failure rate")[5] == (
        summary["levels"]["change_failure_rate"] or ""
    )
    assert _cells(markdown, "Tickets finished")[1] == str(flows["throughput"])
    assert _cells(markdown, "Cycle time (median)")[1] == format_value(
        flows["cycle_time_hours"]["median"], "hours"
    )
    assert "## Highlights" in markdown and "## Experiments decided" in markdown


def test_the_cli_prints_the_same_markdown_and_html(demo_env, last_week):
    label, built, _, _ = last_week
    run = [sys.executable, "-m", "metrics", "retro", "--week", label]
    md = subprocess.run(
        run + ["--format", "md"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=subprocess_env(),
        timeout=120,
    )
    assert md.returncode == 0, md.stderr
    assert md.stdout == retro.to_markdown(built)
    page = subprocess.run(
        run + ["--format", "html"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=subprocess_env(),
        timeout=120,
    )
    assert page.returncode == 0, page.stderr
    assert page.stdout.startswith("<!doctype html>")
    deployments = next(f for f in built.figures if f.key == "deployments")
    assert (
        f"<td>Deployments</td><td>{format_value(deployments.this_week, 'count')}</td>"
        in page.stdout
    )


def test_a_bad_week_says_how_to_write_one(demo_env):
    result = subprocess.run(
        [sys.executable, "-m", "metrics", "retro", "--week", "last"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=subprocess_env(),
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "tandem: --week must look like 2026-W47, got 'last'"


def test_iso_weeks():
    week = retro.iso_week("2026-W47")
    assert (week.since, week.until) == (
        dt.datetime(2026, 11, 16, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
    )
    assert retro.recent_weeks(dt.datetime(2026, 11, 24, tzinfo=dt.UTC), 3) == [
        "2026-W48",
        "2026-W47",
        "2026-W46",
    ]


def _figure(key, this, last, four, better, unit="count"):
    return Figure(key, key.replace("_", " ").capitalize(), unit, this, last, four, better)


def test_highlights_name_the_biggest_moves_in_words():
    figures = [
        _figure("deployments", 10, 4, 5, "higher"),  # +100%: best improvement
        _figure("lead_time", 12.0, 20, 24.0, "lower", "hours"),  # -50%: improvement
        _figure("incidents", 3, 1, 1.5, "lower"),  # +100%: worst regression
        _figure("throughput", 9, 10, 9.5, "higher"),  # -5%: too small to mention
        _figure("wip", None, 3, 4, "lower"),  # no value this week
    ]
    assert retro._highlights(figures) == [
        "Deployments improved: 10 this week against 5 over the last four weeks.",
        "Lead time improved: 12.0 h this week against 24.0 h over the last four weeks.",
        "Incidents got worse: 3 this week against 1.5 over the last four weeks.",
    ]
    assert retro._highlights([_figure("throughput", 9, 10, 9.5, "higher")]) == [
        "A steady week: no figure moved more than 10% from its 4-week level."
    ]


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (3, "count", "3"),
        (1.5, "count", "1.5"),
        (0.25, "share", "25%"),
        (5.0, "hours", "5.0 h"),
        (72.0, "hours", "3.0 days"),
        (None, "hours", "–"),
    ],
)
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


def test_the_rolling_week_is_the_last_7_days_and_says_which():
    # The pinned clock (Thu 19 Nov 2026, 23:00 UTC): the 7 whole days 13-19 Nov, today included.
    week = retro.rolling_week()
    assert (week.since, week.until) == (
        dt.datetime(2026, 11, 13, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
    )
    assert retro.week_label(week) == "the 7 days 13 – 19 Nov 2026 (UTC)"
    # On a Sunday the last 7 days are an ISO week, and take its name.
    sunday = retro.rolling_week(dt.datetime(2026, 11, 22, 8, tzinfo=dt.UTC))
    assert sunday == retro.iso_week("2026-W47") and retro.week_label(sunday) == "2026-W47"
