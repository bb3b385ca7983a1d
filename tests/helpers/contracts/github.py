"""The github kind: recorded GitHub REST answers (tests/fixtures/github) served by a real local
server, and the contract sample read from them. Used by tests/test_github_connector.py too."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path

from tests.replay import Answer, ReplayServer

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "github"


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def serve(server: ReplayServer, *names: str, edit=None) -> None:
    """Route every recorded response of the named fixture files (later files win)."""
    server.routes.clear()
    routes: dict = {}
    for name in names:
        routes.update(recorded(name))
    if edit:
        edit(routes)
    for path, answer in routes.items():
        server.route(path, Answer(answer["body"], 200, answer.get("headers", {})))


def source_toml(server: ReplayServer, name: str = "gh", **options) -> str:
    lines = [
        "[[sources]]",
        f'name = "{name}"',
        'kind = "github"',
        'repo = "octo/shop"',
        f'base_url = "{server.url}"',
        "stale_after_days = 36500",
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


TIMESTAMP_CHECK = (
    "deployments",
    "deployment_id",
    "octo/shop/deployments/104",
    "finished_at",
    dt.datetime(2026, 3, 3, 12, 20, tzinfo=dt.UTC),
)


@contextlib.contextmanager
def contract_sample(project, frames):
    """One repository's first sync: every feed loads rows (the demo frames are not needed)."""
    with ReplayServer() as server:
        serve(server, "first_sync")
        yield source_toml(server)
