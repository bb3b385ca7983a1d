"""The shared API client against a real local server: retries, rate limits, auth, secrets.

Also the pieces it shares: the retry loop (connectors/http.py `retry`), JSON values as the
loader's text, and the secret scrubbing of connectors/secrets.py.
"""

from __future__ import annotations

import pytest

from connectors.http import GaveUp, HttpClient, json_text, retry
from connectors.loader import SourceError
from connectors.secrets import Scrubber, safe_url
from settings import Secret, SourceConfig
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


@pytest.mark.parametrize(
    "headers, waits",
    [
        # Neither delay-seconds nor an HTTP date: the usual backoff, not a crash.
        ({"Retry-After": "soon"}, [0.5]),
        ({"Retry-After": ""}, [0.5]),
        ({"Retry-After": "Mon, 99 Foo 1970 99:99:99 GMT"}, [0.5]),
        ({"Retry-After": "nan"}, [0.5]),
        # An HTTP date: until then (the client's clock reads 1,000,000).
        ({"Retry-After": "Mon, 12 Jan 1970 13:47:10 GMT"}, [30.0]),
        # A reset time that is not a number: the usual backoff too.
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "later"}, [0.5]),
    ],
)
def test_a_rate_limit_without_a_usable_time_falls_back_to_the_backoff(headers, waits):
    with ReplayServer() as server:
        server.route("/a", Answer({"message": "slow down"}, 429, headers), Answer([1]))
        server.route("/b", Answer({"message": "slow down"}, 403, headers), Answer([2]))
        http, seen_waits = client(server)
        assert http.get("a").body == [1]
        assert http.get("b").body == [2]
    assert seen_waits == waits * 2


class Flaky:
    """A call that raises the given errors in turn, then answers "ok"; counts its calls."""

    def __init__(self, *errors: Exception):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def _decide(error: Exception) -> bool | float:
    """Timeouts back off, a LookupError names its wait, anything else is final."""
    if isinstance(error, TimeoutError):
        return True
    if isinstance(error, LookupError):
        return float(error.args[0])
    return False


@pytest.mark.parametrize(
    "errors, attempts, calls, waits, outcome",
    [
        ([], 3, 1, [], "ok"),
        ([TimeoutError("t1"), TimeoutError("t2")], 3, 3, [2.0, 4.0], "ok"),
        ([LookupError(7), TimeoutError("t")], 3, 3, [7.0, 4.0], "ok"),
        ([TimeoutError("t1"), TimeoutError("t2")], 2, 2, [2.0], GaveUp),
        ([TimeoutError("t1")], 1, 1, [], GaveUp),
        ([TimeoutError("t1"), ValueError("final")], 5, 2, [2.0], ValueError),
    ],
)
def test_retry_calls_again_while_the_failure_is_worth_it(errors, attempts, calls, waits, outcome):
    call, slept = Flaky(*errors), []
    if outcome == "ok":
        assert retry(call, attempts, _decide, slept.append, backoff_s=2.0) == "ok"
    else:
        with pytest.raises(outcome) as caught:
            retry(call, attempts, _decide, slept.append, backoff_s=2.0)
        if outcome is GaveUp:
            assert caught.value.attempts == attempts
            assert isinstance(caught.value.error, TimeoutError)
    assert (call.calls, slept) == (calls, waits)


@pytest.mark.parametrize(
    "value, text",
    [
        (None, None),
        ("", None),
        ("Done", "Done"),
        (8, "8"),
        (2.5, "2.5"),
        (True, "true"),
        ({"b": 1, "a": [1, 2]}, '{"a": [1, 2], "b": 1}'),
        (["x", "y"], '["x", "y"]'),
    ],
)
def test_json_text_is_the_loaders_text_of_a_json_value(value, text):
    assert json_text(value) == text


SQL_URL = "postgresql+psycopg://ana:p%40ss%2Fw0rd@db:5432/wh?sslmode=require&sslpassword=k3y"


@pytest.mark.parametrize(
    "url, keep_query, safe",
    [
        (SQL_URL, True, "postgresql+psycopg://ana:***@db:5432/wh?sslmode=require&sslpassword=***"),
        (SQL_URL, False, "postgresql+psycopg://ana:***@db:5432/wh"),
        ("https://x.atlassian.net/jira", True, "https://x.atlassian.net/jira"),
        ("https://bot:pw@[::1]:8080/p", True, "https://bot:***@[::1]:8080/p"),
        (
            "https://h/api?access_token=t0k&page=2&X-Amz-Signature=abc&api_key=",
            True,
            "https://h/api?access_token=***&page=2&X-Amz-Signature=***&api_key=***",
        ),
        ("https://h/cb#access_token=t0k&state=1", True, "https://h/cb#access_token=***&state=1"),
        ("sqlite:///data/tandem.db", True, "sqlite:///data/tandem.db"),
        ("not a url", True, "not a url"),
    ],
)
def test_a_safe_url_masks_passwords_and_secret_query_values(url, keep_query, safe):
    assert safe_url(url, keep_query=keep_query) == safe


@pytest.mark.parametrize(
    "values, urls, text, scrubbed",
    [
        # What connectors/sql.py's Redactor does: the URL whole, the password in every form.
        (
            [],
            [SQL_URL],
            f"dsn {SQL_URL}: password=p@ss/w0rd (p%40ss%2Fw0rd) key k3y",
            "dsn ***: password=*** (***) key ***",
        ),
        # A URL without secrets is not one.
        ([], ["https://x.atlassian.net"], "GET https://x.atlassian.net/x", None),
        # A secret value, whole and URL-encoded; a secret URL's query token on its own.
        (["to ken/1"], [], "sent to ken/1 as to+ken%2F1", "sent *** as ***"),
        (
            ["https://bot:pw-1@m.example/?token=t-2"],
            [],
            "GET https://bot:pw-1@m.example/api?name=x&token=t-2 as bot:pw-1",
            "GET https://***@m.example/api?name=x&token=*** as ***",
        ),
        ([Secret("s3cr3t"), None, ""], [None], "Bearer s3cr3t", "Bearer ***"),
    ],
)
def test_a_scrubber_masks_every_form_of_a_secret(values, urls, text, scrubbed):
    scrub = Scrubber(values, urls)
    assert scrub(text) == (text if scrubbed is None else scrubbed)
    assert "s3cr3t" not in repr(scrub) and "t-2" not in repr(scrub)


def test_a_scrubber_for_a_source_knows_its_variables_and_urls(monkeypatch):
    monkeypatch.setenv("T_TOKEN", "tok-123456")
    monkeypatch.setenv("T_URL", "postgresql://u:pw-654321@db/x")
    monkeypatch.delenv("T_UNSET", raising=False)
    source = SourceConfig(
        "s",
        "jira",
        options={
            "token_env": "T_TOKEN",
            "url_env": "T_URL",
            "other_env": "T_UNSET",
            "base_url": "https://h/?api_key=k-777",
        },
    )
    scrub = Scrubber.for_source(source, extra_env=["T_UNSET"])
    assert scrub("tok-123456 pw-654321 k-777 u") == "*** *** *** u"
