"""Minimum group size: team-level figures built from fewer than k people are withheld, on the
retro page, in its Markdown export and in `report --json`; figures of k people or more show."""

from __future__ import annotations

import json

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import settings
from metrics import db, privacy, registry, retro
from metrics.filters import Filters
from tests.helpers.project import ROOT, Project, cli

APP = str(ROOT / "app.py")
HIDDEN = "fewer than 3 people — hidden"

# The pinned clock's last 7 days are 13 to 19 November 2026 (the retro's default week). Team a
# deploys twice with changes of 2 authors; team b three times with changes of 3 authors, its
# last deployment failed (its change never ships).
DEPLOYMENTS = """\
deployment_id,model,team,environment,started_at,finished_at,status
da1,ma,a,production,2026-11-17 09:00,2026-11-17 10:00,success
da2,ma,a,production,2026-11-18 09:00,2026-11-18 10:00,success
db1,mb,b,production,2026-11-17 11:00,2026-11-17 12:00,success
db2,mb,b,production,2026-11-18 11:00,2026-11-18 12:00,success
db3,mb,b,production,2026-11-19 11:00,2026-11-19 12:00,failed
"""
# Lead times: ca1 24 h, ca2 12 h (team a); cb1 6 h, cb2 24 h (team b; cb3 is not shipped).
CHANGES = """\
change_id,deployment_id,first_commit_at,merged_at,author,title
ca1,da1,2026-11-16 10:00,2026-11-17 08:00,alice,one
ca2,da2,2026-11-17 22:00,2026-11-18 08:00,bob,two
cb1,db1,2026-11-17 06:00,2026-11-17 10:00,carol,three
cb2,db2,2026-11-17 12:00,2026-11-18 10:00,dave,four
cb3,db3,2026-11-19 10:00,2026-11-19 11:00,erin,five
"""


def _configure(project: Project, min_people: int | None) -> Project:
    project.file("exports/deployments.csv", DEPLOYMENTS)
    project.file("exports/changes.csv", CHANGES)
    privacy_block = f"[privacy]\nmin_people = {min_people}\n" if min_people else ""
    project.configure(
        f"""
        {privacy_block}
        [[sources]]
        name = "deploys"
        kind = "files"
        feed = "deployments"
        path = "exports/deployments.csv"

        [[sources]]
        name = "changes"
        kind = "files"
        feed = "changes"
        path = "exports/changes.csv"
        """
    )
    report = project.sync()
    assert report.ok, report.as_dict()
    return project


@pytest.fixture
def two_teams(project: Project) -> Project:
    return _configure(project, None)


@pytest.fixture(autouse=True)
def fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.mark.parametrize(
    ("people", "k", "withheld"),
    [
        (0, 3, False),  # nobody: no figure at all, nothing to hide
        (None, 3, False),
        (1, 3, True),
        (2, 3, True),
        (3, 3, False),
        (2, 2, False),
        (1, 2, True),
        (1, 1, False),
    ],
)
def test_withheld_from_one_up_to_k_people(people, k, withheld):
    found = privacy.withhold(people, k)
    assert (found is not None) == withheld
    if found:
        assert found.reason == f"fewer than {k} people — hidden"


def test_the_people_behind_each_team(two_teams):
    week = retro.rolling_week()
    with db.connect(two_teams.warehouse) as con:
        counted = {
            team: privacy.people(con, Filters(week.since, week.until, team))["authors"]
            for team in ("a", "b", None)
        }
        before = privacy.people(con, week.previous())
    assert counted == {"a": 2, "b": 3, None: 5}
    assert before == {"authors": 0, "assignees": 0}


def _report(project: Project, *args: str) -> dict:
    return _whole_report(project, *args)["delivery"]


def test_report_json_withholds_team_a_and_shows_team_b_and_all(two_teams):
    a = _report(two_teams, "--team", "a", "--detail")
    assert a["withheld"] == HIDDEN
    assert a["deployments"] is None and a["lead_time_hours"] is None
    assert a["change_failure_rate"] is None and a["levels"] is None
    assert a["detail"] is None  # the rows behind withheld figures go with them

    b = _report(two_teams, "--team", "b")
    assert b["withheld"] is None
    # db1, db2 succeeded, db3 failed: 2 deployments, 1 failure of 3 attempts; lead times 6, 24 h
    assert (b["deployments"], b["failed_deployments"], b["deployments_attempted"]) == (2, 1, 3)
    assert b["change_failure_rate"] == pytest.approx(1 / 3)
    assert b["lead_time_hours"]["median"] == 15.0

    every = _report(two_teams)
    assert every["withheld"] is None
    # 5 authors: 4 successes of 5 attempts; lead times 24, 12, 6, 24 h
    assert (every["deployments"], every["deployments_attempted"]) == (4, 5)
    assert every["change_failure_rate"] == pytest.approx(0.2)
    assert every["lead_time_hours"]["median"] == 18.0


def test_at_k_2_both_teams_show(project):
    _configure(project, 2)
    a = _report(project, "--team", "a")
    assert a["withheld"] is None
    assert (a["deployments"], a["change_failure_rate"]) == (2, 0.0)
    assert a["lead_time_hours"]["median"] == 18.0  # 24 and 12 h
    assert _report(project, "--team", "b")["deployments"] == 2


def _cells(markdown: str, label: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_markdown_export_hides_team_a(two_teams):
    week = retro.rolling_week()
    config = settings.load(two_teams.config_path)
    with db.connect(two_teams.warehouse) as con:
        built = {
            team: retro.build(con, week, team, None, config.workflow, "w", config.min_people)
            for team in ("a", "b")
        }
    a = retro.to_markdown(built["a"])
    # this week and the 4 weeks (the same 2 authors) hidden, no change, no level; last week had
    # nobody: no figure to hide
    for label, last in (
        ("Deployments", "0"),
        ("Lead time (median)", "–"),
        ("Change failure rate", "–"),
    ):
        assert _cells(a, label)[1:] == ["Hidden", last, "Hidden", "hidden", ""], label
    assert "| Incidents opened | 0 |" in a  # no people basis: shown
    assert "fewer than 3 people is not shown ([privacy] min_people = 3)" in a
    assert "18.0 h" not in a and "24.0 h" not in a
    assert not any("Deployments" in h or "Lead time" in h for h in built["a"].highlights)

    b = retro.to_markdown(built["b"])
    assert _cells(b, "Deployments")[1] == "2"
    assert _cells(b, "Lead time (median)")[1] == "15.0 h"
    assert _cells(b, "Change failure rate")[1] == "33%"
    assert "Hidden" not in b
    assert "Change failure rate this week: 1 of 3 production deployments" in b
    assert retro.to_dict(built["a"])["figures"][0]["withheld"] == HIDDEN
    # The counts behind a hidden rate are hidden with it.
    assert not any(f["detail"] for f in retro.to_dict(built["a"])["figures"])
    assert "this week: " not in a


def test_per_team_rows_are_withheld_one_by_one(two_teams):
    config = settings.load(two_teams.config_path)
    month = Filters(retro.rolling_week().until - retro.WEEK * 4, retro.rolling_week().until)
    with db.connect(two_teams.warehouse) as con:
        teams = registry.run("delivery_by_team", con, month, config)
        changes_a = registry.run(
            "delivery_changes", con, Filters(month.since, month.until, "a"), config
        )
        changes_b = registry.run(
            "delivery_changes", con, Filters(month.since, month.until, "b"), config
        )
    rows = teams.set_index("team")
    assert rows.loc["a", "withheld"] == HIDDEN and rows.loc["a"].isna()["deployments"]
    assert rows.loc["b", "deployments"] == 2 and rows.loc["b", "withheld"] is None
    assert privacy.rows_note(teams, "team") == f"Hidden for a: {HIDDEN}."
    assert isinstance(changes_a, privacy.Withheld)
    assert sorted(changes_b["change_id"]) == ["cb1", "cb2"]  # cb3 never shipped


def _retro_page(project: Project, monkeypatch, team: str) -> AppTest:
    monkeypatch.setenv("TANDEM_CONFIG", str(project.config_path))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"team": team})
    at.run()
    assert not [e.value for e in at.exception] + [e.value for e in at.error]
    return at


def test_the_retro_page_shows_hidden_for_team_a(two_teams, monkeypatch):
    at = _retro_page(two_teams, monkeypatch, "a")
    cards = {m.label: m for m in at.metric}
    for label in ("Deployments", "Lead time (median)", "Change failure rate"):
        assert cards[label].value == "Hidden", label
        assert cards[label].proto.help.startswith("Fewer than 3 people — hidden"), label
    assert cards["Incidents opened"].value == "0"
    captions = [c.value for c in at.caption]
    assert f"Hidden: {HIDDEN}." in captions
    # the changes behind the withheld figures are not listed (no table has the change ids)
    assert not any("ca1" in d.value.to_string() for d in at.dataframe)

    at = _retro_page(two_teams, monkeypatch, "b")
    cards = {m.label: m.value for m in at.metric}
    assert (cards["Deployments"], cards["Lead time (median)"]) == ("2", "15.0 h")
    assert cards["Change failure rate"] == "33%"


def _whole_report(project: Project, *args: str) -> dict:
    config = ("--config", str(project.config_path))
    window = ("--since", "2026-11-13", "--until", "2026-11-20")
    return json.loads(cli("metrics", "report", *config, *window, "--json", *args))


def test_no_other_count_gives_a_withheld_figure_away(two_teams, monkeypatch):
    a = _whole_report(two_teams, "--team", "a")
    # Team a's 2 production deployments, hidden on the retro, are not counted elsewhere either.
    assert a["activity"]["withheld"] == HIDDEN
    for key in ("deployments", "successful_deployments", "failed_deployments"):
        assert a["activity"][key] is None, key
    assert a["activity"]["incidents_opened"] == 0  # no people behind it: shown
    assert a["models"]["ma"]["deployments"] is None
    assert a["models"]["ma"]["deployments_withheld"] == HIDDEN

    b = _whole_report(two_teams, "--team", "b")
    # db1, db2 succeeded, db3 failed: 3 production deployments of 3 authors
    activity = b["activity"]
    assert activity["withheld"] is None
    assert (activity["deployments"], activity["successful_deployments"]) == (3, 2)
    assert activity["failed_deployments"] == 1
    assert b["models"]["mb"]["deployments"] == 3
    assert b["models"]["mb"]["deployments_withheld"] is None

    # Model overview of ma: the count says Hidden and no deployment is listed.
    monkeypatch.setenv("TANDEM_CONFIG", str(two_teams.config_path))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"team": "a", "model": "ma"})
    at.run()
    at.switch_page("pages/model_overview.py").run()
    assert not [e.value for e in at.exception] + [e.value for e in at.error]
    cards = {m.label: m for m in at.metric}
    assert cards["Deployments"].value == "Hidden"
    assert cards["Deployments"].proto.help.startswith("Fewer than 3 people — hidden")
    assert not any("da1" in d.value.to_string() for d in at.dataframe)

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"team": "b", "model": "mb"})
    at.run()
    at.switch_page("pages/model_overview.py").run()
    assert {m.label: m.value for m in at.metric}["Deployments"] == "3"


def test_a_windows_people_are_counted_once_within_a_run_and_anew_outside(two_teams, monkeypatch):
    week = retro.rolling_week()
    team_a = Filters(week.since, week.until, "a")
    queries = []
    counted = privacy.rows

    def counting(con, name, **params):
        queries.append(params["team"])
        return counted(con, name, **params)

    monkeypatch.setattr(privacy, "rows", counting)
    with db.connect(two_teams.warehouse) as con:
        with privacy.counted_once():
            found = [privacy.withheld(con, f, 3)["authors"] for f in (team_a, team_a, week)]
            again = privacy.people(con, Filters(week.since, week.until, "a"))
        assert queries == ["a", None]  # team a once, everyone once
        assert [bool(w) for w in found] == [True, True, False] and again["authors"] == 2
        # Outside the block nothing is kept: each call counts again.
        privacy.people(con, team_a)
        privacy.people(con, team_a)
    assert queries == ["a", None, "a", "a"]
