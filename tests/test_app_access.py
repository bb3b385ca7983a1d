"""Who sees what on the screens: every page through app.py as each kind of signed-in person.

AppTest seeds `st.user` (what Streamlit's OpenID Connect puts there after a sign-in) and the
`[auth]` secrets; tests/test_signin.py signs in for real, through a real OpenID provider in
Chromium. Here: the scope of each person on every page, on the demo warehouse, against the
figures the unscoped engine gives for the same teams.
"""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import settings
from metrics import access, writeback
from metrics import columns as column_specs
from pages.tables import ROWS_WITHHELD
from tests.helpers.project import ROOT, Project

APP = str(ROOT / "app.py")
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-cookie-secret-for-tests-only",
    "client_id": "tandem",
    "client_secret": "a-client-secret-for-tests-only",
    "server_metadata_url": "http://localhost:1/.well-known/openid-configuration",
}
ACCESS = """
[access]
allow  = ["*@example.com"]
admins = ["ops@example.com"]

[[access.teams]]
team    = "growth"
members = ["alice@example.com", "group:growth-ds"]
viewers = ["cfo@example.com"]

[[access.teams]]
team    = "risk"
members = ["bob@example.com", "group:risk-ds"]
"""


@pytest.fixture(autouse=True)
def fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def company(demo_project: Project, tmp_path, monkeypatch) -> Project:
    """The demo warehouse under a config with `[access]`, and a notes store of its own."""
    project = Project(tmp_path)
    project.config_path.write_text(
        f'[warehouse]\npath = "{demo_project.warehouse}"\n\n'
        f'[notes]\nurl = "sqlite:///{tmp_path / "notes.sqlite"}"\n\n'
        '[[sources]]\nname = "demo"\nkind = "demo"\nend = "2026-11-19"\n' + ACCESS,
        encoding="utf-8",
    )
    monkeypatch.setenv("TANDEM_CONFIG", str(project.config_path))
    return project


def _open(email: str | None, page: str | None = None, groups=(), **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = (
        {"is_logged_in": False}
        if email is None
        else {"is_logged_in": True, "email": email, "groups": list(groups), "name": "Someone"}
    )
    at.query_params.update(query)
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def _figures(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _sidebar_text(at: AppTest) -> str:
    return " ".join(c.value for c in at.sidebar.caption)


def _team_choices(at: AppTest) -> list[str]:
    return next(s.options for s in at.sidebar.selectbox if s.label == "Team")


def _log(project: Project) -> list[tuple[str, str, str]]:
    cfg = settings.load(project.config_path)
    return [(e.who, e.event, e.detail) for e in writeback.access_log(cfg)]


def _log_scopes(project: Project) -> list[tuple[str, str, str]]:
    cfg = settings.load(project.config_path)
    return [(e.who, e.event, e.scope) for e in writeback.access_log(cfg)]


def test_open_mode_says_so_and_shows_everything(demo_env):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert "open mode: anyone who can reach this port sees everything" in _sidebar_text(at)
    assert int(_figures(at)["Deployments"]) > 0
    assert _team_choices(at) == ["All", "forecasting", "growth", "risk"]


def test_access_without_sign_in_shows_nothing_rather_than_everything(company):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception and not at.metric
    assert "[access] is set in the configuration but sign-in is not" in at.error[0].value


def test_before_signing_in_there_is_a_button_and_no_number(company):
    at = _open(None)
    assert not at.exception and not at.metric
    assert [b.label for b in at.button] == ["Sign in"]


def test_a_stranger_is_not_allowed_and_the_refusal_is_logged(company):
    at = _open("eve@elsewhere.org")
    assert not at.metric
    assert "not allowed" in at.error[0].value
    assert [b.label for b in at.button] == ["Sign out"]
    assert _log(company)[0][:2] == ("eve@elsewhere.org", "refused")
    # Allowed by the glob, but in no team: refused too, and says why.
    at = _open("dave@example.com")
    assert not at.metric and "in no team" in at.error[0].value


def test_a_member_sees_their_team_as_all_and_its_figures(company):
    at = _open("alice@example.com")
    assert not at.exception and not at.error
    assert _team_choices(at) == ["All", "growth"]
    assert "Signed in as **alice@example.com** · member of growth" in _sidebar_text(at)
    # The week's heading says whose "All" it is, not "all teams".
    heading = at.caption[0].value
    assert heading.endswith(
        ", your team: growth. Changes are against last week; the 4-week "
        "figure is the weekly average for counts and the 28-day value for medians and rates."
    )
    assert "all teams" not in heading
    # Their "All" is the growth team's figures, as an admin sees them for team growth.
    admin = _open("ops@example.com", team="growth")
    assert _figures(at) == _figures(admin)
    assert ("alice@example.com", "sign_in", "member of growth") in [
        (who, event, scope) for who, event, scope in _log_scopes(company)
    ]


def test_a_link_to_another_team_or_its_model_shows_no_number(company):
    for query in ({"team": "risk"}, {"model": "fraud"}, {"team": "no-such-team"}):
        at = _open("alice@example.com", **query)
        assert not at.exception
        assert not at.metric, query
        assert "not in your teams" in at.error[0].value
    assert [event for _, event, _ in _log(company)].count("not_in_scope") == 3


def test_a_member_of_two_teams_sees_both_each_item_once(company):
    at = _open("carol@example.com", groups=["growth-ds", "risk-ds"])
    assert _team_choices(at) == ["All", "growth", "risk"]
    # Tickets finished: risk's deployments this week carry one author's changes, withheld
    # (metrics.privacy); its tickets have six assignees.
    figure = "Tickets finished"
    both = int(_figures(at)[figure])
    growth = int(_figures(_open("alice@example.com"))[figure])
    risk = int(_figures(_open("bob@example.com"))[figure])
    assert both == growth + risk and growth > 0 and risk > 0
    assert _figures(_open("bob@example.com"))["Deployments"] == "Hidden"
    admin = int(_figures(_open("ops@example.com"))[figure])
    assert both < admin


def test_a_viewer_sees_figures_not_rows_on_three_pages(company):
    at = _open("cfo@example.com")
    assert not at.exception and not at.error
    assert int(_figures(at)["Deployments"]) >= 0
    assert ROWS_WITHHELD in [c.value for c in at.caption]
    # The retro's summary tables (per team, per model) stay; no table lists single items.
    items = {
        column_specs.COLUMNS[c].label for c in access.ITEM_COLUMNS if c in column_specs.COLUMNS
    }
    assert at.dataframe and all(items.isdisjoint(d.value.columns) for d in at.dataframe)
    member = _open("alice@example.com")
    assert any(not items.isdisjoint(d.value.columns) for d in member.dataframe)
    assert ROWS_WITHHELD not in [c.value for c in member.caption]
    from app import VIEWER_PAGES  # noqa: PLC0415 (importing app runs nothing outside Streamlit)

    assert VIEWER_PAGES == ("Weekly retrospective", "KPI check", "Model overview")


def test_a_person_removed_from_access_is_refused_on_their_next_click(company):
    at = _open("alice@example.com")
    assert at.metric
    text = company.config_path.read_text(encoding="utf-8")
    company.config_path.write_text(text.replace('"alice@example.com", ', ""), encoding="utf-8")
    at.run()
    assert not at.metric
    assert "in no team" in at.error[0].value


def test_quarantine_content_and_the_access_log_are_for_admins(company):
    _open("alice@example.com")
    admin = _open("ops@example.com", "pages/data_sources.py")
    assert not admin.exception
    assert "Access log" in [s.value for s in admin.subheader]
    logged = next(d.value for d in admin.dataframe if "Who" in d.value.columns)
    assert "alice@example.com" in set(logged["Who"])
    member = _open("alice@example.com", "pages/data_sources.py")
    assert "Access log" not in [s.value for s in member.subheader]
    assert all("Raw row" not in d.value.columns for d in member.dataframe)
