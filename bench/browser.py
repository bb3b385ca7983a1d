"""Every page as people feel it: Chromium, a real Streamlit server, cold and warm, beside the floor.

    python bench/browser.py [--config PATH] [--repeat N] [--pages NAME,...]

Starts `streamlit run app.py` on the warehouse of `--config` (default: the demo year, synced into
a temporary folder as the README does) and opens every page in Debian's Chromium through
Playwright at 1440 x 900. A page's time runs from navigation until Streamlit has stopped running
(no status widget) and every Plotly chart on it is drawn (`.js-plotly-plot .main-svg`), taken
from the browser's own clock (performance.now(), zero at navigation): the moment that state was
last reached, once the page has then stayed unchanged for a while. **Cold** is a fresh server
process and a fresh browser profile, first visit; **warm** is the same page opened again.

**Switch** is what a person clicking through the app feels: with the app already loaded (the
page seen once, the browser on another page), the time from clicking the page's link in the
sidebar until it is done the same way; no reload of Streamlit's frontend, only the run and the
drawing. The page switched from is the retro (for the retro, the KPI check).

The floor is a minimal Streamlit page (one st.metric, one Plotly chart; a second page like it to
switch from) served and timed the same way in the same run: what any Streamlit page costs on
this machine now. The table gives each
page's median over `--repeat` runs, its ratio to the floor, and the targets (1 s warm, 2 s cold).
On a busy machine wall times swing with the load, so each view also gives the CPU seconds the
server process and the browser's page (main thread: scripts, style, layout, paint; Chrome's
TaskDuration) spent on it, which the load does not add to. At the end, the peak RSS (VmHWM) of
an app server that has opened every page once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.project import streamlit_server  # noqa: E402  (the suite's server start)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VIEWPORT = {"width": 1440, "height": 900}
WARM_TARGET, COLD_TARGET = 1.0, 2.0
# URL path (as app.py's st.Page files name them) -> the page's title (its h1).
PAGES = {
    "": "Weekly retrospective",
    "kpi_check": "KPI check",
    "drift_investigation": "Drift investigation",
    "model_overview": "Model overview",
    "data_sources": "Data sources",
}
FLOOR_TITLE, OTHER_TITLE = "Floor", "Floor again"
FLOOR = f'''
import plotly.graph_objects as go
import streamlit as st


def floor(title="{FLOOR_TITLE}"):
    st.title(title)
    st.metric("Requests", "12,345", "+3%")
    st.plotly_chart(go.Figure(go.Scatter(x=list(range(30)), y=[i % 7 for i in range(30)])))


def other():
    floor("{OTHER_TITLE}")


st.navigation([st.Page(floor, title="{FLOOR_TITLE}"), st.Page(other, title="{OTHER_TITLE}")]).run()
'''
# How long the page must stay unchanged, after the last change, to count as finished.
QUIET_MS = 1000

# Installed before any page script: watches the DOM and notes, on the page's own clock, when the
# page last became "done" (title shown, no run going, every chart drawn) and when the main block
# last changed.
WATCH_JS = """
(() => {
  window.__bench = {doneAt: null, lastChange: 0, title: null};
  const done = () => {
    const t = window.__bench.title;
    const titled = [...document.querySelectorAll('h1')].some(h => h.innerText.trim() === t);
    if (!titled || document.querySelector('[data-testid="stStatusWidget"]')) return false;
    if (document.querySelector('[data-testid="stSkeleton"]')) return false;
    return [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
      .every(c => c.querySelector('.js-plotly-plot .main-svg'));
  };
  let wasDone = false;
  const check = (mutations) => {
    const now = performance.now();
    const main = document.querySelector('[data-testid="stMain"]');
    if (mutations && main && mutations.some(m => main.contains(m.target))) {
      window.__bench.lastChange = now;
    }
    const isDone = done();
    if (isDone && !wasDone) window.__bench.doneAt = now;
    if (!isDone) window.__bench.doneAt = null;
    wasDone = isDone;
  };
  window.__bench.check = check;
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
})();
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(script: Path, config: Path | None, log: Path) -> Iterator[tuple[str, int]]:
    """`streamlit run script` on a free port: its URL and the server's process id."""
    port = _free_port()
    env = dict(os.environ)
    if config is not None:
        env["TANDEM_CONFIG"] = str(config)
    with streamlit_server(script, port, env, log) as process:
        yield f"http://127.0.0.1:{port}", process.pid


def peak_rss_mb(pid: int) -> float:
    """VmHWM of the process: the most memory it has held resident so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far: steadier than wall time on a busy
    machine, since other processes' load does not add to it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Visit:
    """One page view: wall seconds until done, and the CPU seconds the server and the
    browser's page (its main thread: scripts, style, layout, paint) spent on it."""

    wall: float
    server_cpu: float
    browser_cpu: float


def _done(page, what: str, since: float, timeout: float) -> float:
    """The page's clock (ms) when it was last done (see WATCH_JS), waited for until it has then
    stayed unchanged for QUIET_MS; `since`: a moment (same clock) it must be quiet after."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done_at, last_change, now = page.evaluate(
            "() => [window.__bench.doneAt, window.__bench.lastChange, performance.now()]"
        )
        if done_at is not None and now - max(done_at, last_change, since) >= QUIET_MS:
            problems = page.locator("[data-testid='stException']").all_inner_texts()
            if problems:
                raise RuntimeError(f"{what}: {problems[0][:300]}")
            return max(done_at, last_change)
        page.wait_for_timeout(100)
    raise TimeoutError(f"{what} was not done within {timeout:.0f} s")


def _task_seconds(cdp) -> float:
    """CPU seconds the page's main thread has spent so far (Chrome's TaskDuration)."""
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def _open(context, url: str, title: str, timeout: float):
    """A new tab of `context` at `url`, watched for `title`; the tab and its CDP session."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(url, wait_until="commit", timeout=timeout * 1000)
    page.evaluate("(t) => { window.__bench.title = t; window.__bench.check(null); }", title)
    return page, cdp


def visit(context, url: str, title: str, pid: int, timeout: float = 180) -> Visit:
    """Open `url` in a new tab of `context` and measure it until the page was done (see
    WATCH_JS) and then stayed unchanged for QUIET_MS."""
    server_start = cpu_seconds(pid)
    page, cdp = _open(context, url, title, timeout)
    try:
        done = _done(page, url, 0.0, timeout)
        return Visit(done / 1000, cpu_seconds(pid) - server_start, _task_seconds(cdp))
    finally:
        page.close()


def switch(
    context, url: str, title: str, source: tuple[str, str], pid: int, timeout: float = 180
) -> Visit:
    """Open the app at `source` (path, title), then click the sidebar link named `title` and
    measure from the click until that page was done and then stayed unchanged for QUIET_MS."""
    page, cdp = _open(context, f"{url}/{source[0]}", source[1], timeout)
    try:
        _done(page, f"{url}/{source[0]}", 0.0, timeout)
        server_start, browser_start = cpu_seconds(pid), _task_seconds(cdp)
        link = page.locator("[data-testid='stSidebarNavLink']", has_text=title).first
        clicked = page.evaluate(
            "(t) => { window.__bench.title = t; window.__bench.doneAt = null; "
            "return performance.now(); }",
            title,
        )
        link.click()
        done = _done(page, f"{url} ({title})", clicked, timeout)
        seconds = (done - clicked) / 1000
        return Visit(seconds, cpu_seconds(pid) - server_start, _task_seconds(cdp) - browser_start)
    finally:
        page.close()


def measure(
    browser, script: Path, config: Path | None, paths: dict, log: Path, source: dict
) -> dict:
    """Per page: its cold, warm and switch Visits, on a fresh server and browser profile.
    `source`: the (path, title) each page is switched to from."""
    views = {}
    for path, title in paths.items():
        with serve(script, config, log) as (url, pid):
            context = browser.new_context(viewport=VIEWPORT)
            context.add_init_script(WATCH_JS)
            cold = visit(context, f"{url}/{path}", title, pid)
            warm = visit(context, f"{url}/{path}", title, pid)
            switched = switch(context, url, title, source[path], pid)
            context.close()
        views[path] = (cold, warm, switched)
    return views


# The page each is switched to from (see `switch`): the retro, and the KPI check for the retro.
# Both draw charts, so Streamlit's Plotly chunk is loaded before the click, as it is for a
# person moving between pages (the floor's second page draws the same chart for the same reason).
SWITCH_FROM = {path: ("", "Weekly retrospective") for path in PAGES} | {
    "": ("kpi_check", "KPI check")
}


def tour_peak_rss(browser, config: Path | None, log: Path) -> float:
    """Peak RSS (MB) of one app server after every page has been opened once."""
    with serve(ROOT / "app.py", config, log) as (url, pid):
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(WATCH_JS)
        for path, title in PAGES.items():
            visit(context, f"{url}/{path}", title, pid)
        context.close()
        return peak_rss_mb(pid)


def build_demo(folder: Path) -> Path:
    """The demo year, as the README does it: a config naming the demo source, then a sync."""
    config = folder / "sources.toml"
    config.write_text(
        f'[warehouse]\npath = "{folder / "tandem.duckdb"}"\n\n'
        '[[sources]]\nname = "demo"\nkind = "demo"\n'
    )
    subprocess.run(
        [sys.executable, "-m", "connectors", "sync", "--config", str(config)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return config


def load() -> str:
    """The machine's load average (1, 5, 15 min), to read every figure beside."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="an existing sources.toml (default: the demo)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per page (median shown)")
    parser.add_argument("--pages", help="only these URL paths, comma-separated ('' = the retro)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    paths = PAGES
    if args.pages is not None:
        wanted = [p.strip() for p in args.pages.split(",")]
        paths = {p: t for p, t in PAGES.items() if p in wanted or (p == "" and "retro" in wanted)}

    with tempfile.TemporaryDirectory(prefix="tandem-browser-") as tmp:
        folder = Path(tmp)
        log = folder / "streamlit.log"
        config = args.config.resolve() if args.config else build_demo(folder)
        floor = folder / "floor" / "floor.py"
        floor.parent.mkdir()
        floor.write_text(textwrap.dedent(FLOOR))
        print(f"config {config}; load average {load()}", flush=True)
        runs: dict[str, list] = {p: [] for p in paths}
        floors = []
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
            )
            try:
                for _ in range(args.repeat):
                    floor_from = {"": ("other", OTHER_TITLE)}
                    floors.append(
                        measure(browser, floor, None, {"": FLOOR_TITLE}, log, floor_from)[""]
                    )
                    cold, warm, switched = floors[-1]
                    print(
                        f"  floor: cold {cold.wall:.2f} s (cpu: server {cold.server_cpu:.2f}, "
                        f"browser {cold.browser_cpu:.2f}), warm {warm.wall:.2f} s, switch "
                        f"{switched.wall:.2f} s (load {load()})",
                        flush=True,
                    )
                    views = measure(browser, ROOT / "app.py", config, paths, log, SWITCH_FROM)
                    for path, (cold, warm, switched) in views.items():
                        runs[path].append((cold, warm, switched))
                        print(
                            f"  {path or 'weekly_retro'}: cold {cold.wall:.2f} s (cpu: server "
                            f"{cold.server_cpu:.2f}, browser {cold.browser_cpu:.2f}), "
                            f"warm {warm.wall:.2f} s (cpu: server {warm.server_cpu:.2f}, "
                            f"browser {warm.browser_cpu:.2f}), switch {switched.wall:.2f} s "
                            f"(cpu: server {switched.server_cpu:.2f}, browser "
                            f"{switched.browser_cpu:.2f}) (load {load()})",
                            flush=True,
                        )
                rss = tour_peak_rss(browser, config, log)
            finally:
                browser.close()

        def median(views: list, i: int, field: str) -> float:
            return statistics.median(getattr(pair[i], field) for pair in views)

        floor = {
            (i, f): median(floors, i, f)
            for i in (0, 1, 2)
            for f in ("wall", "server_cpu", "browser_cpu")
        }
        print(
            f"\nload average {load()}; median of {args.repeat} run(s); "
            f"targets: warm <= {WARM_TARGET:.0f} s, cold <= {COLD_TARGET:.0f} s"
        )
        print(
            f"{'page':20} {'cold s':>7} {'warm s':>7} {'switch s':>8} {'x floor':>7} {'x floor':>7}"
            f" {'x floor':>7} {'warm cpu: server':>16} {'browser':>8}  targets: warm, switch / cold"
        )
        print(
            f"{'floor':20} {floor[0, 'wall']:7.2f} {floor[1, 'wall']:7.2f}"
            f" {floor[2, 'wall']:8.2f} {'':7} {'':7} {'':7}"
            f" {floor[1, 'server_cpu']:16.2f} {floor[1, 'browser_cpu']:8.2f}"
        )
        for path, views in runs.items():
            cold, warm = median(views, 0, "wall"), median(views, 1, "wall")
            switched = median(views, 2, "wall")
            verdict = ("ok" if warm <= WARM_TARGET else "WARM OVER") + ", "
            verdict += ("ok" if switched <= WARM_TARGET else "SWITCH OVER") + " / "
            verdict += "ok" if cold <= COLD_TARGET else "COLD OVER"
            print(
                f"{path or 'weekly_retro':20} {cold:7.2f} {warm:7.2f} {switched:8.2f}"
                f" {cold / floor[0, 'wall']:7.1f} {warm / floor[1, 'wall']:7.1f}"
                f" {switched / floor[2, 'wall']:7.1f}"
                f" {median(views, 1, 'server_cpu'):16.2f} {median(views, 1, 'browser_cpu'):8.2f}"
                f"  {verdict}"
            )
        print(
            "(x floor: cold, warm and switch against the floor's; cpu: seconds of CPU per warm "
            "view)"
        )
        print(f"\npeak RSS of the app server after every page once: {rss:,.0f} MB")


if __name__ == "__main__":
    main()
