"""The shared API client against a real local server: retries, rate limits, auth, secrets."""

from __future__ import annotations

import pytest

from connectors.http import HttpClient
from connectors.loader import SourceError
from settings import Secret
from tests.replay import Answer, ReplayServer

TOKEN = "ghp_s3cr3t-value"


def client(server: ReplayServer, **options) -> tuple[HttpClient, list[float]]:
    waits: list[float] = []
    http = HttpClient(
        "gh", server.url, token=Secret(TOKEN), token_env="GH_TOKEN", backoff_s=0.5, **options
    )
    http.sleep = waits.append
    http.now = lambda: 1_000_000.0
    return http, waits


def test_pages_follow_the_link_header_and_send_the_token_in_a_header():
    with ReplayServer() as server:
        server.route(
            "/items", Answer([1, 2], headers={"Link": '<{base}/items2?page=2>; rel="next"'})
        )
        server.route("/items2", Answer([3]))
        http, _ = client(server)
        first = http.get("items", {"per_page": 2})
        assert first.body == [1, 2]
        second = http.get(first.next_link())
        assert second.body == [3] and second.next_link() is None
    assert server.seen[0].query == {"per_page": ["2"]}
    assert server.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_transient_failures_back_off_exponentially_then_succeed():
    with ReplayServer() as server:
        server.route("/x", Answer(None, 502), Answer(None, 503), Answer({"ok": True}))
        http, waits = client(server)
        assert http.get("x").body == {"ok": True}
    assert waits == [0.5, 1.0]


def test_rate_limits_wait_for_retry_after_or_the_reset_time():
    with ReplayServer() as server:
        server.route("/a", Answer(None, 429, {"Retry-After": "7"}), Answer([]))
        limited = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1000030"}
        server.route("/b", Answer({"message": "API rate limit exceeded"}, 403, limited), Answer([]))
        http, waits = client(server)
        http.get("a")
        http.get("b")
    assert waits == [7.0, 31.0]


def test_giving_up_names_the_source_and_the_failure_without_the_token():
    with ReplayServer() as server:
        server.route("/down", Answer({"message": "boom"}, 500))
        http, waits = client(server, retries=2)
        with pytest.raises(SourceError) as caught:
            http.get("down", {"q": "x"})
    assert "source 'gh'" in str(caught.value) and "3 attempts" in str(caught.value)
    assert "boom" in str(caught.value) and "q=x" not in str(caught.value)
    assert TOKEN not in str(caught.value) and TOKEN not in repr(http.__dict__)
    assert len(waits) == 2


@pytest.mark.parametrize("status", [401, 403])
def test_an_auth_failure_fails_at_once_naming_the_variable(status):
    with ReplayServer() as server:
        server.route("/me", Answer({"message": "Bad credentials"}, status))
        http, waits = client(server)
        with pytest.raises(SourceError) as caught:
            http.get("me")
    message = str(caught.value)
    assert "$GH_TOKEN" in message and "Bad credentials" in message and TOKEN not in message
    assert waits == [] and len(server.seen) == 1


def test_an_unreachable_host_is_retried_then_reported():
    http = HttpClient("jira", "http://127.0.0.1:9", retries=1, backoff_s=0.1)
    waits: list[float] = []
    http.sleep = waits.append
    with pytest.raises(SourceError, match="source 'jira'.*2 attempts"):
        http.get("rest/api/3/myself")
    assert waits == [0.1]
