"""The jira_csv kind: the recorded Jira CSV export (tests/fixtures/jira/export.csv, described in
tests/test_jira_csv_connector.py) and the contract sample read from it."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from pathlib import Path

EXPORT = Path(__file__).resolve().parents[2] / "fixtures" / "jira" / "export.csv"

TIMESTAMP_CHECK = (
    "tickets",
    "ticket_id",
    "ML-1",
    "created_at",
    dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC),  # no timezone option: the export's time is UTC
)


@contextlib.contextmanager
def contract_sample(project, frames):
    """The recorded export, read as UTC: tickets and an incident."""
    (project.root / "exports").mkdir(parents=True, exist_ok=True)
    shutil.copy(EXPORT, project.root / "exports" / "jira.csv")
    yield '[[sources]]\nname = "jira-export"\nkind = "jira_csv"\npath = "exports/jira.csv"\n'
