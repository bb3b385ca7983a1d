"""The `spark` source kind against a real local Spark (PySpark, optional extra).

The same generated rows as tests/test_profiles_remote.py, in a Parquet file read by Spark: the
profiles Spark computes must equal the ones DuckDB computes at sync from the same rows (counts
exactly, floats within 1e-9 relative), and drift must read them to the same verdicts.

Skipped without PySpark, unless TANDEM_REQUIRE_SPARK=1 (CI with requirements-spark.txt).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import warehouse
from connectors.loader import SourceError
from metrics import drift
from tests.helpers.profiles import (
    DAYS,
    assert_interchangeable,
    far_from_zero,
    files_project,
    generated_rows,
    m2_errors,
    stored,
)
from tests.helpers.project import Project

SOURCE = """
[[sources]]
name = "requests_spark"
kind = "spark"
feed = "inference"
path = "lake/requests.parquet"
format = "parquet"
columns = {{ model = "model", updated_at = "ts" }}
features = ["amount", "ratio", "visits", "country", "is_new"]
{extra}
"""


@pytest.fixture(scope="module")
def rows():
    return generated_rows()


@pytest.fixture(scope="module")
def duckdb_profiles(rows, tmp_path_factory):
    return files_project(tmp_path_factory.mktemp("files"), rows)


@pytest.fixture(scope="module")
def spark_project(rows, spark, tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("spark"))
    lake = project.root / "lake" / "requests.parquet"
    lake.parent.mkdir(parents=True)
    rows.to_parquet(lake, index=False, coerce_timestamps="us")  # Spark reads no nanos
    project.configure(SOURCE.format(extra=""))
    report = project.sync()
    assert report.ok, report.as_dict()
    assert report.profiled_days == 3
    return project


def test_spark_profiles_equal_duckdbs_from_the_same_rows(duckdb_profiles, spark_project):
    assert spark_project.query("select count(*) from inference") == [(0,)]
    ours, theirs = stored(duckdb_profiles), stored(spark_project)
    assert theirs["days"] == [("scorer", day, 1500) for day in DAYS]
    assert_interchangeable(ours, theirs)
    assert spark_project.query("select distinct source from drift_profile_days") == [
        ("requests_spark",)
    ]


def test_drift_on_spark_profiles_gives_the_files_verdicts(duckdb_profiles, spark_project):
    current = drift.Window(DAYS[2], DAYS[2] + dt.timedelta(days=1))
    reference = drift.Reference("fixed", drift.Window(DAYS[0], DAYS[2]))
    verdicts = []
    for where in (duckdb_profiles, spark_project):
        with warehouse.reading(where.warehouse) as con:
            result = drift.model_drift(con, "scorer", current, reference, exact=False)
        verdicts.append(
            ({c.column: (c.method, c.drifted) for c in result.columns}, result.dataset_drift)
        )
    assert verdicts[0] == verdicts[1]
    assert verdicts[1][0]["amount"] == ("wasserstein", True)
    assert verdicts[1][0]["visits"] == ("wasserstein", False)


def test_a_resync_profiles_only_the_newest_day(spark_project):
    again = spark_project.sync()
    assert again.ok and again.profiled_days == 1


def test_a_missing_feature_fails_the_source_with_a_sentence(spark, tmp_path, rows):
    project = Project(tmp_path)
    lake = project.root / "lake" / "requests.parquet"
    lake.parent.mkdir(parents=True)
    rows.head(10).to_parquet(lake, index=False, coerce_timestamps="us")
    project.configure(SOURCE.format(extra="").replace('"is_new"]', '"is_new", "nope"]'))
    report = project.sync()
    assert not report.ok
    assert "feature 'nope' is not in the Spark schema" in report.sources[0].error


def test_the_config_is_checked_before_any_spark_work():
    import settings
    from connectors.spark import SparkConnector

    def source(**options):
        return settings.SourceConfig("s", "spark", "inference", options=options)

    with pytest.raises(SourceError, match="a `table` or a `path`"):
        SparkConnector(source(model="m", features=["a"]))
    with pytest.raises(SourceError, match="`features`"):
        SparkConnector(source(table="t", model="m"))
    with pytest.raises(SourceError, match="`model`"):
        SparkConnector(source(table="t", features=["a"]))


def test_a_spark_failure_is_one_line_naming_the_source_without_credentials(spark, tmp_path):
    project = Project(tmp_path)
    # A URL goes to Spark as written (not read as a local path), and its password never shows.
    project.configure(
        SOURCE.replace(
            'path = "lake/requests.parquet"', 'path = "file://alice:s3cret@localhost/tmp/nope"'
        ).format(extra="")
    )
    report = project.sync()
    assert not report.ok
    (failure,) = [s for s in report.sources if s.error]
    assert failure.error.startswith("source 'requests_spark': Spark could not profile the rows")
    assert "file://alice:***@localhost/tmp/nope" in failure.error
    assert "s3cret" not in failure.error and "\n" not in failure.error
    # The session the user handed in is still usable, its temporary views gone.
    assert spark.catalog.listTables() == []


def test_spark_m2_keeps_its_digits_on_values_far_from_zero(spark):
    from profiling import queries

    frame = far_from_zero()
    spark.createDataFrame(frame).createOrReplaceTempView("far")

    def query(spec):
        text = queries.numeric_sql(
            [queries.ProfiledColumn("x", "DOUBLE")], {"x": spec}, '"far"', queries.DAY, "spark"
        )
        result = spark.sql(text)
        return pd.DataFrame([tuple(r) for r in result.collect()], columns=result.columns)

    try:
        assert m2_errors(frame, query) < 1e-9
    finally:
        spark.catalog.dropTempView("far")
