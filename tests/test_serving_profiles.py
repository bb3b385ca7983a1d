"""Serving health from profiles computed where the data lives (metrics/serving.py).

A `spark` source or a `sql` source with `profiles = true` sends, per (model, day, version), its
requests, errors and a log-spaced latency histogram. Checked here:

- the quantile read off a histogram, on hand-made bins against numpy;
- the portable profile query on a hand fixture (DuckDB), and on generated rows by DuckDB, a real
  PostgreSQL server and Spark local, each against an oracle computed with pandas;
- what a user reads: a model profiled by PostgreSQL shows the same requests, errors and version
  dates as the same rows loaded through `files`, and latency percentiles within 1% of the exact
  ones; a model with rows in the warehouse keeps its exact figures.
"""

from __future__ import annotations

import datetime as dt
import math
import os

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import settings
import warehouse
from metrics import db, serving
from metrics.filters import Filters
from profiling import remote as remote_profiles
from profiling import serving_store
from tests.helpers.profiles import files_project
from tests.helpers.project import ROOT, Project

UTC = dt.UTC
DAYS = [dt.date(2026, 5, 4), dt.date(2026, 5, 5), dt.date(2026, 5, 6)]
ENV = "TANDEM_TEST_SERVING_URL"
# A percentile read off the histogram lies in the exact one's bin: within a bin's width.
BIN_WIDTH = math.exp(0.01) - 1  # a bin: 1% wide, 100 per e-fold
PROFILE_COLUMNS = serving_store.PROFILE_COLUMNS


def bins(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["bin", "n", "minimum", "maximum"])


# --- the quantile of a histogram -------------------------------------------------------------


@pytest.mark.parametrize(
    ("histogram", "values"),
    [
        # Bins of one or two values: every order statistic is exact, so is every percentile.
        (
            bins((0, 1, 1.0, 1.0), (460, 1, 100.0, 100.0), (461, 2, 101.0, 102.0)),
            [1, 100, 101, 102],
        ),
        # Zero latency has a bin of its own, below the others; NULL bins are left out.
        (
            bins(
                (serving_store.FLOOR_BIN, 2, 0.0, 0.0), (230, 1, 10.0, 10.0), (None, 5, None, None)
            ),
            [0, 0, 10],
        ),
    ],
)
def test_quantile_is_exact_when_each_bin_holds_at_most_two_values(histogram, values):
    for q in (0.0, 0.5, 0.95, 0.99, 1.0):
        assert serving.quantile(histogram, q) == pytest.approx(np.quantile(values, q), abs=1e-12)


def test_quantile_reads_a_wider_bin_between_its_min_and_max_by_rank():
    # True values 10, 10.02, 10.05 in one bin: the middle one is read at 10.025 (halfway).
    histogram = bins((230, 3, 10.0, 10.05), (231, 1, 10.2, 10.2))
    assert serving.quantile(histogram, 0.5) == pytest.approx((10.025 + 10.05) / 2)
    assert serving.quantile(histogram, 1 / 3) == pytest.approx(10.025)
    assert serving.quantile(histogram, 1.0) == pytest.approx(10.2)


def test_quantile_of_no_latency_is_none():
    assert serving.quantile(bins((None, 4, None, None)), 0.5) is None
    assert serving.quantile(bins(), 0.5) is None


def test_from_profiles_adds_days_and_versions_up():
    rows = pd.DataFrame(
        [
            ("m", dt.date(2026, 5, 4), "v1", 0, 1, 1, 1.0, 1.0),
            ("m", dt.date(2026, 5, 5), "v1", 460, 1, 0, 100.0, 100.0),
            ("m", dt.date(2026, 5, 5), "v2", 461, 2, 0, 101.0, 102.0),
            ("m", dt.date(2026, 5, 5), "v2", None, 4, 1, None, None),
        ],
        columns=["model", "day", "model_version", "bin", "n", "errors", "minimum", "maximum"],
    )
    window = serving.from_profiles(rows, ["model"]).iloc[0]
    assert (window["requests"], window["errors"]) == (8, 2)
    assert window["error_rate"] == pytest.approx(0.25)
    assert window["latency_p50_ms"] == pytest.approx(100.5)
    per_day = serving.from_profiles(rows, ["model", "day"])
    assert per_day["requests"].tolist() == [1, 7]
    assert per_day["latency_p50_ms"].tolist() == pytest.approx([1.0, 101.0])


# --- the portable profile query ---------------------------------------------------------------


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 5, day, hour, tzinfo=UTC)


HAND = pd.DataFrame(
    {
        "ts": [at(4, 9), at(4, 10), at(4, 11), at(4, 12), at(4, 13), at(5, 1), at(5, 2)],
        "model_version": ["v1", "v1", "v1", None, None, "v2", "v2"],
        "latency_ms": [1.0, 1.005, 0.0, np.nan, None, 100.0, 101.0],
        "status": ["ok", "error", "error", "ok", None, "ok", "ok"],
    }
)
# ln(1.005) * 100 = 0.499 (bin 0), ln(100) * 100 = 460.5, ln(101) * 100 = 461.5; 0 ms is the
# floor bin; NaN and NULL have no latency (bin NULL) but are requests.
HAND_PROFILE = [
    (dt.date(2026, 5, 4), "(none)", None, 2, 0, None, None, at(4, 12), at(4, 13)),
    (dt.date(2026, 5, 4), "v1", serving_store.FLOOR_BIN, 1, 1, 0.0, 0.0, at(4, 11), at(4, 11)),
    (dt.date(2026, 5, 4), "v1", 0, 2, 1, 1.0, 1.005, at(4, 9), at(4, 10)),
    (dt.date(2026, 5, 5), "v2", 460, 1, 0, 100.0, 100.0, at(5, 1), at(5, 1)),
    (dt.date(2026, 5, 5), "v2", 461, 1, 0, 101.0, 101.0, at(5, 2), at(5, 2)),
]


def duckdb_profile(rows: pd.DataFrame) -> list[tuple]:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.register("requests", rows)
    found = con.execute(serving_store.profile_sql('"requests"')).fetchall()
    con.close()
    return sorted(found, key=_order)


def _order(row: tuple) -> tuple:
    return (row[0], row[1], -(10**9) if row[2] is None else row[2])


def test_the_profile_query_on_a_hand_fixture():
    assert duckdb_profile(HAND) == HAND_PROFILE


VERSIONS = [["v1"], ["v1", "v2"], ["v2"]]


def generated_rows(per_day: int = 2000, seed: int = 11) -> pd.DataFrame:
    """Three days of requests: v1 then v2 (both on the middle day), some with no version,
    lognormal latencies with zeros, NULLs and NaN, and 4% errors."""
    rng = np.random.default_rng(seed)
    frames = []
    for index, day in enumerate(DAYS):
        n = per_day
        seconds = np.sort(rng.integers(0, 86_400, n))
        latency = np.round(rng.lognormal(3.5 + 0.3 * index, 0.6, n), 3)
        latency[rng.random(n) < 0.01] = 0.0
        latency[rng.random(n) < 0.02] = np.nan
        latency[rng.random(n) < 0.002] = np.inf
        versions = rng.choice(VERSIONS[index], n).astype(object)
        versions[rng.random(n) < 0.03] = None
        status = np.where(rng.random(n) < 0.04, "error", "ok").astype(object)
        status[rng.random(n) < 0.01] = None
        frames.append(
            pd.DataFrame(
                {
                    "request_id": [f"r{index}-{i}" for i in range(n)],
                    "ts": [
                        dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(seconds=int(s))
                        for s in seconds
                    ],
                    "model": "ranker",
                    "model_version": versions,
                    "latency_ms": latency,
                    "status": status,
                    "amount": rng.normal(10, 2, n),
                }
            )
        )
    rows = pd.concat(frames, ignore_index=True)
    rows.loc[rows.index % 97 == 0, "latency_ms"] = np.nan  # NULL in PostgreSQL: postgres_table
    return rows


def oracle(rows: pd.DataFrame) -> list[tuple]:
    """The profile worked out with pandas and numpy, independently of the SQL."""
    frame = pd.DataFrame(
        {
            "day": [ts.date() for ts in rows["ts"]],
            "model_version": rows["model_version"].fillna("(none)"),
            "latency": rows["latency_ms"].where(np.isfinite(rows["latency_ms"].astype(float))),
            "is_error": (rows["status"] == "error").astype(int),
            "ts": rows["ts"],
        }
    )
    latency = frame["latency"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.floor(np.log(latency) * serving_store.PER_UNIT)
    binned = np.where(latency <= 0, serving_store.FLOOR_BIN, logs)
    frame["bin"] = pd.Series(binned, index=frame.index).where(~np.isnan(latency)).astype("Int64")
    out = []
    for (day, version, bin_), group in frame.groupby(
        ["day", "model_version", "bin"], dropna=False, sort=False
    ):
        out.append(
            (
                day,
                version,
                None if pd.isna(bin_) else int(bin_),
                len(group),
                int(group["is_error"].sum()),
                None if pd.isna(bin_) else float(group["latency"].min()),
                None if pd.isna(bin_) else float(group["latency"].max()),
                group["ts"].min().to_pydatetime(),
                group["ts"].max().to_pydatetime(),
            )
        )
    return sorted(out, key=_order)


@pytest.fixture(scope="module")
def rows():
    return generated_rows()


def stored(project: Project) -> list[tuple]:
    found = project.query(
        f"select {', '.join(PROFILE_COLUMNS)} from serving_profile_bins where model = 'ranker'"
    )
    return sorted(found, key=_order)


def assert_same_profile(found: list[tuple], expected: list[tuple]) -> None:
    assert len(found) == len(expected)
    for a, b in zip(found, expected, strict=True):
        assert a[:5] == b[:5], (a, b)  # day, version, bin, requests, errors: exactly
        assert a[5:7] == b[5:7], (a, b)  # min and max are latencies as sent: exactly
        assert a[7:] == b[7:], (a, b)  # first and last request, to the microsecond


def test_duckdb_profiles_the_generated_rows_as_the_oracle_does(rows):
    assert_same_profile(duckdb_profile(rows), oracle(rows))


# --- PostgreSQL push-down ---------------------------------------------------------------------


def postgres_table(url: str, rows: pd.DataFrame) -> None:
    """The rows in PostgreSQL under the source's own names. A missing latency is NaN, except on
    every 97th row, where it is NULL (PostgreSQL keeps them apart; neither is a latency)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as con:
        con.exec_driver_sql("drop table if exists served")
        con.exec_driver_sql(
            "create table served (request_id text, event_time timestamptz, model_name text, "
            "version text, latency double precision, outcome text, amount double precision, "
            "loaded_at timestamptz)"
        )
        records = [
            {
                "request_id": row.request_id,
                "event_time": row.ts,
                "model_name": row.model,
                "version": row.model_version,
                "latency": None if i % 97 == 0 else float(row.latency_ms),
                "outcome": row.status,
                "amount": float(row.amount),
                "loaded_at": row.ts,
            }
            for i, row in enumerate(rows.itertuples(index=False))
        ]
        con.execute(
            sa.text(
                "insert into served values (:request_id, :event_time, :model_name, :version, "
                ":latency, :outcome, :amount, :loaded_at)"
            ),
            records,
        )
    engine.dispose()


PUSH_DOWN = """
[[sources]]
name = "served_pg"
kind = "sql"
feed = "inference"
url_env = "{env}"
table = "served"
profiles = true
columns = {{ ts = "event_time", model = "model_name", updated_at = "loaded_at", model_version = "version", latency_ms = "latency", status = "outcome" }}
features = ["amount"]

[[sources]]
name = "local_files"
kind = "files"
feed = "inference"
path = "exports/local.csv"
"""


LOCAL_CSV = """request_id,ts,model,model_version,latency_ms,status
l1,2026-05-05T10:00:00Z,local,v9,10,ok
l2,2026-05-05T11:00:00Z,local,v9,20,error
l3,2026-05-05T12:00:00Z,local,v9,30,ok
l4,2026-05-05T13:00:00Z,local,v9,1000,ok
"""


def pg_sync(project: Project, url: str):
    os.environ[ENV] = url
    try:
        report = project.sync()
    finally:
        del os.environ[ENV]
    assert report.ok, report.as_dict()
    return report


def pushed_down(postgres, rows: pd.DataFrame, root, name: str) -> Project:
    """A warehouse whose model `ranker` is profiled by PostgreSQL, beside a `local` model
    loaded from a CSV file."""
    url = postgres.create_database(name)
    postgres_table(url, rows)
    project = Project(root)
    project.file("exports/local.csv", LOCAL_CSV)
    project.configure(PUSH_DOWN.format(env=ENV))
    project.url = url
    pg_sync(project, url)
    return project


@pytest.fixture(scope="module")
def pg_project(postgres, rows, tmp_path_factory):
    return pushed_down(postgres, rows, tmp_path_factory.mktemp("serving_pg"), "serving")


@pytest.fixture(scope="module")
def files(rows, tmp_path_factory):
    return files_project(tmp_path_factory.mktemp("serving_files"), rows, name="served")


def test_postgresql_profiles_serving_as_the_oracle_does(pg_project, rows):
    assert pg_project.query("select count(*) from inference where model = 'ranker'") == [(0,)]
    assert_same_profile(stored(pg_project), oracle(rows))


def test_a_files_sync_stores_the_serving_profiles_postgresql_sends(pg_project, files):
    # DuckDB profiled the rows at sync; PostgreSQL where they live: the same table either way.
    assert files.query("select count(*) from inference") == [(6000,)]
    assert_same_profile(stored(files), stored(pg_project))


WINDOW = Filters(
    dt.datetime.combine(DAYS[0], dt.time(), UTC),
    dt.datetime.combine(DAYS[-1] + dt.timedelta(days=1), dt.time(), UTC),
)


def readings(project: Project, filters: Filters = WINDOW) -> dict[str, pd.DataFrame]:
    with warehouse.reading(project.warehouse) as con:
        db.prepare(con)
        return {
            "window": serving.window(con, filters),
            "daily": serving.daily(con, filters),
            "versions": serving.versions(con, filters),
        }


def assert_within_a_bin(profiled: pd.DataFrame, exact: pd.DataFrame) -> None:
    for column in serving.PERCENTILES:
        ours, theirs = profiled[column].to_numpy(float), exact[column].to_numpy(float)
        assert np.all(np.abs(ours - theirs) <= BIN_WIDTH * np.abs(theirs)), (column, ours, theirs)


def test_a_pushed_down_model_reads_like_its_rows_loaded_through_files(pg_project, files):
    remote, exact = readings(pg_project), readings(files)
    for name, keys in (("window", ["model"]), ("daily", ["model", "day"])):
        ours = remote[name][remote[name]["model"] == "ranker"].reset_index(drop=True)
        theirs = exact[name]
        assert ours[keys].astype(str).values.tolist() == theirs[keys].astype(str).values.tolist()
        assert ours[["requests", "errors"]].values.tolist() == (
            theirs[["requests", "errors"]].values.tolist()
        )
        assert ours["error_rate"].tolist() == pytest.approx(theirs["error_rate"].tolist())
        assert_within_a_bin(ours, theirs)
    ours = remote["versions"][remote["versions"]["model"] == "ranker"].reset_index(drop=True)
    theirs = exact["versions"]
    columns = ["model_version", "first_seen_at", "last_seen_at", "requests", "errors"]
    assert ours[columns].values.tolist() == theirs[columns].values.tolist()
    assert set(ours["model_version"]) == {"v1", "v2", "(none)"}
    assert_within_a_bin(ours, theirs)


def test_a_model_with_rows_keeps_its_exact_figures_beside_a_profiled_one(pg_project):
    window = readings(pg_project)["window"].set_index("model")
    assert window.index.tolist() == ["local", "ranker"]
    local = window.loc["local"]
    assert (local["requests"], local["errors"]) == (4, 1)
    # quantile_cont of 10, 20, 30, 1000: p95 = 30 + 0.85 * 970.
    assert local["latency_p95_ms"] == pytest.approx(854.5)
    with warehouse.reading(pg_project.warehouse) as con:
        db.prepare(con)
        named = serving.profiled_models(con, WINDOW)
    assert named.values.tolist() == [["ranker", "served_pg"]]


def test_profiles_take_the_days_a_window_overlaps_and_its_model_and_team(pg_project, rows):
    middle = Filters(
        dt.datetime.combine(DAYS[1], dt.time(12), UTC),
        dt.datetime.combine(DAYS[2], dt.time(), UTC),
    )
    window = readings(pg_project, middle)["window"].set_index("model")
    day = rows[[ts.date() == DAYS[1] for ts in rows["ts"]]]
    assert window.loc["ranker", "requests"] == len(day)  # the whole overlapped day
    only = Filters(WINDOW.since, WINDOW.until, model="local")
    assert readings(pg_project, only)["window"]["model"].tolist() == ["local"]
    # No deployment or incident names a team for either model: a team sees neither.
    team = Filters(WINDOW.since, WINDOW.until, team="growth")
    assert readings(pg_project, team)["window"].empty


def test_a_changed_day_replaces_its_serving_profile(postgres, rows, tmp_path):
    project = pushed_down(postgres, rows, tmp_path, "serving_resync")
    engine = sa.create_engine(project.url, poolclass=sa.pool.NullPool)
    with engine.begin() as con:
        con.exec_driver_sql(
            "update served set outcome = 'error', loaded_at = loaded_at + interval '1 day' "
            "where request_id in ('r0-1', 'r0-2')"
        )
    engine.dispose()
    changed = rows.copy()
    changed.loc[changed["request_id"].isin(["r0-1", "r0-2"]), "status"] = "error"
    report = pg_sync(project, project.url)
    assert report.profiled_days == 2  # the changed first day, and the newest day always
    assert_same_profile(stored(project), oracle(changed))


QUERY_PUSH_DOWN = (
    """
[[sources]]
name = "served_pg"
kind = "sql"
feed = "inference"
url_env = "{env}"
profiles = true
# The database's own SQL: a ::cast, a LIKE with %, a join; sent as written inside the queries.
query = """
    + '"""'
    + """
select s.*, s.latency::double precision as latency_copy
from served as s
inner join (select distinct model_name from served where request_id like 'r%') as m
    on m.model_name = s.model_name
"""
    + '"""'
    + """
columns = {{ ts = "event_time", model = "model_name", updated_at = "loaded_at", model_version = "version", latency_ms = "latency_copy", status = "outcome" }}
features = ["amount"]
"""
)


@pytest.mark.slow
def test_a_query_is_pushed_down_like_a_table(pg_project, postgres, tmp_path):
    project = Project(tmp_path)
    project.configure(QUERY_PUSH_DOWN.format(env=ENV))
    pg_sync(project, pg_project.url)
    assert stored(project) == stored(pg_project)
    drift_bins = (
        "select feature, day, bin, n, minimum, maximum from drift_profile_bins order by all"
    )
    assert project.query(drift_bins) == pg_project.query(drift_bins)
    assert project.query("select feature, data_type from inference_features") == [
        ("amount", "DOUBLE")  # typed from the query's values
    ]


def test_a_missing_timestamp_column_is_named(pg_project, tmp_path):
    project = Project(tmp_path)
    project.configure(PUSH_DOWN.format(env=ENV).replace('ts = "event_time"', 'ts = "event_at"'))
    os.environ[ENV] = pg_project.url
    try:
        report = project.sync(only=["served_pg"])
    finally:
        del os.environ[ENV]
    (failure,) = [s for s in report.sources if s.error]
    assert failure.error.startswith("source 'served_pg': column 'event_at' (ts) is not in served")


# --- Spark ----------------------------------------------------------------------------------


SPARK_SOURCE = """
[[sources]]
name = "served_spark"
kind = "spark"
feed = "inference"
path = "lake/served.parquet"
format = "parquet"
columns = { model = "model" }
features = ["amount"]
"""


def test_spark_profiles_serving_as_the_oracle_does(spark, rows, tmp_path):
    project = Project(tmp_path)
    lake = project.root / "lake" / "served.parquet"
    lake.parent.mkdir(parents=True)
    rows.to_parquet(lake, index=False, coerce_timestamps="us")
    project.configure(SPARK_SOURCE)
    # The user's session is not in UTC: the profiles still take UTC days, and the session gets
    # its own time zone back.
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        report = project.sync()
        assert spark.conf.get("spark.sql.session.timeZone") == "America/New_York"
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert report.ok, report.as_dict()
    assert_same_profile(stored(project), oracle(rows))


def test_remote_source_reads_missing_serving_columns_as_null():
    source = remote_profiles.RemoteSource(relation='"t"', model="m", serving=("latency_ms",))
    text = source.rows()
    assert 'cast("latency_ms" as double) as "latency_ms"' in text
    assert 'cast(null as varchar) as "status"' in text
    assert 'cast(null as varchar) as "model_version"' in text


# --- the page -------------------------------------------------------------------------------


@pytest.mark.slow
def test_model_overview_shows_a_pushed_down_models_serving(postgres, rows, tmp_path, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    today = settings.now().date()
    recent = rows.copy()
    recent["ts"] = recent["ts"] + (dt.datetime.combine(today, dt.time(), UTC) - WINDOW.until)
    project = pushed_down(postgres, recent, tmp_path, "serving_app")
    monkeypatch.setenv("TANDEM_CONFIG", str(project.config_path))
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(window="7d", model="ranker")
    at.run()
    at.switch_page("pages/model_overview.py").run()
    st.cache_data.clear()
    assert not at.exception and not at.error
    metrics = {m.label: m for m in at.metric}
    assert metrics["Requests"].value == f"{len(rows):,}"
    errors = int((rows["status"] == "error").sum())
    assert metrics["Errors"].value == f"{errors:,}"
    latency = rows["latency_ms"].to_numpy(float)
    exact = np.percentile(latency[np.isfinite(latency)], 95)
    shown = float(metrics["Latency p95"].value.removesuffix(" ms"))
    assert abs(shown - exact) <= BIN_WIDTH * exact + 0.5  # shown rounded to the ms
    assert any("Profiled where the data lives (served_pg)" in c.value for c in at.caption)
