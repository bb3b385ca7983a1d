"""The HTTP client every API connector (GitHub, Jira) shares: JSON, retries, rate limits, auth.

- Transient failures (connection errors, timeouts, HTTP 429 and 5xx) are retried with
  exponential backoff; a `Retry-After` header, or `X-RateLimit-Remaining: 0` with
  `X-RateLimit-Reset`, sets the wait instead.
- An authentication failure (401, or 403 that is not a rate limit) fails at once with one line
  naming the source and the environment variable that holds the token.
- The token is sent in a header and never appears in an error, a log line or a repr: errors
  name the URL without its query string and with any password masked (connectors/secrets.py).
- A `Retry-After` that is neither seconds nor an HTTP date is ignored: the usual backoff applies.

`sleep` and `now` are attributes so tests can replay recorded responses without waiting.
`retry` is the loop itself, for any call (a database connection too); `json_text` is how an API
connector hands a JSON value to the loader.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import math
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from connectors.loader import SourceError
from connectors.secrets import safe_url
from settings import Secret

TRANSIENT_STATUSES = {429, 500, 502, 503, 504}
T = TypeVar("T")


class GaveUp(Exception):
    """Every attempt `retry` made failed; `error` is the last failure."""

    def __init__(self, error: Exception, attempts: int):
        super().__init__(f"still failing after {attempts} attempts ({error})")
        self.error = error
        self.attempts = attempts


def retry(
    call: Callable[[], T],
    attempts: int,
    retryable: Callable[[Exception], bool | float],
    sleep: Callable[[float], None],
    backoff_s: float = 1.0,
) -> T:
    """What `call` returns, calling it again after a failure worth retrying, `attempts` at most.

    Args:
        call: the attempt; any exception it raises is given to `retryable`.
        attempts: how many calls at most (1: no retry).
        retryable: for a failure, False to raise it at once, True to retry after the
            exponential backoff (`backoff_s`, then twice that, ...), or a number of seconds to
            wait before the retry instead (a server's Retry-After).
        sleep: waits that many seconds (tests pass one that only records).
        backoff_s: the first backoff wait.

    Returns:
        The first successful call's result. A failure not worth retrying propagates as it is;
        when the last attempt fails too, GaveUp carries its error.
    """
    for attempt in range(attempts):
        try:
            return call()
        except Exception as error:
            decision = retryable(error)
            if decision is False:
                raise
            if attempt == attempts - 1:
                raise GaveUp(error, attempts) from error
            wait = backoff_s * 2**attempt if decision is True else float(decision)
            sleep(wait)
    raise ValueError("retry needs at least one attempt")


class Transient(Exception):
    """A request that failed in a way worth retrying, after `wait` seconds if the server says."""

    def __init__(self, failure: str, wait: float | None = None):
        super().__init__(failure)
        self.wait = wait


def _transient_wait(error: Exception) -> bool | float:
    """`retry`'s decision for HttpClient: transient failures only, at the server's pace."""
    if not isinstance(error, Transient):
        return False
    return True if error.wait is None else error.wait


def json_text(value: Any) -> str | None:
    """A value of a JSON answer as the loader's text: "" and None are None, structures JSON.

    Args:
        value: a string, number, boolean, list or object from a parsed JSON body.

    Returns:
        Text as it came, anything else as JSON (keys sorted, so it is deterministic).
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


@dataclass(frozen=True)
class Response:
    """One HTTP response, its body parsed as JSON."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: Any

    def next_link(self) -> str | None:
        """The `rel="next"` URL of an RFC 8288 `Link` header (GitHub's pagination), if any."""
        for part in self.headers.get("Link", "").split(","):
            match = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', part)
            if match:
                return match.group(1)
        return None


class HttpClient:
    """GET JSON from one API for one source, with retries and an auth header."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        token: Secret | None = None,
        token_env: str | None = None,
        scheme: str = "Bearer",
        user: str | None = None,
        headers: Mapping[str, str] | None = None,
        retries: int = 5,
        backoff_s: float = 1.0,
        max_wait_s: float = 900.0,
        timeout_s: float = 30.0,
    ):
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.token_env = token_env
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_wait_s = max_wait_s
        self.timeout_s = timeout_s
        self.headers = {"Accept": "application/json", "User-Agent": "tandem"}
        self.headers.update(headers or {})
        self._token = token
        self._scheme = scheme
        self._user = user
        self.sleep: Callable[[float], None] = time.sleep
        self.now: Callable[[], float] = time.time
        self.requests = 0

    def url(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> str:
        url = path_or_url if "://" in path_or_url else f"{self.base_url}/{path_or_url.lstrip('/')}"
        if params:
            query = urllib.parse.urlencode(
                {k: v for k, v in params.items() if v is not None}, doseq=True
            )
            url += ("&" if "?" in url else "?") + query
        return url

    def _auth_header(self) -> dict[str, str]:
        if self._token is None:
            return {}
        if self._scheme == "Basic":
            import base64

            raw = f"{self._user}:{self._token.reveal()}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        return {"Authorization": f"{self._scheme} {self._token.reveal()}"}

    def get(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> Response:
        return self.request("GET", path_or_url, params)

    def post(self, path_or_url: str, body: Any) -> Response:
        return self.request("POST", path_or_url, None, body)

    def request(
        self,
        method: str,
        path_or_url: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Response:
        """One request, retried while the failure is transient; a SourceError otherwise."""
        url = self.url(path_or_url, params)
        data = None if body is None else json.dumps(body).encode()
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        headers.update(self._auth_header())

        def attempt() -> Response:
            self.requests += 1
            request = urllib.request.Request(url, data=data, method=method, headers=headers)
            return self._send(request)

        try:
            return retry(attempt, self.retries + 1, _transient_wait, self.sleep, self.backoff_s)
        except GaveUp as gave_up:
            raise SourceError(
                f"source {self.source!r}: {_safe(url)} still failing after "
                f"{gave_up.attempts} attempts ({gave_up.error})"
            ) from None

    def _send(self, request: urllib.request.Request) -> Response:
        """One attempt: the response, a `Transient` failure to retry, or a SourceError."""
        url = request.full_url
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                return Response(url, reply.status, dict(reply.headers), _json(reply.read(), url))
        except urllib.error.HTTPError as error:
            reply_headers = dict(error.headers or {})
            detail = _detail(error.read())
            limited = _is_rate_limit(error.code, reply_headers)
            if error.code in (401, 403) and not limited:
                raise SourceError(self._auth_message(error.code, url, detail)) from None
            if not limited and error.code not in TRANSIENT_STATUSES:
                raise SourceError(
                    f"source {self.source!r}: HTTP {error.code} from {_safe(url)}"
                    + (f": {detail}" if detail else "")
                ) from None
            wait = self._rate_limit_wait(reply_headers) if limited else None
            failure = f"HTTP {error.code}" + (f": {detail}" if detail else "")
            raise Transient(failure, wait) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise Transient(str(getattr(error, "reason", error))) from None

    def _rate_limit_wait(self, headers: Mapping[str, str]) -> float | None:
        """Seconds a rate-limited answer asks to wait; None if it names no usable time."""
        lower = {k.lower(): v for k, v in headers.items()}
        seconds = _retry_after(lower.get("retry-after"), self.now())
        if seconds is None and lower.get("x-ratelimit-remaining") == "0":
            reset = _number(lower.get("x-ratelimit-reset"))
            seconds = None if reset is None else reset - self.now() + 1
        return None if seconds is None else min(max(seconds, 0.0), self.max_wait_s)

    def _auth_message(self, status: int, url: str, detail: str) -> str:
        where = (
            f"check the token in ${self.token_env}"
            if self.token_env
            else "no token is configured (set token_env to the environment variable holding one)"
        )
        reason = "authentication failed" if status == 401 else "access denied"
        return f"source {self.source!r}: {reason} (HTTP {status} from {_safe(url)}): {where}" + (
            f" ({detail})" if detail else ""
        )


def _is_rate_limit(status: int, headers: Mapping[str, str]) -> bool:
    """Whether a failed answer is a rate limit (retried) rather than a refusal."""
    lower = {k.lower(): v for k, v in headers.items()}
    if status == 429:
        return True
    if "retry-after" in lower and status in (403, 503):
        return True
    return status == 403 and lower.get("x-ratelimit-remaining") == "0"


def _number(text: str | None) -> float | None:
    """A header's finite number, or None."""
    try:
        number = float(text) if text is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds a `Retry-After` header asks for (delay-seconds or an HTTP date); None if neither."""
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # HTTP dates are GMT
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp() - now


def _json(raw: bytes, url: str) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise SourceError(f"{_safe(url)} did not answer JSON: {error}") from None


def _detail(raw: bytes) -> str:
    """A short reason from an error body (GitHub's `message`, Jira's `errorMessages`)."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            return body["message"][:200]
        messages = body.get("errorMessages")
        if isinstance(messages, list) and messages:
            return "; ".join(str(m) for m in messages)[:200]
    return ""


def _safe(url: str) -> str:
    """A URL fit for an error: its password masked, no query string."""
    return safe_url(url, keep_query=False)
