"""The sample configuration in examples/ syncs as the README says, every feed included."""

from __future__ import annotations

import datetime as dt
import shutil

import settings
from connectors import sync
from connectors.feeds import FEEDS
from tests.helpers.project import ROOT, Project


def test_the_sample_config_loads_every_feed(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    config = settings.load(tmp_path / "examples" / "sources.toml")
    assert config.warehouse == tmp_path / "data" / "examples.duckdb"
    # The notes store beside it, its relative path read from the config's folder.
    assert config.notes_url().reveal() == f"sqlite:///{tmp_path / 'data' / 'examples-notes.sqlite'}"
    report = sync.run(config)
    assert report.ok, report.as_dict()
    assert {row["feed"] for row in report.as_dict()["sources"]} == set(FEEDS)

    project = Project(tmp_path)
    project.warehouse = config.warehouse
    # Mapped names and values: SUCCEEDED -> success, deployment_timestamp -> finished_at.
    assert project.query("select deployment_id, status from deployments order by 1")[:2] == [
        ("dep-101", "success"),
        ("dep-102", "success"),
    ]
    # Locale dates through timestamp_format, categories from types and [work_categories].
    assert project.query("select ticket_id, created_at, work_category from tickets order by 1") == [
        ("ML-12", dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC), "research"),
        ("ML-15", dt.datetime(2026, 10, 9, 9, 0, tzinfo=dt.UTC), "development"),
        ("ML-19", dt.datetime(2026, 11, 10, 11, 0, tzinfo=dt.UTC), "maintenance"),
        ("ML-20", dt.datetime(2026, 11, 11, 9, 0, tzinfo=dt.UTC), "maintenance"),
    ]
    ((reason,),) = project.query("select reason from quarantine")
    assert reason == "latency_ms: negative (-1.0)"
