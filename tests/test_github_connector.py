"""The github connector against recorded GitHub REST responses served by a real local server.

The history in tests/fixtures/github/first_sync.json, production unless said otherwise:

    D1  #101  sha c1  created 03-02 10:00  success 10:05   the first one seen: nothing to compare
    PR1       merge commit m1 (head a1, a2)  merged 03-02 12:00  commits authored 03-01 09:00, 03-02 11:00
    PR2       squash commit 52 (head b1, b2) merged 03-02 15:00  commits authored 03-02 08:00, 13:00
    D2  #102  sha 52  created 03-02 16:00  failure 16:10   failed: ships nothing
    S1  #103  sha 52  staging, success 16:40                another environment: ships nothing
    PR3       rebase merge of 11, 12 as e1, e2; merge_commit_sha e2 (the last rebased commit)
              merged 03-03 11:00; 12 was authored first (03-02 18:45), 11 at 19:30
    D3  #104  sha e2  created 03-03 12:00  success 12:20   compare c1...e2 = a1 a2 m1 52 e1 e2
    PR4       squash commit 54, merged 03-03 14:00          after D3: not deployed yet
    SP  #105  staging, in progress                          unfinished: not a row yet
    PR6       closed without merging                        not a change

So PR1 lands in D3 by its merge commit m1, PR2 in D3 by its squash commit 52 (D2 deployed 52
first but failed, S1 is staging), PR3 in D3 by its last rebased commit e2, and PR4 in none.
first_commit_at is the earliest authored date: PR1 03-01 09:00, PR2 03-02 08:00 (before D1),
PR3 03-02 18:45 (its second commit), PR4 03-03 13:00.

second_sync.json, a day later: D5 #106 (environment prod-eu, production_environment true) deploys
54 at 03-04 10:00 (compare e2...54 = 54: PR4 lands in D5); SP succeeds; PR5 merges at 03-04 12:00
after D5; PR1 gets a comment (updated again); incident #9 is closed.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import time

import pytest

from connectors import registry
from connectors.github import (
    GithubConnector,
    Options,
    Page,
    Shipment,
    ai_assisted,
    deployment_kind,
    deployment_outcome,
    deployment_row,
    first_commit_at,
    fixed_incident,
    incident_row,
    item_row,
    link_changes,
    named_deployment,
)
from connectors.loader import Reject
from settings import SourceConfig
from tests.helpers.contracts.github import recorded, serve, source_toml
from tests.helpers.project import PRIVACY_KEY, PRIVACY_KEY_ENV, PRIVACY_TOML, person
from tests.replay import Answer, ReplayServer

TOKEN = "ghp_N0tARealT0kenButSecretAnyway"
REPO = "/repos/octo/shop"
UTC = dt.UTC


def sha(tag: str) -> str:
    return (tag + "0" * 40)[:40]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def counts(report) -> dict[str, tuple[int, int, int, int]]:
    return {
        row["feed"]: (row["read"], row["loaded"], row["duplicates"], row["quarantined"])
        for row in report.as_dict()["sources"]
    }


# -- the first sync: every feed, the lead-time linking checked by hand ------------------------


def test_first_sync_maps_deployments_changes_and_incidents(project, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv(PRIVACY_KEY_ENV, PRIVACY_KEY)
    with ReplayServer() as server:
        serve(server, "first_sync")
        project.configure(
            PRIVACY_TOML + source_toml(server, token_env="GITHUB_TOKEN", team="ranking")
        )
        report = project.sync()
    assert report.ok, report.as_dict()
    assert counts(report) == {
        "deployments": (4, 4, 0, 0),
        "changes": (4, 4, 0, 0),
        "incidents": (2, 2, 0, 0),
    }
    assert project.query(
        "select deployment_id, model, version, environment, team, started_at, finished_at, "
        "status, commit_sha from deployments order by deployment_id"
    ) == [
        ("octo/shop/deployments/101", "recommender", "1.4.0", "production", "ranking",
         at("2026-03-02T10:00:00"), at("2026-03-02T10:05:00"), "success", sha("c1")),
        ("octo/shop/deployments/102", "recommender", "1.4.1", "production", "ranking",
         at("2026-03-02T16:00:00"), at("2026-03-02T16:10:00"), "failed", sha("52")),
        ("octo/shop/deployments/103", None, None, "staging", "ranking",
         at("2026-03-02T16:30:00"), at("2026-03-02T16:40:00"), "success", sha("52")),
        ("octo/shop/deployments/104", "recommender", "1.5.0", "production", "ranking",
         at("2026-03-03T12:00:00"), at("2026-03-03T12:20:00"), "success", sha("e2")),
    ]  # fmt: skip
    assert project.query(
        "select change_id, deployment_id, first_commit_at, merged_at, author, title "
        "from changes order by change_id"
    ) == [  # authors (GitHub logins ada, bo, cy) stored as their pseudonyms
        ("octo/shop#1", "octo/shop/deployments/104", at("2026-03-01T09:00:00"),
         at("2026-03-02T12:00:00"), person("ada"), "Cache feature lookups"),
        ("octo/shop#2", "octo/shop/deployments/104", at("2026-03-02T08:00:00"),
         at("2026-03-02T15:00:00"), person("bo"), "Retrain on February data"),
        ("octo/shop#3", "octo/shop/deployments/104", at("2026-03-02T18:45:00"),
         at("2026-03-03T11:00:00"), person("cy"), "Tighten latency budget"),
        ("octo/shop#4", None, at("2026-03-03T13:00:00"), at("2026-03-03T14:00:00"),
         person("ada"), "Log prediction scores"),
    ]  # fmt: skip
    assert project.query(
        "select incident_id, model, team, opened_at, resolved_at, severity, deployment_id, title "
        "from incidents order by incident_id"
    ) == [
        ("octo/shop#7", "recommender", "ranking", at("2026-03-03T13:00:00"),
         at("2026-03-03T15:30:00"), "sev2", "octo/shop/deployments/104",
         "Checkout errors after the 1.5.0 release"),
        ("octo/shop#9", None, "ranking", at("2026-03-03T16:00:00"), None, None,
         "octo/shop/actions/runs/555", "Latency p99 over budget"),
    ]  # fmt: skip
    # What each pull request fixes and whether an assistant helped, from its title, body,
    # labels and commit trailers: PR1 "Fixes INC-481" (another tool's id, as written); PR2 has
    # the label "AI-assisted"; PR3 "Resolves: #7", an incident issue, and a commit
    # co-authored by Claude; PR4 "closes #8", a bug that is no incident, and a human co-author.
    assert project.query("select change_id, incident_id, ai_assisted from changes order by 1") == [
        ("octo/shop#1", "INC-481", False),
        ("octo/shop#2", None, True),
        ("octo/shop#3", "octo/shop#7", True),
        ("octo/shop#4", None, False),
    ]
    # No hotfix or rollback rule configured: why each deployment happened is not known.
    assert project.query("select count(*) from deployments where kind is not null") == [(0,)]
    # Lead time of PR1 as the delivery metrics will read it: D3 finished 03-03 12:20, first
    # commit 03-01 09:00: 51 h 20 min.
    assert project.query(
        "select date_diff('minute', c.first_commit_at, d.finished_at) from changes c "
        "join deployments d using (deployment_id) where c.change_id = 'octo/shop#1'"
    ) == [(51 * 60 + 20,)]

    seen = server.seen
    for request in seen:  # header names are case-insensitive (urllib sends X-github-api-version)
        headers = {name.lower(): value for name, value in request.headers.items()}
        assert headers["authorization"] == f"Bearer {TOKEN}"
        assert headers["accept"] == "application/vnd.github+json"
        assert headers["x-github-api-version"] == "2022-11-28"
    paths = [s.path for s in seen]
    # Two pages of pull requests through the Link header; the compare API once, from D1 to D3.
    assert paths.count(f"{REPO}/pulls") == 2
    assert [s.query for s in seen if s.path == f"{REPO}/pulls"] == [
        {"state": ["closed"], "sort": ["updated"], "direction": ["desc"], "per_page": ["100"]},
        {
            "state": ["closed"],
            "sort": ["updated"],
            "direction": ["desc"],
            "per_page": ["100"],
            "page": ["2"],
        },
    ]
    assert [p for p in paths if "/compare/" in p] == [f"{REPO}/compare/{sha('c1')}...{sha('e2')}"]
    # Commits of merged pull requests only (PR6 was closed unmerged).
    assert sorted(p for p in paths if p.endswith("/commits")) == [
        f"{REPO}/pulls/{n}/commits" for n in (1, 2, 3, 4)
    ]
    issues = next(s for s in seen if s.path == f"{REPO}/issues")
    assert issues.query == {
        "labels": ["incident"],
        "state": ["all"],
        "sort": ["updated"],
        "direction": ["asc"],
        "per_page": ["100"],
    }


def test_a_second_sync_asks_only_for_what_changed(project):
    with ReplayServer() as server:
        serve(server, "first_sync")
        project.configure(source_toml(server))
        assert project.sync().ok
        serve(server, "second_sync")
        before = len(server.seen)
        report = project.sync()
        second = server.seen[before:]
    assert report.ok, report.as_dict()
    assert [(s.path, s.query) for s in second] == [
        # one page: D5 is new, and SP (still running at the last sync) is next on it
        (f"{REPO}/deployments", {"per_page": ["100"]}),
        (f"{REPO}/deployments/106/statuses", {"per_page": ["100"]}),
        (f"{REPO}/deployments/105/statuses", {"per_page": ["100"]}),
        # incidents before pull requests: "fixes #9" names an incident only if #9 is one
        (
            f"{REPO}/issues",
            {
                "labels": ["incident"],
                "state": ["all"],
                "sort": ["updated"],
                "direction": ["asc"],
                "since": ["2026-03-03T16:05:00Z"],
                "per_page": ["100"],
            },
        ),
        (
            f"{REPO}/pulls",
            {"state": ["closed"], "sort": ["updated"], "direction": ["desc"], "per_page": ["100"]},
        ),
        # PR5 only: PR1 was merged before the last sync (only commented on since), and the
        # listing stops at PR4, which has not changed since.
        (f"{REPO}/pulls/5/commits", {"per_page": ["100"]}),
        (f"{REPO}/compare/{sha('e2')}...{sha('54')}", {"per_page": ["100"]}),
    ]
    assert counts(report) == {
        "deployments": (2, 2, 0, 0),
        "changes": (2, 2, 0, 0),
        "incidents": (1, 1, 0, 0),
    }
    assert project.query(
        "select deployment_id, environment, finished_at, status from deployments "
        "where deployment_id in ('octo/shop/deployments/105', 'octo/shop/deployments/106') "
        "order by 1"
    ) == [
        ("octo/shop/deployments/105", "staging", at("2026-03-04T09:00:00"), "success"),
        ("octo/shop/deployments/106", "production", at("2026-03-04T10:15:00"), "success"),
    ]
    assert project.query("select change_id, deployment_id from changes order by 1") == [
        ("octo/shop#1", "octo/shop/deployments/104"),
        ("octo/shop#2", "octo/shop/deployments/104"),
        ("octo/shop#3", "octo/shop/deployments/104"),
        ("octo/shop#4", "octo/shop/deployments/106"),
        ("octo/shop#5", None),
    ]
    assert project.query("select resolved_at from incidents where incident_id = 'octo/shop#9'") == [
        (at("2026-03-04T08:00:00"),)
    ]
    state = json.loads(project.query("select state from source_state")[0][0])["octo/shop"]
    assert state["last_success"] == {
        "deployment_id": "octo/shop/deployments/106",
        "sha": sha("54"),
        "created_at": "2026-03-04T10:00:00Z",
    }
    assert [p["number"] for p in state["pending"]] == [5]
    assert state["open"] == []
    assert state["pending"][0] == {
        "number": 5,
        "title": "Add a segment to the CTR KPI",
        "author": "cy",
        "merged_at": "2026-03-04T12:00:00Z",
        "merge_commit_sha": sha("55"),
        "head_shas": [sha("f5")],
        "first_commit_at": "2026-03-04T11:00:00Z",
        # "fixes octo/shop#9" (an incident issue the first sync read); a Copilot trailer
        "incident_id": "octo/shop#9",
        "ai_assisted": True,
        "kind_label": None,
    }
    assert project.query(
        "select incident_id, ai_assisted from changes where change_id = 'octo/shop#5'"
    ) == [("octo/shop#9", True)]


# -- Actions workflow runs as deployments -------------------------------------------------------


def test_actions_runs_of_the_deploy_workflow_are_deployments(project):
    with ReplayServer() as server:
        serve(server, "first_sync", "actions")
        project.configure(
            source_toml(
                server,
                deployments_from="actions",
                workflow="deploy*",
                model="recommender",
                feeds=["deployments", "changes"],
            )
        )
        report = project.sync()
        assert report.ok, report.as_dict()
        before = len(server.seen)
        assert project.sync().ok
        runs_query = next(s.query for s in server.seen[before:] if s.path.endswith("/runs"))
    # CI is another workflow and the cancelled run deployed nothing: 3 of the 5 runs.
    assert counts(report)["deployments"] == (3, 3, 0, 0)
    assert project.query(
        "select deployment_id, model, environment, started_at, finished_at, status, commit_sha "
        "from deployments order by 1"
    ) == [
        ("octo/shop/actions/runs/554", "recommender", "production", at("2026-03-02T10:00:20"),
         at("2026-03-02T10:05:00"), "success", sha("c1")),
        ("octo/shop/actions/runs/555", "recommender", "production", at("2026-03-03T12:00:30"),
         at("2026-03-03T12:20:00"), "success", sha("e2")),
        ("octo/shop/actions/runs/557", "recommender", "production", at("2026-03-03T12:10:04"),
         at("2026-03-03T12:16:00"), "failed", sha("e2")),
    ]  # fmt: skip
    assert project.query("select change_id, deployment_id from changes order by 1") == [
        ("octo/shop#1", "octo/shop/actions/runs/555"),
        ("octo/shop#2", "octo/shop/actions/runs/555"),
        ("octo/shop#3", "octo/shop/actions/runs/555"),
        ("octo/shop#4", None),
    ]
    # The newest run was created 03-03 14:01 (CI counts too); 24 h of lookback before it.
    assert runs_query == {
        "status": ["completed"],
        "created": [">=2026-03-02T14:01:00Z"],
        "per_page": ["100"],
    }


def test_hotfix_and_rollback_workflows_name_a_deployments_kind(project):
    with ReplayServer() as server:
        serve(server, "first_sync", "actions")
        project.configure(
            source_toml(
                server,
                deployments_from="actions",
                workflow_regex="^(Deploy|Rollback|Hotfix) production$",
                hotfix_workflows=["hotfix*"],
                rollback_workflows=["rollback.yml"],
                feeds=["deployments"],
            )
        )
        report = project.sync()
    assert report.ok, report.as_dict()
    # The rollback matches by its file, the hotfix by its name (any case); with rules set,
    # every other run of a deploy workflow is planned, the failed one too.
    assert project.query("select deployment_id, status, kind from deployments order by 1") == [
        ("octo/shop/actions/runs/554", "success", "planned"),
        ("octo/shop/actions/runs/555", "success", "planned"),
        ("octo/shop/actions/runs/557", "failed", "planned"),
        ("octo/shop/actions/runs/559", "success", "rollback"),
        ("octo/shop/actions/runs/561", "success", "hotfix"),
    ]


def _pr3_labelled_hotfix(routes: dict) -> None:
    pulls = routes[f"{REPO}/pulls?state=closed&sort=updated&direction=desc&per_page=100&page=2"]
    pr3 = next(p for p in routes[f"{REPO}/pulls"]["body"] + pulls["body"] if p["number"] == 3)
    pr3["labels"] = [{**copy.deepcopy(LABEL), "name": "hotfix"}]


LABEL = {"id": 7002, "node_id": "LA_7002", "url": "https://api.github.com/repos/octo/shop/labels/x",
         "name": "x", "color": "d73a4a", "default": False, "description": None}  # fmt: skip


def test_a_deployment_shipping_a_hotfix_labelled_pull_request_is_a_hotfix(project):
    with ReplayServer() as server:
        serve(server, "first_sync", edit=_pr3_labelled_hotfix)
        project.configure(source_toml(server, hotfix_labels=["Hotfix"]))
        assert project.sync().ok
    # D3 shipped PR1, PR2 and PR3, which is labelled hotfix; the others shipped nothing
    # labelled (D1 was the first seen, D2 failed, S1 is staging): planned.
    assert project.query("select deployment_id, kind from deployments order by 1") == [
        ("octo/shop/deployments/101", "planned"),
        ("octo/shop/deployments/102", "planned"),
        ("octo/shop/deployments/103", "planned"),
        ("octo/shop/deployments/104", "hotfix"),
    ]


def test_label_rules_cannot_tell_a_kind_without_the_pull_requests(project):
    with ReplayServer() as server:
        serve(server, "first_sync", edit=_pr3_labelled_hotfix)
        project.configure(source_toml(server, hotfix_labels=["hotfix"], feeds=["deployments"]))
        assert project.sync().ok
    assert project.query("select count(*), count(kind) from deployments") == [(4, 0)]


def test_actions_need_a_workflow_pattern(project):
    with ReplayServer() as server:
        project.configure(source_toml(server, deployments_from="actions"))
        report = project.sync()
    assert not report.ok
    assert "needs `workflow`" in report.sources[0].error


# -- failures: malformed items, rate limits, auth, unfinished deployments ------------------


def _malformed(routes: dict) -> None:
    deployments = routes[f"{REPO}/deployments"]["body"]
    deployments[1] = {**deployments[1], "created_at": "yesterday"}  # D3
    deployments.append({"sha": sha("99"), "environment": "production"})  # no id
    pull = routes[f"{REPO}/pulls"]["body"][1]  # PR3
    routes[f"{REPO}/pulls"]["body"][1] = {**pull, "merged_at": "2026-13-45T99:00:00Z"}
    routes[f"{REPO}/issues"]["body"][0]["closed_at"] = "2026-03-02T00:00:00Z"  # before opening


def test_malformed_items_are_quarantined_not_dropped(project):
    with ReplayServer() as server:
        serve(server, "first_sync", edit=_malformed)
        project.configure(source_toml(server))
        report = project.sync()
    assert report.ok, report.as_dict()
    stats = counts(report)
    assert stats == {
        "deployments": (5, 3, 0, 2),
        "changes": (4, 3, 0, 1),
        "incidents": (2, 1, 0, 1),
    }
    for read, loaded, duplicates, quarantined in stats.values():
        assert read == loaded + duplicates + quarantined
    rows = project.query(
        "select feed, reason, raw from quarantine where source = 'gh' order by feed, reason"
    )
    assert [(feed, reason) for feed, reason, _ in rows] == [
        ("changes", "merged_at: unparsable timestamp '2026-13-45T99:00:00Z'"),
        ("deployments", "deployment without an id"),
        ("deployments", "started_at: unparsable timestamp 'yesterday'"),
        ("incidents", "resolved_at is before opened_at"),
    ]
    assert json.loads(rows[1][2]) == {"sha": sha("99"), "environment": "production"}
    assert json.loads(rows[2][2])["deployment_id"] == "octo/shop/deployments/104"
    assert json.loads(rows[0][2])["change_id"] == "octo/shop#3"


def test_a_rate_limit_waits_for_the_reset_then_goes_on(project, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    reset = int(time.time()) + 30
    with ReplayServer() as server:
        serve(server, "first_sync")
        limited = Answer(
            {"message": "API rate limit exceeded for user ID 1."},
            403,
            {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
             "X-RateLimit-Reset": str(reset), "X-RateLimit-Resource": "core"},
        )  # fmt: skip
        server.routes[f"{REPO}/issues"].insert(0, limited)
        project.configure(source_toml(server))
        report = project.sync()
        issue_requests = [s for s in server.seen if s.path == f"{REPO}/issues"]
    assert report.ok, report.as_dict()
    assert len(issue_requests) == 2
    assert len(waits) == 1 and 29 <= waits[0] <= 31
    assert counts(report)["incidents"] == (2, 2, 0, 0)


def test_bad_credentials_fail_in_one_line_naming_the_variable(project, monkeypatch):
    monkeypatch.setenv("SHOP_GH_TOKEN", TOKEN)
    with ReplayServer() as server:
        server.route(
            f"{REPO}/deployments",
            Answer(
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
                401,
            ),
        )
        project.configure(source_toml(server, token_env="SHOP_GH_TOKEN"))
        report = project.sync()
    error = report.sources[0].error
    assert not report.ok and "\n" not in error
    assert error.startswith("source 'gh': authentication failed (HTTP 401")
    assert "$SHOP_GH_TOKEN" in error and "Bad credentials" in error
    assert TOKEN not in error
    assert TOKEN not in str(project.query("select * from sync_runs"))
    assert len(server.seen) == 1  # not retried


def test_the_token_never_shows_in_a_repr(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    source = SourceConfig("gh", "github", options={"repo": "o/r", "token_env": "GITHUB_TOKEN"})
    connector = registry.create(source)
    client = connector._client()
    assert TOKEN not in repr(vars(client)) and TOKEN not in repr(vars(connector))


def test_an_unset_token_variable_is_named(project, monkeypatch):
    monkeypatch.delenv("NO_SUCH_GH_TOKEN", raising=False)
    with ReplayServer() as server:
        project.configure(source_toml(server, token_env="NO_SUCH_GH_TOKEN"))
        report = project.sync()
    assert "NO_SUCH_GH_TOKEN" in report.sources[0].error and server.seen == []


def test_a_deployment_unfinished_for_too_long_is_quarantined(project):
    with ReplayServer() as server:
        serve(server, "first_sync")
        project.configure(source_toml(server).replace("stale_after_days = 36500", ""))
        report = project.sync()
    assert report.ok
    assert counts(report)["deployments"] == (5, 4, 0, 1)
    assert project.query("select reason from quarantine where feed = 'deployments'") == [
        ("missing finished_at; missing status",)
    ]


@pytest.mark.parametrize(
    "options, error",
    [
        ({}, "needs `repo"),
        ({"repo": "shop"}, "owner/name"),
        ({"repo": "o/r", "feeds": ["tickets"]}, "`feeds` lists"),
        ({"repo": "o/r", "deployments_from": "jenkins"}, "deployments_from"),
        ({"repo": "o/r", "since": "last week"}, "`since` must be an ISO date"),
        ({"repo": "o/r", "incident_pattern": "INC-("}, "incident_pattern is not a regex"),
        ({"repo": "o/r", "ai_assistants": [1, 2]}, "`ai_assistants` is a list of names"),
        ({"repo": "o/r", "hotfix_workflows": {"a": 1}}, "`hotfix_workflows` is a list"),
    ],
)
def test_config_mistakes_are_named(options, error):
    with pytest.raises(Exception, match=error):
        GithubConnector(SourceConfig("gh", "github", options=options))


# -- the pure parts, table-driven ----------------------------------------------------------------


def status(state: str, when: str, sid: int) -> dict:
    return {"id": sid, "state": state, "created_at": when}


@pytest.mark.parametrize(
    "statuses, outcome",
    [
        ([], None),
        ([status("in_progress", "2026-03-01T10:01:00Z", 1)], None),
        # newest first, as GitHub lists them
        (
            [
                status("success", "2026-03-01T10:05:00Z", 2),
                status("queued", "2026-03-01T10:00:00Z", 1),
            ],
            ("success", "2026-03-01T10:05:00Z"),
        ),
        ([status("error", "2026-03-01T10:03:00Z", 1)], ("failed", "2026-03-01T10:03:00Z")),
        # a later deployment replaced it: still the success it was, at the time it succeeded
        (
            [
                status("inactive", "2026-03-02T09:00:00Z", 3),
                status("success", "2026-03-01T10:05:00Z", 2),
            ],
            ("success", "2026-03-01T10:05:00Z"),
        ),
        # never reported done, then deactivated: passed on as is (the loader quarantines it)
        ([status("inactive", "2026-03-02T09:00:00Z", 3)], ("inactive", "2026-03-02T09:00:00Z")),
    ],
)
def test_a_deployment_outcome_is_its_latest_final_status(statuses, outcome):
    assert deployment_outcome(statuses) == outcome


def test_a_merge_commit_pull_request_links_by_its_head_commits_too():
    # Merged by a fast-forward push: merge_commit_sha names GitHub's test merge, which never
    # reached main, but the head commits did.
    pull = {
        "number": 7,
        "merged_at": "2026-03-05T10:00:00Z",
        "merge_commit_sha": sha("77"),
        "head_shas": [sha("70"), sha("71")],
    }
    early = Shipment("d/1", "2026-03-05T09:00:00Z", frozenset({sha("70")}))  # before the merge
    later = Shipment("d/2", "2026-03-05T11:00:00Z", frozenset({sha("71"), sha("72")}))
    assert link_changes([pull], [early, later]) == {7: "d/2"}
    assert link_changes([pull], [early]) == {}


@pytest.mark.parametrize(
    "dates, first",
    [
        (["2026-03-02T19:30:00Z", "2026-03-02T18:45:00Z"], "2026-03-02T18:45:00Z"),
        (["2026-03-02T19:30:00+02:00", "2026-03-02T18:45:00Z"], "2026-03-02T19:30:00+02:00"),
        (["2026-03-02T19:30:00Z", "soon"], "soon"),
        ([], None),
    ],
)
def test_first_commit_at_is_the_earliest_authored_date(dates, first):
    assert first_commit_at(dates) == first


@pytest.mark.parametrize(
    "body, deployment_id",
    [
        ("Broke checkout.\nDeployment: octo/shop/deployments/104\n", "octo/shop/deployments/104"),
        ("see https://github.com/octo/shop/actions/runs/555/job/9", "octo/shop/actions/runs/555"),
        ("no idea what caused it", None),
        (None, None),
    ],
)
def test_an_incident_names_its_deployment_in_its_body(body, deployment_id):
    assert named_deployment("octo/shop", body) == deployment_id


def test_normalize_is_pure_and_keeps_rows_in_canonical_columns():
    issues = [
        i for i in recorded("first_sync")[f"{REPO}/issues"]["body"] if "pull_request" not in i
    ]
    connector = GithubConnector(SourceConfig("gh", "github", options={"repo": "octo/shop"}))
    page = Page("incidents", "octo/shop", "github:octo/shop:incidents", issues)
    snapshot = copy.deepcopy(page)
    batch = connector.normalize(page)
    assert page == snapshot  # nothing of the raw record changed
    assert list(batch.frame.columns) == [
        "incident_id", "model", "team", "opened_at", "resolved_at", "severity",
        "deployment_id", "title", "url",
    ]  # fmt: skip
    assert list(batch.frame["incident_id"]) == ["octo/shop#7", "octo/shop#9"]


def test_several_repositories_keep_their_own_rows_and_marks(project):
    def add_search(routes: dict) -> None:
        routes.update(json.loads(json.dumps(routes).replace("octo/shop", "octo/search")))

    with ReplayServer() as server:
        serve(server, "first_sync", edit=add_search)
        project.configure(
            source_toml(server).replace(
                'repo = "octo/shop"', 'repos = ["octo/shop", "octo/search"]'
            )
        )
        report = project.sync()
    assert report.ok, report.as_dict()
    assert counts(report)["changes"] == (8, 8, 0, 0)
    assert project.query(
        "select change_id, deployment_id from changes where change_id like 'octo/search%' "
        "order by 1"
    ) == [
        ("octo/search#1", "octo/search/deployments/104"),
        ("octo/search#2", "octo/search/deployments/104"),
        ("octo/search#3", "octo/search/deployments/104"),
        ("octo/search#4", None),
    ]
    state = json.loads(project.query("select state from source_state")[0][0])
    assert sorted(state) == ["octo/search", "octo/shop"]
    assert state["octo/search"]["pulls_at"] == "2026-03-03T14:05:00Z"


def test_pages_that_link_back_fail_instead_of_looping(project):
    def loop(routes: dict) -> None:
        page2 = f"{REPO}/pulls?state=closed&sort=updated&direction=desc&per_page=100&page=2"
        routes[page2]["headers"] = {
            "Link": f'<{{base}}{page2.replace("page=2", "page=1")}>; rel="next"'
        }
        routes[page2.replace("page=2", "page=1")] = routes[f"{REPO}/pulls"]

    with ReplayServer() as server:
        serve(server, "first_sync", edit=loop)
        project.configure(source_toml(server))
        report = project.sync()
    assert not report.ok
    assert "link back to one already read" in report.sources[0].error


# -- marks: the feeds they were read for, the mark's second read again ----------------------------


def test_a_feed_added_later_is_read_from_the_start(project):
    with ReplayServer() as server:
        serve(server, "first_sync")
        # Deployments are read to link the changes, but not loaded: their mark moves anyway.
        project.configure(source_toml(server, feeds=["changes"]))
        first = project.sync()
        assert first.ok, first.as_dict()
        assert set(counts(first)) == {"changes"}
        project.configure(source_toml(server, feeds=["changes", "deployments"]))
        second = project.sync()
    assert second.ok, second.as_dict()
    assert counts(second) == {"deployments": (4, 4, 0, 0), "changes": (4, 0, 4, 0)}
    assert project.query("select change_id, deployment_id from changes order by 1") == [
        ("octo/shop#1", "octo/shop/deployments/104"),
        ("octo/shop#2", "octo/shop/deployments/104"),
        ("octo/shop#3", "octo/shop/deployments/104"),
        ("octo/shop#4", None),
    ]
    state = json.loads(project.query("select state from source_state")[0][0])["octo/shop"]
    assert state["feeds"] == ["changes", "deployments"]


def _in_the_marks_second(routes: dict) -> None:
    """PR7 merged and D7 (staging) created in the same second as the first sync's marks."""
    pulls = routes[f"{REPO}/pulls"]["body"]
    pr7 = copy.deepcopy(pulls[0])  # PR4, updated 03-03 14:05: the pull requests' mark
    pr7.update(
        number=7,
        title="Cache the ranker's embeddings",
        merged_at="2026-03-03T14:05:00Z",
        closed_at="2026-03-03T14:05:00Z",
        merge_commit_sha=sha("57"),
        head={**pr7["head"], "sha": sha("d7")},
    )
    pulls.insert(1, pr7)
    routes[f"{REPO}/pulls/7/commits"] = copy.deepcopy(routes[f"{REPO}/pulls/4/commits"])
    deployments = routes[f"{REPO}/deployments"]["body"]
    d7 = copy.deepcopy(deployments[1])  # D3, to be created at 16:10 like SP: the mark
    d7.update(
        id=107,
        environment="staging",
        production_environment=False,
        created_at="2026-03-03T16:10:00Z",
    )
    deployments.insert(1, d7)
    statuses = copy.deepcopy(routes[f"{REPO}/deployments/104/statuses"])
    statuses["body"][0]["created_at"] = "2026-03-03T16:20:00Z"
    routes[f"{REPO}/deployments/107/statuses"] = statuses


def test_an_item_in_the_marks_second_is_read_by_the_next_sync(project):
    with ReplayServer() as server:
        serve(server, "first_sync")
        project.configure(source_toml(server))
        assert project.sync().ok
        serve(server, "first_sync", edit=_in_the_marks_second)
        second = project.sync()
        assert second.ok, second.as_dict()
        before = len(server.seen)
        third = project.sync()
        assert third.ok, third.as_dict()
        third_paths = [s.path for s in server.seen[before:]]
    assert project.query(
        "select deployment_id, environment, finished_at, status from deployments "
        "where deployment_id = 'octo/shop/deployments/107'"
    ) == [("octo/shop/deployments/107", "staging", at("2026-03-03T16:20:00"), "success")]
    assert project.query("select change_id, deployment_id from changes order by 1")[-2:] == [
        ("octo/shop#4", None),
        ("octo/shop#7", None),
    ]
    # Read once: the third sync reads the second again but skips the pull requests it read.
    assert f"{REPO}/pulls/7/commits" not in third_paths
    assert counts(third)["deployments"] == (1, 0, 1, 0)  # D7, read again unchanged


def _shipped_in_the_marks_second(routes: dict) -> None:
    """PR3 (shipped by D3) is the newest updated, in the second it was merged; no PR4."""
    pulls = routes[f"{REPO}/pulls"]["body"]
    pulls[:] = [p for p in pulls if p["number"] != 4]
    pulls[0]["updated_at"] = pulls[0]["merged_at"]


def test_a_pull_request_read_in_the_marks_second_keeps_its_deployment(project):
    with ReplayServer() as server:
        serve(server, "first_sync", edit=_shipped_in_the_marks_second)
        project.configure(source_toml(server))
        assert project.sync().ok
        before = len(server.seen)
        assert project.sync().ok
        second_paths = [s.path for s in server.seen[before:]]
    assert f"{REPO}/pulls/3/commits" not in second_paths
    assert project.query("select deployment_id from changes where change_id = 'octo/shop#3'") == [
        ("octo/shop/deployments/104",)
    ]


# -- normalize: one pass, each item a row or a reject --------------------------------------------


RUN = {
    "id": 5,
    "conclusion": "success",
    "head_sha": sha("c1"),
    "updated_at": "2026-03-02T10:05:00Z",
}
DEPLOYMENT = {"id": 9, "environment": "staging", "created_at": "2026-03-02T10:00:00Z"}
PULL = {"number": 3, "merged_at": "2026-03-03T11:00:00Z", "title": "Tighten latency budget"}


@pytest.mark.parametrize(
    "feed, item, expected",
    [
        ("deployments", {"run": RUN}, ("deployment_id", "octo/shop/actions/runs/5")),
        ("deployments", {"run": "garbage"}, "workflow run without an id"),
        (
            "deployments",
            {"deployment": DEPLOYMENT, "statuses": []},
            ("deployment_id", "octo/shop/deployments/9"),
        ),
        ("deployments", {"deployment": {"sha": "x"}, "statuses": []}, "deployment without an id"),
        ("changes", PULL, ("deployment_id", "octo/shop/deployments/104")),
        ("changes", {"reject": [1]}, "pull request without a number"),
        ("incidents", {"number": 9, "labels": [{"name": "Severity:SEV1"}]}, ("severity", "SEV1")),
        ("incidents", "nope", "issue without a number"),
    ],
)
def test_each_item_becomes_a_row_or_a_reject(feed, item, expected):
    page = Page(feed, "octo/shop", "origin", [item], shipped={3: "octo/shop/deployments/104"})
    row = item_row(page, item, Options())
    if isinstance(expected, str):
        assert isinstance(row, Reject) and row.reason == expected
    else:
        column, value = expected
        assert row[column] == value


def test_normalize_keeps_the_items_order_in_one_pass():
    items = [{"run": RUN}, {"run": None}, {"deployment": DEPLOYMENT, "statuses": []}]
    connector = GithubConnector(SourceConfig("gh", "github", options={"repo": "octo/shop"}))
    batch = connector.normalize(Page("deployments", "octo/shop", "origin", items))
    assert list(batch.frame["deployment_id"]) == [
        "octo/shop/actions/runs/5",
        "octo/shop/deployments/9",
    ]
    assert [r.reason for r in batch.rejects] == ["workflow run without an id"]


@pytest.mark.parametrize(
    "labels, model, team, severity",
    [
        (["model:ranker", "team:search", "severity:sev2"], "ranker", "search", "sev2"),
        # Prefixes match in any case; the values are kept as written.
        (["Model:Ranker", "TEAM:Search", "Severity:SEV2"], "Ranker", "Search", "SEV2"),
        # A prefix with nothing after it names nothing: the source's defaults.
        (["model: ", "team:"], "recommender", "ranking", None),
        ([], "recommender", "ranking", None),
    ],
)
def test_incident_labels_name_the_model_team_and_severity(labels, model, team, severity):
    issue = {"number": 1, "labels": [{"name": name} for name in labels]}
    row = incident_row("octo/shop", issue, Options(model="recommender", team="ranking"))
    assert (row["model"], row["team"], row["severity"]) == (model, team, severity)


# -- quarantine across syncs: the item at the high-water mark is read again ---------------------


def _sp_closed_as(state: str):
    """SP (#105, the newest deployment: the deployments' mark) closed with `state`."""

    def edit(routes: dict) -> None:
        statuses = routes[f"{REPO}/deployments/105/statuses"]["body"]
        statuses.insert(0, {**statuses[0], "id": 9, "state": state})

    return edit


def test_a_bad_deployment_read_again_at_the_mark_is_quarantined_once(project):
    quarantine = "select * from quarantine where feed = 'deployments'"
    with ReplayServer() as server:
        # SP was deactivated without a final status: passed on as "inactive", quarantined.
        serve(server, "first_sync", edit=_sp_closed_as("inactive"))
        project.configure(source_toml(server))
        first = project.sync()
        assert counts(first)["deployments"] == (5, 4, 0, 1)
        [row] = project.query(quarantine)
        assert row[-1] == "octo/shop/deployments/105"  # row_key
        assert "status: unknown value 'inactive'" in row[5]

        # The next syncs read SP again, at the mark, under a window of their own: still one
        # row, the very one the first sync wrote.
        for _ in range(2):
            again = project.sync()
            assert counts(again)["deployments"] == (1, 0, 0, 1)
            assert project.query(quarantine) == [row]

        # Put right at the source (its final status is success): it loads, and its quarantine
        # row goes.
        serve(server, "first_sync", edit=_sp_closed_as("success"))
        fixed = project.sync()
    assert counts(fixed)["deployments"] == (1, 1, 0, 0)
    assert project.query(quarantine) == []
    assert project.query(
        "select status from deployments where deployment_id = 'octo/shop/deployments/105'"
    ) == [("success",)]


# -- why a deployment happened, what a change fixes, whether an assistant helped -----------------

RULES = Options(hotfix_workflows=("hotfix*", "*:hotfix"), rollback_workflows=("rollback*",))


@pytest.mark.parametrize(
    "names, options, declared, kind",
    [
        (["Deploy production", "deploy.yml"], Options(), None, None),  # no rule: not known
        (["Deploy production", "deploy.yml"], RULES, None, "planned"),
        (["HOTFIX production", "hotfix.yml"], RULES, None, "hotfix"),
        (["deploy:hotfix", None], RULES, None, "hotfix"),  # a deployment's task
        (["deploy", "Rollback to 1.4.0"], RULES, None, "rollback"),  # its description
        # rollback is looked at first: a hotfix that rolls back is a rollback
        (["hotfix rollback", "rollback-hotfix"], RULES, None, "rollback"),
        # a kind the payload declares wins over every rule, as written
        (["deploy:hotfix"], RULES, "Rollback", "Rollback"),
        ([], Options(), "hotfix", "hotfix"),
        ([None, ""], RULES, None, "planned"),
    ],
)
def test_a_deployments_kind(names, options, declared, kind):
    assert deployment_kind(names, options, declared) == kind


LABELS = Options(hotfix_labels=("hotfix",), rollback_labels=("revert",))


@pytest.mark.parametrize(
    "labelled, labels_read, options, kind",
    [
        ("hotfix", True, LABELS, "hotfix"),
        ("rollback", True, LABELS, "rollback"),
        (None, True, LABELS, "planned"),
        (None, False, LABELS, None),  # the pull requests were not read: no one can tell
        ("hotfix", False, LABELS, None),
        (None, True, Options(), None),  # no label rule
    ],
)
def test_a_deployments_kind_from_the_labels_of_what_it_shipped(
    labelled, labels_read, options, kind
):
    assert deployment_kind(["Deploy"], options, None, labelled, labels_read) == kind


def test_a_deployment_rows_kind_comes_from_its_payload_or_its_task():
    deployment = {"id": 9, "task": "deploy:hotfix", "payload": {"kind": "rollback"}}
    assert deployment_row("o/r", deployment, [], RULES)["kind"] == "rollback"
    deployment = {"id": 9, "task": "deploy:hotfix", "payload": {}}
    assert deployment_row("o/r", deployment, [], RULES)["kind"] == "hotfix"
    assert deployment_row("o/r", deployment, [], Options())["kind"] is None


INCIDENTS = frozenset({7, 9})


@pytest.mark.parametrize(
    "texts, pattern, incident",
    [
        (["Fix flaky test", "Fixes INC-123"], r"INC-\d+", "INC-123"),
        (["Resolves INC-7 and INC-8"], r"INC-\d+", "INC-7"),  # the first one
        (["hotfix for INC-123"], r"INC-\d+", None),  # named, but no closing keyword
        (["fixes inc-123"], r"INC-\d+", None),  # the id's pattern keeps its case
        (["FIXED: INC-5"], r"INC-\d+", "INC-5"),  # the keyword in any case, with a colon
        (["prefixes INC-5"], r"INC-\d+", None),  # a keyword is a whole word
        (["closes #9"], r"INC-\d+", "octo/shop#9"),
        (["closes #8"], r"INC-\d+", None),  # issue 8 is no incident
        (["fixes octo/shop#7"], r"INC-\d+", "octo/shop#7"),
        (["fixes octo/other#7"], r"INC-\d+", None),  # another repository's issue 7
        (["fixes https://github.com/octo/shop/issues/9"], r"INC-\d+", "octo/shop#9"),
        (["Resolves PD-Q1W2E3"], r"PD-[A-Z0-9]+", "PD-Q1W2E3"),  # a pattern of one's own
        ([None, None], r"INC-\d+", None),
    ],
)
def test_the_incident_a_pull_request_fixes(texts, pattern, incident):
    assert fixed_incident("octo/shop", texts, pattern, INCIDENTS) == incident


CLAUDE = "Fix it\n\nCo-authored-by: Claude <noreply@anthropic.com>"
HUMAN = "Fix it\n\nCo-authored-by: Jane Doe <jane@example.com>"


@pytest.mark.parametrize(
    "labels, messages, options, expected",
    [
        (["ai-assisted"], [], Options(), True),
        (["AI-Assisted"], [HUMAN], Options(), True),  # labels match in any case
        ([], [HUMAN, CLAUDE], Options(), True),
        ([], ["x\n\nco-authored-by: cursoragent <cursoragent@cursor.com>"], Options(), True),
        (
            [],
            ["x\nCo-Authored-By: Copilot <223556219+Copilot@users.noreply.github.com>"],
            Options(),
            True,
        ),  # fmt: skip
        ([], [HUMAN, "plain"], Options(), False),  # read, and nothing matched
        ([], ["Claude wrote the docs"], Options(), False),  # a name outside a trailer
        ([], [CLAUDE], Options(ai_assistants=("Devin",)), False),  # the list is config
        ([], [], Options(), None),  # the trailers are a rule, and no commit was read
        ([], [None], Options(), None),
        ([], [], Options(ai_assistants=()), False),  # labels alone are the rule, and were read
        ([], [CLAUDE], Options(ai_labels=(), ai_assistants=()), None),  # nothing to read it from
    ],
)
def test_whether_an_ai_assistant_helped(labels, messages, options, expected):
    assert ai_assisted(labels, messages, options) is expected
