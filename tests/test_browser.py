"""End to end in a real browser: Debian's Chromium, driven by Playwright, opens every page."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.project import ROOT, subprocess_env

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    message = "Debian's chromium is not installed (apt-get install chromium)"
    if os.environ.get("TANDEM_REQUIRE_BROWSER"):
        raise RuntimeError(message)  # CI (.ci/run) must run the browser test, not skip it
    pytest.skip(message, allow_module_level=True)
pytestmark = pytest.mark.browser

PAGES = {
    "": "Weekly retrospective",
    "kpi_check": "KPI check",
    "drift_investigation": "Drift investigation",
    "model_overview": "Model overview",
    "data_sources": "Data sources",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_project):
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=subprocess_env(TANDEM_CONFIG=str(demo_project.config_path)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(process.stdout.read().decode()) from None
            time.sleep(0.3)
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def _settle(page) -> None:
    """Wait until Streamlit has finished running the script for this view."""
    page.wait_for_selector("h1", timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
    )
    page.wait_for_timeout(300)


def test_every_page_opens_without_error(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    for path, title in PAGES.items():
        page.goto(f"{server}/{path}?window=90d")
        _settle(page)
        assert page.locator("h1").first.inner_text().strip() == title
        assert page.locator("[data-testid='stException']").count() == 0, path
        errors = page.locator("[data-testid='stAlertContentError']")
        assert errors.count() == 0, errors.all_inner_texts()
        page.screenshot(path=str(tmp_path / f"{path or 'retro'}.png"), full_page=True)
    page.close()


def test_the_sidebar_filters_change_the_url(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/kpi_check?window=28d")
    _settle(page)
    page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name="Last 7 days").click()
    page.wait_for_function("() => location.search.includes('window=7d')", timeout=30_000)
    _settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()
