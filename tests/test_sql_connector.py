"""The sql connector against a real PostgreSQL (tests/plugins/postgres.py) and SQLite files."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import sqlite3
from decimal import Decimal

import duckdb
import pytest
import sqlalchemy as sa

import settings
from connectors import registry, sync
from connectors.sql import Chunk, Redactor, SqlConnector

UTC = dt.UTC
ENV = "WAREHOUSE_DB_URL"


def at(text: str) -> dt.datetime:
    """An instant written as ISO 8601 with an offset."""
    return dt.datetime.fromisoformat(text)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


@pytest.fixture
def statements():
    """Every SQL statement any engine sends: (statement, parameters, DB-API cursor)."""
    seen: list[tuple[str, object, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters, cursor))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


@pytest.fixture
def sleeps(monkeypatch):
    """The waits between connection attempts, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(SqlConnector, "sleep", staticmethod(waited.append))
    return waited


def run(url: str, sql: str, rows: list[dict] | None = None) -> None:
    """One statement against a source database, its values bound."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as con:
        if rows is None:
            con.execute(sa.text(sql))
        else:
            con.execute(sa.text(sql), rows)
    engine.dispose()


def report_rows(report: sync.SyncReport) -> list[tuple]:
    return [
        (r["name"], r["feed"], r["read"], r["loaded"], r["duplicates"], r["quarantined"])
        for r in report.as_dict()["sources"]
    ]


class Batches(sync.Progress):
    def __init__(self) -> None:
        self.sizes: list[int] = []

    def batch_done(self, name, batch, stats) -> None:
        self.sizes.append(stats.read)


# -- PostgreSQL -------------------------------------------------------------------------------------

DEPLOY_LOG = """
    create table analytics."Deploy Log" (
        "Order" text primary key,
        "Model Name" text,
        env text,
        started timestamptz,
        finished timestamp,
        result text,
        updated_at timestamptz not null
    )
"""
INSERT_DEPLOY = (
    'insert into analytics."Deploy Log" values '
    "(:id, :model, :env, :started, :finished, :result, :updated_at)"
)
DEPLOYMENTS_SOURCE = f"""
[[sources]]
name = "deploys"
kind = "sql"
feed = "deployments"
url_env = "{ENV}"
table = "analytics.Deploy Log"
cursor = "updated_at"
chunk_size = 2
columns = {{ deployment_id = "Order", model = "Model Name", environment = "env", started_at = "started", finished_at = "finished", status = "result" }}
values.status = {{ SUCCESS = "success", FAILED = "failed", ROLLED_BACK = "rolled_back" }}
values.environment = {{ PROD = "production" }}
"""


def _deployments(project) -> list[tuple]:
    return project.query(
        "select deployment_id, model, environment, started_at, finished_at, status "
        "from deployments order by deployment_id"
    )


def _mark(project, source: str):
    (state,) = project.query("select state from source_state where source = $s", {"s": source})[0]
    return json.loads(state)


def test_postgres_table_lands_mapped_and_resyncs_only_from_the_mark(
    postgres, project, monkeypatch, statements
):
    url = postgres.create_database("deploys")
    run(url, "create schema analytics")
    run(url, DEPLOY_LOG)
    run(
        url,
        INSERT_DEPLOY,
        [
            # finished is a naive timestamp: read as UTC.
            dict(
                id="D-1",
                model="churn",
                env="PROD",
                started=at("2026-03-01T10:00:00+02:00"),
                finished=dt.datetime(2026, 3, 1, 8, 30),
                result="SUCCESS",
                updated_at=at("2026-03-01T09:00:00+00:00"),
            ),
            dict(
                id="D-2",
                model="fraud",
                env="PROD",
                started=None,
                finished=dt.datetime(2026, 3, 2, 12, 0),
                result="FAILED",
                updated_at=at("2026-03-02T12:05:00+00:00"),
            ),
            dict(
                id="D-3",
                model="churn",
                env="staging",
                started=at("2026-03-03T09:00:00+00:00"),
                finished=dt.datetime(2026, 3, 3, 9, 10),
                result="SUCCESS",
                updated_at=at("2026-03-03T09:15:00+00:00"),
            ),
        ],
    )
    monkeypatch.setenv(ENV, url)
    project.configure(DEPLOYMENTS_SOURCE)
    progress = Batches()

    first = sync.run(settings.load(project.config_path), progress=progress)

    assert first.ok, first.as_dict()
    assert progress.sizes == [2, 1]  # chunk_size rows per batch
    assert report_rows(first) == [("deploys", "deployments", 3, 3, 0, 0)]
    assert _deployments(project) == [
        ("D-1", "churn", "production", utc(2026, 3, 1, 8), utc(2026, 3, 1, 8, 30), "success"),
        ("D-2", "fraud", "production", None, utc(2026, 3, 2, 12), "failed"),
        ("D-3", "churn", "staging", utc(2026, 3, 3, 9), utc(2026, 3, 3, 9, 10), "success"),
    ]
    state = _mark(project, "deploys")
    assert (state["cursor"], state["mark"]["type"]) == ("updated_at", "datetime")
    assert at(state["mark"]["value"]) == utc(2026, 3, 3, 9, 15)
    first_reads = [s for s in statements if 'FROM analytics."Deploy Log"' in s[0]]
    assert len(first_reads) == 1 and "WHERE" not in first_reads[0][0]

    # D-1 is rolled back (its cursor moves on); D-4 shares the last mark (it committed after the
    # read); D-5 is new.
    run(
        url,
        'update analytics."Deploy Log" set result = :result, updated_at = :updated_at '
        'where "Order" = :id',
        [dict(id="D-1", result="ROLLED_BACK", updated_at=at("2026-03-04T10:00:00+00:00"))],
    )
    run(
        url,
        INSERT_DEPLOY,
        [
            dict(
                id="D-4",
                model="fraud",
                env="PROD",
                started=None,
                finished=dt.datetime(2026, 3, 3, 9, 14),
                result="SUCCESS",
                updated_at=at("2026-03-03T09:15:00+00:00"),
            ),
            dict(
                id="D-5",
                model="churn",
                env="PROD",
                started=None,
                finished=dt.datetime(2026, 3, 4, 10, 45),
                result="SUCCESS",
                updated_at=at("2026-03-04T11:00:00+00:00"),
            ),
        ],
    )
    statements.clear()

    second = project.sync()

    assert second.ok, second.as_dict()
    (read,) = [s for s in statements if 'FROM analytics."Deploy Log"' in s[0]]
    statement, params, cursor = read
    assert statement.endswith(
        'WHERE analytics."Deploy Log".updated_at >= %(mark)s '
        'ORDER BY analytics."Deploy Log".updated_at'
    )
    assert params == {"mark": utc(2026, 3, 3, 9, 15)}
    assert type(cursor).__name__ == "ServerCursor"  # streamed, not fetched whole
    # D-3 (at the mark, unchanged) is a duplicate; D-1, D-4, D-5 load.
    assert report_rows(second) == [("deploys", "deployments", 4, 3, 1, 0)]
    assert _deployments(project) == [
        ("D-1", "churn", "production", utc(2026, 3, 1, 8), utc(2026, 3, 1, 8, 30), "rolled_back"),
        ("D-2", "fraud", "production", None, utc(2026, 3, 2, 12), "failed"),
        ("D-3", "churn", "staging", utc(2026, 3, 3, 9), utc(2026, 3, 3, 9, 10), "success"),
        ("D-4", "fraud", "production", None, utc(2026, 3, 3, 9, 14), "success"),
        ("D-5", "churn", "production", None, utc(2026, 3, 4, 10, 45), "success"),
    ]
    assert at(_mark(project, "deploys")["mark"]["value"]) == utc(2026, 3, 4, 11)

    third = project.sync()
    assert report_rows(third) == [("deploys", "deployments", 1, 0, 1, 0)]  # D-5, at the mark
    assert project.query("select count(*) from deployments") == [(5,)]


def test_postgres_inference_features_typed_from_the_table_and_a_bad_row_quarantined(
    postgres, project, monkeypatch
):
    url = postgres.create_database("requests")
    run(url, "create schema ml")
    run(
        url,
        "create table ml.requests (request_id text, ts timestamptz, model text, "
        "latency numeric(8, 2), outcome text, score double precision, country text, "
        'basket_size integer, "Order Value" numeric(10, 2), is_returning boolean)',
    )
    run(
        url,
        "insert into ml.requests values (:id, :ts, 'churn', :latency, :outcome, :score, "
        ":country, :basket, :value, :returning)",
        [
            dict(
                id="r1",
                ts=at("2026-05-01T12:00:00+02:00"),
                latency="12.50",
                outcome="OK",
                score=0.9,
                country="DE",
                basket=3,
                value="120.00",
                returning=True,
            ),
            dict(
                id="r2",
                ts=at("2026-05-01T12:01:00+00:00"),
                latency="40.00",
                outcome="ERR",
                score=0.2,
                country="FR",
                basket=None,
                value="80.25",
                returning=False,
            ),
            dict(
                id="r3",
                ts=at("2026-05-01T12:02:00+00:00"),
                latency="-5.00",
                outcome="OK",
                score=0.5,
                country="DE",
                basket=1,
                value="10.00",
                returning=None,
            ),
            dict(
                id="r4",
                ts=at("2026-05-01T12:03:00+00:00"),
                latency="7.25",
                outcome="OK",
                score=None,
                country=None,
                basket=2,
                value=None,
                returning=True,
            ),
        ],
    )
    monkeypatch.setenv(ENV, url)
    project.configure(
        f"""
        [[sources]]
        name = "requests"
        kind = "sql"
        feed = "inference"
        url_env = "{ENV}"
        table = "ml.requests"
        columns = {{ latency_ms = "latency", status = "outcome" }}
        values.status = {{ OK = "ok", ERR = "error" }}
        """
    )

    report = project.sync()

    assert report.ok, report.as_dict()
    assert report_rows(report) == [("requests", "inference", 4, 3, 0, 1)]
    assert project.query(
        "select request_id, ts, model, latency_ms, status, score, country, basket_size, "
        '"Order Value", is_returning from inference order by request_id'
    ) == [
        ("r1", utc(2026, 5, 1, 10), "churn", 12.5, "ok", 0.9, "DE", 3, 120.0, True),
        ("r2", utc(2026, 5, 1, 12, 1), "churn", 40.0, "error", 0.2, "FR", None, 80.25, False),
        ("r4", utc(2026, 5, 1, 12, 3), "churn", 7.25, "ok", None, None, 2, None, True),
    ]
    assert project.query(
        "select feature, data_type from inference_features where source = 'requests' "
        "order by feature"
    ) == [
        ("Order Value", "DOUBLE"),
        ("basket_size", "BIGINT"),
        ("country", "VARCHAR"),
        ("is_returning", "BOOLEAN"),
    ]
    ((source, feed, row, raw, reason),) = project.query(
        "select source, feed, row_number, raw, reason from quarantine"
    )
    assert (source, feed, row, reason) == (
        "requests",
        "inference",
        3,
        "latency_ms: negative (-5.0)",
    )
    assert json.loads(raw)["request_id"] == "r3"


def test_postgres_query_source_is_wrapped_and_bound(postgres, project, monkeypatch, statements):
    url = postgres.create_database("ops")
    run(url, "create schema ops")
    run(
        url,
        "create table ops.incidents (id integer, title text, opened timestamptz, "
        "closed timestamptz, sev integer, updated_at timestamptz)",
    )
    run(url, "create table ops.services (incident_id integer, service text)")
    insert = "insert into ops.incidents values (:id, :title, :opened, :closed, :sev, :updated)"
    run(
        url,
        insert,
        [
            dict(
                id=1,
                title="Latency spike",
                opened=at("2026-04-01T10:00:00+00:00"),
                closed=at("2026-04-01T11:30:00+00:00"),
                sev=2,
                updated=at("2026-04-01T11:30:00+00:00"),
            ),
            dict(
                id=2,
                title="test: ignore me",
                opened=at("2026-04-01T12:00:00+00:00"),
                closed=None,
                sev=4,
                updated=at("2026-04-01T12:00:00+00:00"),
            ),
            dict(
                id=3,
                title="Drift alarm",
                opened=at("2026-04-02T08:00:00+00:00"),
                closed=None,
                sev=3,
                updated=at("2026-04-02T08:00:00+00:00"),
            ),
        ],
    )
    run(
        url,
        "insert into ops.services values (:id, :service)",
        [
            dict(id=1, service="churn"),
            dict(id=2, service="churn"),
            dict(id=3, service="fraud"),
            dict(id=4, service="fraud"),
        ],
    )
    monkeypatch.setenv(ENV, url)
    # A '%', a ':word' and a '::' cast in the user's SQL stay the user's.
    query = (
        "select 'INC-' || i.id as incident_id, s.service as model, i.opened, i.closed, "
        "'sev' || i.sev::text as severity, i.title, i.updated_at as changed "
        "from ops.incidents i join ops.services s on s.incident_id = i.id "
        "where i.title not like 'test:%' and i.title not like '%:skip%';"
    )
    project.configure(
        f"""
        [[sources]]
        name = "incidents"
        kind = "sql"
        feed = "incidents"
        url_env = "{ENV}"
        query = "{query}"
        cursor = "changed"
        columns = {{ opened_at = "opened", resolved_at = "closed" }}
        """
    )

    first = project.sync()

    assert first.ok, first.as_dict()
    expected = [
        ("INC-1", "churn", utc(2026, 4, 1, 10), utc(2026, 4, 1, 11, 30), "sev2", "Latency spike"),
        ("INC-3", "fraud", utc(2026, 4, 2, 8), None, "sev3", "Drift alarm"),
    ]
    incidents = (
        "select incident_id, model, opened_at, resolved_at, severity, title from incidents "
        "order by incident_id"
    )
    assert project.query(incidents) == expected

    run(
        url,
        insert,
        [
            dict(
                id=4,
                title="Feature store down :skip",
                opened=at("2026-04-03T07:00:00+00:00"),
                closed=None,
                sev=1,
                updated=at("2026-04-03T07:00:00+00:00"),
            ),
            dict(
                id=4,
                title="Feature store down",
                opened=at("2026-04-03T07:00:00+00:00"),
                closed=None,
                sev=1,
                updated=at("2026-04-03T07:00:00+00:00"),
            ),
        ],
    )
    statements.clear()
    second = project.sync()

    assert second.ok, second.as_dict()
    (statement, params, _) = next(s for s in statements if "ops.incidents" in s[0])
    assert statement == (
        "SELECT * \nFROM (select 'INC-' || i.id as incident_id, s.service as model, i.opened, "
        "i.closed, 'sev' || i.sev::text as severity, i.title, i.updated_at as changed "
        "from ops.incidents i join ops.services s on s.incident_id = i.id "
        "where i.title not like 'test:%%' and i.title not like '%%:skip%%') AS tandem_source "
        "\nWHERE changed >= %(mark)s ORDER BY changed"
    )
    assert params == {"mark": utc(2026, 4, 2, 8)}
    assert report_rows(second) == [("incidents", "incidents", 2, 1, 1, 0)]  # INC-3 again
    assert project.query(incidents) == [
        *expected,
        ("INC-4", "fraud", utc(2026, 4, 3, 7), None, "sev1", "Feature store down"),
    ]


def test_postgres_arrays_and_numerics_into_tickets(postgres, project, monkeypatch):
    url = postgres.create_database("tracker")
    run(
        url,
        "create table issues (key text, summary text, issue_type text, created timestamp, "
        "points numeric(4, 1), labels text[], meta jsonb)",
    )
    run(
        url,
        "insert into issues values (:key, :summary, :type, :created, :points, :labels, "
        "cast(:meta as jsonb))",
        [
            dict(
                key="ML-1",
                summary="Retrain churn",
                type="Story",
                created=dt.datetime(2026, 2, 1, 9, 0),
                points="2.5",
                labels=["ml", "retrain"],
                meta='{"epic": "E-1"}',
            ),
            dict(
                key="ML-2",
                summary="Fix join",
                type="Bug",
                created=dt.datetime(2026, 2, 2, 9, 0),
                points=None,
                labels=[],
                meta=None,
            ),
        ],
    )
    monkeypatch.setenv(ENV, url)
    project.configure(
        f"""
        [[sources]]
        name = "tracker"
        kind = "sql"
        feed = "tickets"
        url_env = "{ENV}"
        table = "issues"
        columns = {{ ticket_id = "key", title = "summary", type = "issue_type", created_at = "created", story_points = "points" }}
        """
    )

    report = project.sync()

    assert report.ok, report.as_dict()
    assert project.query(
        "select ticket_id, type, work_category, created_at, story_points, labels from tickets "
        "order by ticket_id"
    ) == [
        ("ML-1", "Story", "development", utc(2026, 2, 1, 9), 2.5, ["ml", "retrain"]),
        ("ML-2", "Bug", "maintenance", utc(2026, 2, 2, 9), None, []),
    ]


def test_wrong_password_fails_at_once_in_one_line_without_the_password(
    postgres, project, monkeypatch, sleeps, caplog
):
    caplog.set_level(logging.DEBUG)
    postgres.create_database("locked")
    wrong = "Wr0ng-s3cret-pw"
    monkeypatch.setenv(ENV, postgres.url("locked", password=wrong))
    project.configure(
        f'[[sources]]\nname = "warehouse"\nkind = "sql"\nfeed = "deployments"\n'
        f'url_env = "{ENV}"\ntable = "deploys"\n'
    )

    report = project.sync()

    (source,) = report.sources
    assert source.error == (
        f"source 'warehouse': cannot connect to postgresql+psycopg://tandem:***@127.0.0.1:"
        f'{postgres.port}/locked: password authentication failed for user "tandem" '
        f"(the URL comes from ${ENV})"
    )
    assert sleeps == []  # no retry: a wrong password stays wrong
    assert project.query("select error from sync_runs") == [(source.error,)]
    assert wrong not in caplog.text
    assert wrong not in repr(
        registry.create(settings.load(project.config_path).sources[0]).__dict__
    )


def test_an_unreachable_server_is_retried_with_backoff_then_named(project, monkeypatch, sleeps):
    with socket.socket() as probe:  # a port nothing listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(ENV, f"postgresql+psycopg://tandem:hunter2-pw@127.0.0.1:{port}/db")
    project.configure(
        f'[[sources]]\nname = "warehouse"\nkind = "sql"\nfeed = "deployments"\n'
        f'url_env = "{ENV}"\ntable = "deploys"\nretries = 3\nbackoff_s = 0.5\n'
    )

    report = project.sync()

    assert sleeps == [0.5, 1.0, 2.0]
    assert report.sources[0].error == (
        f"source 'warehouse': cannot connect to postgresql+psycopg://tandem:***@127.0.0.1:{port}"
        f'/db after 4 attempts: connection to server at "127.0.0.1", port {port} failed: '
        f"Connection refused (the URL comes from ${ENV})"
    )


def test_a_missing_table_is_named_without_the_password(postgres, project, monkeypatch):
    url = postgres.create_database("empty")
    monkeypatch.setenv(ENV, url)
    project.configure(
        f'[[sources]]\nname = "warehouse"\nkind = "sql"\nfeed = "deployments"\n'
        f'url_env = "{ENV}"\ntable = "analytics.deploys"\n'
    )

    report = project.sync()

    assert report.sources[0].error == (
        "source 'warehouse': no table analytics.deploys in postgresql+psycopg://tandem:***@"
        f"127.0.0.1:{postgres.port}/empty"
    )
    assert postgres.password not in report.sources[0].error


# -- SQLite -----------------------------------------------------------------------------------------


def _sqlite(path, sql: str, rows: list[tuple] | None = None) -> None:
    con = sqlite3.connect(path)
    with con:
        if rows is None:
            con.execute(sql)
        else:
            con.executemany(sql, rows)
    con.close()


def test_sqlite_bad_value_is_quarantined_and_the_rest_load(project, monkeypatch):
    db = project.root / "ops.sqlite"
    _sqlite(
        db,
        'create table "Deploy Log" ("Order" integer, "Model" text, "finished at" text, '
        "state text, env text, latency)",
    )
    _sqlite(
        db,
        'insert into "Deploy Log" values (?, ?, ?, ?, ?, ?)',
        [
            (1, "churn", "2026-01-05 10:00:00", "success", "prod", 1),
            (2, "churn", "yesterday", "success", "prod", 2.5),
            (3, "fraud", "2026-01-06T08:00:00+01:00", "failed", "prod", "n/a"),
        ],
    )
    monkeypatch.setenv(ENV, f"sqlite:///{db}")
    project.configure(
        f"""
        [[sources]]
        name = "ops"
        kind = "sql"
        feed = "deployments"
        url_env = "{ENV}"
        table = "Deploy Log"
        chunk_size = 1
        columns = {{ deployment_id = "Order", model = "Model", finished_at = "finished at", status = "state", environment = "env" }}
        values.environment = {{ prod = "production" }}
        """
    )

    report = project.sync()

    assert report.ok, report.as_dict()
    assert report_rows(report) == [("ops", "deployments", 3, 2, 0, 1)]
    assert project.query(
        "select deployment_id, model, finished_at, status from deployments order by all"
    ) == [
        ("1", "churn", utc(2026, 1, 5, 10), "success"),
        ("3", "fraud", utc(2026, 1, 6, 7), "failed"),
    ]
    # The bad row came in the second one-row chunk: it keeps its number in the whole read.
    ((source, row, raw, reason),) = project.query(
        "select source, row_number, raw, reason from quarantine"
    )
    assert (source, row) == ("ops", 2)
    assert reason == "finished_at: unparsable timestamp 'yesterday'"
    assert json.loads(raw) == {
        "Order": 2,
        "Model": "churn",
        "finished at": "yesterday",
        "state": "success",
        "env": "prod",
        "latency": 2.5,
    }


def test_sqlite_connection_failure_is_retried_until_it_opens(project, monkeypatch, sleeps):
    db = project.root / "later" / "ops.sqlite"  # its folder does not exist yet: cannot open

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:  # the database appears during the second wait
            db.parent.mkdir()
            _sqlite(db, "create table incidents (id text, opened text)")
            _sqlite(db, "insert into incidents values (?, ?)", [("I-1", "2026-02-01 12:00")])

    monkeypatch.setattr(SqlConnector, "sleep", staticmethod(sleep))
    monkeypatch.setenv(ENV, f"sqlite:///{db}")
    project.configure(
        f'[[sources]]\nname = "ops"\nkind = "sql"\nfeed = "incidents"\nurl_env = "{ENV}"\n'
        'table = "incidents"\ncolumns = { incident_id = "id", opened_at = "opened" }\n'
    )

    report = project.sync()

    assert report.ok, report.as_dict()
    assert sleeps == [1.0, 2.0]
    assert project.query("select incident_id, opened_at from incidents") == [
        ("I-1", utc(2026, 2, 1, 12))
    ]


def test_nothing_new_loads_nothing(project, monkeypatch, statements):
    db = project.root / "ops.sqlite"
    _sqlite(db, "create table incidents (id text, opened text, seq integer)")
    _sqlite(
        db,
        "insert into incidents values (?, ?, ?)",
        [("I-1", "2026-02-01 12:00", 7), ("I-2", "2026-02-02 12:00", 9)],
    )
    monkeypatch.setenv(ENV, f"sqlite:///{db}")
    project.configure(
        f'[[sources]]\nname = "ops"\nkind = "sql"\nfeed = "incidents"\nurl_env = "{ENV}"\n'
        'table = "incidents"\ncursor = "seq"\n'
        'columns = { incident_id = "id", opened_at = "opened" }\n'
    )
    assert report_rows(project.sync()) == [("ops", "incidents", 2, 2, 0, 0)]
    statements.clear()

    second = project.sync()

    assert report_rows(second) == [("ops", "incidents", 1, 0, 1, 0)]  # I-2, at the mark
    (read,) = [(s, p) for s, p, _ in statements if "FROM incidents" in s]
    assert read == (
        "SELECT incidents.id, incidents.opened, incidents.seq \nFROM incidents "
        "\nWHERE incidents.seq >= ? ORDER BY incidents.seq",
        (9,),
    )
    _sqlite(db, "delete from incidents")
    third = project.sync()
    assert report_rows(third) == [("ops", "incidents", 0, 0, 0, 0)]
    assert project.query("select count(*) from incidents") == [(2,)]
    assert json.loads(project.query("select state from source_state")[0][0])["mark"] == {
        "type": "int",
        "value": 9,
    }


def test_an_unset_variable_is_a_config_error_naming_it(project, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    project.configure(
        f'[[sources]]\nname = "ops"\nkind = "sql"\nfeed = "incidents"\nurl_env = "{ENV}"\n'
        'table = "incidents"\n'
    )
    source = settings.load(project.config_path).sources[0]
    with pytest.raises(settings.ConfigError, match=f"environment variable {ENV} "):
        next(registry.create(source).extract())
    assert project.sync().sources[0].error == (
        f"source 'ops': environment variable {ENV} (named by url_env) is not set"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ('table = "t"\nquery = "select 1"', "kind 'sql' takes a `table` or a `query`, not both"),
        ("", "kind 'sql' needs a `table` or a `query`"),
        ('table = "t"\nchunk_size = 0', "`chunk_size` must be a whole number >= 1"),
        ('table = "t"\ncursor = ""', "`cursor` must be a non-empty string"),
    ],
)
def test_config_mistakes_are_named(project, monkeypatch, options, message):
    monkeypatch.setenv(ENV, "sqlite://")
    project.configure(
        f'[[sources]]\nname = "ops"\nkind = "sql"\nfeed = "incidents"\nurl_env = "{ENV}"\n'
        + options
    )
    assert project.sync().sources[0].error == f"source 'ops': {message}"


def test_the_url_shows_without_its_secrets():
    raw = "postgresql+psycopg://ana:p%40ss%2Fw0rd@db:5432/wh?sslmode=require&sslpassword=k3y"
    redact = Redactor(raw)
    assert redact.url == "postgresql+psycopg://ana:***@db:5432/wh?sslmode=require&sslpassword=***"
    assert redact(f"dsn {raw}: password=p@ss/w0rd (p%40ss%2Fw0rd) key k3y") == (
        "dsn ***: password=*** (***) key ***"
    )
    # Nothing secret in a SQLite URL: it shows as written.
    assert Redactor("sqlite:////data/ops.db").url == ("sqlite:////data/ops.db")


def test_a_changed_cursor_reads_everything_again(project, monkeypatch, statements):
    db = project.root / "ops.sqlite"
    _sqlite(db, "create table incidents (id text, opened text, seq integer)")
    _sqlite(db, "insert into incidents values (?, ?, ?)", [("I-1", "2026-02-01 12:00", 7)])
    monkeypatch.setenv(ENV, f"sqlite:///{db}")
    toml = (
        f'[[sources]]\nname = "ops"\nkind = "sql"\nfeed = "incidents"\nurl_env = "{ENV}"\n'
        'table = "incidents"\ncursor = "{cursor}"\n'
        'columns = { incident_id = "id", opened_at = "opened" }\n'
    )
    project.configure(toml.replace("{cursor}", "seq"))
    assert project.sync().ok
    project.configure(toml.replace("{cursor}", "opened"))
    statements.clear()

    assert project.sync().ok

    (read,) = [s for s, _, _ in statements if "FROM incidents" in s]
    assert "WHERE" not in read  # the mark was of `seq`: no use for `opened`
    assert json.loads(project.query("select state from source_state")[0][0])["mark"] == {
        "type": "str",
        "value": "2026-02-01 12:00",
    }


def test_driver_values_become_columns_duckdb_types_once():
    plus_two = dt.timezone(dt.timedelta(hours=2))
    chunk = Chunk(
        origin="db table t",
        columns=(
            "mixed",
            "money",
            "count",
            "big",
            "when",
            "day",
            "tags",
            "doc",
            "blob",
            "flag",
            "none",
        ),
        rows=(
            (
                1,
                Decimal("12.50"),
                Decimal("3"),
                2**70,
                dt.datetime(2026, 1, 1, 12, tzinfo=plus_two),
                dt.date(2026, 1, 1),
                ["a", "b"],
                {"k": 1},
                b"\x01\xff",
                True,
                None,
            ),
            (
                "n/a",
                Decimal("3"),
                Decimal("40"),
                5,
                dt.datetime(2026, 1, 1, 12),
                None,
                None,
                None,
                None,
                False,
                None,
            ),
            (2.5, None, None, None, None, dt.date(2026, 1, 2), [], {"k": [2]}, None, None, None),
        ),
        first_row=5,
    )
    source = settings.SourceConfig("db", "sql", "incidents", options={"url_env": ENV, "table": "t"})

    frame = SqlConnector(source).normalize(chunk).frame

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.register("chunk", frame)
    types = {name: kind for name, kind, *_ in con.execute("describe chunk").fetchall()}
    assert types == {
        "mixed": "VARCHAR",  # SQLite's mixed column: text the loader parses or quarantines
        "money": "DOUBLE",
        "count": "BIGINT",
        "big": "VARCHAR",  # beyond 64 bits: exact as text
        "when": "TIMESTAMP WITH TIME ZONE",
        "day": "DATE",
        "tags": "VARCHAR",
        "doc": "VARCHAR",
        "blob": "VARCHAR",
        "flag": "BOOLEAN",
        "none": '"NULL"',
        "__row": "BIGINT",
    }
    assert con.execute("select * from chunk").fetchall() == [
        (
            "1",
            12.5,
            3,
            str(2**70),
            utc(2026, 1, 1, 10),
            dt.date(2026, 1, 1),
            '["a", "b"]',
            '{"k": 1}',
            "01ff",
            True,
            None,
            5,
        ),
        ("n/a", 3.0, 40, "5", utc(2026, 1, 1, 12), None, None, None, None, False, None, 6),
        (
            "2.5",
            None,
            None,
            None,
            None,
            dt.date(2026, 1, 2),
            "[]",
            '{"k": [2]}',
            None,
            None,
            None,
            7,
        ),
    ]


# -- a connection lost midway: the read resumes from its mark --------------------------------------

# Seven deployments, three of them in the same second (the cursor's ties), one of those with a
# status the source does not map (quarantined). With two rows a batch, the first batch ends
# inside the ties: a read resumed from its mark meets one row it handed over already.
TIES = at("2026-03-02T12:00:00+00:00")
SEVEN = [
    ("D-1", "SUCCESS", at("2026-03-01T09:00:00+00:00")),
    ("D-2", "SUCCESS", TIES),
    ("D-3", "EXPLODED", TIES),
    ("D-4", "FAILED", TIES),
    ("D-5", "SUCCESS", at("2026-03-03T09:00:00+00:00")),
    ("D-6", "SUCCESS", at("2026-03-04T09:00:00+00:00")),
    ("D-7", "ROLLED_BACK", at("2026-03-04T09:00:00+00:00")),
]


def _seven_deployments(postgres, name: str) -> str:
    url = postgres.create_database(name)
    run(url, "create schema analytics")
    run(url, DEPLOY_LOG)
    run(
        url,
        INSERT_DEPLOY,
        [
            dict(
                id=deployment_id,
                model="churn",
                env="PROD",
                started=None,
                finished=dt.datetime(2026, 3, 1, 8, 0),
                result=result,
                updated_at=updated_at,
            )
            for deployment_id, result, updated_at in SEVEN
        ],
    )
    return url


class Severed(sync.Progress):
    """Ends the sync's PostgreSQL sessions from another connection after the given batches."""

    def __init__(self, postgres, database: str, after: set[int], lock: bool = False) -> None:
        self.postgres, self.database, self.after, self.lock = postgres, database, after, lock
        self.sizes: list[int] = []

    def batch_done(self, name, batch, stats) -> None:
        from psycopg import sql

        self.sizes.append(stats.read)
        if len(self.sizes) not in self.after:
            return
        if self.lock:  # and no new connection gets in
            self.postgres.admin(
                sql.SQL("alter database {} allow_connections false").format(
                    sql.Identifier(self.database)
                )
            )
        self.postgres.admin(
            sql.SQL(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where datname = {} and pid <> pg_backend_pid()"
            ).format(sql.Literal(self.database))
        )


def _deploys_source(extra: str = "", cursor: str = 'cursor = "updated_at"') -> str:
    return (
        DEPLOYMENTS_SOURCE.replace('cursor = "updated_at"', cursor)
        + "retries = 1\nbackoff_s = 0.5\n"
        + extra
    )


def test_a_postgres_read_cut_midway_resumes_from_its_mark_and_keeps_every_row_once(
    postgres, project, monkeypatch, sleeps, statements
):
    url = _seven_deployments(postgres, "severed")
    monkeypatch.setenv(ENV, url)
    project.configure(_deploys_source())
    # Cut after the first batch and again after the third: each time the read resumes.
    progress = Severed(postgres, "severed", after={1, 3})

    report = sync.run(settings.load(project.config_path), progress=progress)

    assert report.ok, report.as_dict()
    assert sleeps == [0.5, 0.5]  # one wait before each resumed read
    reads = [(s[0], s[1]) for s in statements if 'FROM analytics."Deploy Log"' in s[0]]
    assert len(reads) == 3
    assert "WHERE" not in reads[0][0]
    # A first sync resumes from the highest cursor handed over, with the null ones.
    assert reads[1][0].endswith(
        'WHERE analytics."Deploy Log".updated_at >= %(mark)s '
        'OR analytics."Deploy Log".updated_at IS NULL ORDER BY analytics."Deploy Log".updated_at'
    )
    assert reads[1][1] == {"mark": TIES}
    # Every row once: read counts seven, the warehouse holds each deployment once, and the
    # unmapped status is one quarantine row.
    assert sum(progress.sizes) == 7
    assert report_rows(report) == [("deploys", "deployments", 7, 6, 0, 1)]
    assert project.query(
        "select deployment_id, status from deployments order by deployment_id"
    ) == [
        ("D-1", "success"),
        ("D-2", "success"),
        ("D-4", "failed"),
        ("D-5", "success"),
        ("D-6", "success"),
        ("D-7", "rolled_back"),
    ]
    assert project.query("select row_key, reason from quarantine") == [
        ("D-3", "status: unknown value 'EXPLODED' (expected success, failed, rolled_back)")
    ]
    assert at(_mark(project, "deploys")["mark"]["value"]) == at("2026-03-04T09:00:00+00:00")
    # The next sync reads from the mark: the two deployments at it, unchanged.
    assert report_rows(project.sync()) == [("deploys", "deployments", 2, 0, 2, 0)]


def test_a_postgres_read_that_cannot_resume_fails_and_leaves_the_warehouse_as_it_was(
    postgres, project, monkeypatch, sleeps
):
    url = _seven_deployments(postgres, "locked")
    monkeypatch.setenv(ENV, url)
    project.configure(_deploys_source())
    progress = Severed(postgres, "locked", after={1}, lock=True)

    report = sync.run(settings.load(project.config_path), progress=progress)

    # One wait before resuming, one before the connection's second (and last) attempt.
    assert sleeps == [0.5, 0.5]
    error = report.sources[0].error
    assert error.startswith("source 'deploys': cannot connect to postgresql+psycopg://tandem:***@")
    assert "after 2 attempts" in error and "not currently accepting connections" in error
    assert postgres.password not in error
    assert project.query("select count(*) from deployments") == [(0,)]
    assert project.query("select count(*) from source_state") == [(0,)]

    postgres.admin('alter database "locked" allow_connections true')
    assert report_rows(project.sync()) == [("deploys", "deployments", 7, 6, 0, 1)]


def test_a_postgres_read_without_a_cursor_cut_midway_fails_naming_the_cursor(
    postgres, project, monkeypatch, sleeps
):
    url = _seven_deployments(postgres, "uncursored")
    monkeypatch.setenv(ENV, url)
    project.configure(_deploys_source(cursor=""))
    progress = Severed(postgres, "uncursored", after={1})

    report = sync.run(settings.load(project.config_path), progress=progress)

    error = report.sources[0].error
    assert error.startswith(
        "source 'deploys': lost the connection to postgresql+psycopg://tandem:***@"
    )
    assert "after reading 2 rows of analytics.Deploy Log" in error
    assert error.endswith("(with a `cursor`, a read resumes where it stopped)")
    assert sleeps == []
    assert project.query("select count(*) from deployments") == [(0,)]


# -- quarantine over identical syncs ----------------------------------------------------------------


def test_postgres_identical_syncs_leave_the_quarantine_as_it_was(postgres, project, monkeypatch):
    # Two sources over one table, one row a batch: "marked" reads again from its mark (a row
    # without an id, and D-4, sit at it), "whole" reads all of it, bad rows in three batches.
    url = postgres.create_database("requarantine")
    run(url, "create schema analytics")
    run(url, DEPLOY_LOG.replace('"Order" text primary key', '"Order" text'))
    mark = at("2026-03-03T09:00:00+00:00")
    rows = [
        ("D-1", "EXPLODED", at("2026-03-01T09:00:00+00:00")),
        ("D-2", "SUCCESS", at("2026-03-02T09:00:00+00:00")),
        (None, "SUCCESS", mark),
        ("D-3", "SUCCESS", mark),
        ("D-4", "EXPLODED", mark),
    ]
    run(
        url,
        INSERT_DEPLOY,
        [
            dict(
                id=deployment_id,
                model="churn",
                env="PROD",
                started=None,
                finished=dt.datetime(2026, 3, 1, 8, 0),
                result=result,
                updated_at=updated_at,
            )
            for deployment_id, result, updated_at in rows
        ],
    )
    monkeypatch.setenv(ENV, url)
    marked = DEPLOYMENTS_SOURCE.replace("chunk_size = 2", "chunk_size = 1").replace(
        'name = "deploys"', 'name = "marked"'
    )
    whole = marked.replace('name = "marked"', 'name = "whole"').replace(
        'cursor = "updated_at"\n', ""
    )
    project.configure(marked + whole)

    def quarantine():
        return project.query("select * from quarantine order by all")

    assert report_rows(project.sync()) == [
        ("marked", "deployments", 5, 2, 0, 3),
        ("whole", "deployments", 5, 2, 0, 3),
    ]
    first = quarantine()
    assert sorted((r[0], r[8] or "", r[5].split(":")[0]) for r in first) == [
        ("marked", "", "missing deployment_id"),
        ("marked", "D-1", "status"),
        ("marked", "D-4", "status"),
        ("whole", "", "missing deployment_id"),
        ("whole", "D-1", "status"),
        ("whole", "D-4", "status"),
    ]
    for _ in range(2):  # every row at the mark read again, counted again, held once
        assert report_rows(project.sync()) == [
            ("marked", "deployments", 3, 0, 1, 2),
            ("whole", "deployments", 5, 0, 2, 3),
        ]
        assert quarantine() == first
    # D-4 fixed at the source: loaded, and its quarantine rows go; the others stay as written.
    run(
        url,
        "update analytics.\"Deploy Log\" set result = 'FAILED', updated_at = :at "
        "where \"Order\" = 'D-4'",
        [{"at": at("2026-03-04T09:00:00+00:00")}],
    )
    assert report_rows(project.sync()) == [
        ("marked", "deployments", 3, 1, 1, 1),
        ("whole", "deployments", 5, 1, 2, 2),
    ]
    assert quarantine() == [r for r in first if r[8] != "D-4"]
