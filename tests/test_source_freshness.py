"""Source freshness: fresh / stale / never synced against each source's expected interval,
from sync times set by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import settings
import warehouse
from metrics import db, sources
from metrics.sources import FRESH, NEVER, STALE, Expected

NOW = dt.datetime(2026, 11, 19, 23, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("hours", "every", "syncs", "expected"),
    [
        (5.0, 24, 1, (FRESH, "last synced 5.0 h ago, expected every 24 h")),
        (24.0, 24, 1, (FRESH, "last synced 24.0 h ago, expected every 24 h")),  # at the limit
        (24.5, 24, 1, (STALE, "last synced 24.5 h ago, expected every 24 h")),
        (74.0, 24, 3, (STALE, "last synced 3 d 2 h ago, expected every 24 h")),
        (74.0, 168, 3, (FRESH, "last synced 3 d 2 h ago, expected every 7 d")),
        (170.0, 168, 3, (STALE, "last synced 7 d 2 h ago, expected every 7 d")),
        (-3.0, 24, 1, (FRESH, "last synced just now, expected every 24 h")),  # clock behind
        (None, 24, 0, (NEVER, "no sync has run yet; expected every 24 h")),
        (None, 6, 2, (NEVER, "2 syncs ran, none succeeded; expected every 6 h")),
        (None, 1.5, 1, (NEVER, "1 sync ran, none succeeded; expected every 1.5 h")),
    ],
)
def test_verdict(hours, every, syncs, expected):
    assert sources.verdict(hours, every, syncs) == expected


def _run(sync_id: str, source: str, finished: str, status: str = "ok") -> tuple:
    at = dt.datetime.fromisoformat(finished)
    error = None if status == "ok" else "the server went away"
    return (sync_id, source, "files", "deployments", at, at, status, 1, 1, 0, 0, error)


@pytest.fixture
def runs_warehouse(tmp_path: Path) -> Path:
    """sync_runs written by hand: `daily` last succeeded 26 h 10 min before NOW (then failed),
    `weekly` 3 d 2 h before, `broken` never succeeded, `gone` is no longer configured."""
    path = tmp_path / "w.duckdb"
    rows = [
        _run("s1", "daily", "2026-11-17T21:00:00+00:00"),
        _run("s2", "daily", "2026-11-18T20:50:00+00:00"),
        _run("s3", "daily", "2026-11-19T20:00:00+00:00", "failed"),
        _run("s4", "weekly", "2026-11-16T21:00:00+00:00"),
        _run("s5", "broken", "2026-11-19T10:00:00+00:00", "failed"),
        _run("s6", "broken", "2026-11-19T11:00:00+00:00", "failed"),
        _run("s7", "gone", "2026-11-19T22:00:00+00:00"),
    ]
    with warehouse.writing(path) as con:
        con.executemany("insert into sync_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return path


def test_freshness_per_source_from_hand_set_sync_times(runs_warehouse):
    expected = [
        Expected("daily", "files", 24.0),
        Expected("weekly", "files", 168.0),
        Expected("broken", "jira", 24.0),
        Expected("new", "github", 12.0),  # configured, never run
    ]
    with db.connect(runs_warehouse) as con:
        table = sources.freshness(con, expected, NOW).set_index("source")
    assert list(table.index) == ["broken", "daily", "gone", "new", "weekly"]
    verdicts = table[["verdict", "reason"]].to_dict("index")
    assert verdicts == {
        # 2026-11-18 20:50 to 2026-11-19 23:00 is 26 h 10 min; the failed run after it counts
        # for nothing.
        "daily": {"verdict": STALE, "reason": "last synced 26.2 h ago, expected every 24 h"},
        # 2026-11-16 21:00 to 2026-11-19 23:00 is 74 h.
        "weekly": {"verdict": FRESH, "reason": "last synced 3 d 2 h ago, expected every 7 d"},
        "broken": {
            "verdict": NEVER,
            "reason": "2 syncs ran, none succeeded; expected every 24 h",
        },
        "new": {"verdict": NEVER, "reason": "no sync has run yet; expected every 12 h"},
        # Not configured any more: judged against the default, 1 h after its sync.
        "gone": {"verdict": FRESH, "reason": "last synced 1.0 h ago, expected every 24 h"},
    }
    assert table.loc["daily", "hours_since_success"] == pytest.approx(26 + 10 / 60)
    assert table.loc["daily", "last_status"] == "failed"
    assert table.loc["new", "kind"] == "github" and table.loc["gone", "kind"] == "files"
    assert table.loc["gone", "expected_every_hours"] == settings.DEFAULT_EXPECTED_EVERY_HOURS


def test_expected_interval_is_read_from_each_source(project):
    config = project.configure(
        """
        [[sources]]
        name = "weekly-export"
        kind = "files"
        feed = "deployments"
        path = "d.csv"
        expected_every_hours = 168

        [[sources]]
        name = "demo"
        kind = "demo"
        """
    )
    assert sources.expectations(config) == (
        Expected("weekly-export", "files", 168.0),
        Expected("demo", "demo", 24.0),
    )


@pytest.mark.parametrize("bad", ["0", "-4", '"daily"', "true"])
def test_an_expected_interval_that_is_not_a_positive_number_is_refused(project, bad):
    with pytest.raises(settings.ConfigError, match="expected_every_hours"):
        project.configure(
            f"""
            [[sources]]
            name = "demo"
            kind = "demo"
            expected_every_hours = {bad}
            """
        )
