"""Who sees which teams: `[access]` read strictly, the policy on hand-made configs, and its
enforcement on a real synced demo warehouse (scoped views, "not in your teams", the loader)."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import settings
import warehouse
from metrics import access, delivery, registry, session
from metrics.access import LOCAL, NotAllowed, NotInScope, Scope, User
from metrics.filters import Filters, last_days

ACCESS = """
[access]
allow = ["*@example.com", "group:contractors"]
admins = ["ops@example.com"]

[[access.teams]]
team = "growth"
members = ["alice@example.com", "group:growth-ds"]
viewers = ["cfo@example.com"]

[[access.teams]]
team = "risk"
members = ["r-*@example.com", "alice@example.com"]
viewers = ["cfo@example.com", "bob@example.com"]

[[access.teams]]
team = "forecasting"
members = ["bob@example.com"]
"""


def _access(text: str) -> settings.AccessConfig:
    return settings.parse(tomllib.loads(text), Path("."), "sources.toml").access


def _user(email: str, *groups: str) -> User:
    return User(email, frozenset(groups))


# -- the policy ----------------------------------------------------------------------------------


def test_without_access_everyone_is_the_local_admin():
    config = settings.parse({}, Path("."), "sources.toml")
    assert config.access == settings.AccessConfig() and not config.access.configured
    assert access.resolve(config.access, _user("anyone@elsewhere.org")) == LOCAL
    assert LOCAL.admin and LOCAL.teams is None and LOCAL.describe() == "admin: every team"
    assert LOCAL.everything == "all teams"


def test_who_may_sign_in_and_what_they_see():
    policy = _access(ACCESS)
    # Not matching allow: refused, and the reason says who.
    with pytest.raises(NotAllowed, match="mallory@evil.org is not allowed"):
        access.resolve(policy, _user("mallory@evil.org"))
    # Allowed but in no team: refused, saying so.
    with pytest.raises(NotAllowed) as refused:
        access.resolve(policy, _user("dave@example.com"))
    assert str(refused.value) == "signed in as dave@example.com but in no team of [access]"
    # The admin: every team, whatever the teams say.
    admin = access.resolve(policy, _user("OPS@Example.com"))
    assert admin.admin and admin.role == "admin" and admin.teams is None
    assert admin.who == "ops@example.com" and admin.key() == LOCAL.key() == "admin"
    # A member through a group claim (allowed through another group).
    ds = access.resolve(policy, _user("x@partner.io", "contractors", "growth-ds"))
    assert ds.member_teams == {"growth"} and not ds.viewer_teams and ds.role == "member"
    # The group claim matches exactly: no glob, no case folding.
    with pytest.raises(NotAllowed, match="in no team"):
        access.resolve(policy, _user("y@example.com", "Growth-DS", "growth-*"))
    # A member through an email glob, case-insensitively.
    glob = access.resolve(policy, _user("R-Quinn@EXAMPLE.com"))
    assert glob.member_teams == {"risk"} and glob.describe() == "member of risk"
    # Two teams: the union.
    alice = access.resolve(policy, _user("alice@example.com"))
    assert alice.teams == {"growth", "risk"} and alice.describe() == "member of growth, risk"
    # A viewer only.
    cfo = access.resolve(policy, _user("cfo@example.com"))
    assert cfo.role == "viewer" and cfo.viewer_teams == {"growth", "risk"}
    assert not cfo.member_teams and cfo.describe() == "viewer of growth, risk"
    # Member of one team, viewer of another.
    bob = access.resolve(policy, _user("bob@example.com"))
    assert (bob.member_teams, bob.viewer_teams) == ({"forecasting"}, {"risk"})
    assert bob.role == "member" and bob.describe() == "member of forecasting; viewer of risk"
    assert bob.key() == "member:forecasting;viewer:risk"
    # What "All" covers, in the retro's heading and its downloads.
    assert (glob.everything, alice.everything) == ("your team: risk", "your teams: growth, risk")


def test_member_and_viewer_of_one_team_is_its_member():
    policy = _access(
        """
        [access]
        allow = ["*@example.com"]
        [[access.teams]]
        team = "growth"
        members = ["*@example.com"]
        viewers = ["cfo@example.com"]
        """
    )
    cfo = access.resolve(policy, _user("cfo@example.com"))
    assert cfo.member_teams == {"growth"} and cfo.viewer_teams == frozenset()


def test_rows_behind_the_numbers_are_for_members():
    bob = Scope("bob", member_teams=frozenset({"forecasting"}), viewer_teams=frozenset({"risk"}))
    week = last_days(7)
    assert bob.sees_rows(Filters(week.since, week.until, "forecasting"))
    assert not bob.sees_rows(Filters(week.since, week.until, "risk"))
    # Every team in scope: rows only when every one of them is a member team.
    assert not bob.sees_rows(week)
    assert Scope("m", member_teams=frozenset({"growth", "risk"})).sees_rows(week)
    assert not Scope("v", viewer_teams=frozenset({"growth"})).sees_rows(week)
    assert LOCAL.sees_rows(week)
    # The key ignores who: two people who see the same teams share cached numbers.
    assert bob.key() == Scope("other", False, bob.member_teams, bob.viewer_teams).key()
    assert hash(bob) == hash(Scope("bob", False, bob.member_teams, bob.viewer_teams))


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[access]\nallow = "*@example.com"', r"\[access\] allow must be a list of email globs"),
        ("[access]\nadmins = []", r"\[access\] needs allow"),
        ("[access]\nallow = []", r"\[access\] allow is empty"),
        ('[access]\nallow = ["*@x.com"]\ndeny = []', r"\[access\] has unknown keys deny"),
        ("[access]\nallow = [3]", r"\[access\] allow must be a list of email globs.*entry 3"),
        ('[access]\nallow = ["alice"]', r"\[access\] allow: 'alice' is neither an email glob"),
        ('[access]\nallow = ["*@x.com"]\nadmins = ["group:"]', r"admins: 'group:' names no group"),
        (
            '[access]\nallow = ["*@x.com"]\n[[access.teams]]\nteam = "a"\n[[access.teams]]\n'
            'members = ["b@x.com"]',
            r"\[\[access.teams\]\] #2 needs a team",
        ),
        (
            '[access]\nallow = ["*@x.com"]\n[[access.teams]]\nteam = "a"\n[[access.teams]]\n'
            'team = "a"',
            r"\[\[access.teams\]\] 'a': the team is listed twice",
        ),
        (
            '[access]\nallow = ["*@x.com"]\n[[access.teams]]\nteam = "a"\nmember = ["b@x.com"]',
            r"\[\[access.teams\]\] 'a' has unknown keys member",
        ),
        (
            '[access]\nallow = ["*@x.com"]\n[[access.teams]]\nteam = "a"\nviewers = "b@x.com"',
            r"\[\[access.teams\]\] 'a' viewers must be a list of email globs",
        ),
        ('access = ["*@x.com"]', r"\[access\] must be a table"),
    ],
)
def test_bad_access_config_is_one_line_naming_the_key(toml, message):
    with pytest.raises(settings.ConfigError, match=message) as error:
        _access(toml)
    assert "\n" not in str(error.value) and str(error.value).startswith("sources.toml: ")


def test_check_refuses_teams_and_models_outside_the_scope():
    pairs = {("growth", "recommender"), ("risk", "churn"), (None, "orphan"), ("growth", None)}
    growth = Scope("g", member_teams=frozenset({"growth"}))
    week = last_days(7)
    access.check(Filters(week.since, week.until, "growth", "recommender"), growth, pairs)
    access.check(None, growth, pairs)
    for team, model, which in [
        ("risk", None, "team risk"),
        (None, "churn", "model churn"),
        # A model of no known team is nobody's but the admins'.
        (None, "orphan", "model orphan"),
        (None, "never-seen", "model never-seen"),
    ]:
        with pytest.raises(NotInScope) as refused:
            access.check(Filters(week.since, week.until, team, model), growth, pairs)
        assert str(refused.value) == "not in your teams" and refused.value.which == which
    # A model passed apart from the filters (the drift readings) is checked too.
    with pytest.raises(NotInScope, match="^not in your teams$"):
        access.check(None, growth, pairs, model="churn")
    access.check(Filters(week.since, week.until, "risk", "orphan"), LOCAL, pairs, "x")


# -- enforcement on the demo warehouse -----------------------------------------------------------

GROWTH = Scope("alice", member_teams=frozenset({"growth"}))
RISK = Scope("r", member_teams=frozenset({"risk"}))
GROWTH_RISK = Scope("alice", member_teams=frozenset({"growth", "risk"}))


def _config(project) -> settings.Config:
    return settings.load(project.config_path)


def _run(project, scope: Scope | None, name: str, filters: Filters | None, *extra):
    config = _config(project)
    with session.reading(project.warehouse, scope, config.contracts) as con:
        return registry.run(name, con, filters, config, *extra)


def _frequency(project, scope: Scope | None, filters: Filters) -> dict:
    config = _config(project)
    with session.reading(project.warehouse, scope, config.contracts) as con:
        return delivery.deployment_frequency(con, filters)


def test_a_members_figures_are_their_teams_figures(demo_project):
    month = last_days(28)
    growth_only = Filters(month.since, month.until, "growth")
    # The deployment frequency of a member of growth is growth's, computed unscoped.
    scoped = _frequency(demo_project, GROWTH, month)
    assert scoped == _frequency(demo_project, None, growth_only)
    assert scoped["deployments"] > 0
    # The rows behind it, and the per-team table: growth's alone.
    deployments = _run(demo_project, GROWTH, "delivery_deployments", month)
    assert deployments.equals(_run(demo_project, None, "delivery_deployments", growth_only))
    assert set(deployments["team"]) == {"growth"} and len(deployments) == scoped["deployments"]
    by_team = _run(demo_project, GROWTH, "delivery_by_team", month)
    unscoped = _run(demo_project, None, "delivery_by_team", month)
    assert list(by_team["team"]) == ["growth"]
    assert by_team.iloc[0].equals(unscoped[unscoped["team"] == "growth"].iloc[0])
    # KPI check's incidents and KPIs: growth's models' only.
    incidents = _run(demo_project, GROWTH, "incidents", month)
    assert incidents.equals(_run(demo_project, None, "incidents", growth_only))
    kpis = _run(demo_project, GROWTH, "kpi_daily", month)
    assert kpis.equals(_run(demo_project, None, "kpi_daily", growth_only))
    assert set(kpis["model"]) == {"recommender", "search_ranking"}
    # The sidebar's choices and the contract statuses: growth's models only, though the
    # contracts name every team's.
    catalog = _run(demo_project, GROWTH, "catalog", None)
    assert set(catalog["team"].dropna()) == {"growth"}
    assert set(_run(demo_project, GROWTH, "contract_status", month)) == {
        "recommender",
        "search_ranking",
        "lifetime_value",
    }
    assert len(_run(demo_project, None, "contract_status", month)) == 7


def test_two_teams_count_each_item_once_and_less_than_everything(demo_project):
    year = last_days(365)
    both = _frequency(demo_project, GROWTH_RISK, year)["deployments"]
    growth = _frequency(demo_project, GROWTH, year)["deployments"]
    risk = _frequency(demo_project, RISK, year)["deployments"]
    everything = _frequency(demo_project, LOCAL, year)["deployments"]
    assert both == growth + risk < everything
    # All time, the demo's 212 growth and 140 risk deployments of its 515.
    counts = {}
    for scope in (GROWTH, RISK, GROWTH_RISK, LOCAL):
        with session.reading(demo_project.warehouse, scope) as con:
            ((counts[scope.key()],),) = con.execute("select count(*) from deployments").fetchall()
    assert counts == {
        GROWTH.key(): 212,
        RISK.key(): 140,
        GROWTH_RISK.key(): 352,
        "admin": 515,
    }
    # Incidents the same way, per team and all told.
    month = last_days(90)
    two = _run(demo_project, GROWTH_RISK, "delivery_incidents", month)
    one = [_run(demo_project, s, "delivery_incidents", month) for s in (GROWTH, RISK)]
    assert (
        len(two)
        == len(one[0]) + len(one[1])
        < len(_run(demo_project, LOCAL, "delivery_incidents", month))
    )
    assert set(two["incident_id"]) == set(one[0]["incident_id"]) | set(one[1]["incident_id"])


# Entries that take a model, a source or a column of the page's choosing after the filters:
# refused by the loader for another team's model (test below), not run here.
TAKES_A_CHOICE = {"model_versions", "drift_distributions", "drift_daily", "quarantine_rows"}


def test_no_entry_names_another_teams_team_or_models(demo_project):
    """Every registry entry a page loads, on a member of growth's connection with no team
    chosen: not one names risk or forecasting, or any of their models."""
    config = _config(demo_project)
    others = {"risk", "forecasting", "churn", "fraud", "demand_forecast", "pricing"}
    leak = re.compile(r"\b(" + "|".join(sorted(others)) + r")\b")
    extras = {"retro": (None,), "source_freshness": (settings.now(),)}
    ran = []
    for metric in registry.ENTRIES:
        if metric.call in (None, registry.Call.DRIFT) or metric.name in TAKES_A_CHOICE:
            continue
        with session.reading(demo_project.warehouse, GROWTH, config.contracts) as con:
            found = registry.run(
                metric.name, con, last_days(28), config, *extras.get(metric.name, ())
            )
        text = found.to_csv() if isinstance(found, pd.DataFrame) else repr(found)
        assert not leak.findall(text), metric.name
        ran.append(metric.name)
    assert {"retro", "contract_status", "delivery_by_model", "catalog"} <= set(ran)
    # The same entries unscoped do name them: the scan would see a leak.
    with session.reading(demo_project.warehouse) as con:
        text = registry.run("delivery_by_model", con, last_days(28), config).to_csv()
    assert set(leak.findall(text)) >= {"churn", "pricing"}


def test_another_teams_model_or_team_is_not_in_scope(demo_project):
    config = _config(demo_project)
    pairs = session.catalog_pairs(demo_project.warehouse, config.contracts)
    week = last_days(7)
    with pytest.raises(NotInScope, match="^not in your teams$"):
        access.check(Filters(week.since, week.until, "forecasting"), GROWTH_RISK, pairs)
    with pytest.raises(NotInScope, match="^not in your teams$"):
        access.check(Filters(week.since, week.until, None, "pricing"), GROWTH_RISK, pairs)
    access.check(Filters(week.since, week.until, "risk", "fraud"), GROWTH_RISK, pairs)
    # Even unchecked, a forecasting model reads as no rows on a growth+risk connection.
    with session.reading(demo_project.warehouse, GROWTH_RISK, config.contracts) as con:
        for table in ("inference", "kpis", "drift_profile_bins", "serving_profile_bins"):
            ((found,),) = con.execute(
                f"select count(*) from {table} where model = 'demand_forecast'"
            ).fetchall()
            assert found == 0, table


def test_every_warehouse_table_is_scoped_or_holds_no_team_data(demo_project):
    """A new table must be given a rule in metrics/access.py (or be listed as holding no team's
    data): this fails until it is, so a table can never leak to another team."""
    with warehouse.reading(demo_project.warehouse) as con:
        found = access.tables(con)
    assert set(found) >= set(access.SCOPED_TABLES) | access.UNSCOPED_TABLES
    unruled = [
        t for t in found if t not in access.SCOPED_TABLES and t not in access.UNSCOPED_TABLES
    ]
    assert unruled == [], f"give these a rule in metrics/access.py SCOPED_TABLES: {unruled}"
    # And on a scoped connection every one of them reads through its temp view.
    with session.reading(demo_project.warehouse, GROWTH) as con:
        views = {
            name
            for (name,) in con.execute(
                "select view_name from duckdb_views() where database_name = 'temp'"
            ).fetchall()
        }
    assert views == set(access.SCOPED_TABLES)


@pytest.fixture(scope="module")
def changed_copy(demo_project, tmp_path_factory):
    """A copy of the demo warehouse with one quarantined row and a table no rule knows."""
    path = tmp_path_factory.mktemp("access") / "tandem.duckdb"
    shutil.copyfile(demo_project.warehouse, path)
    with warehouse.writing(path) as con:
        con.execute(
            "insert into quarantine values ('demo', 'deployments', 'deployments.csv', 7, "
            '\'{"team": "risk", "secret": "s3"}\', \'missing finished_at\', \'sync-x\', '
            "now(), 'd-7')"
        )
        con.execute("create table team_budgets as select 'risk' as team, 12.5 as budget")
    return path


def test_quarantine_keeps_its_rows_without_their_raw_content(changed_copy):
    for scope, raw in [(GROWTH, None), (LOCAL, '{"team": "risk", "secret": "s3"}')]:
        with session.reading(changed_copy, scope) as con:
            rows = con.execute("select reason, raw, row_key from quarantine").fetchall()
        assert rows == [("missing finished_at", raw, "d-7")]


def test_a_table_without_a_rule_reads_empty_for_non_admins(changed_copy):
    with session.reading(changed_copy, GROWTH) as con:
        assert con.execute("select * from team_budgets").fetchall() == []
    with session.reading(changed_copy, LOCAL) as con:
        assert con.execute("select * from team_budgets").fetchall() == [("risk", 12.5)]


# -- the loader: the scope from the session, checked before anything is computed -----------------


def _loader_app() -> None:
    import streamlit as st

    from metrics import access
    from metrics.filters import Filters, last_days
    from pages import loaders

    month = last_days(28)
    st.session_state["scope"] = access.Scope("alice", member_teams=frozenset({"growth"}))
    st.write(f"scope: {loaders.scope().describe()}")
    st.write(f"rows: {len(loaders.load('delivery_deployments', month))}")
    for name, filters, extra in [
        ("delivery_deployments", Filters(month.since, month.until, "risk"), ()),
        ("delivery_deployments", Filters(month.since, month.until, None, "churn"), ()),
        ("drift_timeline", None, ("fraud",)),
    ]:
        try:
            loaders.load(name, filters, *extra)
        except access.NotInScope as refused:
            st.write(f"{refused.which}: {refused}")
    # The same entry and filters for an admin: not the member's cached rows.
    st.session_state["scope"] = access.Scope("ops", admin=True)
    st.write(f"rows: {len(loaders.load('delivery_deployments', month))}")


@pytest.fixture
def fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def test_the_loader_scopes_by_the_session(demo_env, fresh_caches):
    at = AppTest.from_function(_loader_app, default_timeout=60).run()
    assert not at.exception
    month = last_days(28)
    growth = _run(
        demo_env, None, "delivery_deployments", Filters(month.since, month.until, "growth")
    )
    everyone = _run(demo_env, None, "delivery_deployments", month)
    assert len(growth) < len(everyone)
    assert [m.value for m in at.markdown] == [
        "scope: member of growth",
        f"rows: {len(growth)}",
        "team risk: not in your teams",
        "model churn: not in your teams",
        "model fraud: not in your teams",
        f"rows: {len(everyone)}",
    ]


def _unsigned_app() -> None:
    import streamlit as st

    from metrics import access
    from pages import loaders

    try:
        loaders.load("catalog")
    except access.NotAllowed as refused:
        st.write(f"refused: {refused}")


def test_with_access_configured_nobody_signed_in_sees_nothing(
    demo_project, tmp_path, monkeypatch, fresh_caches
):
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[warehouse]\npath = "{demo_project.warehouse}"\n\n'
        '[[sources]]\nname = "demo"\nkind = "demo"\n\n'
        '[access]\nallow = ["*@example.com"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("TANDEM_CONFIG", str(config))
    at = AppTest.from_function(_unsigned_app, default_timeout=60).run()
    assert not at.exception
    assert [m.value for m in at.markdown] == ["refused: not signed in"]
