"""One clock: $TANDEM_NOW pins settings.now(), and every "today" in Tandem follows it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

import settings
from connectors.demo import DemoConnector
from metrics.filters import window
from tests.helpers.project import PINNED_NOW, ROOT, subprocess_env

UTC = dt.UTC


@pytest.mark.parametrize(
    ("pinned", "expected"),
    [
        ("2026-11-19", dt.datetime(2026, 11, 19, tzinfo=UTC)),
        ("2026-11-19T18:30:00Z", dt.datetime(2026, 11, 19, 18, 30, tzinfo=UTC)),
        ("2026-11-19T18:30:00", dt.datetime(2026, 11, 19, 18, 30, tzinfo=UTC)),  # naive = UTC
        # An offset is converted: 01:30 in UTC+02:00 is the day before in UTC.
        ("2027-01-01T01:30:00+02:00", dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC)),
        ("  2028-02-29T12:00:00+00:00 ", dt.datetime(2028, 2, 29, 12, tzinfo=UTC)),
    ],
)
def test_tandem_now_pins_the_clock(monkeypatch, pinned, expected):
    monkeypatch.setenv(settings.NOW_ENV, pinned)
    now = settings.now()
    assert now == expected and now.tzinfo == UTC


def test_without_tandem_now_the_clock_is_the_wall_clock(monkeypatch):
    monkeypatch.delenv(settings.NOW_ENV)
    before = dt.datetime.now(UTC)
    now = settings.now()
    assert before <= now <= dt.datetime.now(UTC)


def test_a_malformed_tandem_now_names_the_variable(monkeypatch):
    monkeypatch.setenv(settings.NOW_ENV, "next tuesday")
    with pytest.raises(
        settings.ConfigError, match=r"\$TANDEM_NOW must be an ISO 8601.*'next tuesday'"
    ):
        settings.now()


def test_the_suite_runs_on_the_pinned_clock():
    assert settings.now() == dt.datetime.fromisoformat(PINNED_NOW)


def test_the_default_window_and_the_demo_end_follow_the_clock(monkeypatch):
    monkeypatch.setenv(settings.NOW_ENV, "2027-01-01T00:30:00Z")
    filters = window()
    # The last 28 days: whole UTC days ending with today (1 Jan 2027), today included.
    assert filters.until == dt.datetime(2027, 1, 2, tzinfo=UTC)
    assert filters.since == dt.datetime(2026, 12, 5, tzinfo=UTC)
    demo = DemoConnector(settings.SourceConfig(name="demo", kind="demo", options={}))
    assert demo._end() == dt.date(2027, 1, 1)


def test_the_cli_reads_the_pinned_clock(demo_project):
    """A whole `python -m metrics report` process: its default window is the last 28 days by
    $TANDEM_NOW, whole days ending with the midnight after the pinned day."""
    result = subprocess.run(
        [sys.executable, "-m", "metrics", "report", "--json"],
        cwd=ROOT,
        env=subprocess_env(
            TANDEM_CONFIG=str(demo_project.config_path), TANDEM_NOW="2028-02-29T12:00:00Z"
        ),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["window"] == {
        "since": "2028-02-02T00:00:00+00:00",
        "until": "2028-03-01T00:00:00+00:00",
    }
