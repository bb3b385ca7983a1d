"""The weekly retrospective: figures, highlights in words, and the Markdown/HTML exports."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import settings
import warehouse
from metrics import db, delivery, flow, retro
from metrics.retro import Figure, format_value
from settings import Workflow
from tests.helpers.project import ROOT, cli, subprocess_env


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


UNITS = {
    "deployments": "count",
    "lead_time": "hours",
    "change_failure_rate": "share",
    "recovery_time": "hours",
    "incidents": "count",
    "throughput": "count",
    "cycle_time": "hours",
    "wip": "count",
    "flow_efficiency": "share",
}


def _figure(key, this, last, four=None):
    return Figure(key, key.replace("_", " ").capitalize(), UNITS[key], this, last, four)


def test_one_table_says_which_way_is_good_for_every_figure(last_week):
    _, built, _, _ = last_week
    assert [f.key for f in built.figures] == list(retro.GOOD_DIRECTION)
    assert retro.GOOD_DIRECTION == {
        "deployments": "higher",
        "lead_time": "lower",
        "change_failure_rate": "lower",
        "recovery_time": "lower",
        "rework_rate": "lower",  # DORA's fifth metric: no band, value and trend
        "incidents": "lower",
        "throughput": None,  # more, smaller tickets are not better by themselves
        "cycle_time": "lower",
        "wip": None,
        "flow_efficiency": "higher",
    }


M = "\u2212"  # the minus sign the changes are written with


# Read as a table: figure, this week, last week -> shown values, change, direction, verdict, value.
# fmt: off
CHANGES = [
    # Higher is better.
    ("deployments", 4, 5, ("4", "5"), f"{M}1 (worse)", "down", "worse", -1),
    ("deployments", 10, 4, ("10", "4"), "+6 (better)", "up", "better", 6),
    ("flow_efficiency", 0.91, 0.86, ("91%", "86%"), "+5 pts (better)", "up", "better", 5),
    ("flow_efficiency", 0.87, 0.86, ("87%", "86%"), "+1 pt (better)", "up", "better", 1),
    # 86.4% against 85.5%: both show as 86%, so the change rounds to zero.
    ("flow_efficiency", 0.864, 0.855, ("86%", "86%"), "unchanged", "unchanged", None, 0),
    # Lower is better. Hours: the row in this week's scale, days from 48 h.
    ("lead_time", 43.2, 49.0, ("43.2 h", "49.0 h"), f"{M}5.8 h (better)", "down", "better",
     -5.8),
    ("lead_time", 10.6, 80.6, ("10.6 h", "80.6 h"), f"{M}70.0 h (better)", "down", "better",
     -70),
    # 100.8 h = 4.2 days, 74.4 h = 3.1 days: the change is the shown 4.2 - 3.1, in days.
    ("cycle_time", 100.8, 74.4, ("4.2 days", "3.1 days"), "+1.1 days (worse)", "up", "worse",
     1.1),
    # The case: 3.0 days against 70.4 h (2.9 days) is +0.1 days, not "+1.6 h".
    ("cycle_time", 72.0, 70.4, ("3.0 days", "2.9 days"), "+0.1 days (worse)", "up", "worse",
     0.1),
    # 73 h and 71 h both show as 3.0 days: unchanged, although 2 h apart.
    ("cycle_time", 73.0, 71.0, ("3.0 days", "3.0 days"), "unchanged", "unchanged", None, 0),
    ("change_failure_rate", 0.25, 0.20, ("25%", "20%"), "+5 pts (worse)", "up", "worse", 5),
    ("change_failure_rate", 0.0, 1 / 6, ("0%", "17%"), f"{M}17 pts (better)", "down", "better",
     -17),
    ("incidents", 0, 1, ("0", "1"), f"{M}1 (better)", "down", "better", -1),
    ("incidents", 2, 2, ("2", "2"), "unchanged", "unchanged", None, 0),
    # Neutral: the change without a verdict.
    ("throughput", 33, 32, ("33", "32"), "+1", "up", None, 1),
    ("wip", 25, 38, ("25", "38"), f"{M}13", "down", None, -13),
    ("wip", 5, 5, ("5", "5"), "unchanged", "unchanged", None, 0),
    # A week without the figure.
    ("recovery_time", 72.0, None, ("3.0 days", "–"), "no figure last week", None, None, None),
    ("recovery_time", None, 5.0, ("–", "5.0 h"), "no figure this week", None, None, None),
    ("recovery_time", None, None, ("–", "–"), "no figure either week", None, None, None),
]
# fmt: on


@pytest.mark.parametrize(
    ("key", "this", "last", "shown", "text", "direction", "verdict", "value"), CHANGES
)
def test_a_change_reads_in_the_figures_unit_against_last_week(
    key, this, last, shown, text, direction, verdict, value
):
    f = _figure(key, this, last)
    change = f.change
    assert (f.shown("this_week"), f.shown("last_week")) == shown
    assert (change.text, change.direction, change.verdict) == (text, direction, verdict)
    assert change.basis == "last week"
    if value is None:
        assert change.value is None and not change.compared
    else:
        assert change.value == pytest.approx(value) and change.compared
    assert retro.change_text(f) == text


def test_highlights_name_the_biggest_moves_against_last_week():
    figures = [
        _figure("deployments", 10, 4),  # +150%: improvement
        _figure("lead_time", 12.0, 20.0),  # -40%: improvement, but third of three
        _figure("change_failure_rate", 0.5, 0.4),  # 50% against 40%, +25%: regression
        _figure("incidents", 3, 1),  # +200%: the worst regression
        _figure("cycle_time", 100.8, 96.0),  # 4.2 against 4.0 days, +5%: too small
        _figure("throughput", 20, 30),  # -33%, neutral: a move, neither better nor worse
        _figure("wip", None, 3),  # no figure this week
        _figure("flow_efficiency", 0.5, 0.0),  # up from 0%: the largest move there is
    ]
    assert retro._highlights(figures) == [
        "Flow efficiency improved: 50% this week against 0% last week (+50 pts).",
        "Deployments improved: 10 this week against 4 last week (+6).",
        "Incidents got worse: 3 this week against 1 last week (+2).",
        "Change failure rate got worse: 50% this week against 40% last week (+10 pts).",
        f"Throughput went down: 20 this week against 30 last week ({M}10).",
    ]
    # 4.0 to 4.3 days is 7.5%: under the 10% that makes a highlight.
    assert retro._highlights([_figure("cycle_time", 103.2, 96.0), _figure("wip", 3, 3)]) == [
        "A steady week: no figure moved 10% or more from last week."
    ]


def test_no_highlight_contradicts_a_card_in_any_recent_week(demo_project):
    """Every "improved" and "got worse" is the verdict of the figure's own change, with its
    shown numbers, in every week the page offers."""
    checked = 0
    with db.connect(demo_project.warehouse) as con:
        for label in retro.recent_weeks(settings.now(), 6):
            built = retro.build(con, retro.iso_week(label), None, None, Workflow(), label)
            for sentence in built.highlights:
                f = next((f for f in built.figures if sentence.startswith(f.label + " ")), None)
                if f is None:
                    assert sentence.startswith("A steady week"), sentence
                    continue
                verb = sentence[len(f.label) + 1 :].split(":")[0]
                expected = {"better": "improved", "worse": "got worse"}.get(
                    f.change.verdict, "went up" if f.change.direction == "up" else "went down"
                )
                assert verb == expected, sentence
                assert sentence.endswith(
                    f": {f.shown('this_week')} this week against {f.shown('last_week')} "
                    f"last week ({f.change.amount})."
                ), sentence
                checked += 1
    assert checked >= 6


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


# Two ISO weeks worked by hand, team a, model m1: W46 (Mon 9 - Sun 15 Nov) is "last week" of
# W47 (Mon 16 - Sun 22 Nov). Nothing happened before 9 Nov, so the 4 weeks hold only these two.
#
# W46: d1, d2, d3 succeed (lead times 24, 12, 24 h: median 24.0 h); no incident; ticket K1
#      finished (no history); K5 In Progress 10 Nov 09:00 -> Done 12 Nov 09:00 (48 h, all active).
# W47: d4 succeeds, d5 fails, d6 succeeds (lead times 12, 12 h: median 12.0 h); i1 opens 20 Nov
#      10:00 against d6 (the latest success) and is resolved 6 h later; d5 recovers when d6
#      finishes, 24 h later: recovery median 15.0 h, none last week. Change failures d5 and d6
#      (attributed incident): 2 of 3 = 67%, against 0 of 3. Tickets K3, K4, K6 finished; K6 In
#      Progress 16 Nov 09:00 -> Done 18 Nov 09:00 (48 h): cycle time 2.0 days both weeks.
def _frame(text: str) -> pd.DataFrame:
    rows = [line.split(",") for line in textwrap.dedent(text).strip().splitlines()]
    return pd.DataFrame(rows[1:], columns=rows[0]).replace({"": None})


FIXTURE = {
    "deployments": _frame(
        """
        deployment_id,model,environment,team,finished_at,status,kind
        d1,m1,production,a,2026-11-10 10:00,success,planned
        d2,m1,production,a,2026-11-12 10:00,success,
        d3,m1,production,a,2026-11-13 10:00,success,
        d4,m1,production,a,2026-11-17 10:00,success,
        d5,m1,production,a,2026-11-18 10:00,failed,
        d6,m1,production,a,2026-11-19 10:00,success,hotfix
        """
    ),
    "changes": _frame(
        """
        change_id,deployment_id,first_commit_at,merged_at
        c1,d1,2026-11-09 10:00,
        c2,d2,2026-11-11 22:00,
        c3,d3,2026-11-12 10:00,
        c4,d4,2026-11-16 22:00,
        c5,d6,2026-11-18 22:00,
        """
    ),
    "incidents": _frame(
        """
        incident_id,model,team,opened_at,resolved_at,deployment_id
        i1,m1,a,2026-11-20 10:00,2026-11-20 16:00,
        """
    ),
    "tickets": _frame(
        """
        ticket_id,title,work_category,team,model,role,created_at,resolved_at,status,labels
        K1,one,development,a,m1,engineering,2026-11-01 09:00,2026-11-10 12:00,Done,
        K3,three,development,a,m1,engineering,2026-11-01 09:00,2026-11-17 12:00,Done,
        K4,four,development,a,m1,engineering,2026-11-01 09:00,2026-11-18 12:00,Done,
        K5,five,development,a,m1,engineering,2026-11-01 09:00,2026-11-12 09:00,Done,
        K6,six,development,a,m1,engineering,2026-11-01 09:00,2026-11-18 09:00,Done,
        """
    ),
    "ticket_transitions": _frame(
        """
        ticket_id,at,from_status,to_status,role
        K5,2026-11-10 09:00,To Do,In Progress,engineering
        K5,2026-11-12 09:00,In Progress,Done,engineering
        K6,2026-11-16 09:00,To Do,In Progress,engineering
        K6,2026-11-18 09:00,In Progress,Done,engineering
        """
    ),
}

# figure: (this week, last week, change as the card shows it, verdict)
HAND_WORKED = {
    "deployments": ("2", "3", f"{M}1 (worse)", "worse"),
    "lead_time": ("12.0 h", "24.0 h", f"{M}12.0 h (better)", "better"),
    "change_failure_rate": ("67%", "0%", "+67 pts (worse)", "worse"),
    "recovery_time": ("15.0 h", "–", "no figure last week", None),
    # d6 is a hotfix: 1 of this week's 2 successes (d4, d6); none of last week's 3
    "rework_rate": ("50%", "0%", "+50 pts (worse)", "worse"),
    "incidents": ("1", "0", "+1 (worse)", "worse"),
    "throughput": ("3", "2", "+1", None),  # neutral: up, neither better nor worse
    "cycle_time": ("2.0 days", "2.0 days", "unchanged", None),
    "wip": ("0", "0", "unchanged", None),
    "flow_efficiency": ("100%", "100%", "unchanged", None),
}


@pytest.fixture(scope="module")
def two_weeks(tmp_path_factory):
    from connectors.loader import Batch, Loader

    path = tmp_path_factory.mktemp("retro") / "w.duckdb"
    source = settings.SourceConfig(name="fixture", kind="test")
    with warehouse.writing(path) as write:
        loader = Loader(write, source, "s1")
        for feed, frame in FIXTURE.items():
            assert loader.load(Batch(feed, f"fixture:{feed}", frame=frame)).quarantined == 0
    con = db.prepare(warehouse.connect_read(path))
    yield con
    con.close()


def test_two_hand_worked_weeks(two_weeks):
    built = retro.build(two_weeks, retro.iso_week("2026-W47"), None, None, Workflow(), "2026-W47")
    shown = retro.to_dict(built)
    assert shown["basis"] == "last week"
    assert shown["last_week"] == {
        "since": "2026-11-09T00:00:00+00:00",
        "until": "2026-11-16T00:00:00+00:00",
    }
    got = {
        f["key"]: (
            f["shown"]["this_week"],
            f["shown"]["last_week"],
            f["change"]["text"],
            f["change"]["verdict"],
        )
        for f in shown["figures"]
    }
    assert got == HAND_WORKED
    # A rate says what it counts, so 67% does not read as a share of the 2 deployments beside it.
    details = {f["key"]: f["detail"] for f in shown["figures"] if f["detail"]}
    assert details == {
        "deployments": "successful production deployments",
        "change_failure_rate": "2 of 3 production deployments failed, were rolled back or "
        "caused an incident; the 3 include 1 that did not succeed",
        "rework_rate": "1 of 2 successful production deployments",
    }
    # Levels are named for what they are; the rework rate has none; the rule in force is said.
    assert {f["key"]: f["level"] for f in shown["figures"]}["rework_rate"] is None
    assert shown["attribution"]["window_hours"] is None
    assert shown["notes"][:2] == [retro.LEVELS_NOTE, retro.REWORK_NOTE]
    assert "DORA's 2023 bands" in retro.LEVELS_NOTE and "team profiles" in retro.LEVELS_NOTE
    markdown = retro.to_markdown(built)
    assert "| DORA level (2023 bands) |" in markdown
    # 4 weeks: d6 of the five successes d1, d2, d3, d4, d6
    assert "| Deployment rework rate | 50% | 0% | 20% | +50 pts (worse) |  |" in markdown
    assert "_Incident attribution: named deployment, else the model's latest" in markdown
    assert "_Change failure rate this week: 2 of 3 production deployments failed" in markdown
    assert "<th>DORA level (2023 bands)</th>" in retro.to_html(built)
    # Whose figures: every team's, or for a signed-in member the teams they see.
    assert "Mon 16 Nov 2026 to Sun 22 Nov 2026 (UTC), all teams." in markdown
    mine = "(UTC), your teams: a, b."
    assert mine in retro.to_markdown(built, everything="your teams: a, b")
    assert mine in retro.to_html(built, everything="your teams: a, b")
    # The 4-week figure: counts as the weekly average (5 deployments, 5 tickets / 4 = 1.25,
    # shown to one decimal, half to even), medians over the 28 days.
    four = {f["key"]: f["shown"]["four_weeks"] for f in shown["figures"]}
    assert (four["deployments"], four["lead_time"], four["throughput"]) == ("1.2", "12.0 h", "1.2")
    # The same basis and verdicts in words: from 0 (failures, rework, incidents) any move counts
    # and ranks first, in the figures' order; fewer deployments (33%) and incidents are past the
    # two shown.
    assert shown["highlights"] == [
        f"Lead time (median) improved: 12.0 h this week against 24.0 h last week ({M}12.0 h).",
        "Change failure rate got worse: 67% this week against 0% last week (+67 pts).",
        "Deployment rework rate got worse: 50% this week against 0% last week (+50 pts).",
        "Tickets finished went up: 3 this week against 2 last week (+1).",
    ]
    # Another team has none of it: no figure either week, or zero counts unchanged.
    other = retro.build(two_weeks, retro.iso_week("2026-W47"), "b", None, Workflow(), "2026-W47")
    texts = {f.key: f.change.text for f in other.figures}
    assert texts["lead_time"] == "no figure either week" and texts["deployments"] == "unchanged"
    assert other.highlights == ["A steady week: no figure moved 10% or more from last week."]


def _json_cli(*args: str) -> dict:
    return json.loads(cli("metrics", "retro", "--format", "json", *args))


def test_the_cli_prints_the_retro_as_json(demo_env, last_week):
    label, built, summary, _ = last_week
    printed = _json_cli("--week", label)
    expected = json.loads(json.dumps(retro.to_dict(built)))
    # Sums of floats may differ in the last digit between two runs of DuckDB: the values are
    # compared to 1e-9, what is shown exactly.
    raw = ("this_week", "last_week", "four_weeks")
    for got, want in zip(printed.pop("figures"), expected.pop("figures"), strict=True):
        for k in raw:
            assert got[k] == (None if want[k] is None else pytest.approx(want[k], rel=1e-9))
        assert {k: v for k, v in got.items() if k not in raw} == {
            k: v for k, v in want.items() if k not in raw
        }
    assert printed == expected
    assert printed["label"] == label and printed["basis"] == "last week"
    deployments = next(f for f in built.figures if f.key == "deployments").as_dict()
    assert deployments["this_week"] == summary["deployments"]
    assert deployments["shown"]["this_week"] == str(summary["deployments"])
    # The Markdown table says the same changes.
    markdown = retro.to_markdown(built)
    for f in built.figures:
        assert _cells(markdown, f.label)[4] == f.change.text, f.key


def test_the_json_honours_the_team_and_the_model(demo_env):
    everything = _json_cli()
    model = _json_cli("--model", "fraud")
    assert model["week"]["model"] == "fraud" and everything["week"]["model"] is None
    week = retro.rolling_week()
    ((count,),) = demo_env.query(
        "select count(*) from incidents where model = 'fraud' and opened_at >= $since and "
        "opened_at < $until",
        {"since": week.since, "until": week.until},
    )
    shown = {f["key"]: f for f in model["figures"]}
    assert shown["incidents"]["this_week"] == count == 1
    # fraud's one deployment of the week carries changes of fewer than 3 authors: withheld
    assert shown["deployments"]["this_week"] is None
    assert shown["deployments"]["withheld"] == "fewer than 3 people — hidden"
    assert model["figures"] != everything["figures"]
