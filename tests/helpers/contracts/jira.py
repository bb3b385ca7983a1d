"""The jira kind: recorded Jira Cloud REST v3 answers (tests/fixtures/jira) served by a real
local server, and the contract sample read from them. Used by tests/test_jira_connector.py too."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path

from tests.replay import Answer, ReplayServer

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "jira"
SEARCH = "/rest/api/3/search/jql"
CHANGELOG = "/rest/api/3/issue/ML-3/changelog"


def recorded(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def serve(server: ReplayServer, *later_searches: Answer, search_first: tuple = ()) -> None:
    """Route the recorded first sync (and what later syncs' searches answer)."""
    server.route("/rest/api/3/field", Answer(recorded("fields.json")))
    server.route("/rest/api/3/myself", Answer(recorded("myself.json")))
    server.route(
        SEARCH,
        *search_first,
        Answer(recorded("search_page1.json")),
        Answer(recorded("search_page2.json")),
        *later_searches,
    )
    server.route(
        f"{CHANGELOG}?startAt=0&maxResults=100", Answer(recorded("changelog_ML-3_page1.json"))
    )
    server.route(
        f"{CHANGELOG}?startAt=3&maxResults=100", Answer(recorded("changelog_ML-3_page2.json"))
    )


TIMESTAMP_CHECK = (
    "tickets",
    "ticket_id",
    "ML-1",
    "created_at",
    dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC),
)


@contextlib.contextmanager
def contract_sample(project, frames):
    """The recorded instance, anonymous access: tickets, transitions and an incident."""
    with ReplayServer() as server:
        serve(server)
        yield (
            f'[[sources]]\nname = "jira"\nkind = "jira"\nbase_url = "{server.url}"\n'
            'jql = "project = ML"\nmodel_label_prefix = "model:"\n'
        )
