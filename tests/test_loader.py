"""The shared loader: quarantine with reasons, conservation, idempotency, UTC, inf/NaN, keys."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

import settings
import warehouse
from connectors.loader import Batch, Loader, Reject, SourceError

UTC = dt.UTC

DEPLOYS = """
    deployment_id,model,version,environment,team,started_at,finished_at,status,commit_sha
    d1,churn,1.0,Production,growth,2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,success,aaa
    d2,churn,1.1,production,growth,2026-11-02 10:00,2026-11-02 12:30+02:00,FAILED,bbb
    d3,churn,1.2,production,growth,2026-11-03 10:00,not-a-date,success,ccc
    d4,churn,1.3,production,growth,2026-11-03 10:00,2026-11-03 11:00,exploded,ddd
    ,churn,1.3,production,growth,2026-11-03 10:00,2026-11-03 11:00,success,eee
    d5,churn,1.4,staging,growth,2026-11-04 12:00,2026-11-04 11:00,success,fff
    d6,churn,1.5,production,growth,2026-11-05 10:00,2026-11-05 10:30,success,ggg
    d6,churn,1.6,production,growth,2026-11-06 10:00,2026-11-06 10:30,rolled_back,hhh
"""


def _deploy_source(project, text=DEPLOYS):
    project.file("exports/deploys.csv", text)
    return project.configure(
        """
        [[sources]]
        name = "deploys"
        kind = "files"
        feed = "deployments"
        path = "exports/deploys.csv"
        """
    )


def _stats(report, feed):
    rows = [r for r in report.as_dict()["sources"] if r["feed"] == feed]
    assert len(rows) == 1, report.as_dict()
    return rows[0]


def test_each_broken_row_is_quarantined_with_its_reason(project):
    _deploy_source(project)
    report = project.sync()
    assert report.ok
    reasons = dict(project.query("select row_number, reason from quarantine order by row_number"))
    assert reasons == {
        3: "finished_at: unparsable timestamp 'not-a-date'",
        4: "status: unknown value 'exploded' (expected success, failed, rolled_back)",
        5: "missing deployment_id",
        6: "finished_at is before started_at",
    }
    raw = json.loads(project.query("select raw from quarantine where row_number = 4")[0][0])
    assert raw["deployment_id"] == "d4" and raw["status"] == "exploded"
    # The feed's key, when the row has one.
    keys = dict(project.query("select row_number, row_key from quarantine"))
    assert keys == {3: "d3", 4: "d4", 5: None, 6: "d5"}
    origin, source, feed = project.query("select distinct origin, source, feed from quarantine")[0]
    assert origin.endswith("deploys.csv") and source == "deploys" and feed == "deployments"


def test_read_equals_loaded_plus_duplicates_plus_quarantined(project):
    _deploy_source(project)
    stats = _stats(project.sync(), "deployments")
    # 8 rows: 4 quarantined, d6 twice (the second wins), d1 and d2 once.
    assert stats == {**stats, "read": 8, "loaded": 3, "duplicates": 1, "quarantined": 4}
    assert stats["read"] == stats["loaded"] + stats["duplicates"] + stats["quarantined"]


def test_same_key_twice_in_one_read_keeps_the_last(project):
    _deploy_source(project)
    project.sync()
    assert project.query("select version, status from deployments where deployment_id = 'd6'") == [
        ("1.6", "rolled_back")
    ]


def test_timestamps_are_stored_in_utc_and_statuses_normalised(project):
    _deploy_source(project)
    project.sync()
    rows = dict(
        project.query("select deployment_id, finished_at from deployments order by deployment_id")
    )
    assert rows["d1"] == dt.datetime(2026, 11, 1, 10, 5, tzinfo=UTC)
    # "12:30+02:00" is 10:30 UTC; a timestamp without an offset is read as UTC.
    assert rows["d2"] == dt.datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    assert project.query("select status from deployments where deployment_id = 'd2'") == [
        ("failed",)
    ]


def test_syncing_twice_changes_nothing(project):
    _deploy_source(project)
    project.sync()
    snapshot = project.query("select * exclude (synced_at) from deployments order by all")
    quarantined = project.query("select * from quarantine order by all")
    stats = _stats(project.sync(reread=True), "deployments")  # the same file, read again
    assert project.query("select * exclude (synced_at) from deployments order by all") == snapshot
    # Every quarantine row as it was, down to the sync that first saw it.
    assert project.query("select * from quarantine order by all") == quarantined
    assert stats["loaded"] == 0 and stats["duplicates"] == 4 and stats["quarantined"] == 4


def test_a_changed_row_replaces_the_old_one(project):
    _deploy_source(project)
    project.sync()
    _deploy_source(project, DEPLOYS.replace("d1,churn,1.0,", "d1,churn,2.0,"))
    stats = _stats(project.sync(), "deployments")
    assert stats["loaded"] == 1 and stats["duplicates"] == 3
    assert project.query("select version from deployments where deployment_id = 'd1'") == [("2.0",)]
    assert project.query("select count(*) from deployments")[0][0] == 3


def test_a_fixed_file_empties_its_quarantine(project):
    _deploy_source(project)
    project.sync()
    clean = "\n".join(DEPLOYS.strip().splitlines()[:3]) + "\n"
    _deploy_source(project, clean)
    project.sync()
    assert project.query("select count(*) from quarantine")[0][0] == 0


def test_a_row_fixed_in_its_file_clears_its_own_quarantine_row(project):
    _deploy_source(project)
    project.sync()
    first = project.query(
        "select row_key, row_number, reason, sync_id from quarantine order by all"
    )
    _deploy_source(
        project,
        DEPLOYS.replace(
            "d3,churn,1.2,production,growth,2026-11-03 10:00,not-a-date,success,ccc",
            "d3,churn,1.2,production,growth,2026-11-03 10:00,2026-11-03 10:40,success,ccc",
        ),
    )
    stats = _stats(project.sync(), "deployments")
    assert (stats["read"], stats["loaded"], stats["duplicates"], stats["quarantined"]) == (
        8,
        1,
        4,
        3,
    )
    assert project.query("select status from deployments where deployment_id = 'd3'") == [
        ("success",)
    ]
    # d3's row is gone; the others are untouched, first seen by the first sync.
    assert project.query(
        "select row_key, row_number, reason, sync_id from quarantine order by all"
    ) == [row for row in first if row[0] != "d3"]


def test_a_row_fixed_in_another_file_clears_its_quarantine_row(project):
    header = DEPLOYS.strip().splitlines()[0].strip()
    project.file(
        "exports/monday.csv",
        f"{header}\nd3,churn,1.2,production,growth,2026-11-03 10:00,not-a-date,success,ccc\n",
    )
    project.configure(
        """
        [[sources]]
        name = "deploys"
        kind = "files"
        feed = "deployments"
        path = "exports/*.csv"
        """
    )
    project.sync()
    assert project.query("select row_key from quarantine") == [("d3",)]
    # The export is redone under another name with d3 fixed; the old file is gone, so its
    # origin is never read again: d3's key is what clears its row.
    (project.root / "exports" / "monday.csv").unlink()
    project.file(
        "exports/tuesday.csv",
        f"{header}\nd3,churn,1.2,production,growth,2026-11-03 10:00,2026-11-03 10:40,success,ccc\n",
    )
    stats = _stats(project.sync(), "deployments")
    assert (stats["read"], stats["loaded"], stats["quarantined"]) == (1, 1, 0)
    assert project.query("select count(*) from quarantine") == [(0,)]


def test_column_and_value_mapping_from_config(project):
    project.file(
        "exports/d.csv",
        """
        id,model_name,env,deployment_timestamp,result
        x1,fraud,PROD,2026-11-01 10:00,SUCCEEDED
        x2,fraud,PROD,2026-11-02 10:00,BROKEN
    """,
    )
    project.configure(
        """
        [[sources]]
        name = "mapped"
        kind = "files"
        feed = "deployments"
        path = "exports/d.csv"
        values.status = { SUCCEEDED = "success", BROKEN = "failed" }
        values.environment = { PROD = "production" }

        [sources.columns]
        deployment_id = "id"
        model = "model_name"
        environment = "env"
        finished_at = "deployment_timestamp"
        status = "result"
        """
    )
    assert project.sync().ok
    assert project.query(
        "select deployment_id, model, environment, status from deployments order by 1"
    ) == [("x1", "fraud", "production", "success"), ("x2", "fraud", "production", "failed")]


def test_a_mapped_column_missing_from_the_file_fails_the_source_clearly(project):
    project.file("exports/d.csv", "id,finished_at,status,environment\nx,2026-01-01,success,p\n")
    project.configure(
        """
        [[sources]]
        name = "mapped"
        kind = "files"
        feed = "deployments"
        path = "exports/d.csv"
        columns = { deployment_id = "deploy_key" }
        """
    )
    report = project.sync()
    assert not report.ok
    assert "source 'mapped'" in report.sources[0].error
    assert "'deploy_key'" in report.sources[0].error


INFERENCE = """
    request_id,ts,model,latency_ms,status,prediction,amount,country,n_items
    r1,2026-11-01 10:00,churn,12.5,ok,1,10.5,FR,3
    r2,2026-11-01 10:01,churn,-3,ok,0,1.0,DE,2
    r3,2026-11-01 10:02,churn,abc,ok,0,12,DE,2
    r4,2026-11-01 10:03,churn,20,ERROR,,inf,,1
    r5,2026-11-01 10:04,churn,nan,,1,NaN,ES,4
    ,2026-11-01 10:05,churn,7,ok,1,3,FR,5
    ,2026-11-01 10:05,churn,7,ok,1,3,FR,5
"""


def _inference(project, text=INFERENCE):
    project.file("exports/inference.csv", text)
    project.configure(
        """
        [[sources]]
        name = "inf"
        kind = "files"
        feed = "inference"
        path = "exports/inference.csv"
        """
    )
    return project.sync()


def test_inference_rows_infinities_and_nans_become_null_and_negatives_quarantine(project):
    report = _inference(project)
    stats = _stats(report, "inference")
    assert stats == {**stats, "read": 7, "loaded": 4, "duplicates": 1, "quarantined": 2}
    assert dict(project.query("select row_number, reason from quarantine")) == {
        2: "latency_ms: negative (-3.0)",
        3: "latency_ms: not a number ('abc')",
    }
    rows = {
        r[0]: r[1:]
        for r in project.query("select request_id, latency_ms, status, amount from inference")
    }
    assert rows["r4"] == (20.0, "error", None)  # inf -> NULL, ERROR -> error
    assert rows["r5"] == (None, "ok", None)  # nan -> NULL; no status means ok


def test_inference_features_are_typed_and_registered(project):
    _inference(project)
    types = dict(
        project.query(
            "select column_name, data_type from information_schema.columns "
            "where table_name = 'inference' and column_name in ('amount', 'country', 'n_items')"
        )
    )
    assert types == {"amount": "DOUBLE", "country": "VARCHAR", "n_items": "BIGINT"}
    assert project.query("select feature, data_type from inference_features order by 1") == [
        ("amount", "DOUBLE"),
        ("country", "VARCHAR"),
        ("n_items", "BIGINT"),
    ]


def test_rows_without_a_request_id_get_a_stable_generated_one(project):
    _inference(project)
    generated = project.query("select request_id from inference where request_id like 'gen-%'")
    assert len(generated) == 1  # the two identical rows are one row read twice
    _inference(project)
    assert (
        project.query("select request_id from inference where request_id like 'gen-%'") == generated
    )


def test_an_integer_feature_widens_when_a_fraction_arrives(project):
    _inference(project)
    _inference(
        project,
        INFERENCE.replace(
            "r1,2026-11-01 10:00,churn,12.5,ok,1,10.5,FR,3",
            "r1,2026-11-01 10:00,churn,12.5,ok,1,10.5,FR,3.5",
        ),
    )
    assert project.query(
        "select data_type from information_schema.columns "
        "where table_name = 'inference' and column_name = 'n_items'"
    ) == [("DOUBLE",)]
    assert project.query("select n_items from inference where request_id = 'r1'") == [(3.5,)]


def test_a_feature_value_of_the_wrong_type_is_quarantined(project):
    _inference(project)
    _inference(
        project,
        INFERENCE.replace(
            "r1,2026-11-01 10:00,churn,12.5,ok,1,10.5,FR,3",
            "r1,2026-11-01 10:00,churn,12.5,ok,1,lots,FR,3",
        ),
    )
    assert ("feature amount: expected double, got lots",) in project.query(
        "select reason from quarantine"
    )


def _load_frame(tmp_path, feed, frame, config=None):
    path = tmp_path / "w.duckdb"
    source = settings.SourceConfig(name="frames", kind="test")
    categories = settings.DEFAULT_WORK_CATEGORIES if config is None else config
    with warehouse.writing(path) as con:
        stats = Loader(con, source, "s1", categories).load(Batch(feed, "test", frame=frame))
    return path, stats


def test_kpi_value_is_derived_from_numerator_and_denominator(tmp_path):
    frame = pd.DataFrame(
        {
            "date": ["2026-11-01", "2026-11-01", "2026-11-02", "2026-11-03"],
            "kpi": ["ctr", "ctr", "ctr", "ctr"],
            "segment": ["web", "app", None, None],
            "value": [None, None, 0.5, None],
            "numerator": [3, 1, None, 1],
            "denominator": [100, 50, None, 0],
        }
    )
    path, stats = _load_frame(tmp_path, "kpis", frame)
    assert (stats.loaded, stats.quarantined) == (3, 1)
    with warehouse.reading(path) as con:
        rows = con.execute("select date, segment, model, value from kpis order by 1, 2").fetchall()
        reason = con.execute("select reason from quarantine").fetchone()[0]
    assert rows == [
        (dt.date(2026, 11, 1), "app", "", pytest.approx(0.02)),
        (dt.date(2026, 11, 1), "web", "", pytest.approx(0.03)),
        (dt.date(2026, 11, 2), "all", "", 0.5),
    ]
    assert reason == "needs a value, or a numerator and a non-zero denominator"


def test_ticket_work_category_comes_from_its_type_when_missing(tmp_path):
    frame = pd.DataFrame(
        {
            "ticket_id": ["T-1", "T-2", "T-3", "T-4"],
            "type": ["Bug", "Spike", "Story", "Mystery"],
            "work_category": [None, None, "learning", None],
            "created_at": ["2026-11-01"] * 4,
            "labels": ["ml, drift", None, "a", ""],
        }
    )
    path, stats = _load_frame(tmp_path, "tickets", frame)
    assert stats.loaded == 4
    with warehouse.reading(path) as con:
        rows = con.execute(
            "select ticket_id, work_category, labels from tickets order by 1"
        ).fetchall()
    assert rows == [
        ("T-1", "maintenance", ["ml", "drift"]),
        ("T-2", "research", None),
        ("T-3", "learning", ["a"]),
        ("T-4", None, []),
    ]


def test_an_epoch_number_beyond_any_timestamp_quarantines_its_row_not_the_batch(tmp_path):
    # 1e20 ms is 1e17 s; a timestamp reaches 9.2e12 s (the year 294247).
    frame = pd.DataFrame(
        {"change_id": ["c1", "c2", "c3"], "first_commit_at": [1e20, -9.3e15, 1_700_000_000_500.0]}
    )
    path, stats = _load_frame(tmp_path, "changes", frame)
    assert (stats.read, stats.loaded, stats.quarantined) == (3, 1, 2)
    with warehouse.reading(path) as con:
        assert con.execute("select row_key, reason from quarantine order by 1").fetchall() == [
            ("c1", "first_commit_at: unparsable timestamp '1e+20'"),
            ("c2", "first_commit_at: unparsable timestamp '-9300000000000000.0'"),
        ]


def test_inference_column_names_are_one_name_whatever_their_case(tmp_path):
    source = settings.SourceConfig(name="frames", kind="test")
    row = {"request_id": "r1", "ts": "2026-11-01", "model": "churn"}
    shouted = {"request_id": "r1", "ts": "2026-11-01", "MODEL": "churn"}
    with warehouse.writing(tmp_path / "w.duckdb") as con:
        loader = Loader(con, source, "s1")
        with pytest.raises(SourceError, match="feature column.s. MODEL clash with reserved"):
            loader.load(Batch("inference", "a", frame=pd.DataFrame([shouted])))
        # A feature already stored is the same column whatever the case it comes in.
        loader.load(Batch("inference", "c", frame=pd.DataFrame([{**row, "amount": 1.5}])))
        loader.load(
            Batch("inference", "d", frame=pd.DataFrame([{**row, "request_id": "r2", "Amount": 2}]))
        )
        assert con.execute("select request_id, amount from inference order by 1").fetchall() == [
            ("r1", 1.5),
            ("r2", 2.0),
        ]


def test_epoch_seconds_and_milliseconds_are_timestamps(tmp_path):
    frame = pd.DataFrame(
        {"change_id": ["c1", "c2"], "first_commit_at": [1_700_000_000, 1_700_000_000_500]}
    )
    path, _ = _load_frame(tmp_path, "changes", frame)
    with warehouse.reading(path) as con:
        assert con.execute("select first_commit_at from changes order by 1").fetchall() == [
            (dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),),
            (dt.datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC),),
        ]


# -- quarantine across syncs, as an API connector reads: a new origin each sync ------------------


def _deployment(deployment_id, status="success", finished_at="2026-11-01 10:00"):
    return {
        "deployment_id": deployment_id,
        "environment": "production",
        "finished_at": finished_at,
        "status": status,
    }


def _api_sync(path, sync_id, origin, *rows):
    """One sync of an API-like source: one batch of deployments from `origin`; its counts."""
    source = settings.SourceConfig(name="api", kind="test")
    frame = pd.DataFrame(list(rows), dtype=object)
    with warehouse.writing(path) as con:
        loader = Loader(con, source, sync_id)
        stats = loader.load(Batch("deployments", origin, frame=frame))
        loader.finish()
    assert stats.read == stats.loaded + stats.duplicates + stats.quarantined
    return (stats.read, stats.loaded, stats.duplicates, stats.quarantined)


def _quarantined(path):
    with warehouse.reading(path) as con:
        return con.execute(
            "select row_key, origin, reason, sync_id from quarantine order by all"
        ).fetchall()


EXPLODED = "status: unknown value 'exploded' (expected success, failed, rolled_back)"


def test_an_item_read_again_under_a_new_origin_is_quarantined_once(tmp_path):
    path = tmp_path / "w.duckdb"
    first = "api: all"
    assert _api_sync(
        path, "s1", first, _deployment("d1"), _deployment("d2", "exploded"),
        _deployment("d3", finished_at="soon"),
    ) == (3, 1, 0, 2)  # fmt: skip
    quarantined = [
        ("d2", first, EXPLODED, "s1"),
        ("d3", first, "finished_at: unparsable timestamp 'soon'", "s1"),
    ]
    assert _quarantined(path) == quarantined
    # The next syncs read d2 again at their high-water mark, under their own window: still one
    # row, as the first sync wrote it.
    assert _api_sync(path, "s2", "api: since d1", _deployment("d2", "exploded")) == (1, 0, 0, 1)
    assert _api_sync(path, "s3", "api: since d2", _deployment("d2", "exploded")) == (1, 0, 0, 1)
    assert _quarantined(path) == quarantined
    # Still bad, for another reason: the row now says so.
    _api_sync(path, "s4", "api: since d2", _deployment("d2", "boom"))
    assert _quarantined(path) == [
        ("d2", "api: since d2", EXPLODED.replace("exploded", "boom"), "s4"),
        quarantined[1],
    ]
    # Fixed at the source: loaded, and its quarantine row goes; d3's stays.
    assert _api_sync(path, "s5", "api: since d2", _deployment("d2")) == (1, 1, 0, 0)
    assert _quarantined(path) == [quarantined[1]]
    with warehouse.reading(path) as con:
        assert con.execute("select deployment_id from deployments order by 1").fetchall() == [
            ("d1",),
            ("d2",),
        ]


def test_a_fixed_item_already_in_the_warehouse_clears_its_quarantine_row(tmp_path):
    path = tmp_path / "w.duckdb"
    _api_sync(path, "s1", "api: all", _deployment("d1"))
    # d1 changes at the source and breaks: the warehouse keeps the last good d1.
    _api_sync(path, "s2", "api: since d1", _deployment("d1", "exploded"))
    assert _quarantined(path) == [("d1", "api: since d1", EXPLODED, "s2")]
    # Put back as it was: a duplicate of the row held, which supersedes the quarantined one.
    assert _api_sync(path, "s3", "api: since d1 again", _deployment("d1")) == (1, 0, 1, 0)
    assert _quarantined(path) == []


def test_a_row_without_a_key_is_cleared_when_its_origin_is_read_again(tmp_path):
    path = tmp_path / "w.duckdb"
    keyless = _deployment(None)
    _api_sync(path, "s1", "api: page 1", keyless, _deployment("d1", "exploded"))
    assert _quarantined(path) == [
        ("d1", "api: page 1", EXPLODED, "s1"),
        (None, "api: page 1", "missing deployment_id", "s1"),
    ]
    _api_sync(path, "s2", "api: page 1", _deployment("d2"))
    assert _quarantined(path) == []


def test_a_quarantined_kpi_carries_its_whole_key(tmp_path):
    path = tmp_path / "w.duckdb"
    source = settings.SourceConfig(name="kpi", kind="test")
    bad = pd.DataFrame({"date": ["2026-11-01"], "kpi": ["ctr"], "value": [None]}, dtype=object)
    good = pd.DataFrame({"date": ["2026-11-01"], "kpi": ["ctr"], "value": [0.1]}, dtype=object)
    with warehouse.writing(path) as con:
        Loader(con, source, "s1").load(Batch("kpis", "day 1", frame=bad))
    with warehouse.reading(path) as con:
        assert con.execute("select row_key from quarantine").fetchall() == [
            ('["2026-11-01","ctr","","all"]',)
        ]
    with warehouse.writing(path) as con:
        loader = Loader(con, source, "s2")
        loader.load(Batch("kpis", "day 2", frame=good))
        loader.finish()
    with warehouse.reading(path) as con:
        assert con.execute("select count(*) from quarantine").fetchall() == [(0,)]


def test_a_batch_that_cannot_be_read_fails_with_its_own_error_inside_a_transaction(tmp_path):
    # The failed read aborts the sync's transaction; the error that reaches the sync is the
    # one naming the source and what it could not read, not the aborted transaction's.
    source = settings.SourceConfig(name="files", kind="test")
    missing = tmp_path / "gone.parquet"
    with warehouse.writing(tmp_path / "w.duckdb") as con:
        con.begin()
        with pytest.raises(SourceError, match=r"source 'files': cannot read .*gone\.parquet"):
            Loader(con, source, "s1").load(
                Batch(
                    "deployments",
                    str(missing),
                    relation="read_parquet($file_path)",
                    params={"file_path": str(missing)},
                )
            )
        con.rollback()


# -- quarantine over identical syncs of a SQL source: several batches, a mark -------------------

SQLITE_ENV = "LOADER_TEST_DB_URL"
SQLITE_DEPLOYS = (
    "create table deploys (id text, status text, env text, finished text, updated_at integer)"
)


def _sqlite_deploys(project, monkeypatch, rows, options):
    """A SQLite table of deployments, and a `sql` source reading it with `options`."""
    import sqlite3

    db = project.root / "ops.sqlite"
    con = sqlite3.connect(db)
    with con:
        con.execute("drop table if exists deploys")
        con.execute(SQLITE_DEPLOYS)
        con.executemany("insert into deploys values (?, ?, ?, ?, ?)", rows)
    con.close()
    monkeypatch.setenv(SQLITE_ENV, f"sqlite:///{db}")
    project.configure(
        f"""
        [[sources]]
        name = "ops"
        kind = "sql"
        feed = "deployments"
        url_env = "{SQLITE_ENV}"
        table = "deploys"
        {options}
        columns = {{ deployment_id = "id", environment = "env", finished_at = "finished" }}
        """
    )


def _sync_counts(project):
    report = project.sync()
    assert report.ok, report.as_dict()
    stats = _stats(report, "deployments")
    assert stats["read"] == stats["loaded"] + stats["duplicates"] + stats["quarantined"]
    return (stats["read"], stats["loaded"], stats["duplicates"], stats["quarantined"])


def _quarantine_table(project):
    return project.query("select * from quarantine order by all")


def test_a_keyless_bad_row_at_the_mark_is_quarantined_once(project, monkeypatch):
    # The row without an id sits at the mark: every later sync reads it again, under the
    # origin "... where updated_at >= 2". It is the same row: one quarantine row, as first seen.
    rows = [
        ("d1", "success", "production", "2026-11-01 10:00", 1),
        (None, "success", "production", "2026-11-01 11:00", 2),
    ]
    _sqlite_deploys(project, monkeypatch, rows, 'cursor = "updated_at"')
    assert _sync_counts(project) == (2, 1, 0, 1)
    first = _quarantine_table(project)
    assert [(r[2].split(" ", 1)[1], r[5]) for r in first] == [
        ("table deploys", "missing deployment_id")
    ]
    # Read again and counted in each sync's stats, held once in the table.
    assert _sync_counts(project) == (1, 0, 0, 1)
    assert _quarantine_table(project) == first
    assert _sync_counts(project) == (1, 0, 0, 1)
    assert _quarantine_table(project) == first


def test_a_keyless_reject_read_again_in_the_next_window_is_quarantined_once(tmp_path):
    # As GitHub hands over an item it cannot read a key from: a reject under "since X".
    path = tmp_path / "w.duckdb"
    source = settings.SourceConfig(name="api", kind="test")
    frame = pd.DataFrame([_deployment("d1")], dtype=object)

    def sync(sync_id, origin):
        reject = Batch(
            "deployments", origin, frame=frame, rejects=[Reject(None, '{"x": 1}', "no id")]
        )
        with warehouse.writing(path) as con:
            loader = Loader(con, source, sync_id)
            stats = loader.load(reject)
            loader.finish()
        assert (stats.read, stats.loaded + stats.duplicates, stats.quarantined) == (2, 1, 1)
        with warehouse.reading(path) as con:
            return con.execute("select * from quarantine order by all").fetchall()

    first = sync("s1", "api: all")
    assert [(r[2], r[5], r[6]) for r in first] == [("api: all", "no id", "s1")]
    assert sync("s2", "api: since d1") == first
    assert sync("s3", "api: since d1") == first


def test_two_identical_bad_lines_of_one_file_stay_two_rows(project):
    text = DEPLOYS.replace("d6,churn,1.6", ",churn,1.3").replace(
        "hhh", "eee"
    )  # line 9 now repeats line 5: no id
    _deploy_source(project, text)
    project.sync()
    first = _quarantine_table(project)
    assert [r[3] for r in first if r[5] == "missing deployment_id"] == [5, 8]
    project.sync()
    assert _quarantine_table(project) == first


def test_an_identical_sync_leaves_each_quarantine_row_of_a_batched_read_as_it_was(
    project, monkeypatch
):
    # One origin, four one-row batches, bad rows in the first, third and fourth.
    rows = [
        ("d1", "exploded", "production", "2026-11-01 10:00", 1),
        ("d2", "success", "production", "2026-11-01 10:00", 2),
        (None, "success", "production", "2026-11-01 10:00", 3),
        ("d4", "success", "production", "soon", 4),
    ]
    _sqlite_deploys(project, monkeypatch, rows, "chunk_size = 1")
    assert _sync_counts(project) == (4, 1, 0, 3)
    first = _quarantine_table(project)
    assert [(r[3], r[8]) for r in first] == [(1, "d1"), (3, None), (4, "d4")]
    assert _sync_counts(project) == (4, 0, 1, 3)
    assert _quarantine_table(project) == first
    assert _sync_counts(project) == (4, 0, 1, 3)
    assert _quarantine_table(project) == first
    # Row 3 fixed at the source: its quarantine row goes, the others stay as first written.
    rows[2] = ("d3", "success", "production", "2026-11-01 10:00", 3)
    _sqlite_deploys(project, monkeypatch, rows, "chunk_size = 1")
    assert _sync_counts(project) == (4, 1, 1, 2)
    assert _quarantine_table(project) == [first[0], first[2]]


def test_a_key_both_bad_and_good_in_one_batch_is_loaded_not_quarantined(tmp_path):
    # The good row wins wherever it stands: the bad one is read and counted as quarantined,
    # but leaves no quarantine row beside the loaded item.
    path = tmp_path / "w.duckdb"
    for rows in (
        (_deployment("d1", "exploded"), _deployment("d1")),
        (_deployment("d1"), _deployment("d1", "exploded")),
    ):
        path.unlink(missing_ok=True)
        assert _api_sync(path, "s1", "api: all", *rows) == (2, 1, 0, 1)
        assert _quarantined(path) == []
        with warehouse.reading(path) as con:
            assert con.execute("select deployment_id, status from deployments").fetchall() == [
                ("d1", "success")
            ]


def test_a_first_load_counts_and_quarantines_the_connectors_rejects(tmp_path):
    # A clean frame into an empty warehouse loads without staging: its rejects still count.
    path = tmp_path / "w.duckdb"
    source = settings.SourceConfig(name="api", kind="test")
    batch = Batch(
        "deployments",
        "api: all",
        frame=pd.DataFrame([_deployment("d1")], dtype=object),
        rejects=[Reject(7, '{"id": "d9"}', "unreadable item", key="d9")],
    )
    with warehouse.writing(path) as con:
        loader = Loader(con, source, "s1")
        stats = loader.load(batch)
        loader.finish()
    assert (stats.read, stats.loaded, stats.duplicates, stats.quarantined) == (2, 1, 0, 1)
    assert _quarantined(path) == [("d9", "api: all", "unreadable item", "s1")]


def test_a_changes_ai_assisted_and_incident_and_a_deployments_kind_load_typed(tmp_path):
    """ai_assisted reads true/false from booleans, words or digits, null when empty; anything
    else quarantines its row with the reason. A deployment's kind is one of three words."""
    changes = pd.DataFrame(
        {
            "change_id": ["c1", "c2", "c3", "c4", "c5"],
            "first_commit_at": ["2026-11-01T10:00:00Z"] * 5,
            "incident_id": ["INC-7", None, "", None, None],
            "ai_assisted": ["yes", "0", "", "TRUE", "maybe"],
        }
    )
    path, stats = _load_frame(tmp_path, "changes", changes)
    assert (stats.loaded, stats.quarantined) == (4, 1)
    with warehouse.reading(path) as con:
        rows = con.execute("select change_id, incident_id, ai_assisted from changes order by 1")
        assert rows.fetchall() == [
            ("c1", "INC-7", True),
            ("c2", None, False),
            ("c3", None, None),
            ("c4", None, True),
        ]
        reason = con.execute("select reason from quarantine").fetchone()[0]
    assert reason == "ai_assisted: not true or false ('maybe')"
    deployments = pd.DataFrame(
        {
            "deployment_id": ["d1", "d2", "d3"],
            "environment": ["production"] * 3,
            "finished_at": ["2026-11-01T10:00:00Z"] * 3,
            "status": ["success"] * 3,
            "kind": ["Hotfix", None, "urgent"],
        }
    )
    path, stats = _load_frame(tmp_path / "d", "deployments", deployments)
    assert (stats.loaded, stats.quarantined) == (2, 1)
    with warehouse.reading(path) as con:
        kinds = con.execute("select deployment_id, kind from deployments order by 1").fetchall()
        reason = con.execute("select reason from quarantine").fetchone()[0]
    assert kinds == [("d1", "hotfix"), ("d2", None)]
    assert reason == "kind: unknown value 'urgent' (expected planned, hotfix, rollback)"
