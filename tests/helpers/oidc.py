"""Tandem behind a real sign-in, for tests/test_signin.py: the app's `[auth]` secrets pointing at
the test OpenID provider (tests/plugins/oidc.py), a Tandem config with `[access]`, the app
server started on the port the provider redirects to, and Chromium signing in on the provider's
login page as a person would.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.helpers.project import ROOT, streamlit_server, subprocess_env
from tests.plugins.oidc import OidcProvider

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1440, "height": 900}
# The provider's own login page (oidc-provider's devInteractions): any password is accepted.
PASSWORD = "any-password"
START_SECONDS = 90


def write_secrets(folder: Path, provider: OidcProvider, cookie_secret: str) -> Path:
    """`.streamlit/secrets.toml` for the app: one provider, asking for the groups claim.

    `prompt = "login"`: Streamlit asks for `select_account` by default, which this provider
    (like several others) does not support; every sign-in shows the login page instead.
    """
    path = folder / ".streamlit" / "secrets.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "{provider.redirect_uri}"\n'
        f'cookie_secret = "{cookie_secret}"\n'
        f'client_id = "{provider.client_id}"\n'
        f'client_secret = "{provider.client_secret}"\n'
        f'server_metadata_url = "{provider.metadata_url}"\n'
        'client_kwargs = { scope = "openid email profile groups", prompt = "login" }\n',
        encoding="utf-8",
    )
    return path


def write_config(folder: Path, warehouse: Path, access: str) -> Path:
    """A Tandem config reading an already-synced warehouse, with its own notes store (where
    the access log goes) and `access` (the `[access]` TOML)."""
    path = folder / "sources.toml"
    path.write_text(
        f'[warehouse]\npath = "{warehouse}"\n\n'
        f'[notes]\nurl = "sqlite:///{folder / "notes.sqlite"}"\n\n'
        '[[sources]]\nname = "demo"\nkind = "demo"\nend = "2026-11-19"\n\n' + access,
        encoding="utf-8",
    )
    return path


@contextlib.contextmanager
def app_server(port: int, config: Path, secrets: Path, log: Path) -> Iterator[str]:
    """`streamlit run app.py` on 127.0.0.1:`port` with these secrets and this config; its URL.
    The server's output (stdout and stderr) goes to `log`."""
    log.write_bytes(b"")
    # The suite's pinned clock ($TANDEM_NOW) is inherited.
    env = subprocess_env(TANDEM_CONFIG=str(config))
    options = ("--secrets.files", str(secrets))
    with streamlit_server(ROOT / "app.py", port, env, log, *options, seconds=START_SECONDS):
        yield f"http://127.0.0.1:{port}"


def settle(page, title: str | None = None, timeout: float = 60) -> None:
    """Wait until Streamlit has finished this run: `title` (or any title, or an alert) shown,
    no run going, and the main block unchanged for half a second."""
    if title is not None:
        page.wait_for_function(
            "(t) => [...document.querySelectorAll('h1')].some(h => h.innerText.trim() === t)",
            arg=title,
            timeout=timeout * 1000,
        )
    else:
        page.wait_for_selector("h1, [data-testid='stAlert']", timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
            timeout=timeout * 1000,
        )
        now = page.evaluate(
            "() => document.querySelector('[data-testid=\"stMain\"]')?.innerText || ''"
        )
        if now == last:
            return
        last = now
        page.wait_for_timeout(500)
    raise TimeoutError(f"the page kept changing: {title}")


def sign_in(page, url: str, email: str) -> None:
    """Open Tandem at `url`, press "Sign in", sign in on the provider's login page as `email`,
    and wait until Tandem has drawn the page it came back to."""
    for attempt in range(3):
        # A fresh server's first click can be lost while its session starts: press again, as a
        # person would, after reloading.
        page.goto(url)
        page.get_by_role("button", name="Sign in").click()
        try:
            page.wait_for_selector("input[name='login']", timeout=40_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    page.fill("input[name='login']", email)
    page.fill("input[name='password']", PASSWORD)
    page.locator("button[type='submit']").click()
    page.wait_for_url(url.split("?")[0].rstrip("/") + "/**", timeout=30_000)
    page.wait_for_selector("[data-testid='stAlert'], h1", timeout=60_000)
    settle(page)
