"""The stored attribution (profiling/stored_steps.py ATTRIBUTION): the sync works out once which deployment
each change and incident belongs to, a second sync that brings a new deployment updates it, and a
reader uses it only while it is exact (else it computes the same rows itself)."""

from __future__ import annotations

import datetime as dt
import io

import duckdb
import pandas as pd
import pytest

import warehouse
from connectors.loader import Batch, Loader
from metrics import db, delivery
from metrics.filters import Filters
from profiling.stored_steps import ATTRIBUTION
from settings import SourceConfig
from tests.helpers.project import Project
from tests.helpers.stored import macro_reads

WEEK = Filters(dt.datetime(2026, 11, 2, tzinfo=dt.UTC), dt.datetime(2026, 11, 9, tzinfo=dt.UTC))

# First sync: d1 ships c1 (lead time 24 h); d2 failed, so c2 waits for the next success of fraud;
# i1 names no deployment and falls to fraud's latest success before it opened, d1.
DEPLOYMENTS = """\
deployment_id,model,team,environment,started_at,finished_at,status
d1,fraud,risk,production,2026-11-02 09:00,2026-11-02 10:00,success
d2,fraud,risk,production,2026-11-04 09:00,2026-11-04 10:00,failed
"""
CHANGES = """\
change_id,deployment_id,first_commit_at,merged_at,author,title
c1,d1,2026-11-01 10:00,2026-11-01 12:00,alice,one
c2,d2,2026-11-03 10:00,2026-11-03 12:00,bob,two
"""
INCIDENTS = """\
incident_id,model,team,opened_at,resolved_at,severity,deployment_id,title
i1,fraud,risk,2026-11-04 12:00,2026-11-04 15:00,high,,outage
"""
# Second sync: d3 succeeds on 5 Nov 10:00 and ships c2 (10:00 on the 3rd -> 48 h) and c3
# (04:00 on the 5th -> 6 h); i2 opens after d3 and falls to it.
NEW_DEPLOYMENT = "d3,fraud,risk,production,2026-11-05 09:00,2026-11-05 10:00,success\n"
NEW_CHANGE = "c3,d3,2026-11-05 04:00,2026-11-05 06:00,carol,three\n"
NEW_INCIDENT = "i2,fraud,risk,2026-11-05 12:00,2026-11-05 13:00,low,,slow\n"


@pytest.fixture
def project(tmp_path):
    project = Project(tmp_path)
    project.file("exports/deployments.csv", DEPLOYMENTS)
    project.file("exports/changes.csv", CHANGES)
    project.file("exports/incidents.csv", INCIDENTS)
    project.configure(
        """
        [[sources]]
        name = "deploys"
        kind = "files"
        feed = "deployments"
        path = "exports/deployments.csv"

        [[sources]]
        name = "changes"
        kind = "files"
        feed = "changes"
        path = "exports/changes.csv"

        [[sources]]
        name = "incidents"
        kind = "files"
        feed = "incidents"
        path = "exports/incidents.csv"
        """
    )
    return project


def _append(project: Project, name: str, line: str) -> None:
    path = project.root / "exports" / name
    path.write_text(path.read_text() + line)


def _frame(csv_text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(csv_text), dtype=str)


def _stored(project: Project) -> dict[str, list[tuple]]:
    return {
        "shipping": project.query(
            "select change_id, next_deployment_id from attribution_change_shipping order by all"
        ),
        "incidents": project.query(
            "select incident_id, previous_deployment_id from attribution_incidents order by all"
        ),
    }


def _figures(con: duckdb.DuckDBPyConnection) -> dict:
    changes = delivery.changes(con, WEEK)
    incidents = delivery.incidents(con, WEEK)
    return {
        "lead_time_hours": {
            change: None if pd.isna(hours) else float(hours)
            for change, hours in zip(changes["change_id"], changes["lead_time_hours"], strict=True)
        },
        "shipped_by": dict(
            zip(changes["change_id"], changes["shipping_deployment_id"].astype(object), strict=True)
        ),
        "median": delivery.lead_time(con, WEEK)["median"],
        "incidents": dict(
            zip(incidents["incident_id"], incidents["attributed_deployment_id"], strict=True)
        ),
    }


def _uses_stored(con: duckdb.DuckDBPyConnection) -> bool:
    return macro_reads(con, "change_next_deployments", "attribution_change_shipping")


def test_a_second_sync_with_a_new_deployment_updates_the_stored_attribution(project):
    project.sync()
    assert _stored(project) == {
        "shipping": [("c1", None), ("c2", None)],
        "incidents": [("i1", "d1")],
    }
    with db.connect(project.warehouse) as con:
        assert _uses_stored(con)
        assert _figures(con) == {
            "lead_time_hours": {"c1": 24.0, "c2": None},
            "shipped_by": {"c1": "d1", "c2": None},
            "median": 24.0,
            "incidents": {"i1": "d1"},
        }

    _append(project, "deployments.csv", NEW_DEPLOYMENT)
    _append(project, "changes.csv", NEW_CHANGE)
    _append(project, "incidents.csv", NEW_INCIDENT)
    project.sync()
    assert _stored(project) == {
        # c1's named d1 shipped it; the next success after d1 is stored all the same
        "shipping": [("c1", "d3"), ("c2", "d3"), ("c3", None)],
        "incidents": [("i1", "d1"), ("i2", "d3")],
    }
    with db.connect(project.warehouse) as con:
        assert _uses_stored(con)
        assert _figures(con) == {
            "lead_time_hours": {"c1": 24.0, "c2": 48.0, "c3": 6.0},
            "shipped_by": {"c1": "d1", "c2": "d3", "c3": "d3"},
            "median": 24.0,
            "incidents": {"i1": "d1", "i2": "d3"},
        }


def test_a_sync_that_changes_nothing_keeps_the_stored_rows(project):
    project.sync()
    with warehouse.writing(project.warehouse) as con:
        assert ATTRIBUTION.refresh(con) is False  # same inputs: nothing to recompute
        assert ATTRIBUTION.is_current(con)


def test_rows_written_after_the_store_are_computed_not_read_stale(project):
    project.sync()
    # A change loaded without a sync (no refresh): the stored rows no longer cover it.
    source = SourceConfig(name="late", kind="test")
    with warehouse.writing(project.warehouse) as write:
        Loader(write, source, "s2").load(
            Batch(
                "deployments",
                "late",
                frame=_frame(DEPLOYMENTS.splitlines()[0] + "\n" + NEW_DEPLOYMENT),
            )
        )
    with db.connect(project.warehouse) as con:
        assert not _uses_stored(con)
        assert _figures(con)["shipped_by"] == {"c1": "d1", "c2": "d3"}
        assert _figures(con)["lead_time_hours"] == {"c1": 24.0, "c2": 48.0}


def test_an_older_warehouse_gets_its_attribution_at_the_upgrading_sync(project):
    # A warehouse as Tandem wrote it at schema version 7: no attribution tables yet.
    project.warehouse.parent.mkdir(parents=True)
    con = duckdb.connect(str(project.warehouse))
    con.execute("set TimeZone = 'UTC'")
    warehouse.ensure_schema(con, target=7)
    con.close()
    with pytest.raises(warehouse.WarehouseError, match="older than"), db.connect(project.warehouse):
        pass
    project.sync()
    with db.connect(project.warehouse) as con:
        assert _uses_stored(con)
        assert _figures(con)["lead_time_hours"] == {"c1": 24.0, "c2": None}


def test_stored_and_computed_attribution_are_the_same_rows_on_the_demo(demo_project):
    queries = {
        "change_shipping": "select * from change_shipping() order by all",
        "incident_attribution": "select * from incident_attribution() order by all",
        "deployment_rework": "select * exclude (fixing_change_ids, open_incident_ids) "
        "from deployment_rework() order by all",
    }
    with warehouse.reading(demo_project.warehouse) as con:
        stored = db.prepare(con, stored=[ATTRIBUTION])
        assert ATTRIBUTION.is_current(stored)
        from_store = {name: stored.execute(q).fetchall() for name, q in queries.items()}
    with warehouse.reading(demo_project.warehouse) as con:
        computed = db.prepare(con, stored=())
        from_macros = {name: computed.execute(q).fetchall() for name, q in queries.items()}
    assert from_store == from_macros
    assert len(from_store["change_shipping"]) > 100
    assert sum(row[-1] is not None for row in from_store["change_shipping"]) > 100
