"""Profiles computed where the data lives: portable SQL, PostgreSQL push-down, interchangeability.

The same generated inference rows are profiled three ways: by DuckDB at sync (a `files`
source), and by a real PostgreSQL server (tests/plugins/postgres.py) through a `sql` source with
`profiles = true`. The stored profiles must agree: counts exactly, floats within 1e-9 relative.
Spark does the same in tests/test_spark_connector.py.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from metrics import drift
from metrics.db import sql
from profiling import portable, queries
from tests.helpers.profiles import (
    DAYS,
    assert_interchangeable,
    files_project,
    generated_rows,
    stored,
)
from tests.helpers.project import Project

FEATURES = ["amount", "ratio", "visits", "country", "is_new"]
ENV = "TANDEM_TEST_PROFILES_URL"


def postgres_table(url: str, rows: pd.DataFrame, table: str = "requests") -> None:
    """The rows in a PostgreSQL table, NaN and infinities kept (PostgreSQL doubles have them)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as con:
        con.exec_driver_sql(f'drop table if exists "{table}"')
        con.exec_driver_sql(
            f'create table "{table}" (request_id text, event_time timestamptz, model_name text, '
            "prediction double precision, score double precision, amount double precision, "
            "ratio double precision, visits bigint, country text, is_new boolean, "
            "loaded_at timestamptz)"
        )
        records = []
        for row in rows.itertuples(index=False):
            records.append(
                {
                    "request_id": row.request_id,
                    "event_time": row.ts,
                    "model_name": row.model,
                    "prediction": row.prediction,
                    "score": row.score,
                    "amount": float(row.amount),  # NaN stays NaN, not NULL
                    "ratio": row.ratio,
                    "visits": None if pd.isna(row.visits) else int(row.visits),
                    "country": row.country,
                    "is_new": None if pd.isna(row.is_new) else bool(row.is_new),
                    "loaded_at": row.ts,
                }
            )
        columns = list(records[0])
        con.execute(
            sa.text(
                f'insert into "{table}" ({", ".join(columns)}) '
                f"values ({', '.join(':' + c for c in columns)})"
            ),
            records,
        )
    engine.dispose()


PUSH_DOWN = """
[[sources]]
name = "requests_pg"
kind = "sql"
feed = "inference"
url_env = "{env}"
table = "{table}"
profiles = true
columns = {{ ts = "event_time", model = "model_name", updated_at = "loaded_at" }}
features = ["amount", "ratio", "visits", "country", "is_new"]
"""


# --- the portable SQL ----------------------------------------------------------------------


HAND = pd.DataFrame(
    {
        "ts": pd.to_datetime(["2026-03-01 10:00"] * 6 + ["2026-03-02 23:59"] * 2, utc=True),
        "x": [1.0, 2.5, 2.0, np.nan, np.inf, None, 9.5, 12.0],
        "c": ["a", "a", "b", None, "a", "b", "b", "b"],
    }
)
# As PostgreSQL keeps them: NaN and infinity are values, None is NULL.
HAND_X = [1.0, 2.5, 2.0, float("nan"), float("inf"), None, 9.5, 12.0]
HAND_SPEC = {"x": queries.BinSpec(0.0, 1.0, 10)}
HAND_COLUMNS = [queries.ProfiledColumn("x", "DOUBLE"), queries.ProfiledColumn("c", "VARCHAR")]
# (day, bin, n, minimum, maximum, mean, m2): NaN, inf and NULL are the missing bin; 12.0 is
# past the top (lo + 10 * 1.0) and goes to bin 10.
HAND_BINS = [
    (dt.date(2026, 3, 1), 1, 1, 1.0, 1.0, 1.0, 0.0),
    (dt.date(2026, 3, 1), 2, 2, 2.0, 2.5, 2.25, 0.125),
    (dt.date(2026, 3, 1), None, 3, None, None, None, None),
    (dt.date(2026, 3, 2), 9, 1, 9.5, 9.5, 9.5, 0.0),
    (dt.date(2026, 3, 2), 10, 1, 12.0, 12.0, 12.0, 0.0),
]
HAND_VALUES = [
    (dt.date(2026, 3, 1), "a", 3, False),
    (dt.date(2026, 3, 1), "b", 2, False),
    (dt.date(2026, 3, 1), None, 1, False),
    (dt.date(2026, 3, 2), "b", 2, False),
]


def _hand_rows(frame: pd.DataFrame, with_bins: bool) -> list[tuple]:
    frame = frame.copy()
    frame["part"] = [pd.Timestamp(v).date() for v in frame["part"]]
    if with_bins:
        out = []
        for r in frame.itertuples(index=False):
            values = [None if v is None or pd.isna(v) else float(v) for v in r[4:8]]
            out.append((r.part, None if pd.isna(r.bin) else int(r.bin), int(r.n), *values))
    else:
        out = [
            (r.part, None if pd.isna(r.value) else r.value, int(r.n), bool(r.capped))
            for r in frame.itertuples(index=False)
        ]
    return sorted(out, key=lambda r: tuple((v is None, v) for v in r))


def test_hand_checked_profile_on_duckdb():
    import duckdb

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.register("hand", HAND)
    bins = con.execute(queries.numeric_sql(HAND_COLUMNS, HAND_SPEC, "hand", queries.DAY)).df()
    values = con.execute(queries.values_sql(HAND_COLUMNS, "hand", queries.DAY)).df()
    assert _hand_rows(bins, True) == HAND_BINS
    assert _hand_rows(values, False) == HAND_VALUES


def test_hand_checked_profile_on_postgres(postgres):
    url = postgres.create_database("hand_profiles")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as con:
        con.exec_driver_sql(portable.UTC_SESSION["postgres"])
        con.exec_driver_sql("create table hand (ts timestamptz, x double precision, c text)")
        con.execute(
            sa.text("insert into hand values (:ts, :x, :c)"),
            [
                {"ts": ts.to_pydatetime(), "x": x, "c": c}
                for ts, x, c in zip(HAND["ts"], HAND_X, HAND["c"], strict=True)
            ],
        )

        def query(text):
            result = con.exec_driver_sql(text)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

        bins = query(
            queries.numeric_sql(HAND_COLUMNS, HAND_SPEC, '"hand"', queries.DAY, "postgres")
        )
        values = query(queries.values_sql(HAND_COLUMNS, '"hand"', queries.DAY, dialect="postgres"))
    engine.dispose()
    assert _hand_rows(bins, True) == HAND_BINS
    assert _hand_rows(values, False) == HAND_VALUES


# A bind placeholder in the styles drivers take: $1 and $name (PostgreSQL, DuckDB), :name
# (SQLAlchemy's text(); not PostgreSQL's :: cast), ? (qmark), %s and %(name)s (psycopg).
PLACEHOLDER = re.compile(r"\$\w+|(?<![:\w]):[A-Za-z_]\w*|\?|%s|%\(\w+\)s")


@pytest.mark.parametrize(
    "text, found",
    [
        ("select * from t where a = $1", "$1"),
        ("select * from t where a = $since", "$since"),
        ("select * from t where a = :since", ":since"),
        ("select * from t where a = ?", "?"),
        ("select * from t where a = %s", "%s"),
        ("select * from t where a = %(since)s", "%(since)s"),
        ("select a::text, cast('2026-03-01 10:00:00' as timestamp) from t where b = 'x'", None),
    ],
)
def test_the_placeholder_pattern_finds_every_bind_style(text, found):
    match = PLACEHOLDER.search(text)
    assert (match.group() if match else None) == found


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "postgres", "trino", "snowflake"])
def test_the_profile_queries_transpile_for_every_engine(dialect):
    numeric = queries.numeric_sql(HAND_COLUMNS, HAND_SPEC, '"hand"', queries.DAY, dialect)
    values = queries.values_sql(HAND_COLUMNS, '"hand"', queries.DAY, dialect=dialect)
    for text in (numeric, values):
        assert "GROUP BY ALL" not in text.upper()
        assert not PLACEHOLDER.search(text), text  # values are inlined, not bound


@pytest.mark.parametrize(
    "construct, found",
    [
        ("isfinite(v)", "not in the portable SQL subset"),  # DuckDB's, Spark has none
        ("approx_quantile(v, 0.5)", "not in the portable SQL subset"),
        ("list_contains([1, 2], bin)", "not in the portable SQL subset"),
        ("quantile_cont(v, 0.5)", "not in the portable SQL subset"),  # exact percentile
        ("if(v > 0, 1, 0)", "not in the portable SQL subset"),
    ],
)
@pytest.mark.parametrize("dialect", ["duckdb", "spark", "postgres"])
def test_an_unportable_construct_in_a_profile_query_fails_at_transpile_time(
    construct, found, dialect
):
    text = sql("drift_profile_numeric").replace(
        "avg(v) as mean,", f"avg(v) as mean, {construct} as extra,"
    )
    assert text != sql("drift_profile_numeric")
    filled = portable.fill(
        text, {"columns": "select 1 as part, 'x' as feature, 1.0 as v, 1 as bin"}
    )
    with pytest.raises(portable.NotPortable, match=found):
        portable.render(filled, dialect)


def test_group_by_all_and_the_short_unpivot_fail_at_transpile_time():
    with pytest.raises(portable.NotPortable, match="GROUP BY ALL"):
        portable.render("select part, count(*) as n from {relation} group by all", "postgres")
    with pytest.raises(portable.NotPortable, match="Pivot"):
        portable.render("unpivot {relation} on a, b into name k value v", "spark")
    # sqlglot's own strict mode raises too, where it knows the target cannot do it.
    with pytest.raises(portable.NotPortable):
        portable.render("select * from {relation} using sample 10 rows", "postgres")


def test_literals_are_inlined_safely():
    assert portable.string("it's") == "'it''s'"
    assert portable.identifier('we"ird') == '"we""ird"'
    assert portable.number(0.1) == "CAST('0.1' AS DOUBLE)"
    assert portable.number(7) == "7"
    with pytest.raises(ValueError):
        portable.number(float("inf"))
    rendered = portable.render(
        "select * from {relation} where model = " + portable.string("o'brien\\"), "spark"
    )
    assert "'o\\'brien\\\\'" in rendered


# --- remote profiles land in the same tables ------------------------------------------------


@pytest.fixture(scope="module")
def rows():
    return generated_rows()


@pytest.fixture(scope="module")
def duckdb_profiles(rows, tmp_path_factory):
    return files_project(tmp_path_factory.mktemp("files"), rows)


@pytest.fixture(scope="module")
def pg_url(rows, postgres):
    """A database holding the generated rows in table `requests`, which no test changes."""
    url = postgres.create_database("remote_profiles")
    postgres_table(url, rows)
    return url


@pytest.fixture
def pg_project(pg_url, tmp_path, monkeypatch):
    """A project whose `sql` source profiles its own copy of `requests`, synced once.

    Each test gets its own copy of the table (made on the server) and its own warehouse, so a
    test that changes rows or syncs again leaves every other test the state it expects.
    """
    table = f"requests_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with engine.begin() as con:
        con.exec_driver_sql(f'create table "{table}" as table requests')
    monkeypatch.setenv(ENV, pg_url)
    project = Project(tmp_path)
    project.configure(PUSH_DOWN.format(env=ENV, table=table))
    report = project.sync()
    assert report.ok, report.as_dict()
    assert report.profiled_days == 3
    yield project, pg_url, table
    with engine.begin() as con:
        con.exec_driver_sql(f'drop table "{table}"')
    engine.dispose()


def test_postgres_profiles_equal_duckdbs_from_the_same_rows(duckdb_profiles, pg_project):
    project, _, _ = pg_project
    assert project.query("select count(*) from inference") == [(0,)]  # no raw rows pulled
    ours, theirs = stored(duckdb_profiles), stored(project)
    assert theirs["days"] == [("scorer", day, 1500) for day in DAYS]
    assert ours["features"] == [
        ("scorer", "amount", "DOUBLE"),
        ("scorer", "country", "VARCHAR"),
        ("scorer", "is_new", "BOOLEAN"),
        ("scorer", "ratio", "DOUBLE"),
        ("scorer", "visits", "BIGINT"),
    ]
    missing_amount = [
        b for b in theirs["bins"] if b[1] == "amount" and b[2] == DAYS[0] and b[3] is None
    ]
    expected_missing = int(
        generated_rows()[lambda f: f["ts"].dt.date == DAYS[0]]["amount"].pipe(
            lambda s: (~np.isfinite(s.astype(float))).sum()
        )
    )
    assert missing_amount[0][4] == expected_missing  # NaN, +inf and -inf counted as missing
    assert_interchangeable(ours, theirs)


def test_drift_reads_remote_profiles_as_it_reads_its_own(duckdb_profiles, pg_project):
    project, _, _ = pg_project
    current = drift.Window(DAYS[2], DAYS[2] + dt.timedelta(days=1))
    reference = drift.Reference("fixed", drift.Window(DAYS[0], DAYS[2]))
    import warehouse

    verdicts = []
    for where in (duckdb_profiles, project):
        with warehouse.reading(where.warehouse) as con:
            result = drift.model_drift(con, "scorer", current, reference, exact=False)
        verdicts.append(
            (
                {c.column: (c.method, c.drifted) for c in result.columns},
                result.drift_share,
                result.current["rows"],
            )
        )
    assert verdicts[0] == verdicts[1]
    columns, share, rows = verdicts[1]
    assert rows == 1500
    assert columns["amount"] == ("wasserstein", True)
    assert columns["country"] == ("jensenshannon", True)
    assert columns["ratio"] == ("wasserstein", False)
    assert share == pytest.approx(2 / 5)


def test_a_resync_profiles_only_new_or_changed_days_and_the_last(pg_project):
    project, url, table = pg_project
    again = project.sync()
    assert again.ok and again.profiled_days == 1  # the newest day, always
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as con:
        con.exec_driver_sql(
            f'update "{table}" set amount = amount + 1, '
            "loaded_at = loaded_at + interval '1 day' where request_id = 'r0-10'"
        )
    engine.dispose()
    before = stored(project)["bins"]
    third = project.sync()
    assert third.ok and third.profiled_days == 2  # the changed first day and the newest
    after = stored(project)["bins"]
    assert [b for b in before if b[2] == DAYS[1]] == [b for b in after if b[2] == DAYS[1]]
    assert [b for b in before if b[2] == DAYS[0]] != [b for b in after if b[2] == DAYS[0]]
    # The profile of a remote day is never deleted by the sync's own refresh.
    assert project.query("select count(*), count(source) from drift_profile_days") == [(3, 3)]


@pytest.fixture
def statements():
    """Every statement SQLAlchemy sends while the test runs, with its bind parameters."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


def test_push_down_sends_transpiled_queries_without_parameters(pg_project, statements):
    project, _, table = pg_project
    statements.clear()  # what this sync sends, not the fixture's first one
    report = project.sync()
    assert report.ok and report.profiled_days == 1
    # What reads the source's rows: the statements naming its table (reflection binds the name).
    sent = [(text, parameters) for text, parameters in statements if f'"{table}"' in text]
    assert len(sent) >= 3, statements  # the days' signatures, then the day's profiles
    for text, parameters in sent:
        assert not parameters, (text, parameters)  # nothing bound: the driver sends the text
        assert not PLACEHOLDER.search(text), text  # every value is inlined in the SQL
        assert "GROUP BY ALL" not in text.upper()
    assert statements[0] == ("set time zone 'UTC'", {})
    profile = [text for text, _ in sent if "VAR_POP" in text]
    assert profile and all("DOUBLE PRECISION" in text for text in profile)
