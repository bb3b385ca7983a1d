"""The app in AppTest as a link opens it: app.py, at one page, with the URL's query."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.helpers.project import ROOT

APP = str(ROOT / "app.py")


def open_page(page: str | None = None, timeout: float = 60, **query: str) -> AppTest:
    """One run of app.py at `page` (a file under pages/; None: the default page, the retro)
    with `query` in the URL, as a bookmark or a shared link opens it.

    Not a first run on the retro and then a switch: nothing read that run, and the retro is the
    slowest page to draw from cold caches (13-18 s on the demo year on a busy 2-core machine,
    against 1-7 s for most others), paid again by every other page a test opened. Before a
    first run AppTest finds a page by its file name, which is its URL path in app.py's
    `st.navigation` (no page there sets another `url_path`)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.query_params.update(query)
    if page:
        at.switch_page(page)
    return at.run()
