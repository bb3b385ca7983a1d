"""The Jira connector against recorded Jira Cloud REST v3 answers served by a real local server.

The recorded search (tests/fixtures/jira) holds six issues over two pages (ML-1..3, then ML-4..6
with no nextPageToken on the last page). Times are UTC unless written with +0100.

issue  type      what it tests
ML-1   Story     Done; times in +0100; "Story Points" = 8; sprints 11 and 12; changelog newest
                 first: 11-03 08:00 UTC In Progress, 11-05 10:00 In Review, 11-06 16:30 Done
                 -> cycle time 80.5 h. Carries an ADF description (not a string in v3).
ML-2   Task      changelog newest first too. Ana Lima (data science) works it, then hands it
                 over: 11-03 10:00 In Progress, 11-04 16:00 Ready for Engineering, 11-05 09:00
                 reassigned to Bruno Costa (engineering), 09:30 In Progress, 11-06 11:00 In
                 Review, 15:00 Done -> cycle 77 h, a 17.5 h data_science->engineering wait.
                 Its current assignee is Bruno.
ML-3   Spike     changelog capped in the search (2 of 5 histories): the whole changelog comes
                 from /issue/ML-3/changelog in two pages; "Story point estimate" = 5; Chen Wei
                 never reassigned; updated 11-13 18:42:10 UTC, the latest: the sync's mark.
ML-4   Bug       no assignee, sprint, points, labels or components: team falls back to `team`
ML-5   Task      created "not a date": quarantined
ML-6   Incident  an incident, not a ticket: priority Highest, field "Deployment ID"
"""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from connectors import registry
from connectors.jira import FieldIds, IssuePage, IssueRules, JiraConnector, narrowed_jql
from connectors.labels import LabelRule, folded, prefixed
from connectors.loader import SourceError
from metrics import db, flow
from metrics.filters import Filters
from settings import SourceConfig, Workflow
from tests.helpers.contracts.jira import CHANGELOG, SEARCH, recorded, serve
from tests.helpers.project import PRIVACY_KEY, PRIVACY_KEY_ENV, PRIVACY_TOML, person
from tests.replay import Answer, ReplayServer

TOKEN = "ATATT3xFfGF0-s3cr3t-t0ken"
EMAIL = "ml-bot@yourcompany.com"
TOKEN_ENV = "TANDEM_TEST_JIRA_TOKEN"
BASIC = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
# Assignees are stored as the pseudonyms of their account ids (not their display names); roles
# are still read from the display names in `roles`.
ANA = person("712020:1d0e3c6a-ana")
BRUNO = person("712020:8f2b9c1d-bruno")
CHEN = person("712020:3a7c5e2f-chen")

SOURCE = (
    PRIVACY_TOML
    + """
[[sources]]
name = "jira"
kind = "jira"
base_url = "{url}"
jql = "project = ML ORDER BY created DESC"
email = "ml-bot@yourcompany.com"
token_env = "TANDEM_TEST_JIRA_TOKEN"
team = "platform"
model_label_prefix = "model:"
teams = {{ Growth = "growth", Ranking = "search" }}
roles = {{ "Ana Lima" = "data_science", "Bruno Costa" = "engineering", "Chen Wei" = "data_science" }}
deployment_field = "Deployment ID"
page_size = 3
{extra}
"""
)


@pytest.fixture
def token(monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv(PRIVACY_KEY_ENV, PRIVACY_KEY)


@pytest.fixture
def jira(project, token):
    """A project whose `jira` source reads the recorded answers; yields (project, server)."""
    with ReplayServer() as server:
        serve(server, Answer(recorded("search_updated.json")))
        project.configure(SOURCE.format(url=server.url, extra=""))
        yield project, server


def stats(report, feed):
    [row] = [r for r in report.as_dict()["sources"] if r["feed"] == feed]
    return row["read"], row["loaded"], row["duplicates"], row["quarantined"]


def test_the_search_pages_on_the_token_with_resolved_fields_and_whole_changelogs(jira):
    project, server = jira
    report = project.sync()
    assert report.ok, report.as_dict()

    asked = [(s.method, s.path, s.query) for s in server.seen]
    assert asked == [
        ("GET", "/rest/api/3/field", {}),
        ("POST", SEARCH, {}),
        ("GET", CHANGELOG, {"startAt": ["0"], "maxResults": ["100"]}),
        ("GET", CHANGELOG, {"startAt": ["3"], "maxResults": ["100"]}),
        ("POST", SEARCH, {}),
    ]
    first, second = (s.body for s in server.seen if s.path == SEARCH)
    assert first["jql"] == "project = ML ORDER BY created DESC"
    assert first["expand"] == "changelog" and first["maxResults"] == 3
    # Custom fields by name: Sprint, both story point fields, Deployment ID.
    assert first["fields"][-4:] == [
        "customfield_10020",
        "customfield_10031",
        "customfield_10016",
        "customfield_10058",
    ]
    assert {"summary", "status", "assignee", "resolutiondate", "updated"} <= set(first["fields"])
    assert "description" not in first["fields"] and "nextPageToken" not in first
    assert second == {**first, "nextPageToken": "CAEaAggD"}
    assert all(s.headers["Authorization"] == f"Basic {BASIC}" for s in server.seen)

    assert project.query(
        "select ticket_id, title, type, work_category, team, model, assignee, role, "
        "strftime(created_at, '%m-%d %H:%M'), strftime(resolved_at, '%m-%d %H:%M'), status, "
        "story_points, sprint, labels from tickets order by ticket_id"
    ) == [
        (
            "ML-1",
            "Retrain churn model on Q3 data",
            "Story",
            "development",
            "growth",
            "churn",
            ANA,
            "data_science",
            "11-02 08:00",
            "11-06 16:30",
            "Done",
            8.0,
            "ML Sprint 12",
            ["model:churn", "retraining"],
        ),
        (
            "ML-2",
            "Ship churn features to the feature store",
            "Task",
            "development",
            "growth",
            "churn",
            BRUNO,
            "engineering",
            "11-02 10:00",
            "11-06 15:00",
            "Done",
            3.0,
            "ML Sprint 12",
            ["model:churn"],
        ),
        (
            "ML-3",
            "Evaluate a pairwise loss for the ranker",
            "Spike",
            "research",
            "search",
            "ranker",
            CHEN,
            "data_science",
            "11-06 16:00",
            None,
            "In Progress",
            5.0,
            "ML Sprint 12",
            ["model:ranker"],
        ),
        (
            "ML-4",
            "Fix null user_id in the feature join",
            "Bug",
            "maintenance",
            "platform",
            None,
            None,
            None,
            "11-12 10:00",
            None,
            "To Do",
            None,
            None,
            None,
        ),
    ]
    [(state,)] = project.query("select state from source_state")
    assert json.loads(state) == {
        "feeds": ["incidents", "ticket_transitions", "tickets"],
        "updated": "2026-11-13T18:42:10+00:00",
    }


def test_a_transition_carries_the_assignee_at_the_time(jira):
    project, _ = jira
    assert project.sync().ok
    rows = project.query(
        "select ticket_id, strftime(\"at\", '%m-%d %H:%M'), from_status, to_status, assignee, "
        'role from ticket_transitions order by ticket_id, "at"'
    )
    assert rows == [
        ("ML-1", "11-03 08:00", "To Do", "In Progress", ANA, "data_science"),
        ("ML-1", "11-05 10:00", "In Progress", "In Review", ANA, "data_science"),
        ("ML-1", "11-06 16:30", "In Review", "Done", ANA, "data_science"),
        # Before the reassignment: Ana Lima (the change's fromString), not the current Bruno.
        ("ML-2", "11-03 10:00", "To Do", "In Progress", ANA, "data_science"),
        ("ML-2", "11-04 16:00", "In Progress", "Ready for Engineering", ANA, "data_science"),
        (
            "ML-2",
            "11-05 09:30",
            "Ready for Engineering",
            "In Progress",
            BRUNO,
            "engineering",
        ),
        ("ML-2", "11-06 11:00", "In Progress", "In Review", BRUNO, "engineering"),
        ("ML-2", "11-06 15:00", "In Review", "Done", BRUNO, "engineering"),
        # Three status changes among five histories, three of them only in the changelog pages.
        ("ML-3", "11-09 09:00", "To Do", "In Progress", CHEN, "data_science"),
        ("ML-3", "11-11 12:00", "In Progress", "Blocked", CHEN, "data_science"),
        ("ML-3", "11-12 08:00", "Blocked", "In Progress", CHEN, "data_science"),
    ]


def test_the_flow_metrics_read_the_transitions(jira):
    project, _ = jira
    assert project.sync().ok
    week = Filters(dt.datetime(2026, 11, 2, tzinfo=dt.UTC), dt.datetime(2026, 11, 9, tzinfo=dt.UTC))
    with db.connect(project.warehouse) as con:
        summary = flow.flow_summary(con, week, Workflow())
        assert flow.has_history(con, week)
    assert summary["throughput"] == 2
    # ML-1 80.5 h, ML-2 77 h: median 78.75, p85 77 + 0.85 * 3.5
    assert summary["cycle_time_hours"]["median"] == pytest.approx(78.75)
    assert summary["cycle_time_hours"]["p85"] == pytest.approx(79.975)
    # ML-2 waited in Ready for Engineering from 11-04 16:00 to 11-05 09:30.
    assert summary["handoff_wait_hours"] == {
        "data_science->engineering": {"median": 17.5, "count": 1}
    }


def test_an_incident_type_becomes_an_incident(jira):
    project, _ = jira
    assert project.sync().ok
    assert project.query(
        "select incident_id, title, model, team, strftime(opened_at, '%m-%d %H:%M'), "
        "strftime(resolved_at, '%m-%d %H:%M'), severity, deployment_id from incidents"
    ) == [
        (
            "ML-6",
            "Churn scores all zero after deploy",
            "churn",
            "growth",
            "11-10 14:05",
            "11-10 16:35",
            "Highest",
            "deploy-churn-42",
        )
    ]
    assert project.query("select count(*) from tickets where ticket_id = 'ML-6'") == [(0,)]


def test_a_ticket_linked_to_an_incident_names_it(jira):
    """ML-4 (a bug) relates to the incident ML-6: its incident_id is ML-6, from the issue link
    in Jira's documented `issuelinks` form; ML-1 only blocks a task, so it names none."""
    project, _ = jira
    assert project.sync().ok
    assert project.query("select ticket_id, incident_id from tickets order by ticket_id") == [
        ("ML-1", None),
        ("ML-2", None),
        ("ML-3", None),
        ("ML-4", "ML-6"),
    ]  # ML-5 is the malformed one, quarantined


def test_a_malformed_issue_is_quarantined_not_dropped(jira):
    project, _ = jira
    report = project.sync()
    assert report.ok
    assert stats(report, "tickets") == (5, 4, 0, 1)
    assert stats(report, "ticket_transitions") == (11, 11, 0, 0)
    assert stats(report, "incidents") == (1, 1, 0, 0)
    [(feed, origin, reason, raw)] = project.query(
        "select feed, origin, reason, raw from quarantine where source = 'jira'"
    )
    assert feed == "tickets" and origin.endswith("search (all issues) page 2")
    assert reason == "created_at: unparsable timestamp 'not a date'"
    assert json.loads(raw)["ticket_id"] == "ML-5"


def test_a_second_sync_asks_only_for_what_changed(jira):
    project, server = jira
    assert project.sync().ok
    first = len(server.seen)
    report = project.sync()
    assert report.ok, report.as_dict()

    again = server.seen[first:]
    assert [s.path for s in again] == [
        "/rest/api/3/field",
        "/rest/api/3/myself",
        SEARCH,
        CHANGELOG,
        CHANGELOG,
    ]
    # The mark 11-13 18:42:10 UTC, less a minute, in the account's Europe/Berlin (UTC+1).
    assert again[2].body["jql"] == (
        '(project = ML) AND updated >= "2026/11/13 19:41" ORDER BY created DESC'
    )
    # ML-3 again (inside the margin, unchanged), ML-4 changed.
    assert stats(report, "tickets") == (2, 1, 1, 0)
    assert stats(report, "ticket_transitions") == (4, 1, 3, 0)
    assert project.query("select status, assignee, team from tickets where ticket_id = 'ML-4'") == [
        ("In Progress", BRUNO, "growth")
    ]
    # Assigned at 09:00 from nobody, moved at 09:05: the mover is the assignee at the time.
    assert project.query(
        "select strftime(\"at\", '%H:%M'), to_status, assignee from ticket_transitions "
        "where ticket_id = 'ML-4'"
    ) == [("09:05", "In Progress", BRUNO)]
    assert project.query("select count(*) from tickets") == [(4,)]
    [(state,)] = project.query("select state from source_state")
    assert json.loads(state) == {
        "feeds": ["incidents", "ticket_transitions", "tickets"],
        "updated": "2026-11-14T09:05:00+00:00",
    }


@pytest.mark.parametrize(
    "extra, myself, since",
    [
        # Asked from /myself: Europe/Berlin is UTC+1 in November.
        ("", {"timeZone": "Europe/Berlin"}, "2026/11/13 19:41"),
        # Configured: no need to ask; New York is UTC-5 in November.
        ('timezone = "America/New_York"', None, "2026/11/13 13:41"),
        # Unknown (hidden by the account's privacy settings): back 14 hours more, in UTC.
        ("", {"accountId": "5b10a2844c20165700ede21g"}, "2026/11/13 04:41"),
    ],
)
def test_the_jql_mark_is_written_in_the_accounts_timezone(project, token, extra, myself, since):
    with ReplayServer() as server:
        serve(server)
        if myself is not None:
            server.routes["/rest/api/3/myself"] = [Answer(myself)]
        project.configure(SOURCE.format(url=server.url, extra=extra))
        assert project.sync().ok
        assert project.sync().ok
    paths = [s.path for s in server.seen]
    assert ("/rest/api/3/myself" in paths) is (myself is not None)
    last = [s for s in server.seen if s.path == SEARCH][-1]
    assert last.body["jql"] == f'(project = ML) AND updated >= "{since}" ORDER BY created DESC'


def test_a_rejected_token_fails_in_one_line_naming_the_variable(project, token):
    with ReplayServer() as server:
        server.route(
            "/rest/api/3/field",
            Answer({"errorMessages": ["You are not authenticated."], "errors": {}}, 401),
        )
        project.configure(SOURCE.format(url=server.url, extra=""))
        report = project.sync()
    [row] = report.as_dict()["sources"]
    error = row["error"]
    assert not report.ok and "\n" not in error
    assert error.startswith("source 'jira': authentication failed (HTTP 401")
    assert f"${TOKEN_ENV}" in error and "You are not authenticated." in error
    assert (
        TOKEN not in error
        and BASIC not in error
        and base64.b64encode(TOKEN.encode()).decode()[:12] not in error
    )
    # The header did carry the credentials: the failure is the server's answer, not ours.
    assert server.seen[0].headers["Authorization"] == f"Basic {BASIC}"
    assert project.query("select error from sync_runs") == [(error,)]
    assert project.query("select count(*) from tickets") == [(0,)]


def test_a_missing_token_variable_is_named(project, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.setenv(PRIVACY_KEY_ENV, PRIVACY_KEY)
    project.configure(SOURCE.format(url="http://127.0.0.1:9", extra=""))
    report = project.sync()
    assert report.as_dict()["sources"][0]["error"] == (
        f"source 'jira': environment variable {TOKEN_ENV} (named by token_env) is not set"
    )


def test_a_rate_limit_waits_for_retry_after_then_goes_on(project, token, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr("connectors.http.time.sleep", waits.append)
    with ReplayServer() as server:
        limited = Answer({"errorMessages": ["Rate limit exceeded."]}, 429, {"Retry-After": "7"})
        serve(server, search_first=(limited,))
        project.configure(SOURCE.format(url=server.url, extra=""))
        report = project.sync()
    assert report.ok, report.as_dict()
    assert waits == [7.0]
    assert [s.path for s in server.seen].count(SEARCH) == 3
    assert project.query("select count(*) from tickets") == [(4,)]


def test_auth_bearer_sends_the_token_as_bearer(project, token):
    with ReplayServer() as server:
        serve(server)
        toml = SOURCE.format(url=server.url, extra='auth = "bearer"').replace(
            f'email = "{EMAIL}"\n', ""
        )
        project.configure(toml)
        assert project.sync().ok
    assert {s.headers["Authorization"] for s in server.seen} == {f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    "jql, since, expected",
    [
        ("project = ML", None, "project = ML"),
        ("project = ML", "2026/11/13 19:41", '(project = ML) AND updated >= "2026/11/13 19:41"'),
        (
            "project = ML OR labels = ml order by updated ASC",
            "2026/11/13 19:41",
            '(project = ML OR labels = ml) AND updated >= "2026/11/13 19:41" order by updated ASC',
        ),
    ],
)
def test_narrowed_jql(jql, since, expected):
    assert narrowed_jql(jql, since) == expected


BASE_OPTIONS = {"base_url": "https://x.atlassian.net", "jql": "project = ML"}


@pytest.mark.parametrize(
    "options, message",
    [
        ({"jql": "project = ML"}, "kind 'jira' needs `base_url`"),
        ({"base_url": "https://x.atlassian.net"}, "kind 'jira' needs `jql`"),
        ({**BASE_OPTIONS, "token_env": "T"}, "Basic auth needs `email`"),
        ({**BASE_OPTIONS, "email": EMAIL}, "`email` is set but not `token_env`"),
        ({**BASE_OPTIONS, "auth": "oauth"}, "`auth` is 'basic' or 'bearer'"),
        ({**BASE_OPTIONS, "timezone": "Mars/Olympus"}, "unknown timezone 'Mars/Olympus'"),
        ({**BASE_OPTIONS, "teams": {"Growth": 3}}, "`teams` maps names to values"),
    ],
)
def test_a_config_that_cannot_work_is_refused_before_any_request(options, message):
    with pytest.raises(SourceError) as caught:
        JiraConnector(SourceConfig("jira", "jira", options=options))
    assert str(caught.value).startswith("source 'jira': ") and message in str(caught.value)


def test_an_old_data_center_sprint_string_gives_its_name():
    from connectors.jira import _sprint_name

    legacy = (
        "com.atlassian.greenhopper.service.sprint.Sprint@1f39706[id=12,rapidViewId=4,"
        "state=ACTIVE,name=ML Sprint 12,startDate=2026-11-03T08:00:00.000Z,sequence=12]"
    )
    assert _sprint_name([legacy]) == "ML Sprint 12"


def test_the_token_stays_out_of_reprs(token):
    source = SourceConfig(
        "jira",
        "jira",
        options={
            "base_url": "https://x.atlassian.net",
            "jql": "project = ML",
            "email": EMAIL,
            "token_env": TOKEN_ENV,
        },
    )
    http = registry.create(source)._client()
    assert TOKEN not in repr(vars(http)) and BASIC not in repr(vars(http))


def test_a_feed_added_later_reads_every_issue_again(project, token):
    with ReplayServer() as server:
        # Both syncs read the recorded search whole (its two pages, twice).
        serve(server, Answer(recorded("search_page1.json")), Answer(recorded("search_page2.json")))
        project.configure(SOURCE.format(url=server.url, extra='feed = "tickets"'))
        first = project.sync()
        assert first.ok, first.as_dict()
        project.configure(SOURCE.format(url=server.url, extra=""))
        second = project.sync()
    assert second.ok, second.as_dict()
    # Not narrowed to the tickets' mark: the transitions and incidents were never read.
    last = [s for s in server.seen if s.path == SEARCH][-1]
    assert last.body["jql"] == "project = ML ORDER BY created DESC"
    assert stats(second, "ticket_transitions") == (11, 11, 0, 0)
    assert stats(second, "incidents") == (1, 1, 0, 0)
    assert stats(second, "tickets") == (5, 0, 4, 1)


def test_the_origin_names_the_base_url_without_its_secrets():
    options = {**BASE_OPTIONS, "base_url": "https://bot:pw-s3cr3t@x.atlassian.net/?token=t0k3n"}
    connector = JiraConnector(SourceConfig("jira", "jira", options=options))
    batch = connector.normalize(IssuePage("tickets", 1, None, (), FieldIds()))
    assert batch.origin == "https://bot:***@x.atlassian.net/?token=*** search (all issues) page 1"


# -- labels and components: one case rule (connectors/labels.py) ----------------------------------


@pytest.mark.parametrize(
    "labels, prefix, found",
    [
        (["model:churn"], "model:", "churn"),
        (["Model:Churn"], "model:", "Churn"),  # any case matches; the value is kept as written
        (["MODEL: churn "], "Model:", "churn"),
        (["model:", "model:churn"], "model:", "churn"),  # nothing after the prefix: the next
        (["churn"], "model:", None),
        (["model:churn"], None, None),
        (["model:churn"], "", None),
        ([], "model:", None),
    ],
)
def test_a_prefixed_label_gives_what_follows_it(labels, prefix, found):
    assert prefixed(labels, prefix) == found


GROWTH = LabelRule("team:", folded({"Growth": "growth", "Ranking": "search"}), "platform")


@pytest.mark.parametrize(
    "labels, components, team",
    [
        (["Team:Risk"], ["Growth"], "Risk"),  # a prefixed label first
        ([], ["growth"], "growth"),  # then a component the table names, in any case
        (["RANKING"], [], "search"),  # or a label it names
        (["ranking"], ["Growth"], "growth"),  # components before labels
        (["other"], ["Data"], "platform"),  # else the default
    ],
)
def test_a_label_rule_picks_a_prefix_then_a_name_then_the_default(labels, components, team):
    assert GROWTH.pick(labels, components) == team


def test_issue_rules_are_read_once_with_one_case_rule():
    options = {
        "team_label_prefix": "team:",
        "model_label_prefix": "Model:",
        "teams": {"Growth": "growth"},
        "models": {"Churn": "churn"},
        "incident_type": ["Incident", "Post-Mortem"],
        "roles": {"Ana Lima": "data_science"},
    }
    rules = IssueRules.from_options("jira", options.get)
    assert rules.team.names == {"growth": "growth"} and rules.model.names == {"churn": "churn"}
    assert rules.model_of(["model:ranker"], []) == "ranker"
    assert rules.team_of(["TEAM:Search"], ["Growth"]) == "Search"
    assert rules.model_of([], ["CHURN"]) == "churn"
    assert rules.is_incident("post-mortem") and not rules.is_incident("Story")
    assert rules.role("Ana Lima") == "data_science"


# -- quarantine across syncs: the issue at the mark is read again -----------------------------


def _with_ml3_created(name: str, created: str) -> dict:
    """A recorded search answer in which ML-3 (the issue at the mark) was created `created`."""
    answer = recorded(name)
    [issue] = [i for i in answer["issues"] if i["key"] == "ML-3"]
    issue["fields"]["created"] = created
    return answer


def test_a_bad_issue_read_again_at_the_mark_is_quarantined_once(project, token):
    quarantine = "select row_key, origin, reason, sync_id from quarantine order by row_key"
    bad_again = Answer(_with_ml3_created("search_updated.json", "someday"))
    fixed = Answer(recorded("search_updated.json"))
    with ReplayServer() as server:
        serve(server)
        server.routes[SEARCH] = [
            Answer(_with_ml3_created("search_page1.json", "someday")),
            Answer(recorded("search_page2.json")),
            bad_again,
            bad_again,
            fixed,
        ]
        project.configure(SOURCE.format(url=server.url, extra=""))
        first = project.sync()
        assert stats(first, "tickets") == (5, 3, 0, 2)
        rows = project.query(quarantine)
        assert [(key, reason) for key, _, reason, _ in rows] == [
            ("ML-3", "created_at: unparsable timestamp 'someday'"),
            ("ML-5", "created_at: unparsable timestamp 'not a date'"),
        ]
        assert rows[0][1].endswith("search (all issues) page 1")
        # Two more syncs read ML-3 again, inside the mark's margin, on a page of their own
        # window (ML-4 changed in the first of them): ML-3 is still one row, as the first
        # sync wrote it.
        assert stats(project.sync(), "tickets") == (2, 1, 0, 1)
        assert project.query(quarantine) == rows
        assert stats(project.sync(), "tickets") == (2, 0, 1, 1)
        assert project.query(quarantine) == rows
        # Fixed in Jira: ML-3 loads and its quarantine row goes; ML-5, not read again, stays.
        last = project.sync()
    assert stats(last, "tickets") == (2, 1, 1, 0)
    assert project.query(quarantine) == rows[1:]
    assert project.query(
        "select strftime(created_at, '%m-%d %H:%M') from tickets where ticket_id = 'ML-3'"
    ) == [("11-06 16:00",)]
