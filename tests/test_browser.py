"""End to end in a real browser: Debian's Chromium, driven by Playwright, opens every page.

The app runs on the demo warehouse with the clock pinned (the suite's $TANDEM_NOW). Evidently's
report is built once first, on the drift page, because building it changes Plotly's global
state for the whole server; then every page is opened at 7, 28 and 90 days and screenshotted
(to $TANDEM_SCREENSHOTS when set). A page fails on an exception box or an error alert, on a
Plotly chart drawn in colours that are not Tandem's, and the run fails on any deprecation or
FutureWarning in the server's log.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from pathlib import Path

import pytest
import streamlit  # noqa: F401  (registers the Plotly template pages.charts copies)

from metrics.status import COLOURS as STATUS_COLOURS
from pages.charts import COLORWAY, COLOURS
from tests.helpers.project import ROOT, streamlit_server, subprocess_env

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


WINDOWS = (7, 28, 90)
VIEWPORT = {"width": 1440, "height": 900}
# Tandem's colorway (pages/charts.py), as the browser draws it; a chart on Plotly's (or
# Evidently's, or Streamlit's) template would carry another colorway.
THEME_PALETTE = tuple(c.lower() for c in COLORWAY)
ALLOWED_COLOURS = {c.lower() for c in (*THEME_PALETTE, *COLOURS.values(), *STATUS_COLOURS.values())}
# What a server log must never say: a deprecated call (st.components.v1.html, ...), or a
# library's FutureWarning.
LOG_PROBLEMS = re.compile(r"deprecat|FutureWarning|will be removed", re.IGNORECASE)

# Per Plotly chart on the page, as the browser drew it: the template's colorway and each
# trace's resolved colours (Plotly's _fullData holds the colour a trace got from the colorway).
CHART_COLOURS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({
  colorway: gd._fullLayout.colorway,
  traces: gd._fullData.map(t => ({
    name: t.name,
    colours: [t.line && t.line.color, t.marker && t.marker.color, t.fillcolor]
      .flat().filter(c => typeof c === 'string'),
  })),
}))"""

# The widest right edge of anything in Evidently's report, against the frame's width.
FRAME_FIT_JS = """() => {
  let right = 0;
  for (const e of document.querySelectorAll('body *')) {
    right = Math.max(right, e.getBoundingClientRect().right);
  }
  return {right: right, width: document.documentElement.clientWidth,
          scroll: document.documentElement.scrollWidth};
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("server") / "streamlit.log"


@pytest.fixture(scope="module")
def server(demo_project, server_log):
    port = _free_port()
    # The suite's pinned clock ($TANDEM_NOW, set by conftest) is inherited. Python's own warning
    # filters, as a user's server runs: what they would read in its log.
    env = subprocess_env(TANDEM_CONFIG=str(demo_project.config_path))
    with streamlit_server(ROOT / "app.py", port, env, server_log, seconds=60):
        yield f"http://127.0.0.1:{port}"


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


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = os.environ.get("TANDEM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return Path(folder)
    return tmp_path_factory.mktemp("screenshots")


def _settle(page, title: str | None = None, charts: bool = False) -> None:
    """Wait until Streamlit has finished running the script for this view and every chart is
    drawn (a page reached by its URL reruns once through app.py): the title shown, a chart
    drawn when the page has `charts`, no run going, every chart drawn, and the page unchanged
    for 0.7 s."""
    if title:
        page.wait_for_function(
            "(t) => [...document.querySelectorAll('h1')].some(h => h.innerText.trim() === t)",
            arg=title,
            timeout=60_000,
        )
    else:
        page.wait_for_selector("h1", timeout=60_000)
    if charts:
        page.wait_for_selector(".js-plotly-plot", timeout=90_000)
    deadline = time.monotonic() + 120
    last = None
    while time.monotonic() < deadline:
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
            " && [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
            ".every(c => c.querySelector('.js-plotly-plot'))",
            timeout=90_000,
        )
        now = page.evaluate(
            "() => [document.querySelectorAll('[data-testid=\"stMain\"] *').length,"
            " document.querySelectorAll('.js-plotly-plot').length]"
        )
        if now == last:
            return
        last = now
        page.wait_for_timeout(700)
    raise TimeoutError(f"the page kept changing: {title}")


def _screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, not the document, so the
    viewport is stretched to the content's height for the shot (the width stays 1440)."""
    height = page.evaluate(
        "() => Math.max(document.body.scrollHeight,"
        " (document.querySelector('[data-testid=\"stMain\"]') || {}).scrollHeight || 0)"
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, VIEWPORT["height"])})
    page.wait_for_timeout(300)
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)


def _problems_on(page) -> list[str]:
    problems = page.locator("[data-testid='stException']").all_inner_texts()
    problems += page.locator("[data-testid='stAlertContentError']").all_inner_texts()
    return problems


def _foreign_colours(page) -> list[str]:
    """Every chart whose colorway is not the theme's, or a trace drawn in a colour that is
    neither the theme's palette nor one of Tandem's named colours."""
    found = []
    for number, chart in enumerate(page.evaluate(CHART_COLOURS_JS)):
        if tuple(c.lower() for c in chart["colorway"]) != THEME_PALETTE:
            found.append(f"chart {number}: colorway {chart['colorway']}")
        for trace in chart["traces"]:
            foreign = {c for c in trace["colours"] if c.lower() not in ALLOWED_COLOURS}
            if foreign:
                found.append(f"chart {number}, trace {trace['name']!r}: {sorted(foreign)}")
    return found


def _build_evidentlys_report(page, url: str) -> dict:
    """Build Evidently's report on the drift page; how wide it is against its frame."""
    page.goto(f"{url}/drift_investigation?window=28d")
    _settle(page, "Drift investigation")
    page.get_by_text("Build Evidently's report").click()
    frame_element = page.wait_for_selector("iframe", timeout=180_000)
    _settle(page, "Drift investigation")
    frame = frame_element.content_frame()
    frame.wait_for_selector("text=Dataset Drift", timeout=60_000)
    page.wait_for_timeout(500)
    return frame.evaluate(FRAME_FIT_JS)


def test_every_page_in_every_window_after_evidentlys_report(
    server, server_log, browser, screenshots
):
    page = browser.new_page(viewport=VIEWPORT)
    fit = _build_evidentlys_report(page, server)
    page.screenshot(path=str(screenshots / "evidently.png"))
    assert not _problems_on(page)
    # Evidently's report fits the page: nothing past the frame's right edge (its layout wants
    # about 1,040 px, the frame at 1440 px is narrower, so it is scaled down).
    assert fit["right"] <= fit["width"] + 1, fit
    assert fit["scroll"] <= fit["width"], fit

    problems, charts = {}, {}
    for days in WINDOWS:
        for path, title in PAGES.items():
            page.goto(f"{server}/{path}?window={days}d")
            _settle(page, title, charts=path != "data_sources")
            name = f"{path or 'retro'}-{days}d"
            _screenshot(page, screenshots / f"{name}.png")
            charts[name] = page.locator(".js-plotly-plot").count()
            found = _problems_on(page) + _foreign_colours(page)
            if found:
                problems[name] = found
    page.close()
    assert not problems, json.dumps(problems, indent=2)
    # The colours were read off drawn charts (every page but Data sources draws some).
    assert all(
        charts[f"{p or 'retro'}-{d}d"] for p in PAGES if p != "data_sources" for d in WINDOWS
    ), charts
    warned = [line for line in server_log.read_text().splitlines() if LOG_PROBLEMS.search(line)]
    assert not warned, "\n".join(warned)


def test_a_chart_in_a_foreign_colour_is_caught(server, browser):
    """The colour check can fail: a trace recoloured in the page is reported."""
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{server}/kpi_check?window=28d")
    _settle(page, "KPI check", charts=True)
    assert not _foreign_colours(page)
    page.evaluate(
        "() => { document.querySelector('.js-plotly-plot')._fullData[0].line.color = '#ed0400'; }"
    )
    assert any("#ed0400" in problem for problem in _foreign_colours(page))
    page.close()


def test_the_sidebar_filters_change_the_url(server, browser):
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{server}/kpi_check?window=28d")
    _settle(page)
    page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name="Last 7 days").click()
    page.wait_for_function("() => location.search.includes('window=7d')", timeout=30_000)
    _settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()
