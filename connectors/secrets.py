"""Secrets kept out of every text a connector shows: errors, origins, logs.

One rule for every connector. A secret is:
- the value of any environment variable a source's config names (`token_env`, `url_env`,
  `tracking_uri_env`, ... : every option ending in `_env`);
- the password of a URL's userinfo (`user:password@`), and `user:password` itself;
- the value of a URL query-string parameter whose name says it is one (`password`,
  `sslpassword`, `token`, `access_token`, `api_key`, `secret`, `sig`, `X-Amz-Credential`, ...).

Each is replaced by `***` as written and in the forms a URL may encode it in. A URL that holds a
secret is replaced whole wherever it appears as written; `safe_url` gives the form to show
instead: the user kept, the password and secret query values as `***`.

How connectors/sql.py's Redactor maps onto this: `Scrubber(urls=[raw])` is its `__call__` and
`safe_url(raw)` its `url`.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Iterable
from typing import Any

from settings import Secret, SourceConfig

MASK = "***"
# Query-string parameter names whose values are secrets.
SECRET_KEY = re.compile(r"pass|pwd|secret|token|key|auth|sig|credential", re.IGNORECASE)


def _forms(value: str) -> set[str]:
    """A secret as written, decoded, and encoded as a URL may carry it."""
    plain = urllib.parse.unquote(value)
    return {
        value,
        plain,
        urllib.parse.unquote_plus(value),
        urllib.parse.quote_plus(plain),
        urllib.parse.quote(plain, safe=""),
    } - {""}


def _is_url(text: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][\w+.-]*://", text))


def _params(text: str) -> list[tuple[str, str, str]]:
    """(name, separator, value) of each `name=value` of a query string, as written."""
    return [part.partition("=") for part in text.split("&") if part]


def _is_secret_name(name: str) -> bool:
    return bool(SECRET_KEY.search(urllib.parse.unquote_plus(name)))


def _masked_params(text: str) -> str:
    return "&".join(
        f"{name}{sep}{MASK if sep and _is_secret_name(name) else value}"
        for name, sep, value in _params(text)
    )


def url_secrets(url: str) -> set[str]:
    """The secrets a URL holds, in every form: password, user:password, secret query values.

    Args:
        url: any URL (a SQLAlchemy URL too); text that is not one holds none.

    Returns:
        The secret strings, empty when the URL holds none.
    """
    if not _is_url(url):
        return set()
    parts = urllib.parse.urlsplit(url)
    found: set[str] = set()
    userinfo, at, _ = parts.netloc.rpartition("@")
    _, colon, password = userinfo.partition(":")
    if at and colon and password:
        found |= _forms(password) | {userinfo, urllib.parse.unquote(userinfo)}
    for text in (parts.query, parts.fragment):
        for name, sep, value in _params(text):
            if sep and value and _is_secret_name(name):
                found |= _forms(value)
    return found


def safe_url(url: str, *, keep_query: bool = True) -> str:
    """A URL fit for an error or a log: the password and secret query values as `***`.

    Args:
        url: the URL as configured.
        keep_query: False drops the query string and fragment altogether.

    Returns:
        The URL with the user kept ("postgresql://ana:***@db/wh?sslpassword=***").
    """
    if not _is_url(url):
        return url
    parts = urllib.parse.urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    netloc = parts.netloc
    if at and colon and password:
        netloc = f"{user}:{MASK}@{hostport}"
    # Put together by hand: urlunsplit would drop the empty host of "sqlite:///file.db".
    safe = f"{parts.scheme}://{netloc}{parts.path}"
    if keep_query and parts.query:
        safe += "?" + _masked_params(parts.query)
    if keep_query and parts.fragment:
        safe += "#" + _masked_params(parts.fragment)
    return safe


class Scrubber:
    """Replaces secrets in any text with `***`: values given, and the secrets inside URLs."""

    def __init__(
        self, values: Iterable[str | Secret | None] = (), urls: Iterable[str | None] = ()
    ) -> None:
        """Collect the secrets to scrub.

        Args:
            values: secret values (a token, a URL from an environment variable), each scrubbed
                whole, and if it is a URL, its secret parts too.
            urls: URLs that are not secret themselves (a base_url option): only their secret
                parts are scrubbed, and the URL as written when it holds one.
        """
        secrets: set[str] = set()
        for value in values:
            text = value.reveal() if isinstance(value, Secret) else value
            if text:
                secrets |= _forms(text) | url_secrets(text)
        for url in urls:
            inside = url_secrets(url) if url else set()
            if inside:
                secrets |= inside | {url}
        # Longest first: a URL goes whole before its password is looked for.
        self._secrets = sorted(secrets, key=lambda s: (-len(s), s))

    @classmethod
    def for_source(
        cls, source: SourceConfig, extra_env: Iterable[str] = (), extra: Iterable[str] = ()
    ) -> Scrubber:
        """Every secret a source's config names: its `*_env` variables' values, URL options.

        Args:
            source: the source whose options name the variables.
            extra_env: more variables a kind reads on its own (MLflow's MLFLOW_TRACKING_TOKEN).
            extra: more secret values a kind finds in its options (Spark's secret settings).
        """
        names = [
            str(value)
            for key, value in source.options.items()
            if key.endswith("_env") and isinstance(value, str)
        ]
        values = [os.environ.get(name) for name in [*names, *extra_env]] + list(extra)
        urls = [value for value in source.options.values() if isinstance(value, str)]
        return cls(values, urls)

    def __call__(self, text: Any) -> str:
        text = str(text)
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def __repr__(self) -> str:
        return f"Scrubber({len(self._secrets)} secret forms)"
