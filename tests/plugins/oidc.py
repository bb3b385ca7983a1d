"""A real OpenID Connect provider for tests: tests/oidc/provider.mjs (npm's oidc-provider) on Node.

A pytest plugin, registered once in tests/conftest.py (`pytest_plugins`): a test module takes
the `oidc_provider` fixture as an argument, with nothing to import.

    def test_something(oidc_provider):
        oidc_provider.metadata_url  # http://127.0.0.1:PORT/.well-known/openid-configuration

One provider per test module, on a free port, with one confidential client whose redirect URI
is http://127.0.0.1:APP_PORT/oauth2callback: the port the app under test is to listen on
(`app_port`, chosen here so that the client can be registered before the app starts). Its
people and their claims are in tests/oidc/provider.mjs. Without Node or without
tests/oidc/node_modules (`npm ci --prefix tests/oidc`) the tests skip, unless
TANDEM_REQUIRE_OIDC=1 (CI) makes that a failure.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.project import stop

REQUIRE_ENV = "TANDEM_REQUIRE_OIDC"
FOLDER = Path(__file__).resolve().parents[1] / "oidc"
CLIENT_ID = "tandem"
START_SECONDS = 30


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"The OpenID provider is required ({REQUIRE_ENV}=1) but {reason}")
    pytest.skip(f"Sign-in tests skipped: {reason}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class OidcProvider:
    """A running provider: its issuer, its one client, and the app port the client redirects to."""

    issuer: str
    client_id: str
    client_secret: str
    app_port: int
    log: Path

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.app_port}/oauth2callback"


def _wait(process: subprocess.Popen, provider: OidcProvider) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            urllib.request.urlopen(provider.metadata_url, timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait(timeout=10)
                raise RuntimeError(
                    "the OpenID provider did not start:\n" + provider.log.read_text()
                ) from None
            time.sleep(0.2)


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    node = shutil.which("node")
    if node is None:
        _unavailable("Node.js is not installed (`node` is not on PATH)")
    if not (FOLDER / "node_modules" / "oidc-provider").is_dir():
        _unavailable(f"{FOLDER}/node_modules is missing: run `npm ci --prefix tests/oidc`")
    port = free_port()
    provider = OidcProvider(
        issuer=f"http://127.0.0.1:{port}",
        client_id=CLIENT_ID,
        client_secret=secrets.token_urlsafe(24),
        app_port=free_port(),
        log=tmp_path_factory.mktemp("oidc") / "provider.log",
    )
    with provider.log.open("wb") as log:
        process = subprocess.Popen(
            [
                node,
                str(FOLDER / "provider.mjs"),
                str(port),
                provider.client_id,
                provider.client_secret,
                provider.redirect_uri,
            ],
            cwd=FOLDER,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait(process, provider)
            yield provider
        finally:
            stop(process, 10)
