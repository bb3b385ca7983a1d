"""Profiles where the data lives: DuckDB and Spark local on the same rows, and what drift gains.

5 million inference rows over 10 days (2 float, 1 integer, 1 text and 1 boolean feature plus
prediction and score; the last 3 days drifted; two model versions, latencies and errors), in
one Parquet file. In the same run:

1. DuckDB computes the per-(model, day) drift and serving profiles from the file with the
   portable queries;
2. Spark local does the same (the transpiled queries), once reading the file for every query
   and once with each model's days cached (the `spark` source's code path), with the ratio;
   all land in warehouse tables and must agree (counts exactly, floats within 1e-9);
3. the dashboard's drift query (metrics.drift.model_drift on the profile tables) against the
   same drift on the raw rows (metrics.drift.compare_frames on the two raw frames), and the
   ratio of the two times;
4. serving health from the serving profiles (metrics.serving) against the exact percentiles
   of the raw latencies (numpy), with the worst relative gap.

Needs requirements-spark.txt (PySpark, Java 17); without PySpark, step 2 is skipped.

    .venv/bin/python bench/profiles.py [--rows 5000000] [--master local[*]]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import warehouse  # noqa: E402
from metrics import drift, serving  # noqa: E402
from profiling import portable  # noqa: E402
from profiling import remote as remote_profiles  # noqa: E402
from profiling.queries import ProfiledColumn  # noqa: E402

DAYS = 10
START = dt.date(2026, 3, 1)
FEATURES = [
    ProfiledColumn("amount", "DOUBLE"),
    ProfiledColumn("ratio", "DOUBLE"),
    ProfiledColumn("visits", "BIGINT"),
    ProfiledColumn("country", "VARCHAR"),
    ProfiledColumn("is_new", "BOOLEAN"),
]


def generate(rows: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    day = np.sort(rng.integers(0, DAYS, rows))
    drifted = day >= DAYS - 3
    seconds = rng.integers(0, 86_400, rows)
    ts = pd.Timestamp(START, tz="UTC") + pd.to_timedelta(day * 86_400 + seconds, unit="s")
    amount = rng.normal(50 + 10 * drifted, 10, rows)
    amount[rng.random(rows) < 0.02] = np.nan
    countries = np.array(["fr", "de", "it", "es", "us"])
    weights = np.where(drifted[:, None], [0.1, 0.1, 0.1, 0.1, 0.6], [0.25, 0.25, 0.2, 0.2, 0.1])
    pick = (rng.random(rows)[:, None] > np.cumsum(weights, axis=1)).sum(axis=1)
    latency = rng.lognormal(3.5 + 0.4 * drifted, 0.5, rows)
    latency[rng.random(rows) < 0.01] = np.nan
    return pd.DataFrame(
        {
            "ts": ts,
            "model": "scorer",
            "model_version": np.where(day >= DAYS - 3, "v2", "v1"),
            "latency_ms": latency,
            "status": np.where(rng.random(rows) < 0.02, "error", "ok"),
            "prediction": rng.random(rows),
            "score": rng.beta(2, 5 + drifted, rows),
            "amount": amount,
            "ratio": rng.random(rows),
            "visits": rng.poisson(12, rows),
            "country": pd.Categorical(countries[np.minimum(pick, 4)]),
            "is_new": rng.random(rows) < 0.3,
        }
    )


def empty_warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("set TimeZone = 'UTC'")
    warehouse.ensure_schema(con)
    return con


def source(relation: str) -> remote_profiles.RemoteSource:
    return remote_profiles.RemoteSource(
        relation=relation,
        features=FEATURES,
        model=None,
        outputs=("prediction", "score"),
        serving=("model_version", "latency_ms", "status"),
    )


def profile_duckdb(parquet: Path) -> tuple[float, duckdb.DuckDBPyConnection]:
    con = empty_warehouse()
    engine = duckdb.connect(":memory:")
    engine.execute("set TimeZone = 'UTC'")
    engine.execute(
        f"create view requests as select * from read_parquet({portable.string(str(parquet))})"
    )
    started = time.perf_counter()
    days, _ = remote_profiles.sync_profiles(
        con, lambda text: engine.execute(text).df(), "duckdb", source('"requests"'), "bench", {}
    )
    elapsed = time.perf_counter() - started
    assert days == DAYS, days
    return elapsed, con


def profile_spark(
    parquet: Path, master: str, cache: bool
) -> tuple[float, float, duckdb.DuckDBPyConnection]:
    from pyspark.sql import SparkSession

    from connectors import spark as spark_source

    started = time.perf_counter()
    spark = (
        SparkSession.builder.master(master)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - started
    spark.read.parquet(str(parquet)).createOrReplaceTempView("requests")

    def query(text: str) -> pd.DataFrame:
        result = spark.sql(text)
        return pd.DataFrame([tuple(r) for r in result.collect()], columns=result.columns)

    con = empty_warehouse()
    materialize = spark_source.cached(spark) if cache else None
    started = time.perf_counter()
    days, _ = remote_profiles.sync_profiles(
        con, query, "spark", source('"requests"'), "bench", {}, materialize
    )
    elapsed = time.perf_counter() - started
    spark.stop()
    assert days == DAYS, days
    return startup, elapsed, con


def compare(a: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection) -> str:
    bins = "select feature, day, bin, n, minimum, maximum, mean, m2 from drift_profile_bins"
    values = "select feature, day, value, n, capped from drift_profile_values"
    left, right = a.execute(bins + " order by all").fetchall(), b.execute(bins + " order by all")
    right = right.fetchall()
    worst, where = 0.0, None
    if len(left) != len(right):
        return f"DIFFER: {len(left)} bin rows against {len(right)}"
    for x, y in zip(left, right, strict=True):
        if x[:4] != y[:4]:
            return f"DIFFER: {x[:4]} against {y[:4]}"
        for p, q in zip(x[4:], y[4:], strict=True):
            if p is not None and q is not None and p != q:
                gap = abs(p - q) / max(abs(p), abs(q))
                if gap > worst:
                    worst, where = gap, (x, y)
    same_values = (
        a.execute(values + " order by all").fetchall()
        == b.execute(values + " order by all").fetchall()
    )
    values_word = "equal" if same_values else "DIFFER"
    serving_rows = "select * from serving_profile_bins order by all"
    same_serving = a.execute(serving_rows).fetchall() == b.execute(serving_rows).fetchall()
    values_word += ", serving profiles " + ("equal" if same_serving else "DIFFER")
    found = f"counts equal, value counts {values_word}, worst float gap {worst:.1e} relative"
    return found + (f"\n    DuckDB {where[0]}\n    Spark  {where[1]}" if where else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--master", default="local[*]")
    args = parser.parse_args()
    frame = generate(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        parquet = Path(folder) / "requests.parquet"
        frame.to_parquet(parquet, index=False, coerce_timestamps="us")
        print(f"{args.rows:,} rows over {DAYS} days, {len(FEATURES)} features + 2 outputs")
        duck_s, duck = profile_duckdb(parquet)
        print(f"profiles by DuckDB:        {duck_s:7.2f} s")
        try:
            import pyspark  # noqa: F401

            have_spark = True
        except ImportError:
            have_spark = False
            print("profiles by Spark:         skipped (pip install -r requirements-spark.txt)")
        if have_spark:
            startup, plain_s, _ = profile_spark(parquet, args.master, cache=False)
            print(f"profiles by Spark {args.master}: {plain_s:7.2f} s (reading the file per query)")
            startup, spark_s, spark = profile_spark(parquet, args.master, cache=True)
            print(
                f"profiles by Spark {args.master}: {spark_s:7.2f} s (each model's days cached; "
                f"+ {startup:.1f} s startup)"
            )
            print(f"Spark uncached / cached:   {plain_s / spark_s:7.1f}x")
            print(f"DuckDB against Spark:      {compare(duck, spark)}")

    current = drift.Window(START + dt.timedelta(days=DAYS - 3), START + dt.timedelta(days=DAYS))
    reference = drift.Window(START, START + dt.timedelta(days=DAYS - 3))
    started = time.perf_counter()
    from_profiles = drift.model_drift(
        duck, "scorer", current, drift.Reference("fixed", reference), exact=False
    )
    profile_s = time.perf_counter() - started
    day = frame["ts"].dt.date
    columns = [c.name for c in FEATURES] + ["prediction", "score"]
    ref_rows = frame.loc[day < current.since, columns]
    cur_rows = frame.loc[day >= current.since, columns]
    started = time.perf_counter()
    from_raw = drift.compare_frames(ref_rows, cur_rows)
    raw_s = time.perf_counter() - started
    agree = all(from_profiles.column(c).drifted == from_raw.column(c).drifted for c in columns)
    print(f"drift from the profiles:   {profile_s:7.3f} s (metrics.drift.model_drift)")
    print(f"drift from the raw rows:   {raw_s:7.3f} s (metrics.drift.compare_frames)")
    ratio = raw_s / profile_s if profile_s else math.inf
    print(f"ratio raw / profiles:      {ratio:7.1f}x; verdicts agree: {agree}")

    started = time.perf_counter()
    bins = duck.execute("select * from serving_profile_bins").df()
    profiled = serving.from_profiles(bins, ["model", "day"])
    profile_s = time.perf_counter() - started
    profiled.index = [pd.Timestamp(value).date() for value in profiled["day"]]
    worst = 0.0
    for when, rows in frame.groupby(day):
        latency = rows["latency_ms"].to_numpy(float)
        latency = latency[np.isfinite(latency)]
        assert profiled.loc[when, "requests"] == len(rows), when
        for column, q in serving.PERCENTILES.items():
            exact = float(np.quantile(latency, q))
            worst = max(worst, abs(float(profiled.loc[when, column]) - exact) / exact)
    print(
        f"serving per day from profiles: {profile_s:.3f} s; requests exact; worst percentile "
        f"gap {worst:.2%} against numpy on the raw latencies (bound: a bin, "
        f"{serving.PERCENTILE_ERROR:.2%})"
    )


if __name__ == "__main__":
    main()
