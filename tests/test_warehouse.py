"""The warehouse file: schema version and upgrades, killed syncs, reading while a sync writes."""

from __future__ import annotations

import hashlib
import logging
import os
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
from connectors.feeds import BOOKKEEPING_COLUMNS, FEEDS
from metrics import db
from tests.helpers.project import ROOT, python_process, subprocess_env

# sql/schema.sql as version 1 shipped it: upgrades are tested from what old warehouses hold,
# not from today's schema.sql, which a change could edit in place.
SCHEMA_V1 = Path(__file__).resolve().parent / "fixtures" / "schema_v1.sql"


def _version_1(con: duckdb.DuckDBPyConnection) -> None:
    """Make `con`'s database a version-1 warehouse, from the frozen schema."""
    con.execute(SCHEMA_V1.read_text())
    con.execute("insert into tandem_meta values ('schema_version', '1')")


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
            # Every canonical column with its type, and the bookkeeping ones; a column a later
            # version added sits after the bookkeeping ones (rows are written by column name).
            expected = {c.name: c.sql_type for c in feed.columns}
            shown = dict(columns)
            assert {c: shown.get(c) for c in expected} == expected, feed.name
            assert set(BOOKKEEPING_COLUMNS) <= set(shown), feed.name
            assert set(shown) - set(expected) - set(BOOKKEEPING_COLUMNS) == set(), feed.name


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


# version -> the columns its migration adds, per table, in order (as in sql/migrations/*.sql).
MIGRATION_ADDS = {
    2: {
        "drift_bin_specs": [
            "model VARCHAR NOT NULL",
            "feature VARCHAR NOT NULL",
            "lo DOUBLE NOT NULL",
            "width DOUBLE NOT NULL",
            "bins INTEGER NOT NULL",
            "created_at TIMESTAMP WITH TIME ZONE NOT NULL",
        ],
        "drift_profile_bins": [
            "model VARCHAR NOT NULL",
            "feature VARCHAR NOT NULL",
            "day DATE NOT NULL",
            "bin INTEGER",
            "n BIGINT NOT NULL",
            "minimum DOUBLE",
            "maximum DOUBLE",
            "mean DOUBLE",
            "m2 DOUBLE",
        ],
        "drift_profile_values": [
            "model VARCHAR NOT NULL",
            "feature VARCHAR NOT NULL",
            "day DATE NOT NULL",
            "value VARCHAR",
            "n BIGINT NOT NULL",
            "capped BOOLEAN NOT NULL",
        ],
        "drift_profile_days": [
            "model VARCHAR NOT NULL",
            "day DATE NOT NULL",
            "rows BIGINT NOT NULL",
            "synced_max TIMESTAMP WITH TIME ZONE NOT NULL",
        ],
    },
    3: {"drift_profile_days": ["source VARCHAR"]},
    4: {
        "serving_profile_bins": [
            "model VARCHAR NOT NULL",
            "day DATE NOT NULL",
            "model_version VARCHAR NOT NULL",
            "bin INTEGER",
            "n BIGINT NOT NULL",
            "errors BIGINT NOT NULL",
            "minimum DOUBLE",
            "maximum DOUBLE",
            "first_seen_at TIMESTAMP WITH TIME ZONE NOT NULL",
            "last_seen_at TIMESTAMP WITH TIME ZONE NOT NULL",
        ],
    },
    5: {"quarantine": ["row_key VARCHAR"]},
    6: {
        "deployments": ["kind VARCHAR"],
        "changes": ["incident_id VARCHAR", "ai_assisted BOOLEAN"],
    },
    7: {"tickets": ["incident_id VARCHAR"]},
    8: {
        "attribution_change_fixes": ["change_id VARCHAR", "incident_id VARCHAR"],
        "attribution_change_shipping": ["change_id VARCHAR", "next_deployment_id VARCHAR"],
        "attribution_incidents": [
            "incident_id VARCHAR",
            "previous_deployment_id VARCHAR",
            "previous_finished_at TIMESTAMP WITH TIME ZONE",
        ],
    },
    9: {
        "inference_kind_days": [
            "model VARCHAR NOT NULL",
            "day DATE NOT NULL",
            "outputs BIGINT NOT NULL",
            "binary_labels BOOLEAN NOT NULL",
            "binary_predictions BOOLEAN NOT NULL",
            "unit_scores BOOLEAN NOT NULL",
            "unit_predictions BOOLEAN NOT NULL",
            "fractional_predictions BOOLEAN NOT NULL",
        ],
    },
}


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Every table's columns in order, as `name TYPE [NOT NULL] [DEFAULT value]`."""
    found = con.execute(
        "select table_name, column_name, data_type, is_nullable, column_default "
        "from information_schema.columns order by table_name, ordinal_position"
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, name, data_type, nullable, default in found:
        column = f"{name} {data_type}" + ("" if nullable == "YES" else " NOT NULL")
        tables.setdefault(table, []).append(column + (f" DEFAULT {default}" if default else ""))
    return tables


def _rows(con: duckdb.DuckDBPyConnection, tables: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """Each table's rows, over the columns `tables` lists for it (`name TYPE ...`)."""
    found = {}
    for table, columns in tables.items():
        names = ", ".join(f'"{column.split()[0]}"' for column in columns)
        found[table] = con.execute(f'select {names} from "{table}" order by all').fetchall()
    return found


def test_the_frozen_version_1_schema_is_what_a_new_warehouse_starts_from():
    # Version 1 is history: a change to the schema is a migration, never an edit of schema.sql.
    frozen, current = duckdb.connect(), duckdb.connect()
    _version_1(frozen)
    warehouse.ensure_schema(current, migrations={}, target=1)
    assert _columns(current) == _columns(frozen)


def test_every_migration_file_is_listed_once_in_order():
    files = sorted(p.name for p in (warehouse.SQL_DIR / "migrations").glob("*.sql"))
    assert sorted(warehouse.MIGRATIONS.values()) == files
    assert sorted(warehouse.MIGRATIONS) == list(range(2, warehouse.SCHEMA_VERSION + 1))
    assert sorted(MIGRATION_ADDS) == sorted(warehouse.MIGRATIONS)  # each checked below


@pytest.mark.parametrize("version", sorted(MIGRATION_ADDS))
def test_each_migration_adds_its_columns_with_their_types(version):
    con = duckdb.connect()
    _version_1(con)
    assert warehouse.ensure_schema(con, target=version - 1) == version - 1
    before = _columns(con)
    assert warehouse.ensure_schema(con, target=version) == version
    after = _columns(con)
    # Nothing a migration finds is changed or dropped; what it adds comes after it.
    assert {t: after.get(t, [])[: len(columns)] for t, columns in before.items()} == before
    added = {
        t: columns[len(before.get(t, [])) :]
        for t, columns in after.items()
        if columns != before.get(t)
    }
    assert added == MIGRATION_ADDS[version]


def test_a_version_1_warehouse_keeps_its_rows_and_gets_the_schema_of_a_new_one(tmp_path):
    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    _version_1(con)
    con.execute("set TimeZone = 'UTC'")
    con.execute(
        "insert into deployments (deployment_id, model, environment, finished_at, status, "
        "source, row_hash, synced_at) values "
        "('d1', 'churn', 'production', '2026-11-01 10:00', 'success', 'deploys', 1, "
        "'2026-11-02 00:00'), "
        "('d2', null, 'staging', '2026-11-03 12:30', 'failure', 'deploys', 2, '2026-11-04 00:00')"
    )
    con.execute(
        "insert into inference (request_id, ts, model, latency_ms, prediction, source, row_hash, "
        "synced_at) values ('r1', '2026-11-01 10:00:01', 'churn', 12.5, 0.75, 'big', 3, "
        "'2026-11-02 00:00')"
    )
    con.execute(
        "insert into sync_runs (sync_id, source, kind, feed, started_at, status, rows_read) "
        "values ('s1', 'deploys', 'files', 'deployments', '2026-11-02 00:00', 'ok', 2)"
    )
    con.execute("insert into source_state values ('deploys', '{\"mark\": 7}', '2026-11-02')")
    con.execute(
        "insert into quarantine values ('deploys', 'deployments', 'deploys.csv', 3, 'd3,x', "
        "'missing finished_at', 's1', '2026-11-02 00:00')"
    )
    version_1 = {t: c for t, c in _columns(con).items() if t != "tandem_meta"}
    before = _rows(con, version_1)
    con.close()
    assert all(
        before[t] for t in ("deployments", "inference", "sync_runs", "source_state", "quarantine")
    )

    assert warehouse.needs_upgrade(old)
    # the metrics read no older warehouse: they say how to upgrade it, naming the file
    with (
        pytest.raises(warehouse.WarehouseError, match=r"schema version 1, older than .*sync"),
        db.connect(old),
    ):
        pass
    with warehouse.writing(old):
        pass
    new = tmp_path / "new.duckdb"
    with warehouse.writing(new):
        pass
    with warehouse.reading(old) as con:
        assert warehouse.schema_version(con) == warehouse.SCHEMA_VERSION
        migrated, kept = _columns(con), _rows(con, version_1)
    with warehouse.reading(new) as con:
        fresh = _columns(con)
    assert migrated == fresh
    assert kept == before
    # A row quarantined before rows had keys has none: its origin read again clears it.
    with warehouse.reading(old) as con:
        assert con.execute("select origin, row_key from quarantine").fetchall() == [
            ("deploys.csv", None)
        ]


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


# A sync held open midway: two commits written to its copy, then it waits for a line on stdin.
HELD_SYNC = """
import sys
from pathlib import Path

import warehouse
from metrics import db

with warehouse.writing(Path(sys.argv[1])) as con:
    for deployment_id in ("d2", "d3"):
        con.execute(
            "insert into deployments (deployment_id, environment, finished_at, status, source, "
            "row_hash, synced_at) values ($id, 'production', now(), 'success', 'held', 0, now())",
            {"id": deployment_id},
        )
    print("written", flush=True)
    sys.stdin.readline()
"""


def _within(seconds: float, work):
    """What work() returns, failing the test if it has not returned after `seconds`.

    A guard against a hang only: nothing here measures how long the work took.
    """
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = work()
        except BaseException as error:  # re-raised below, in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _deployment_ids(path: Path) -> list[str]:
    with warehouse.reading(path) as con:
        found = con.execute("select deployment_id from deployments order by all").fetchall()
    return [d for (d,) in found]


def test_a_reader_does_not_wait_for_a_sync_and_sees_the_warehouse_from_before_it(tmp_path):
    path = tmp_path / "w.duckdb"
    with warehouse.writing(path) as con:
        con.execute(
            "insert into deployments (deployment_id, environment, finished_at, status, source, "
            "row_hash, synced_at) values ('d1', 'production', now(), 'success', 'first', 0, now())"
        )
    before = _sha256(path)
    writer = python_process(HELD_SYNC, str(path))
    try:
        assert _within(60, writer.stdout.readline) == "written\n", writer.stderr.read()
        # The sync holds its connection open and cannot finish until told to: a reader that
        # waited for it would never return. It reads the live file, which the sync leaves alone
        # (it writes a copy), so it sees neither of the sync's two commits.
        assert _within(60, lambda: _deployment_ids(path)) == ["d1"]
        copies = {p.name.removesuffix(".wal") for p in tmp_path.glob(f".{path.name}.sync-*")}
        assert len(copies) == 1
        assert _sha256(path) == before
    finally:
        _, errors = writer.communicate("\n", timeout=60)
    assert writer.returncode == 0, errors
    assert _deployment_ids(path) == ["d1", "d2", "d3"]  # the whole sync, once it has finished


def test_a_sync_holds_at_most_its_memory_limit(tmp_path):
    # DuckDB spills past it (re-reading 20 million rows: 2.5 GB held instead of 7.9 GB).
    with warehouse.writing(tmp_path / "w.duckdb", memory_limit="256MB") as con:
        limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert limit == "244.1 MiB"  # 256 MB in DuckDB's binary units
    config = tmp_path / "sources.toml"
    config.write_text('[warehouse]\nsync_memory_limit = "3GB"\n')
    assert settings.load(config).sync_memory_limit == "3GB"
    config.write_text("[warehouse]\n")
    assert settings.load(config).sync_memory_limit == warehouse.SYNC_MEMORY_LIMIT
    config.write_text('[warehouse]\nsync_memory_limit = "lots"\n')
    with pytest.raises(settings.ConfigError, match=r'sync_memory_limit must be a size like "2GB"'):
        settings.load(config)


def test_a_source_past_the_sync_memory_limit_fails_naming_the_setting_and_the_others_land(
    tmp_path,
):
    # 200M inference rows ran past the 2GB default; DuckDB's own advice (SET memory_limit)
    # names nothing a Tandem user can set. Here 8MB and 300k rows stand in for them.
    from connectors import sync

    rows = tmp_path / "inference.parquet"
    deployments = tmp_path / "deployments.csv"
    duckdb.connect().execute(
        f"copy (select 'r' || i as request_id, timestamptz '2026-11-01' + to_seconds(i) as ts, "
        f"'m' as model, 0.5 as score from range(300000) t(i)) to '{rows}' (format parquet)"
    )
    deployments.write_text(
        "deployment_id,model,version,environment,team,started_at,finished_at,status\n"
        "d1,m,v1,production,t,2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,success\n"
    )
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[warehouse]\npath = "{tmp_path / "w.duckdb"}"\nsync_memory_limit = "8MB"\n\n'
        f'[[sources]]\nname = "serving"\nkind = "files"\nfeed = "inference"\npath = "{rows}"\n\n'
        f'[[sources]]\nname = "deploys"\nkind = "files"\nfeed = "deployments"\n'
        f'path = "{deployments}"\n'
    )
    report = sync.run(settings.load(config))
    failed = {s["name"]: s["error"] for s in report.as_dict()["sources"]}
    assert failed["deploys"] is None
    assert failed["serving"].startswith(
        "source 'serving': loading it needs more memory than a sync may hold "
        '([warehouse] sync_memory_limit = "8MB"; DuckDB: Out of Memory Error: '
    )
    assert failed["serving"].endswith(
        "): raise that limit in the config, or split the source's files; nothing of this "
        "source was written"
    )
    assert "SET memory_limit" not in failed["serving"]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from inference").fetchone() == (0,)
        assert con.execute("select deployment_id from deployments").fetchall() == [("d1",)]


def test_profiling_past_the_sync_memory_limit_fails_naming_it_and_leaves_the_warehouse(
    tmp_path, monkeypatch
):
    # At 20M rows and 120MB the rows loaded and their profiling ran out of memory; the error
    # came out as DuckDB's "Current transaction is aborted" from a cleanup. A real DuckDB
    # out-of-memory error (a query past a 1MB limit) is raised where profiling runs here.
    from connectors import sync
    from profiling import store

    first = tmp_path / "a.csv"
    first.write_text(
        "request_id,ts,model,score\nr1,2026-11-01T10:00:00Z,m,0.5\nr2,2026-11-01T11:00:00Z,m,0.7\n"
    )
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[warehouse]\npath = "{tmp_path / "w.duckdb"}"\n\n[[sources]]\nname = "serving"\n'
        f'kind = "files"\nfeed = "inference"\npath = "{tmp_path / "*.csv"}"\n'
    )
    assert sync.run(settings.load(config)).ok
    before = _sha256(tmp_path / "w.duckdb")

    def out_of_memory(*args, **kwargs):
        tiny = duckdb.connect(config={"memory_limit": "1MB"})
        tiny.execute("select count(distinct i::varchar) from range(1000000) t(i)").fetchall()

    monkeypatch.setattr(store, "refresh", out_of_memory)
    (tmp_path / "b.csv").write_text("request_id,ts,model,score\nr3,2026-11-02T10:00:00Z,m,0.1\n")
    with pytest.raises(warehouse.WarehouseError) as raised:
        sync.run(settings.load(config))
    assert str(raised.value).startswith(
        "profiling the synced rows needs more memory than a sync may hold "
        '([warehouse] sync_memory_limit = "2GB"; DuckDB: Out of Memory Error: '
    )
    assert str(raised.value).endswith(
        "): raise that limit in the config; the warehouse is unchanged"
    )
    assert _sha256(tmp_path / "w.duckdb") == before
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("select request_id from inference order by 1").fetchall() == [
            ("r1",),
            ("r2",),
        ]


def test_the_kind_days_are_filled_from_the_rows_an_upgraded_warehouse_holds():
    # Version 9 keeps what each day's ok rows say about a model's kind; an older warehouse gets
    # its days filled by the migration, from its rows (errors left out, days in UTC).
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    warehouse.ensure_schema(con, target=8)
    rows = [
        ("a1", "2026-11-02 23:59", "churn", "ok", 1.0, 0.9, 1.0),
        ("a2", "2026-11-03 00:00", "churn", "ok", 0.0, 0.2, None),
        ("a3", "2026-11-03 01:00", "churn", "error", None, None, -1.0),
        ("b1", "2026-11-03 02:00", "price", "ok", 30.5, None, 31.0),
        ("b2", "2026-11-03 03:00", "price", "ok", None, None, None),
    ]
    con.executemany(
        "insert into inference (request_id, ts, model, status, prediction, score, label, "
        "source, row_hash, synced_at) "
        "values (?, cast(? || '+00' as timestamptz), ?, ?, ?, ?, ?, 'test', 0, now())",
        rows,
    )
    assert warehouse.ensure_schema(con) == warehouse.SCHEMA_VERSION
    kept = con.execute(
        "select model, cast(day as varchar), outputs, binary_labels, binary_predictions, "
        "unit_scores, unit_predictions, fractional_predictions from inference_kind_days "
        "order by all"
    ).fetchall()
    assert kept == [
        ("churn", "2026-11-02", 3, True, True, True, True, False),
        ("churn", "2026-11-03", 2, True, True, True, True, False),
        ("price", "2026-11-03", 2, False, False, True, False, True),
    ]


# -- the standby: the copy a sync writes, brought up to date block by block --------------------

BLOCK = 256 * 1024


def test_mirroring_writes_only_the_blocks_that_differ_and_matches_the_size(tmp_path):
    live, copy = tmp_path / "live", tmp_path / "copy"
    data = bytearray(range(256)) * (3 * BLOCK // 256) + b"t" * 100  # three blocks and a tail
    copy.write_bytes(bytes(data) + b"x" * 5000)  # longer than the live file
    data[BLOCK + 7] ^= 0xFF  # one byte in the second block
    data[-1] = ord("u")  # and one in the tail
    live.write_bytes(bytes(data))
    fd = os.open(copy, os.O_RDWR)
    try:
        written = warehouse.mirror(live, fd)
    finally:
        os.close(fd)
    assert written == BLOCK + 100
    assert copy.read_bytes() == live.read_bytes()
    # A shorter copy gets the blocks it lacks; equal files get nothing.
    copy.write_bytes(bytes(data[:BLOCK]))
    fd = os.open(copy, os.O_RDWR)
    try:
        assert warehouse.mirror(live, fd) == len(data) - BLOCK
        assert warehouse.mirror(live, fd) == 0
    finally:
        os.close(fd)
    assert copy.read_bytes() == live.read_bytes()


def _insert_deployment(con, deployment_id: str) -> None:
    con.execute(
        "insert into deployments (deployment_id, environment, finished_at, status, source, "
        "row_hash, synced_at) values ($id, 'production', now(), 'success', 'test', 0, now())",
        {"id": deployment_id},
    )


def test_the_replaced_file_is_kept_as_the_standby_and_reused_by_the_next_sync(tmp_path):
    path = tmp_path / "w.duckdb"
    with warehouse.writing(path) as con:
        _insert_deployment(con, "d1")
    assert not warehouse.standby_path(path).exists()  # a first sync replaces nothing
    first = _sha256(path), path.stat().st_ino
    with warehouse.writing(path) as con:
        _insert_deployment(con, "d2")
    standby = warehouse.standby_path(path)
    assert (_sha256(standby), standby.stat().st_ino) == first
    second_inode = path.stat().st_ino
    with warehouse.writing(path) as con:
        _insert_deployment(con, "d3")
    # The third sync wrote into the first file (brought up to date), and kept the second.
    assert path.stat().st_ino == first[1]
    assert standby.stat().st_ino == second_inode
    assert _deployment_ids(path) == ["d1", "d2", "d3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".w.duckdb.standby",
        "w.duckdb",
        "w.duckdb.lock",
    ]


def test_a_standby_a_reader_still_has_open_is_left_alone(tmp_path):
    path = tmp_path / "w.duckdb"
    with warehouse.writing(path) as con:
        _insert_deployment(con, "d1")
    with warehouse.reading(path) as reader:  # opened before the next swap: holds that file
        held = path.stat().st_ino
        with warehouse.writing(path) as con:
            _insert_deployment(con, "d2")
        assert warehouse.standby_path(path).stat().st_ino == held
        with warehouse.writing(path) as con:
            _insert_deployment(con, "d3")
        # The reader's file was not written into: it still reads what it opened.
        assert path.stat().st_ino != held
        assert reader.execute("select deployment_id from deployments").fetchall() == [("d1",)]
    assert _deployment_ids(path) == ["d1", "d2", "d3"]
    kept = warehouse.standby_path(path).stat().st_ino
    with warehouse.writing(path) as con:  # the reader gone, the standby is reused again
        _insert_deployment(con, "d4")
    assert path.stat().st_ino == kept
    assert _deployment_ids(path) == ["d1", "d2", "d3", "d4"]


def test_a_killed_syncs_copy_is_reused_whatever_it_holds(tmp_path):
    path = tmp_path / "w.duckdb"
    with warehouse.writing(path) as con:
        _insert_deployment(con, "d1")
    with warehouse.writing(path) as con:
        _insert_deployment(con, "d2")
    # What a sync killed while writing its copy leaves: a copy in any state (here, garbage).
    stray = tmp_path / ".w.duckdb.sync-killed"
    stray.write_bytes(b"\x00garbage" * 100_000)
    with warehouse.writing(path) as con:
        _insert_deployment(con, "d3")
    assert _deployment_ids(path) == ["d1", "d2", "d3"]
    assert not list(tmp_path.glob(".w.duckdb.sync-*"))


# A reader in another process (the app, while a sync runs from a shell): it opens the warehouse,
# says what it read, waits for a line on stdin, then reads again on the same connection.
HELD_READER = """
import sys
from pathlib import Path

import warehouse

with warehouse.reading(Path(sys.argv[1])) as con:
    query = "select deployment_id from deployments order by all"
    print(",".join(d for (d,) in con.execute(query).fetchall()), flush=True)
    sys.stdin.readline()
    print(",".join(d for (d,) in con.execute(query).fetchall()), flush=True)
"""


def test_a_reader_in_another_process_keeps_its_file_through_two_syncs(tmp_path):
    path = tmp_path / "w.duckdb"
    with warehouse.writing(path) as con:
        _insert_deployment(con, "d1")
    reader = python_process(HELD_READER, str(path))
    try:
        assert _within(60, reader.stdout.readline) == "d1\n", reader.stderr.read()
        held = path.stat().st_ino
        for deployment_id in ("d2", "d3"):  # the second would reuse the first's standby
            with warehouse.writing(path) as con:
                _insert_deployment(con, deployment_id)
        assert path.stat().st_ino != held
        out, errors = reader.communicate("\n", timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, errors
    assert out == "d1\n"  # what its file held when it opened it, untouched by both syncs
    assert _deployment_ids(path) == ["d1", "d2", "d3"]


def _copies(caplog) -> list[str]:
    """How each sync logged making its copy: "whole" or "standby"."""
    return [
        "whole" if r.getMessage().startswith("copied whole") else "standby"
        for r in caplog.records
        if hasattr(r, "copied_bytes")
    ]


def test_a_sync_copies_the_file_whole_only_when_it_has_no_standby_to_reuse(
    tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG, logger="tandem.timing")
    path = tmp_path / "w.duckdb"
    for deployment_id in ("d1", "d2", "d3"):
        with warehouse.writing(path) as con:
            _insert_deployment(con, deployment_id)
    # The first had nothing to copy, the second no standby yet; the third reused it.
    assert _copies(caplog) == ["whole", "standby"]
    # Without open file description locks (macOS), no reader could say it holds a standby:
    # none is ever reused.
    caplog.clear()
    monkeypatch.setattr(warehouse, "_OFD_LOCKS", False)
    with warehouse.reading(path) as reader:
        with warehouse.writing(path) as con:
            _insert_deployment(con, "d4")
        assert reader.execute("select count(*) from deployments").fetchone() == (3,)
    assert _copies(caplog) == ["whole"]
    assert _deployment_ids(path) == ["d1", "d2", "d3", "d4"]


def test_a_second_name_of_the_live_file_left_by_a_killed_swap_is_never_written_into(
    tmp_path, caplog
):
    caplog.set_level(logging.DEBUG, logger="tandem.timing")
    path = tmp_path / "w.duckdb"
    for deployment_id in ("d1", "d2"):
        with warehouse.writing(path) as con:
            _insert_deployment(con, deployment_id)
    # Killed between the link and the rename of `_swap`: a sync-* name for the live file, and
    # no standby to come before it.
    os.link(path, tmp_path / ".w.duckdb.sync-killedinswap")
    warehouse.standby_path(path).unlink()
    before = _sha256(path)
    caplog.clear()
    with warehouse.writing(path) as con:
        _insert_deployment(con, "d3")
        con.execute("checkpoint")
        assert _sha256(path) == before  # the sync writes its own copy, not the live file
    assert _copies(caplog) == ["whole"]
    assert _deployment_ids(path) == ["d1", "d2", "d3"]
    assert not list(tmp_path.glob(".w.duckdb.sync-*"))
