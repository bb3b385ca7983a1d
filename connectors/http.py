"""The HTTP client every API connector (GitHub, Jira) shares: JSON, retries, rate limits, auth.

- Transient failures (connection errors, timeouts, HTTP 429 and 5xx) are retried with
  exponential backoff; a `Retry-After` header, or `X-RateLimit-Remaining: 0` with
  `X-RateLimit-Reset`, sets the wait instead.
- An authentication failure (401, or 403 that is not a rate limit) fails at once with one line
  naming the source and the environment variable that holds the token.
- The token is sent in a header and never appears in an error, a log line or a repr: errors
  name the URL without its query string's secrets (there are none: tokens go in headers only).

`sleep` and `now` are attributes so tests can replay recorded responses without waiting.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.loader import SourceError
from settings import Secret

TRANSIENT_STATUSES = {429, 500, 502, 503, 504}


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
        for attempt in range(self.retries + 1):
            self.requests += 1
            request = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                    raw = reply.read()
                    return Response(url, reply.status, dict(reply.headers), _json(raw, url))
            except urllib.error.HTTPError as error:
                reply_headers = dict(error.headers or {})
                detail = _detail(error.read())
                wait = self._rate_limit_wait(error.code, reply_headers)
                if error.code in (401, 403) and wait is None:
                    raise SourceError(self._auth_message(error.code, url, detail)) from None
                if wait is None and error.code not in TRANSIENT_STATUSES:
                    raise SourceError(
                        f"source {self.source!r}: HTTP {error.code} from {_safe(url)}"
                        + (f": {detail}" if detail else "")
                    ) from None
                failure = f"HTTP {error.code}" + (f": {detail}" if detail else "")
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                wait = None
                failure = str(getattr(error, "reason", error))
            if attempt == self.retries:
                break
            self.sleep(wait if wait is not None else self.backoff_s * 2**attempt)
        raise SourceError(
            f"source {self.source!r}: {_safe(url)} still failing after "
            f"{self.retries + 1} attempts ({failure})"
        )

    def _rate_limit_wait(self, status: int, headers: Mapping[str, str]) -> float | None:
        """Seconds to wait before retrying a rate-limited request, or None if it is not one."""
        lower = {k.lower(): v for k, v in headers.items()}
        retry_after = lower.get("retry-after")
        if retry_after is not None and status in (403, 429, 503):
            try:
                seconds = float(retry_after)
            except ValueError:
                parsed = email.utils.parsedate_to_datetime(retry_after)
                seconds = parsed.timestamp() - self.now()
            return min(max(seconds, 0.0), self.max_wait_s)
        if status in (403, 429) and lower.get("x-ratelimit-remaining") == "0":
            reset = lower.get("x-ratelimit-reset")
            seconds = float(reset) - self.now() + 1 if reset else self.backoff_s
            return min(max(seconds, 0.0), self.max_wait_s)
        if status == 429:
            return None  # transient, plain backoff
        return None

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
    """A URL fit for an error: no userinfo (user:password@), no query string."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
