"""The stored flow steps (profiling/stored_steps.py FLOW): the sync sorts out each ticket's copies
and works out its stays once, a sync that brings a new move updates them, and a reader uses them
only while they are exact (else it computes the same rows itself). tests/test_flow.py runs every
hand-worked flow figure on both paths."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

import warehouse
from connectors.loader import Batch, Loader
from metrics import db, flow
from metrics.filters import Filters
from profiling.stored_steps import FLOW
from settings import SourceConfig, Workflow
from tests.helpers.project import DEMO_END, Project
from tests.helpers.stored import macro_reads

WEEK = Filters(dt.datetime(2026, 11, 2, tzinfo=dt.UTC), dt.datetime(2026, 11, 9, tzinfo=dt.UTC))
WORKFLOW = Workflow()

# T1: 3 Nov 09:00 In Progress, 4 Nov 09:00 In Review, 4 Nov 21:00 Done: cycle 36 h.
# T2: 5 Nov 09:00 In Progress, still in progress at the week's end (work in progress).
TICKETS = """\
ticket_id,title,work_category,team,model,created_at,resolved_at,status
T1,One,development,growth,churn,2026-11-01 09:00,2026-11-04 21:00,Done
T2,Two,development,growth,churn,2026-11-01 09:00,,In Progress
"""
TRANSITIONS = """\
ticket_id,at,from_status,to_status,role
T1,2026-11-03 09:00,To Do,In Progress,data_science
T1,2026-11-04 09:00,In Progress,In Review,engineering
T1,2026-11-04 21:00,In Review,Done,engineering
T2,2026-11-05 09:00,To Do,In Progress,engineering
"""
# Second sync: T2 done on 6 Nov 09:00 (cycle 24 h).
T2_DONE = "T2,2026-11-06 09:00,In Progress,Done,engineering\n"
T2_DONE_ROW = pd.DataFrame(
    [("T2", "2026-11-06 09:00", "In Progress", "Done", "engineering")],
    columns=["ticket_id", "at", "from_status", "to_status", "role"],
)


@pytest.fixture
def project(tmp_path):
    project = Project(tmp_path)
    project.file("exports/tickets.csv", TICKETS)
    project.file("exports/transitions.csv", TRANSITIONS)
    project.configure(
        """
        [[sources]]
        name = "tickets"
        kind = "files"
        feed = "tickets"
        path = "exports/tickets.csv"

        [[sources]]
        name = "transitions"
        kind = "files"
        feed = "ticket_transitions"
        path = "exports/transitions.csv"
        """
    )
    return project


def _uses_stored(con: duckdb.DuckDBPyConnection) -> bool:
    return macro_reads(con, "flow_status_stays", "flow_stays_stored")


def _figures(con: duckdb.DuckDBPyConnection) -> dict:
    summary = flow.flow_summary(con, WEEK, WORKFLOW)
    return {
        "throughput": summary["throughput"],
        "cycle_time_hours": summary["cycle_time_hours"]["median"],
        "wip": summary["wip"],
    }


def test_a_second_sync_with_a_new_move_updates_the_stored_stays(project):
    project.sync()
    assert project.query(
        "select ticket_id, count(*) from flow_stays_stored group by 1 order by 1"
    ) == [
        ("T1", 3),
        ("T2", 1),
    ]
    with db.connect(project.warehouse) as con:
        assert _uses_stored(con)
        assert _figures(con) == {"throughput": 1, "cycle_time_hours": 36.0, "wip": 1}

    path = project.root / "exports" / "transitions.csv"
    path.write_text(path.read_text() + T2_DONE)
    project.sync()
    with db.connect(project.warehouse) as con:
        assert _uses_stored(con)
        assert _figures(con) == {"throughput": 2, "cycle_time_hours": 30.0, "wip": 0}


def test_a_sync_that_changes_nothing_keeps_the_stored_rows(project):
    project.sync()
    with warehouse.writing(project.warehouse) as con:
        assert FLOW.refresh(con) is False  # same tickets and moves: nothing to recompute
        assert FLOW.is_current(con)


def test_a_warehouse_an_older_tandem_synced_gets_its_stays_at_the_next_sync(project):
    project.sync()
    with warehouse.writing(project.warehouse) as con:  # as before the flow steps were stored
        con.execute("delete from tandem_meta where key = $key", {"key": FLOW.key})
        con.execute("drop table flow_stays_stored")
    with db.connect(project.warehouse) as con:
        assert not _uses_stored(con)
    project.sync()  # every source unchanged, yet not a sync that writes nothing
    with db.connect(project.warehouse) as con:
        assert _uses_stored(con)
        assert _figures(con) == {"throughput": 1, "cycle_time_hours": 36.0, "wip": 1}


def test_moves_written_after_the_store_are_computed_not_read_stale(project):
    project.sync()
    # A move loaded without a sync (no refresh): the stored stays no longer cover it.
    source = SourceConfig(name="late", kind="test")
    with warehouse.writing(project.warehouse) as write:
        Loader(write, source, "s2").load(Batch("ticket_transitions", "late", frame=T2_DONE_ROW))
    with db.connect(project.warehouse) as con:
        assert not _uses_stored(con)
        assert _figures(con) == {"throughput": 2, "cycle_time_hours": 30.0, "wip": 0}


FLOW_QUERIES = {
    "flow_summary": flow.flow_summary,
    "finished_tickets": flow.finished_tickets,
    "status_split": flow.status_split,
    "aging_wip": flow.aging_wip,
    "handoffs": flow.handoffs,
    "work_mix": flow.work_mix,
    "experiments": flow.experiments,
}


def test_stored_and_computed_flow_are_the_same_on_the_demo(demo_project):
    until = dt.datetime.combine(DEMO_END, dt.time(), dt.UTC) + dt.timedelta(days=1)
    windows = [Filters(until - dt.timedelta(days=d), until) for d in (7, 28, 90)]
    windows.append(Filters(windows[1].since, until, "growth"))

    def read(con: duckdb.DuckDBPyConnection) -> list:
        return [
            function(con, window, WORKFLOW)
            for window in windows
            for function in FLOW_QUERIES.values()
        ]

    with warehouse.reading(demo_project.warehouse) as con:
        stored = db.prepare(con, stored=[FLOW])
        assert FLOW.is_current(stored) and _uses_stored(stored)
        from_store = read(stored)
    with warehouse.reading(demo_project.warehouse) as con:
        from_macros = read(db.prepare(con, stored=()))
    # The same rows; sums of hours may differ in their last bits (the stays come in another
    # order), so numbers agree to 1e-9.
    asked = [window for window in windows for _ in FLOW_QUERIES]
    for window, a, b in zip(asked, from_store, from_macros, strict=True):
        if isinstance(a, dict):
            assert _rounded(a) == _rounded(b), window
        else:
            pd.testing.assert_frame_equal(a, b, rtol=1e-9, obj=str(window))
    assert from_store[0]["throughput"] > 10  # the demo's last week finished real work


def _rounded(value):
    """`value` (a flow summary) with every float to 9 significant digits."""
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return float(f"{value:.9g}") if isinstance(value, float) else value
