"""Posting contract breaches to a webhook (Slack-compatible `{"text": ...}`)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

from metrics.filters import Filters

TIMEOUT_SECONDS = 10


def message(breaches: list[str], filters: Filters) -> dict:
    """The JSON body: a Slack-style `text`, and the breaches as a list for other receivers."""
    header = (
        f"Tandem: {len(breaches)} model contract breach"
        f"{'es' if len(breaches) != 1 else ''} from {filters.since:%Y-%m-%d %H:%M} to "
        f"{filters.until:%Y-%m-%d %H:%M} UTC"
    )
    return {
        "text": header + "\n" + "\n".join(f"• {line}" for line in breaches),
        "breaches": breaches,
        "window": {"since": filters.since.isoformat(), "until": filters.until.isoformat()},
    }


def post_breaches(variable: str, breaches: list[str], filters: Filters) -> str | None:
    """POST the breaches to the URL held in $`variable`; a sentence if that failed, else None.

    The URL itself is never repeated (a webhook URL is a secret): errors name the variable.
    """
    url = os.environ.get(variable)
    if not url:
        return f"webhook not sent: environment variable {variable} is not set"
    body = json.dumps(message(breaches, filters)).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as error:
        return f"webhook in {variable} answered HTTP {error.code}; breaches not delivered"
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return (
            f"webhook in {variable} could not be reached ({type(reason).__name__}); "
            "breaches not delivered"
        )
    return None
