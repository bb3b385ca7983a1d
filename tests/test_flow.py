"""Flow metrics (collaboration health) on a tiny hand-written ticket history, worked by hand.

Window W = [2026-11-02, 2026-11-23) UTC. Times below are UTC, "11-03 09" = 2026-11-03 09:00.
Status kinds follow settings.Workflow's defaults (active: in progress, in review; waiting: backlog,
waiting, ready for engineering/dev/review; blocked: blocked, on hold; done; dropped).

ticket  team/model    category     moves (role) -> hours per stay inside the cycle
T1      growth/churn  development  11-03 09 In Progress (ds); 12 Backlog; 11-05 12 In Progress;
                                   18 Done. Moved back: keeps its first start 11-03 09.
                                   cycle 57 = active 3+6 + waiting 48 (backlog)
T2      growth/churn  development  11-09 09 IN PROGRESS; 15 Blocked; 11-10 15 in progress;
                                   19 Waiting; 11-11 09 In Review; 11 DONE (eng, mixed case).
                                   cycle 50 = active 6+4+2 + blocked 24 + waiting 14 (a pause)
T3      growth/churn  development  11-16 09 In Progress (ds); 17 Ready for Engineering (ds);
                                   11-18 11 In Progress (eng); 21 In Review; 11-19 09 Done.
                                   cycle 72 = active 8+10+12 + waiting 42 (ds->eng hand-off)
T4      risk/fraud    maintenance  11-04 10 In Progress; 14 Done; 11-06 10 In Progress; 12 Done
                                   (accepted by product: no hand-off, In Progress is no waiting
                                   status). Reopened; finished at the last Done: cycle 50 =
                                   active 4+2 + 44 in Done
T5      growth/churn  development  11-05 09 In Progress; 11-07 09 Won't Do. Dropped.
T6      growth/-      learning     no transitions, resolved 11-10 12, Done: finished, no cycle
T7      risk/fraud    development  no transitions, resolved 11-12 12, Cancelled: not finished
T8      growth/churn  experiment   11-10 09 In Progress; 11-13 09 Done; 11-14 09 Closed (done to
                                   done: still finished at 11-13 09); "Outcome:Productionize".
                                   cycle 72 = active 72
T9      risk/fraud    development  10-31 09 Ready for Engineering (ds); 11-02 09 In Progress
                                   (eng): a 48h ds->eng wait that ended in W; 11-20 09 In Review.
T10     growth/churn  development  11-17 10 In Progress (ds); 11-19 10 Ready for Engineering
                                   (ds), still waiting; the ticket is now assigned to an engineer.
T11     risk/fraud    maintenance  11-20 12 In Progress (eng); 11-25 12 Done (after W); the ticket
                                   is now held by data science
T12     growth/churn  research     10-19 09 Ready for Review (product); 10-20 09 In Progress
                                   (ds); 10-21 09 Done; "outcome:more-research". Finished before
                                   W, though a bulk edit stamped its resolved_at 11-02 10: the
                                   history wins, even when it has no move inside W.
T13     growth/churn  (none)       11-09 10 Ready for Dev (product); 11-10 10 In Progress (eng);
                                   16 Done. product->eng wait 24, before the start: cycle 6
T14     risk/fraud    development  11-11 09 In Progress (ds); 12 Ready for Engineering (ds);
                                   14 In Progress (eng); 18 Ready for Review (eng); 11-12 09 In
                                   Review (ds); 10 Ready for Engineering (ds); 16 In Progress
                                   (eng); 18 Done. cycle 33 = active 3+4+1+2 + waiting 2+15+6
T15     growth/ltv    research     created 10-15 00, never moved (the prototype's research)
T16     growth/churn  experiment   11-13 09 In Progress; 13 On Hold; 21 In Progress; 11-14 09
                                   Done. cycle 24 = active 4+12 + blocked 8; no outcome label
T17     risk/pricing  experiment   created 10-01 00, never moved
T18     risk/fraud    development  11-02 10 In Progress; 11-03 10 Done; 11-20 10 In Progress:
                                   reopened and still open (its resolved_at 11-03 10 is stale)
T19     growth/churn  development  11-21 09 Backlog (product): groomed, never started, not WIP
"""

from __future__ import annotations

import datetime as dt
import io
import json
import textwrap

import pandas as pd
import pytest

import settings
import warehouse
from connectors import demo_data
from connectors.loader import Batch, Loader
from metrics import db, flow
from metrics.filters import Filters
from profiling.stored_steps import FLOW


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def ts(text: str | None) -> pd.Timestamp | None:
    return None if text is None else pd.Timestamp(text, tz="UTC")


W = Filters(utc("2026-11-02"), utc("2026-11-23"))
OCTOBER = Filters(utc("2026-10-01"), utc("2026-11-01"))
EMPTY = Filters(utc("2020-01-01"), utc("2020-01-08"))
WORKFLOW = settings.Workflow()

DS, ENG, PM = "data_science", "engineering", "product"


def table(text: str) -> pd.DataFrame:
    """A CSV fixture, one row per line; an empty field is a missing value."""
    frame = pd.read_csv(io.StringIO(textwrap.dedent(text)), dtype=str, keep_default_na=False)
    return frame.replace({"": None})


TICKETS = table(
    """\
    ticket_id,title,work_category,team,model,role,created_at,resolved_at,status,labels
    T1,Moved back,development,growth,churn,data_science,2026-11-01 10:00,2026-11-05 18:00,Done,"churn,outcome:abandon"
    T2,"Mixed case, blocked, paused",development,growth,churn,engineering,2026-11-08 10:00,2026-11-11 11:00,DONE,churn
    T3,Hand-off to engineering,development,growth,churn,engineering,2026-11-13 10:00,2026-11-19 09:00,Done,churn
    T4,Reopened,maintenance,risk,fraud,engineering,2026-11-03 09:00,2026-11-06 12:00,Done,fraud
    T5,Dropped,development,growth,churn,data_science,2026-11-04 09:00,2026-11-07 09:00,Won't Do,churn
    T6,"CSV row, finished",learning,growth,,data_science,2026-11-01 09:00,2026-11-10 12:00,Done,learning
    T7,"CSV row, cancelled",development,risk,fraud,engineering,2026-11-01 09:00,2026-11-12 12:00,Cancelled,fraud
    T8,Experiment decided,experiment,growth,churn,data_science,2026-11-06 09:00,2026-11-14 09:00,Closed,"churn,Outcome:Productionize"
    T9,Old work in progress,development,risk,fraud,engineering,2026-10-25 09:00,,In Review,fraud
    T10,Waiting for engineering,development,growth,churn,engineering,2026-11-16 09:00,,Ready for Engineering,churn
    T11,Finished after the window,maintenance,risk,fraud,data_science,2026-11-19 09:00,2026-11-25 12:00,Done,fraud
    T12,Early research,research,growth,churn,data_science,2026-09-01 09:00,2026-11-02 10:00,Done,"churn,outcome:more-research"
    T13,Product hand-off,,growth,churn,engineering,2026-11-09 09:00,2026-11-10 16:00,Done,churn
    T14,Ping-pong,development,risk,fraud,engineering,2026-11-10 09:00,2026-11-12 18:00,Done,fraud
    T15,Prototype research,research,growth,ltv,data_science,2026-10-15 00:00,,To Do,ltv
    T16,Experiment on hold,experiment,growth,churn,data_science,2026-11-12 09:00,2026-11-14 09:00,Done,churn
    T17,Pricing experiment,experiment,risk,pricing,data_science,2026-10-01 00:00,,To Do,pricing
    T18,"Reopened, still open",development,risk,fraud,engineering,2026-11-01 09:00,2026-11-03 10:00,In Progress,fraud
    T19,Groomed but not started,development,growth,churn,product,2026-11-20 09:00,,Backlog,churn
    """
)

TRANSITIONS = table(
    """\
    ticket_id,at,from_status,to_status,role
    T1,2026-11-03 09:00,To Do,In Progress,data_science
    T1,2026-11-03 12:00,In Progress,Backlog,data_science
    T1,2026-11-05 12:00,Backlog,In Progress,data_science
    T1,2026-11-05 18:00,In Progress,Done,data_science
    T2,2026-11-09 09:00,To Do,IN PROGRESS,engineering
    T2,2026-11-09 15:00,IN PROGRESS,Blocked,engineering
    T2,2026-11-10 15:00,Blocked,in progress,engineering
    T2,2026-11-10 19:00,in progress,Waiting,engineering
    T2,2026-11-11 09:00,Waiting,In Review,engineering
    T2,2026-11-11 11:00,In Review,DONE,engineering
    T3,2026-11-16 09:00,To Do,In Progress,data_science
    T3,2026-11-16 17:00,In Progress,Ready for Engineering,data_science
    T3,2026-11-18 11:00,Ready for Engineering,In Progress,engineering
    T3,2026-11-18 21:00,In Progress,In Review,engineering
    T3,2026-11-19 09:00,In Review,Done,engineering
    T4,2026-11-04 10:00,To Do,In Progress,engineering
    T4,2026-11-04 14:00,In Progress,Done,engineering
    T4,2026-11-06 10:00,Done,In Progress,engineering
    T4,2026-11-06 12:00,In Progress,Done,product
    T5,2026-11-05 09:00,To Do,In Progress,data_science
    T5,2026-11-07 09:00,In Progress,Won't Do,data_science
    T8,2026-11-10 09:00,To Do,In Progress,data_science
    T8,2026-11-13 09:00,In Progress,Done,data_science
    T8,2026-11-14 09:00,Done,Closed,data_science
    T9,2026-10-31 09:00,To Do,Ready for Engineering,data_science
    T9,2026-11-02 09:00,Ready for Engineering,In Progress,engineering
    T9,2026-11-20 09:00,In Progress,In Review,engineering
    T10,2026-11-17 10:00,To Do,In Progress,data_science
    T10,2026-11-19 10:00,In Progress,Ready for Engineering,data_science
    T11,2026-11-20 12:00,To Do,In Progress,engineering
    T11,2026-11-25 12:00,In Progress,Done,engineering
    T12,2026-10-19 09:00,To Do,Ready for Review,product
    T12,2026-10-20 09:00,Ready for Review,In Progress,data_science
    T12,2026-10-21 09:00,In Progress,Done,data_science
    T13,2026-11-09 10:00,To Do,Ready for Dev,product
    T13,2026-11-10 10:00,Ready for Dev,In Progress,engineering
    T13,2026-11-10 16:00,In Progress,Done,engineering
    T14,2026-11-11 09:00,To Do,In Progress,data_science
    T14,2026-11-11 12:00,In Progress,Ready for Engineering,data_science
    T14,2026-11-11 14:00,Ready for Engineering,In Progress,engineering
    T14,2026-11-11 18:00,In Progress,Ready for Review,engineering
    T14,2026-11-12 09:00,Ready for Review,In Review,data_science
    T14,2026-11-12 10:00,In Review,Ready for Engineering,data_science
    T14,2026-11-12 16:00,Ready for Engineering,In Progress,engineering
    T14,2026-11-12 18:00,In Progress,Done,engineering
    T16,2026-11-13 09:00,To Do,In Progress,data_science
    T16,2026-11-13 13:00,In Progress,On Hold,data_science
    T16,2026-11-13 21:00,On Hold,In Progress,data_science
    T16,2026-11-14 09:00,In Progress,Done,data_science
    T18,2026-11-02 10:00,To Do,In Progress,engineering
    T18,2026-11-03 10:00,In Progress,Done,engineering
    T18,2026-11-20 10:00,Done,In Progress,engineering
    T19,2026-11-21 09:00,To Do,Backlog,product
    """
)

DEPLOYMENTS = table(
    """\
    deployment_id,model,environment,finished_at,status
    c1,churn,staging,2026-09-03 09:00,success
    c2,churn,production,2026-09-05 09:00,failed
    c3,churn,PRODUCTION,2026-09-11 09:00,success
    c4,churn,production,2026-10-01 09:00,success
    l1,ltv,staging,2026-11-01 09:00,success
    l2,ltv,production,2026-12-01 09:00,success
    p1,pricing,production,2026-06-01 00:00,success
    p2,pricing,production,2026-10-03 12:00,success
    f1,fraud,production,2026-11-05 09:00,success
    """
)


def load(path, frames: dict[str, pd.DataFrame], stored: bool = False):
    """A read connection to a warehouse of `frames`; with `stored`, the flow steps stored as a
    sync stores them (profiling/stored_steps.py FLOW), and read from there."""
    source = settings.SourceConfig(name="fixture", kind="test")
    with warehouse.writing(path) as write:
        loader = Loader(write, source, "s1")
        for feed, frame in frames.items():
            stats = loader.load(Batch(feed, f"fixture:{feed}", frame=frame))
            assert stats.quarantined == 0, feed
        if stored:
            assert FLOW.refresh(write)
    connection = db.prepare(warehouse.connect_read(path))
    assert FLOW.is_current(connection) is stored
    return connection


# Every figure below, worked out by hand, holds whether the flow steps are computed at each query
# or read from the rows the sync stored.
@pytest.fixture(scope="module", params=["computed", "stored"])
def con(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("flow") / "w.duckdb"
    connection = load(
        path,
        {"tickets": TICKETS, "ticket_transitions": TRANSITIONS, "deployments": DEPLOYMENTS},
        stored=request.param == "stored",
    )
    yield connection
    connection.close()


def scoped(filters: Filters, team: str | None = None, model: str | None = None) -> Filters:
    return Filters(filters.since, filters.until, team, model)


# -- one row per finished ticket ------------------------------------------------------------------


def test_finished_tickets_are_throughput(con):
    finished = flow.finished_tickets(con, W, WORKFLOW)
    # T5 (Won't Do) and T7 (Cancelled, no history) are dropped; T9, T10 are open, and so is T18
    # (reopened); T11 finished after W; T12 before it. T6 counts from resolved_at. T8 finished at
    # its Done, not at the later Closed. Newest first.
    assert list(finished["ticket_id"]) == ["T3", "T16", "T8", "T14", "T2", "T13", "T6", "T4", "T1"]


@pytest.mark.parametrize(
    ("ticket_id", "started_at", "finished_at", "cycle", "active", "waiting", "blocked", "reopened"),
    [
        # moved back to Backlog: cycle from the first start (11-03 09), not the restart (6h)
        ("T1", "2026-11-03 09:00", "2026-11-05 18:00", 57.0, 9.0, 48.0, 0.0, False),
        # mixed case statuses; a block of 24h and a pause of 14h in cycle, not in active time
        ("T2", "2026-11-09 09:00", "2026-11-11 11:00", 50.0, 12.0, 14.0, 24.0, False),
        ("T3", "2026-11-16 09:00", "2026-11-19 09:00", 72.0, 30.0, 42.0, 0.0, False),
        # reopened: finished at the last Done (11-06 12), the 44h in Done between is cycle time
        ("T4", "2026-11-04 10:00", "2026-11-06 12:00", 50.0, 6.0, 0.0, 0.0, True),
        # no transitions: finished at resolved_at, no cycle time, reopen unknown
        ("T6", None, "2026-11-10 12:00", None, None, None, None, None),
        ("T8", "2026-11-10 09:00", "2026-11-13 09:00", 72.0, 72.0, 0.0, 0.0, False),
        # the 24h Ready for Dev wait came before the first active move: outside the cycle
        ("T13", "2026-11-10 10:00", "2026-11-10 16:00", 6.0, 6.0, 0.0, 0.0, False),
        ("T14", "2026-11-11 09:00", "2026-11-12 18:00", 33.0, 10.0, 23.0, 0.0, False),
        ("T16", "2026-11-13 09:00", "2026-11-14 09:00", 24.0, 16.0, 0.0, 8.0, False),
    ],
)
def test_finished_ticket_times(
    con, ticket_id, started_at, finished_at, cycle, active, waiting, blocked, reopened
):
    row = flow.finished_tickets(con, W, WORKFLOW).set_index("ticket_id").loc[ticket_id]
    assert row["finished_at"] == ts(finished_at)
    if started_at is None:
        assert pd.isna(row["started_at"])
        for column in ("cycle_time_hours", "active_hours", "waiting_hours", "blocked_hours"):
            assert pd.isna(row[column]), column
        assert pd.isna(row["is_reopened"])
        return
    assert row["started_at"] == ts(started_at)
    assert row["cycle_time_hours"] == pytest.approx(cycle)
    assert row["active_hours"] == pytest.approx(active)
    assert row["waiting_hours"] == pytest.approx(waiting)
    assert row["blocked_hours"] == pytest.approx(blocked)
    assert bool(row["is_reopened"]) is reopened


def test_cycle_time_counts_tickets_without_one_apart(con):
    # 8 cycle times, sorted: 6, 24, 33, 50, 50, 57, 72, 72. Median at position 3.5 = 50;
    # p85 at position 5.95 = 57 + 0.95 * (72 - 57) = 71.25. T6 has none.
    assert flow.cycle_time(con, W, WORKFLOW) == {
        "median": pytest.approx(50.0),
        "p85": pytest.approx(71.25),
        "tickets": 8,
        "without_cycle_time": 1,
    }


# -- where the cycle time went -------------------------------------------------------------------


def test_status_split_adds_up_to_the_cycle_times(con):
    split = flow.status_split(con, W, WORKFLOW)
    # In Progress: T1 3+6, T2 6+4 (IN PROGRESS and in progress are one status), T3 8+10, T4 4+2,
    # T8 72, T13 6, T14 3+4+2, T16 4+12 = 146 over 8 tickets. In Review: T2 2, T3 12, T14 1.
    # Ready for Engineering: T3 42, T14 2+6. Done: T4's 44h before the reopen.
    # T13's Ready for Dev came before its start and is absent.
    assert split.to_dict("records") == [
        {"status": "In Progress", "kind": "active", "hours": 146.0, "tickets": 8},
        {"status": "Ready for Engineering", "kind": "waiting", "hours": 50.0, "tickets": 2},
        {"status": "Backlog", "kind": "waiting", "hours": 48.0, "tickets": 1},
        {"status": "Done", "kind": "done", "hours": 44.0, "tickets": 1},
        {"status": "Blocked", "kind": "blocked", "hours": 24.0, "tickets": 1},
        {"status": "In Review", "kind": "active", "hours": 15.0, "tickets": 3},
        {"status": "Ready for Review", "kind": "waiting", "hours": 15.0, "tickets": 1},
        {"status": "Waiting", "kind": "waiting", "hours": 14.0, "tickets": 1},
        {"status": "On Hold", "kind": "blocked", "hours": 8.0, "tickets": 1},
    ]
    # 57 + 50 + 72 + 50 + 72 + 6 + 33 + 24
    assert split["hours"].sum() == pytest.approx(364.0)


# -- work in progress ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("until", "expected"),
    [
        # At W's end (11-23 00): T9 since 11-02 09 = 20d15h, In Review since 11-20 09 = 2d15h.
        # T18 since its first start 11-02 10 = 20d14h, In Progress again since 11-20 10 = 2d14h.
        # T10 since 11-17 10 = 5d14h, in Ready for Engineering since 11-19 10 = 3d14h, held by an
        # engineer now (a reassignment moves no status). T11 since 11-20 12 = 2d12h, In Progress
        # at 11-23 (Done only on 11-25), then by engineering (data science holds it now).
        # T5 is dropped; T15, T17 never moved, T19 never started; T7 has no history.
        (
            "2026-11-23",
            [
                ("T9", "In Review", ENG, 20.625, 2.625),
                ("T18", "In Progress", ENG, 20 + 14 / 24, 2 + 14 / 24),
                ("T10", "Ready for Engineering", ENG, 5 + 14 / 24, 3 + 14 / 24),
                ("T11", "In Progress", ENG, 2.5, 2.5),
            ],
        ),
        # The board at 11-06 00: T9 since 11-02 09 = 3d15h; T5 since 11-05 09 = 15h, dropped only
        # on 11-07. T1 was done; T4 and T18 sat in Done then (reopened later): not in progress.
        (
            "2026-11-06",
            [
                ("T9", "In Progress", ENG, 3.625, 3.625),
                ("T5", "In Progress", DS, 0.625, 0.625),
            ],
        ),
    ],
)
def test_aging_wip_is_the_board_at_until(con, until, expected):
    end = utc(until)
    wip = flow.aging_wip(con, Filters(end - dt.timedelta(days=7), end), WORKFLOW)
    assert list(zip(wip["ticket_id"], wip["status"], wip["role"], strict=True)) == [
        row[:3] for row in expected
    ]
    assert wip["age_days"].tolist() == pytest.approx([row[3] for row in expected])
    assert wip["days_in_status"].tolist() == pytest.approx([row[4] for row in expected])


# -- hand-offs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # Waits that ended in W, by when they ended (T9's began before W). T1's Backlog and T2's
        # Waiting stays were entered and left by the same role; T10's wait has not ended.
        (
            W,
            [
                # 10-31 09 -> 11-02 09
                ("T9", "data_science->engineering", "Ready for Engineering", 48.0),
                ("T13", "product->engineering", "Ready for Dev", 24.0),  # 11-09 10 -> 11-10 10
                ("T14", "data_science->engineering", "Ready for Engineering", 2.0),
                ("T14", "engineering->data_science", "Ready for Review", 15.0),  # 18 -> 09
                ("T14", "data_science->engineering", "Ready for Engineering", 6.0),  # 10 -> 16
                (
                    "T3",
                    "data_science->engineering",
                    "Ready for Engineering",
                    42.0,
                ),  # 11-16 17 -> 11-18 11
            ],
        ),
        (OCTOBER, [("T12", "product->data_science", "Ready for Review", 24.0)]),
        (
            scoped(W, model="churn"),
            [
                ("T13", "product->engineering", "Ready for Dev", 24.0),
                ("T3", "data_science->engineering", "Ready for Engineering", 42.0),
            ],
        ),
    ],
)
def test_handoffs(con, filters, expected):
    rows = flow.handoffs(con, filters, WORKFLOW)
    assert list(zip(rows["ticket_id"], rows["handoff"], rows["status"], strict=True)) == [
        row[:3] for row in expected
    ]
    assert rows["wait_hours"].tolist() == pytest.approx([row[3] for row in expected])
    assert (rows["handoff"] == rows["from_role"] + "->" + rows["to_role"]).all()


def test_the_data_science_to_engineering_handoff_through_ready_for_engineering(con):
    row = flow.handoffs(con, W, WORKFLOW).query("ticket_id == 'T3'").iloc[0]
    assert (row["from_role"], row["to_role"]) == (DS, ENG)
    assert (row["entered_at"], row["left_at"]) == (ts("2026-11-16 17:00"), ts("2026-11-18 11:00"))
    assert row["wait_hours"] == pytest.approx(42.0)  # 7h to midnight + 24h + 11h


# -- the headline figures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("team", "model", "expected"),
    [
        (
            None,
            None,
            {
                "throughput": 9,  # T1 T2 T3 T4 T6 T8 T13 T14 T16
                # cycle times 6, 24, 33, 50, 50, 57, 72, 72 (T6 has none)
                "cycle_time_hours": {"median": 50.0, "p85": 71.25},
                "wip": 4,  # T9, T10, T11, T18
                # active 9+12+30+6+72+6+10+16 = 161 over cycle 57+50+72+50+72+6+33+24 = 364
                "flow_efficiency": 161 / 364,
                "handoff_wait_hours": {
                    # 2, 6, 42, 48: (6 + 42) / 2
                    "data_science->engineering": {"median": 24.0, "count": 4},
                    "engineering->data_science": {"median": 15.0, "count": 1},
                    "product->engineering": {"median": 24.0, "count": 1},
                },
                # development T1 T2 T3 T14, experiment T8 T16, maintenance T4, learning T6,
                # T13 has no category
                "work_mix": {
                    "development": 4 / 9,
                    "experiment": 2 / 9,
                    "learning": 1 / 9,
                    "maintenance": 1 / 9,
                    "uncategorised": 1 / 9,
                },
                # T4 of the 8 finished tickets with a history (T6 has none to tell)
                "reopen_rate": 1 / 8,
                # T2 24h, T16 8h; the median is over the tickets that were blocked
                "blocked_hours": {"total": 32.0, "median": 16.0},
            },
        ),
        (
            "risk",
            None,
            {
                "throughput": 2,  # T4 50h, T14 33h; T7 was cancelled
                # median (33 + 50) / 2; p85 = 33 + 0.85 * 17
                "cycle_time_hours": {"median": 41.5, "p85": 47.45},
                "wip": 3,  # T9, T11, T18
                "flow_efficiency": (6 + 10) / (50 + 33),
                "handoff_wait_hours": {
                    "data_science->engineering": {"median": 6.0, "count": 3},  # 2, 6, 48
                    "engineering->data_science": {"median": 15.0, "count": 1},
                },
                "work_mix": {"development": 0.5, "maintenance": 0.5},
                "reopen_rate": 0.5,
                "blocked_hours": {"total": 0.0, "median": None},
            },
        ),
        (
            None,
            "churn",
            {
                "throughput": 6,  # T1 T2 T3 T8 T13 T16 (T6 is about no model)
                # 6, 24, 50, 57, 72, 72: median (50 + 57) / 2; p85 at 4.25 = 72
                "cycle_time_hours": {"median": 53.5, "p85": 72.0},
                "wip": 1,  # T10
                "flow_efficiency": (9 + 12 + 30 + 72 + 6 + 16) / (57 + 50 + 72 + 72 + 6 + 24),
                "handoff_wait_hours": {
                    "data_science->engineering": {"median": 42.0, "count": 1},
                    "product->engineering": {"median": 24.0, "count": 1},
                },
                "work_mix": {"development": 0.5, "experiment": 1 / 3, "uncategorised": 1 / 6},
                "reopen_rate": 0.0,
                "blocked_hours": {"total": 32.0, "median": 16.0},
            },
        ),
    ],
)
def test_flow_summary(con, team, model, expected):
    summary = flow.flow_summary(con, scoped(W, team, model), WORKFLOW)
    assert _approx(summary, expected)


def _approx(actual, expected) -> bool:
    """Nested equality with floats compared approximately and None kept distinct from 0."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), (actual, expected)
        return all(_approx(actual[key], expected[key]) for key in expected)
    if expected is None or isinstance(expected, bool | str):
        assert actual == expected and type(actual) is type(expected), (actual, expected)
        return True
    # counts are ints, measures floats: JSON-ready, and None is never a 0
    assert type(actual) is type(expected), (actual, expected)
    assert actual == pytest.approx(expected), (actual, expected)
    return True


def test_an_empty_window_gives_nulls_not_zeros(con):
    summary = flow.flow_summary(con, EMPTY, WORKFLOW)
    assert summary == {
        "throughput": 0,
        "cycle_time_hours": {"median": None, "p85": None},
        "wip": 0,
        "flow_efficiency": None,
        "handoff_wait_hours": {},
        "work_mix": {},
        "reopen_rate": None,
        "blocked_hours": {"total": 0.0, "median": None},
    }
    json.dumps(summary, allow_nan=False)
    assert flow.finished_tickets(con, EMPTY, WORKFLOW).empty
    assert flow.status_split(con, EMPTY, WORKFLOW).empty
    assert flow.experiments(con, EMPTY, WORKFLOW).empty
    groups = flow.work_mix_groups(con, EMPTY, WORKFLOW)
    assert list(groups["group"]) == ["committed", "experiments", "learning"]
    assert groups["tickets"].tolist() == [0, 0, 0]
    assert groups["share"].isna().all() and groups["difference"].isna().all()


def test_the_summary_is_plain_json(con):
    summary = flow.flow_summary(con, W, WORKFLOW)
    assert type(summary["throughput"]) is int and type(summary["wip"]) is int
    assert json.loads(json.dumps(summary, allow_nan=False)) == summary


def test_status_lists_match_whatever_their_case(con):
    # A workflow written in code with capitalised names reads the same statuses.
    shouting = settings.Workflow(
        active=("In Progress", "IN REVIEW"),
        waiting=(
            " Backlog ",
            "Waiting",
            "Ready for Engineering",
            "Ready for Dev",
            "Ready for Review",
        ),
        blocked=("Blocked", "On Hold"),
        done=("Done", "CLOSED"),
        dropped=("Won't Do", "Cancelled"),
    )
    assert flow.flow_summary(con, W, shouting) == flow.flow_summary(con, W, WORKFLOW)


# -- work mix ------------------------------------------------------------------------------------


def test_work_mix_per_category(con):
    mix = flow.work_mix(con, W, WORKFLOW)
    assert list(zip(mix["category"], mix["tickets"], strict=True)) == [
        ("development", 4),
        ("experiment", 2),
        ("learning", 1),
        ("maintenance", 1),
        ("uncategorised", 1),
    ]
    assert mix["share"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("workflow", "expected"),
    [
        # committed = development 4 + maintenance 1 = 5/9 against 60% (-4.44 points); experiments
        # 2/9 against 30%; learning 1/9 against 10%; T13's missing category is in no group.
        (
            WORKFLOW,
            [
                ("committed", 5, 5 / 9, 0.6, (5 / 9 - 0.6) * 100),
                ("experiments", 2, 2 / 9, 0.3, (2 / 9 - 0.3) * 100),
                ("learning", 1, 1 / 9, 0.1, (1 / 9 - 0.1) * 100),
                ("other", 1, 1 / 9, None, None),
            ],
        ),
        # Groups and targets are config: a group without a target has no difference.
        (
            settings.Workflow(
                mix_groups=(("build", ("Development",)), ("explore", ("experiment", "research"))),
                mix_targets=(("build", 0.5),),
            ),
            [
                ("build", 4, 4 / 9, 0.5, (4 / 9 - 0.5) * 100),
                ("explore", 2, 2 / 9, None, None),
                ("other", 3, 3 / 9, None, None),  # maintenance, learning, uncategorised
            ],
        ),
    ],
)
def test_work_mix_against_targets(con, workflow, expected):
    groups = flow.work_mix_groups(con, W, workflow)
    assert list(groups["group"]) == [row[0] for row in expected]
    assert groups["tickets"].tolist() == [row[1] for row in expected]
    assert groups["share"].tolist() == pytest.approx([row[2] for row in expected])
    assert groups["share"].sum() == pytest.approx(1.0)
    for (_, _, _, target, difference), actual_target, actual_difference in zip(
        expected, groups["target"], groups["difference"], strict=True
    ):
        assert (pd.isna(actual_target), pd.isna(actual_difference)) == (
            target is None,
            difference is None,
        )
        if target is not None:
            assert actual_target == pytest.approx(target)
            assert actual_difference == pytest.approx(difference)


# -- experiments and prototypes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # T8's label is "Outcome:Productionize"; T16 carries no outcome; T1 has one but is
        # development work; T12 was decided in October.
        (W, [("T8", "churn", "2026-11-13 09:00", "productionize")]),
        (OCTOBER, [("T12", "churn", "2026-10-21 09:00", "more-research")]),
        (scoped(W, team="risk"), []),
    ],
)
def test_experiments_decided(con, filters, expected):
    decided = flow.experiments(con, filters, WORKFLOW)
    assert [
        (row.ticket_id, row.model, row.finished_at, row.outcome) for row in decided.itertuples()
    ] == [(t, m, ts(at), outcome) for t, m, at, outcome in expected]
    outcomes = flow.experiment_outcomes(con, filters, WORKFLOW)
    assert dict(zip(outcomes["outcome"], outcomes["tickets"], strict=True)) == {
        row[3]: 1 for row in expected
    }


def test_an_outcome_prefix_from_config(con):
    workflow = settings.Workflow(outcome_label_prefix="decision:")
    assert flow.experiments(con, W, workflow).empty


@pytest.mark.parametrize(
    ("team", "expected"),
    [
        # ltv: research since 10-15 00, staging only (its production release on 12-01 is after
        # W's end): waited 39 days. churn: T12 created 09-01 09; the failed production
        # deployment (09-05) and staging (09-03) do not count, PRODUCTION on 09-11 09 does: 10
        # days. pricing: T17 on 10-01 00, first production success after it 10-03 12: 2.5 days,
        # though it was live before (06-01). fraud has no research or experiment ticket.
        (
            None,
            [
                ("ltv", "2026-10-15 00:00", None, 39.0, False, False),
                ("churn", "2026-09-01 09:00", "2026-09-11 09:00", 10.0, True, False),
                ("pricing", "2026-10-01 00:00", "2026-10-03 12:00", 2.5, True, True),
            ],
        ),
        ("risk", [("pricing", "2026-10-01 00:00", "2026-10-03 12:00", 2.5, True, True)]),
    ],
)
def test_prototype_to_production(con, team, expected):
    models = flow.prototype_to_production(con, scoped(W, team), WORKFLOW)
    assert list(models["model"]) == [row[0] for row in expected]
    assert list(models["first_ticket_at"]) == [ts(row[1]) for row in expected]
    assert [None if pd.isna(at) else at for at in models["first_production_at"]] == [
        ts(row[2]) for row in expected
    ]
    assert models["days"].tolist() == pytest.approx([row[3] for row in expected])
    assert models["is_in_production"].tolist() == [row[4] for row in expected]
    assert models["has_earlier_production"].tolist() == [row[5] for row in expected]


@pytest.mark.parametrize(
    ("team", "model", "expected"),
    [
        (None, None, True),
        ("risk", None, True),
        (None, "ltv", False),  # T15 never moved
        ("risk", "pricing", False),
        (None, "no-such-model", False),
    ],
)
def test_has_history(con, team, model, expected):
    assert flow.has_history(con, scoped(W, team, model)) is expected


def test_a_csv_export_without_history(tmp_path):
    # Only tickets, as a tracker's CSV export gives them: throughput and work mix from
    # resolved_at; no cycle time, WIP, hand-offs or reopens to speak of.
    connection = load(tmp_path / "csv.duckdb", {"tickets": TICKETS})
    try:
        assert flow.has_history(connection, W) is False
        summary = flow.flow_summary(connection, W, WORKFLOW)
        # resolved in W, not dropped and not open: T1 T2 T3 T4 T6 T8 T12 T13 T14 T16 (T5 Won't
        # Do, T7 Cancelled, T18 In Progress despite its resolved_at; T11 resolved after W)
        assert summary["throughput"] == 10
        assert summary["cycle_time_hours"] == {"median": None, "p85": None}
        assert (summary["wip"], summary["reopen_rate"], summary["flow_efficiency"]) == (
            0,
            None,
            None,
        )
        assert summary["handoff_wait_hours"] == {}
        assert sum(summary["work_mix"].values()) == pytest.approx(1.0)
    finally:
        connection.close()


def test_a_ticket_sent_by_two_sources_counts_once(tmp_path):
    # A second source sends T1 to T4 and their transitions again: nothing counts twice.
    path = tmp_path / "two.duckdb"
    again = TICKETS["ticket_id"].isin(["T1", "T2", "T3", "T4"])
    twice = TRANSITIONS["ticket_id"].isin(["T1", "T2", "T3", "T4"])
    with warehouse.writing(path) as write:
        for name, tickets, transitions in (
            ("tracker", TICKETS, TRANSITIONS),
            ("export", TICKETS[again], TRANSITIONS[twice]),
        ):
            loader = Loader(write, settings.SourceConfig(name=name, kind="test"), "s1")
            loader.load(Batch("tickets", f"{name}:tickets", frame=tickets))
            loader.load(Batch("ticket_transitions", f"{name}:transitions", frame=transitions))
    connection = db.prepare(warehouse.connect_read(path))
    try:
        assert connection.execute("select count(*) from tickets").fetchone()[0] == 19 + 4
        assert flow.flow_summary(connection, W, WORKFLOW)["throughput"] == 9
        assert flow.status_split(connection, W, WORKFLOW)["hours"].sum() == pytest.approx(364.0)
        assert len(flow.handoffs(connection, W, WORKFLOW)) == 6
        # one stay per transition, however many sources sent it
        stays = connection.execute(
            "select count(*) from flow_stays(null, null, null, null, "
            "$active, $waiting, $blocked, $done, $dropped)",
            {
                key.removesuffix("_statuses"): value
                for key, value in WORKFLOW.params().items()
                if key.endswith("_statuses")
            },
        ).fetchone()[0]
        assert stays == len(TRANSITIONS)
    finally:
        connection.close()


# -- the demo year -------------------------------------------------------------------------------

DEMO_END = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    frames = demo_data.generate(DEMO_END)
    path = tmp_path_factory.mktemp("flow-demo") / "demo.duckdb"
    # Deployments too (500 rows), for prototype-to-production; inference is left out.
    feeds = ("tickets", "ticket_transitions", "deployments")
    connection = load(path, {feed: frames[feed] for feed in feeds})
    yield connection, frames
    connection.close()


def test_the_demo_year_reads_plausibly(demo):
    con, frames = demo
    until = utc(DEMO_END.isoformat()) + dt.timedelta(days=1)
    last_28_days = Filters(until - dt.timedelta(days=28), until)
    summary = flow.flow_summary(con, last_28_days, WORKFLOW)

    # The demo resolves a ticket at its last move to Done: the same count, done independently.
    tickets = frames["tickets"]
    resolved = tickets[
        (tickets["status"] == "Done")
        & (tickets["resolved_at"] >= pd.Timestamp(last_28_days.since))
        & (tickets["resolved_at"] < pd.Timestamp(until))
    ]
    assert summary["throughput"] == len(resolved) > 0

    # Cycle time by hand in pandas: last Done - first In Progress, over the same tickets.
    moves = frames["ticket_transitions"]
    first_start = moves[moves["to_status"] == "In Progress"].groupby("ticket_id")["at"].min()
    cycle = (resolved.set_index("ticket_id")["resolved_at"] - first_start).dropna()
    expected_median = cycle.dt.total_seconds().median() / 3600
    assert summary["cycle_time_hours"]["median"] == pytest.approx(expected_median)
    assert summary["cycle_time_hours"]["p85"] >= summary["cycle_time_hours"]["median"] > 0

    assert summary["handoff_wait_hours"]["data_science->engineering"]["count"] > 0
    assert sum(summary["work_mix"].values()) == pytest.approx(1.0)
    assert flow.work_mix_groups(con, last_28_days, WORKFLOW)["share"].sum() == pytest.approx(1.0)
    assert 0 < summary["flow_efficiency"] <= 1
    assert 0 <= summary["reopen_rate"] < 0.5
    assert summary["wip"] > 0 and summary["blocked_hours"]["total"] > 0
    assert flow.has_history(con, last_28_days)

    wip = flow.aging_wip(con, last_28_days, WORKFLOW)
    assert wip["age_days"].is_monotonic_decreasing and (wip["age_days"] > 0).all()
    finished = flow.finished_tickets(con, last_28_days, WORKFLOW)
    split = flow.status_split(con, last_28_days, WORKFLOW)
    assert split["hours"].sum() == pytest.approx(finished["cycle_time_hours"].sum())
    outcomes = set(flow.experiments(con, last_28_days, WORKFLOW)["outcome"])
    assert outcomes <= {"productionize", "abandon", "more-research"}

    models = flow.prototype_to_production(con, last_28_days, WORKFLOW).set_index("model")
    # lifetime_value is still a prototype; pricing reached production a third into the year.
    assert not models.loc["lifetime_value", "is_in_production"]
    assert models.loc["lifetime_value", "days"] > 100
    assert models.loc["pricing", "is_in_production"] and models.loc["pricing", "days"] > 30
