"""The warehouse file: schema version and upgrades, killed syncs, reading while a sync writes."""

from __future__ import annotations

import hashlib
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

import settings
import warehouse
from connectors import sync
from connectors.feeds import BOOKKEEPING_COLUMNS, FEEDS
from tests.conftest import ROOT, subprocess_env


def test_schema_matches_the_feed_contract(tmp_path):
    path = tmp_path / "w.duckdb"
    with warehouse.writing(path):
        pass
    with warehouse.reading(path) as con:
        assert warehouse.schema_version(con) == warehouse.SCHEMA_VERSION
        for feed in FEEDS.values():
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = $t order by ordinal_position",
                {"t": feed.name},
            ).fetchall()
            expected = [(c.name, c.sql_type) for c in feed.columns]
            assert columns[: len(expected)] == expected, feed.name
            assert [c for c, _ in columns[len(expected) :]] == list(BOOKKEEPING_COLUMNS)


def test_an_older_warehouse_is_upgraded_in_place_keeping_its_rows(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    with warehouse.writing(path) as con:
        con.execute(
            "insert into incidents (incident_id, opened_at, source, row_hash, synced_at) "
            "values ('i1', now(), 's', 1, now())"
        )
    sql_dir = tmp_path / "sql"
    shutil.copytree(warehouse.SQL_DIR, sql_dir)
    (sql_dir / "migrations").mkdir(exist_ok=True)
    nxt = warehouse.SCHEMA_VERSION + 1
    (sql_dir / "migrations" / f"{nxt:03d}_runbook.sql").write_text(
        "alter table incidents add column runbook_url varchar;"
    )
    monkeypatch.setattr(warehouse, "SQL_DIR", sql_dir)
    monkeypatch.setattr(warehouse, "SCHEMA_VERSION", nxt)
    monkeypatch.setattr(
        warehouse, "MIGRATIONS", {**warehouse.MIGRATIONS, nxt: f"{nxt:03d}_runbook.sql"}
    )
    assert warehouse.needs_upgrade(path)
    with warehouse.writing(path):
        pass
    assert not warehouse.needs_upgrade(path)
    with warehouse.reading(path) as con:
        assert warehouse.schema_version(con) == nxt
        assert con.execute("select incident_id, runbook_url from incidents").fetchall() == [
            ("i1", None)
        ]


def test_a_version_1_warehouse_gains_the_drift_profile_tables(tmp_path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    warehouse.ensure_schema(con, migrations={}, target=1)
    con.close()
    assert warehouse.needs_upgrade(path)
    with warehouse.writing(path):
        pass
    with warehouse.reading(path) as con:
        assert warehouse.schema_version(con) == warehouse.SCHEMA_VERSION
        found = con.execute("select table_name from information_schema.tables").fetchall()
        tables = {t for (t,) in found}
        assert {"drift_bin_specs", "drift_profile_bins", "drift_profile_values"} <= tables


def test_a_warehouse_from_a_newer_tandem_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    with warehouse.writing(path):
        pass
    monkeypatch.setattr(warehouse, "SCHEMA_VERSION", 0)
    with (
        pytest.raises(warehouse.WarehouseError, match="newer than this Tandem"),
        warehouse.writing(path),
    ):
        pass


def test_a_missing_warehouse_says_how_to_fill_it(tmp_path):
    with pytest.raises(warehouse.WarehouseMissing, match="python -m connectors sync"):
        warehouse.connect_read(tmp_path / "nothing.duckdb")


def _big_inference(project, rows: int) -> Path:
    target = project.root / "exports" / "big.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(
        f"copy (select 'r' || i as request_id, timestamp '2026-01-01' + to_seconds(i) as ts, "
        f"'m' || (i % 5) as model, random() * 100 as latency_ms, random() as x1, "
        f"['a', 'b', 'c'][1 + i % 3] as x2 from range({int(rows)}) t(i)) "
        f"to '{target}' (format csv, header true)"
    )
    con.close()
    return target


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _two_sources(project):
    project.file(
        "exports/deploys.csv",
        "deployment_id,environment,finished_at,status\nd1,production,2026-11-01,success\n",
    )
    return project.configure(
        """
        [[sources]]
        name = "deploys"
        kind = "files"
        feed = "deployments"
        path = "exports/deploys.csv"

        [[sources]]
        name = "big"
        kind = "files"
        feed = "inference"
        path = "exports/big.csv"
        """
    )


def test_a_sync_killed_midway_leaves_the_warehouse_as_it_was(project):
    _two_sources(project)
    assert project.sync(["deploys"]).ok
    before = _sha256(project.warehouse)
    _big_inference(project, 1_500_000)
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors", "sync", "--config", str(project.config_path)],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    shadow_glob = f".{project.warehouse.name}.sync-*"
    deadline = time.monotonic() + 60
    while not list(project.warehouse.parent.glob(shadow_glob)):
        assert process.poll() is None, "the sync ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.5)  # well inside the load of 1.5 million rows
    assert process.poll() is None, "the sync ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()

    assert _sha256(project.warehouse) == before
    assert project.query("select count(*) from inference")[0][0] == 0
    report = project.sync()
    assert report.ok
    assert project.query("select count(*) from inference")[0][0] == 1_500_000
    assert not list(project.warehouse.parent.glob(shadow_glob))


def test_readers_never_wait_for_a_sync_and_see_whole_syncs_only(project):
    _two_sources(project)
    assert project.sync(["deploys"]).ok
    _big_inference(project, 600_000)
    seen: set[int] = set()
    errors: list[Exception] = []
    done = threading.Event()

    def read_until_done():
        while not done.is_set():
            try:
                with warehouse.reading(project.warehouse) as con:
                    seen.add(con.execute("select count(*) from inference").fetchone()[0])
            except Exception as error:  # the assertion below reports it
                errors.append(error)
            time.sleep(0.005)

    reader = threading.Thread(target=read_until_done)
    reader.start()
    try:
        report = sync.run(settings.load(project.config_path), ["big"])
    finally:
        time.sleep(0.1)
        done.set()
        reader.join()
    assert report.ok
    assert errors == []
    assert seen == {0, 600_000}
