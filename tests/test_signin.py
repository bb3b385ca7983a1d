"""Sign-in for real: Chromium signs in to Tandem through a real OpenID Connect provider.

The provider is tests/oidc/provider.mjs (npm's oidc-provider, on Node: tests/plugins/oidc.py);
the app is `streamlit run app.py` with `[auth]` pointing at it and `[access]` below, on the demo
warehouse (tests/helpers/oidc.py). Each person signs in on the provider's login page, as they
would, and sees exactly their scope: the team filter's choices, the pages in the sidebar, the
retro's figures equal to `python -m metrics retro --format json --team T`'s, the refusal for the
stranger, "not in your teams" for another team's link. Then: a tampered or expired auth cookie
signs out; a person removed from `[access]` is refused on their next click; the retro download
holds only the person's team; the access log (Data sources, admins) holds the sign-ins, the
refusal and the download; no secret and nobody else's email reaches a page or the server's log.

One provider, one app server and one browser for the module; one browser context per person,
signed in once (tests/test_app_access.py covers every page per person with AppTest).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import time
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

import settings
from metrics.__main__ import retro_text
from pages.tables import ROWS_WITHHELD
from tests.helpers import oidc

playwright = pytest.importorskip("playwright.sync_api")
if not Path(oidc.CHROMIUM).exists():
    message = "Debian's chromium is not installed (apt-get install chromium)"
    if os.environ.get("TANDEM_REQUIRE_BROWSER"):
        raise RuntimeError(message)  # CI (.ci/run) must run the browser tests, not skip them
    pytest.skip(message, allow_module_level=True)
pytestmark = pytest.mark.browser

# Alice is a member of growth; Bob of growth by his email and of risk through his groups claim
# (the provider sends groups = ["risk-ds"]); the CFO views growth; Mallory is not allowed.
ACCESS = """
[access]
allow  = ["*@example.com"]
admins = ["ops@example.com"]

[[access.teams]]
team    = "growth"
members = ["alice@example.com", "bob@example.com"]
viewers = ["cfo@example.com"]

[[access.teams]]
team    = "risk"
members = ["group:risk-ds"]
"""
ADMIN, ALICE, BOB, CFO, MALLORY = (
    "ops@example.com",
    "alice@example.com",
    "bob@example.com",
    "cfo@example.com",
    "mallory@evil.test",
)
PEOPLE = (ADMIN, ALICE, BOB, CFO, MALLORY)
ALL_PAGES = [
    "Weekly retrospective",
    "KPI check",
    "Drift investigation",
    "Model overview",
    "Data sources",
]
VIEWER_PAGES = ["Weekly retrospective", "KPI check", "Model overview"]
USER_COOKIE = "_streamlit_user"  # Streamlit 1.67's identity cookie, signed with cookie_secret
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@pytest.fixture(scope="module")
def company(demo_project, tmp_path_factory):
    """The app's folder: its secrets (fresh cookie secret), its config with `[access]`."""
    folder = tmp_path_factory.mktemp("signin")
    config = oidc.write_config(folder, demo_project.warehouse, ACCESS)
    return {"folder": folder, "config": config, "cookie_secret": secrets.token_urlsafe(32)}


@pytest.fixture(scope="module")
def app(oidc_provider, company):
    secrets_file = oidc.write_secrets(company["folder"], oidc_provider, company["cookie_secret"])
    log = company["folder"] / "streamlit.log"
    with oidc.app_server(oidc_provider.app_port, company["config"], secrets_file, log) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=oidc.CHROMIUM, args=oidc.CHROMIUM_ARGS)
        yield browser
        browser.close()


class People:
    """One browser context per person, signed in through the provider on first use."""

    def __init__(self, browser, url: str):
        self.browser, self.url, self.pages = browser, url, {}
        self.where: dict[str, str] = {}  # the path each person's page was last opened at

    def page(self, email: str):
        if email not in self.pages:
            context = self.browser.new_context(viewport=oidc.VIEWPORT, accept_downloads=True)
            page = context.new_page()
            oidc.sign_in(page, self.url, email)
            self.pages[email], self.where[email] = page, ""
        return self.pages[email]

    def open(self, email: str, path: str = "", title: str | None = "Weekly retrospective"):
        """The person's page at `path` (a new run through app.py), settled."""
        page = self.page(email)
        page.goto(f"{self.url}/{path}")
        oidc.settle(page, title)
        self.where[email] = path
        return page

    def at(self, email: str, path: str = "", title: str | None = "Weekly retrospective"):
        """The person's page at `path`, opened again only when it was last opened elsewhere."""
        page = self.page(email)
        return page if self.where[email] == path else self.open(email, path, title)

    def cookie(self, email: str) -> dict:
        """The person's identity cookie, as the browser holds it."""
        cookies = self.page(email).context.cookies()
        return next(c for c in cookies if c["name"] == USER_COOKIE)


@pytest.fixture(scope="module")
def people(app, browser):
    people = People(browser, app)
    yield people
    for page in people.pages.values():
        page.context.close()


@pytest.fixture(scope="module")
def config(company) -> settings.Config:
    return settings.load(company["config"])


def _retro(config: settings.Config, team: str | None) -> dict[str, str]:
    """The retro's figures for `team` as `python -m metrics retro --format json` gives them:
    label → what the card shows for this week."""
    figures = json.loads(retro_text(config, None, team, "json"))["figures"]
    return {f["label"]: f["shown"]["this_week"] for f in figures}


def _cards(page) -> dict[str, str]:
    labels = page.locator("[data-testid='stMetric'] [data-testid='stMetricLabel']")
    values = page.locator("[data-testid='stMetric'] [data-testid='stMetricValue']")
    return dict(
        zip(
            [t.strip() for t in labels.all_inner_texts()],
            [t.strip() for t in values.all_inner_texts()],
            strict=True,
        )
    )


def _team_choices(page) -> list[str]:
    page.locator(".st-key-filter_team button[aria-haspopup='listbox']").click()
    page.wait_for_selector("[role='listbox'] [role='option']")
    choices = [
        t.strip() for t in page.locator("[role='listbox'] [role='option']").all_inner_texts()
    ]
    page.keyboard.press("Escape")
    return choices


def _sidebar_pages(page) -> list[str]:
    links = page.locator("[data-testid='stSidebarNavLink']").all_inner_texts()
    return [text.strip().splitlines()[-1] for text in links]


def _sidebar(page) -> str:
    return page.locator("[data-testid='stSidebar']").inner_text()


def _main(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def _errors(page) -> list[str]:
    return page.locator("[data-testid='stAlertContentError']").all_inner_texts()


def _downloads(page) -> set[str]:
    """The keys of the CSV downloads on the page (pages/tables.py: download_<table>)."""
    return set(
        page.evaluate(
            "() => [...document.querySelectorAll('[class*=\"st-key-download_\"]')]"
            ".map(e => [...e.classList].find(c => c.startsWith('st-key-download_')).slice(16))"
        )
    )


def _download(page, button: str) -> str:
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name=button).click()
    return Path(download.value.path()).read_text(encoding="utf-8")


def _signed_out(page) -> bool:
    return page.get_by_role("button", name="Sign in").count() == 1 and not _cards(page)


# -- each person's scope -------------------------------------------------------------------


def test_the_admin_sees_every_team_and_page_and_the_whole_retro(people, config):
    page = people.page(ADMIN)
    assert not _errors(page)
    assert "Signed in as ops@example.com · admin: every team" in _sidebar(page)
    assert _sidebar_pages(page) == ALL_PAGES
    assert _team_choices(page) == ["All", "forecasting", "growth", "risk"]
    assert _cards(page) == _retro(config, None)


def test_a_member_of_one_team_sees_it_as_all(people, config):
    page = people.page(ALICE)
    assert not _errors(page)
    assert "Signed in as alice@example.com · member of growth" in _sidebar(page)
    assert _sidebar_pages(page) == ALL_PAGES
    assert _team_choices(page) == ["All", "growth"]
    growth = _retro(config, "growth")
    assert _cards(page) == growth
    assert growth != _retro(config, None)  # the scope changes the figures


def test_a_member_of_two_teams_by_email_and_by_group_sees_both_once(people, config):
    page = people.page(BOB)
    assert "Signed in as bob@example.com · member of growth, risk" in _sidebar(page)
    assert _team_choices(page) == ["All", "growth", "risk"]
    growth, risk = _retro(config, "growth"), _retro(config, "risk")
    # Counts add up: every ticket belongs to one team. (Risk's deployments come from fewer than
    # 3 authors in the demo: withheld, so they cannot be summed.)
    both = int(_cards(page)["Tickets finished"])
    assert both == int(growth["Tickets finished"]) + int(risk["Tickets finished"])
    assert both < int(_retro(config, None)["Tickets finished"])
    page = people.open(BOB, "?team=risk")
    assert _cards(page) == risk


def test_a_viewer_gets_no_list_of_single_incidents(people):
    assert "incidents_this_week" in _downloads(people.at(ALICE))
    page = people.at(CFO)
    assert "incidents_this_week" not in _downloads(page)


# The retro with its folded sections open (pages/weekly_retro.py: ?by_group=true&rows=true).
OPEN_SECTIONS = "?by_group=true&rows=true"


def test_a_viewer_sees_three_pages_and_figures_without_rows(people, config):
    page = people.at(CFO)
    assert "Signed in as cfo@example.com · viewer of growth" in _sidebar(page)
    assert _sidebar_pages(page) == VIEWER_PAGES
    assert _team_choices(page) == ["All", "growth"]
    assert _cards(page) == _retro(config, "growth")
    # The tables listing single items are withheld (and so their CSVs); the summaries stay.
    # The retro's folded sections are computed when opened: open both, for both people.
    member = _downloads(people.at(ALICE, OPEN_SECTIONS))
    page = people.at(CFO, OPEN_SECTIONS)
    viewer = _downloads(page)
    items = {
        "aging_wip",
        "delivery_changes",
        "delivery_deployments",
        "experiments",
        "finished_tickets",
    }
    # (incidents_this_week should be withheld too: test_a_viewer_gets_no_list_of_single_incidents)
    assert member - viewer - {"incidents_this_week"} == items
    assert viewer and viewer.isdisjoint(items)
    withheld = page.locator("[data-testid='stMain']").text_content()  # collapsed parts too
    assert withheld.count(ROWS_WITHHELD) == len(member - viewer)
    # A page outside the viewer's three is not served, even by its URL.
    page = people.open(CFO, "drift_investigation", title=None)
    assert "Drift investigation" not in page.locator("h1").all_inner_texts()


def test_a_stranger_signs_in_at_the_provider_and_is_refused_by_tandem(people):
    page = people.page(MALLORY)
    assert _errors(page) == ["Not allowed: mallory@evil.test is not allowed to sign in to Tandem."]
    assert not _cards(page) and not _sidebar_pages(page)
    assert page.get_by_role("button", name="Sign out").count() == 1


def test_a_link_to_another_team_shows_not_in_your_teams_and_no_number(people):
    page = people.open(ALICE, "?team=risk", title=None)
    assert any("not in your teams" in error for error in _errors(page))
    assert not _cards(page)


def _sections(markdown: str) -> str:
    """A retro's Markdown from its first section to its annotations (the page adds those, and
    the retro actions, after the figures; the CLI does not)."""
    return markdown.split("\n## ", 1)[1].split("\n## Annotations")[0].rstrip()


def test_the_retro_download_holds_only_the_members_team(people, config):
    page = people.at(ALICE)
    markdown = _download(page, "Download the summary (Markdown)")
    growth = retro_text(config, None, "growth", "md")
    assert _sections(markdown) == _sections(growth)
    assert _sections(markdown) != _sections(retro_text(config, None, None, "md"))
    assert "risk" not in markdown and "forecasting" not in markdown


# -- the auth cookie -------------------------------------------------------------------------


class _LongAgo(TimestampSigner):
    """Signs as if 40 days ago: past the cookie's 30 days (and Streamlit's day of grace)."""

    def get_timestamp(self) -> int:
        return int(time.time()) - 40 * 86_400


def _resigned(cookie: dict, secret: str, signer=TimestampSigner) -> dict:
    value = URLSafeTimedSerializer(secret, salt=USER_COOKIE).loads(cookie["value"])
    again = URLSafeTimedSerializer(secret, salt=USER_COOKIE, signer=signer).dumps(value)
    return {**cookie, "value": again}


def _tampered(cookie: dict) -> dict:
    value = cookie["value"]
    flipped = "A" if value[10] != "A" else "B"
    return {**cookie, "value": value[:10] + flipped + value[11:]}


def _with_cookie(people, cookie: dict):
    """A new browser holding only this identity cookie, on Tandem's first page, settled."""
    context = people.browser.new_context(viewport=oidc.VIEWPORT)
    context.add_cookies([cookie])
    page = context.new_page()
    page.goto(people.url)
    oidc.settle(page)
    return page


def test_a_tampered_or_expired_auth_cookie_signs_out(people, company):
    cookie, secret = people.cookie(ALICE), company["cookie_secret"]
    # The cookie re-signed now still signs Alice in: the re-signing is right...
    page = _with_cookie(people, _resigned(cookie, secret))
    assert "Signed in as alice@example.com" in _sidebar(page)
    page.context.close()
    # ...so it is its age that signs her out, and the one byte changed.
    for bad in (_resigned(cookie, secret, _LongAgo), _tampered(cookie)):
        page = _with_cookie(people, bad)
        assert _signed_out(page), _main(page)
        assert "alice@example.com" not in page.content()
        page.context.close()


def test_a_person_removed_from_access_is_refused_on_the_next_click(people, company):
    page = _with_cookie(people, people.cookie(ALICE))
    assert "Signed in as alice@example.com · member of growth" in _sidebar(page)
    path = company["config"]
    before = path.read_text(encoding="utf-8")
    try:
        path.write_text(before.replace('"alice@example.com", ', ""), encoding="utf-8")
        page.locator("[data-testid='stSidebarNavLink']", has_text="KPI check").click()
        page.wait_for_selector("[data-testid='stAlertContentError']", timeout=30_000)
        oidc.settle(page)
        refusal = ["Not allowed: signed in as alice@example.com but in no team of [access]."]
        assert _errors(page) == refusal
        assert not _cards(page) and "Signed in as" not in page.inner_text("body")
        # and no page links left from before (app.py hides the navigation of a refused person)
        assert page.locator("[data-testid='stSidebarNavLink']").count() == 0
    finally:
        path.write_text(before, encoding="utf-8")
        page.context.close()


# -- the access log, and what never shows ------------------------------------------------------


def test_the_access_log_holds_sign_ins_the_refusal_and_the_download(people):
    people.page(MALLORY)
    _download(people.at(ALICE), "Download the summary (Markdown)")
    page = people.at(ADMIN, "data_sources", "Data sources")
    assert "Access log" in page.locator("h3").all_inner_texts()
    # What the admin reads there, as its CSV.
    rows = list(csv.DictReader(io.StringIO(_download_csv(page, "access_log"))))
    seen = {(r["who"], r["event"], r["scope"], r["detail"]) for r in rows}
    assert (ALICE, "sign_in", "member of growth", "") in seen
    assert (BOB, "sign_in", "member of growth, risk", "") in seen
    assert (CFO, "sign_in", "viewer of growth", "") in seen
    assert (ADMIN, "sign_in", "admin: every team", "") in seen
    assert (ALICE, "download", "member of growth", "retro.md") in seen
    refusal = "mallory@evil.test is not allowed to sign in to Tandem"
    assert (MALLORY, "refused", refusal, "") in seen
    # A member's Data sources has no access log.
    member = people.at(ALICE, "data_sources", "Data sources")
    assert "Access log" not in member.locator("h3").all_inner_texts()


def _download_csv(page, key: str) -> str:
    with page.expect_download(timeout=30_000) as download:
        # Streamlit draws the button twice (one copy hidden, for its tooltip).
        page.locator(f".st-key-download_{key} button:visible").click()
    return Path(download.value.path()).read_text(encoding="utf-8")


def test_no_secret_and_nobody_elses_email_in_pages_or_the_server_log(
    people, company, oidc_provider
):
    hidden = (oidc_provider.client_secret, company["cookie_secret"])
    for email in PEOPLE:
        html = people.page(email).content()
        assert not any(secret in html for secret in hidden), email
        if email != ADMIN:
            assert set(EMAIL.findall(html)) <= {email}, email
    log = (company["folder"] / "streamlit.log").read_text(encoding="utf-8")
    assert not any(secret in log for secret in hidden)
    assert not EMAIL.findall(log)
