"""The stored holdings (profiling/stored_steps.py HOLDINGS): the sync counts once, per source and
feed, the rows held and the newest event among them (the Data sources page); a sync that brings
rows or takes them away updates the count; a reader uses the stored rows only while they are
exact, else it counts itself, and a team's scope always counts its own rows."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

import warehouse
from connectors.loader import Batch, Loader
from metrics import access, db, session, sources
from profiling.stored_steps import HOLDINGS
from settings import SourceConfig
from tests.helpers.project import Project
from tests.helpers.stored import macro_reads

UTC = dt.UTC
# fraud is risk's model (its deployment says so), churn is growth's.
DEPLOYMENTS = """\
deployment_id,model,team,environment,started_at,finished_at,status
d1,fraud,risk,production,2026-11-02 09:00,2026-11-02 10:00,success
d2,churn,growth,production,2026-11-03 09:00,2026-11-03 11:00,success
"""
# Three fraud requests (newest 4 Nov 08:00) and two churn ones (newest 5 Nov 12:00).
INFERENCE = """\
request_id,ts,model,latency_ms
r1,2026-11-02 10:00,fraud,20
r2,2026-11-03 10:00,fraud,25
r3,2026-11-04 08:00,fraud,30
r4,2026-11-05 09:00,churn,40
r5,2026-11-05 12:00,churn,45
"""
# A second sync: one more churn request, the newest of all.
NEW_REQUEST = "r6,2026-11-06 07:30,churn,50\n"


@pytest.fixture
def project(tmp_path):
    project = Project(tmp_path)
    project.file("exports/deployments.csv", DEPLOYMENTS)
    project.file("exports/inference.csv", INFERENCE)
    project.configure(
        """
        [[sources]]
        name = "deploys"
        kind = "files"
        feed = "deployments"
        path = "exports/deployments.csv"

        [[sources]]
        name = "serving"
        kind = "files"
        feed = "inference"
        path = "exports/inference.csv"
        """
    )
    return project


def _uses_stored(con: duckdb.DuckDBPyConnection) -> bool:
    return macro_reads(con, "source_holdings", "source_holdings_stored")


def _held(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[int, dt.datetime]]:
    """(source, feed) -> (rows held, newest event), as the Data sources page shows them."""
    status = sources.source_status(con)
    return {
        (row.source, row.feed): (int(row.row_count), row.latest_at.to_pydatetime())
        for row in status.itertuples()
        if isinstance(row.feed, str)
    }


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


FIRST = {
    ("deploys", "deployments"): (2, _at("2026-11-03 11:00")),
    ("serving", "inference"): (5, _at("2026-11-05 12:00")),
}


def test_the_sync_stores_the_rows_each_source_holds_and_readers_use_them(project):
    project.sync()
    assert project.query(
        "select source, feed, row_count, latest_at from source_holdings_stored order by 1, 2"
    ) == [(source, feed, n, latest) for (source, feed), (n, latest) in sorted(FIRST.items())]
    with db.connect(project.warehouse) as con:
        assert HOLDINGS.is_current(con) and _uses_stored(con)
        assert _held(con) == FIRST


def test_a_second_sync_with_a_new_row_updates_the_stored_holdings(project):
    project.sync()
    path = project.root / "exports" / "inference.csv"
    path.write_text(path.read_text() + NEW_REQUEST)
    project.sync()
    with db.connect(project.warehouse) as con:
        assert _uses_stored(con)
        assert _held(con) == {**FIRST, ("serving", "inference"): (6, _at("2026-11-06 07:30"))}


def test_a_second_sync_that_changes_a_row_updates_the_stored_holdings(project):
    project.sync()
    # r5 sent again an hour later: the same request, replaced, not one more.
    project.file("exports/inference.csv", INFERENCE.replace("2026-11-05 12:00", "2026-11-05 13:00"))
    project.sync()
    with db.connect(project.warehouse) as con:
        assert _uses_stored(con)
        assert _held(con) == {**FIRST, ("serving", "inference"): (5, _at("2026-11-05 13:00"))}


def test_a_sync_that_changes_nothing_keeps_the_stored_rows(project):
    project.sync()
    with warehouse.writing(project.warehouse) as con:
        assert HOLDINGS.refresh(con) is False  # same rows, same syncs: nothing to count again
        assert HOLDINGS.is_current(con)


def test_rows_loaded_without_a_sync_are_counted_not_read_stale(project):
    project.sync()
    late = pd.DataFrame(
        [("r9", "2026-11-07 06:00", "fraud", 10.0)],
        columns=["request_id", "ts", "model", "latency_ms"],
    )
    with warehouse.writing(project.warehouse) as write:
        Loader(write, SourceConfig(name="late", kind="test"), "s2").load(
            Batch("inference", "late", frame=late)
        )
    with db.connect(project.warehouse) as con:
        assert not _uses_stored(con)
        # The late source has no sync run, so the page lists the synced sources only.
        assert _held(con) == FIRST
        assert con.execute(
            "select row_count from source_holdings() where source = 'late'"
        ).fetchall() == [(1,)]


def test_rows_deleted_without_a_sync_are_counted_not_read_stale(project):
    project.sync()
    with warehouse.writing(project.warehouse) as write:
        write.execute("delete from inference where request_id = 'r5'")
    with db.connect(project.warehouse) as con:
        assert not _uses_stored(con)
        assert _held(con) == {**FIRST, ("serving", "inference"): (4, _at("2026-11-05 09:00"))}


def test_a_teams_scope_counts_its_own_rows_not_the_stored_totals(project):
    project.sync()
    growth = access.Scope("gina", member_teams=frozenset({"growth"}))
    with session.reading(project.warehouse, growth) as con:
        assert not _uses_stored(con)
        assert _held(con) == {
            ("deploys", "deployments"): (1, _at("2026-11-03 11:00")),
            ("serving", "inference"): (2, _at("2026-11-05 12:00")),
        }


def test_a_warehouse_an_older_tandem_synced_gets_its_holdings_at_the_next_sync(project):
    project.sync()
    with warehouse.writing(project.warehouse) as con:  # as before the holdings were stored
        con.execute("delete from tandem_meta where key = $key", {"key": HOLDINGS.key})
        con.execute("drop table source_holdings_stored")
    with db.connect(project.warehouse) as con:
        assert not _uses_stored(con)
        assert _held(con) == FIRST
    project.sync()  # every source unchanged, yet not a sync that writes nothing
    with db.connect(project.warehouse) as con:
        assert _uses_stored(con)
        assert _held(con) == FIRST
