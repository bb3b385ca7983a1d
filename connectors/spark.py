"""Spark: inference logs in a lake, profiled by Spark itself; only the profiles reach Tandem.

    [[sources]]
    name = "lake_requests"
    kind = "spark"
    feed = "inference"                 # the only feed: profiles of inference rows
    table = "ml.requests"              # a table the session knows; or:
    # path = "s3a://bucket/requests/"  with format = "parquet" | "delta" | "iceberg" | ...
    model = "fraud"                    # one model; or columns.model = "model_name"
    columns = { ts = "event_time", prediction = "pred", updated_at = "ingested_at" }
    features = ["amount", "country", "is_new_user"]   # types from the Spark schema
    # master = "local[*]"                             (default; or "yarn", "spark://...")
    # spark_conf = { "spark.executor.memory" = "4g" } (anything the user's Spark needs)

Raw rows never leave Spark: the portable profile queries (sql/drift_profile_*.sql) are
transpiled to Spark SQL (profiling/portable.py) and run per (model, day); their small results land
in the warehouse's profile tables, read by the drift pages like any other. A re-sync asks Spark
for each day's signature (rows, newest `updated_at`, default `ts`) and profiles only the days
that are new or changed, and the newest day always (profiling/remote.py).

PySpark is an optional extra (requirements-spark.txt; it needs Java 17): without it, a sync of
this source fails with a sentence saying how to install it, and the other sources still land.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd

from connectors.base import Connector
from connectors.loader import Batch, SourceError
from connectors.secrets import SECRET_KEY, Scrubber, safe_url
from profiling import portable, queries
from profiling import remote as remote_profiles
from profiling.queries import ProfiledColumn

DIALECT = "spark"
VIEW = "tandem_spark_source"
# One model's days being profiled, cached while its queries run.
SCOPE = "tandem_spark_days"
TIME_ZONE = "spark.sql.session.timeZone"
FORMATS = ("parquet", "delta", "iceberg", "orc", "csv", "json", "avro")
CONTRACT = ("ts", "model", "model_version", "latency_ms", "status", "prediction", "score")


def spark_type(data_type: Any) -> str | None:
    """The warehouse type a Spark column takes as a feature (None: not drift-tested)."""
    name = data_type.typeName()
    if name in ("double", "float"):
        return "DOUBLE"
    if name in ("long", "integer", "short", "byte"):
        return "BIGINT"
    if name == "decimal":
        return "BIGINT" if data_type.scale == 0 else "DOUBLE"
    if name == "boolean":
        return "BOOLEAN"
    if name in ("timestamp", "timestamp_ntz", "date"):
        return None
    return "VARCHAR"


class SparkConnector(Connector):
    """A Spark table or path of inference rows, profiled per (model, day) by Spark."""

    kind = "spark"
    produces = ("inference",)

    def _fail(self, message: str) -> SourceError:
        return SourceError(f"source {self.source.name!r}: {message}")

    def validate(self) -> None:
        super().validate()
        option = self.source.option
        table, path = option("table"), option("path")
        if (table is None) == (path is None):
            raise self._fail(
                "kind 'spark' needs a `table` or a `path` (with `format`), one of them"
            )
        if path is not None and option("format") not in FORMATS:
            raise self._fail(f"`format` must be one of {', '.join(FORMATS)} with a `path`")
        model = option("model")
        if model is None and "model" not in self.source.columns:
            raise self._fail("kind 'spark' needs `model` (a name) or `columns.model` (a column)")
        if model is not None and (not isinstance(model, str) or not model):
            raise self._fail("`model` must be a non-empty string")
        features = option("features")
        if (
            not isinstance(features, list)
            or not features
            or not all(isinstance(f, str) and f for f in features)
        ):
            raise self._fail("kind 'spark' needs `features`: a list of column names")
        conf = option("spark_conf", {})
        if not isinstance(conf, dict):
            raise self._fail("`spark_conf` must be a table of Spark settings")

    # -- no rows: profiles only -----------------------------------------------------------------

    def extract(self) -> Iterator[Any]:
        return iter(())

    def normalize(self, raw: Any) -> Batch:  # pragma: no cover - extract yields nothing
        raise NotImplementedError

    # -- Spark ------------------------------------------------------------------------------------

    def _session(self) -> tuple[Any, bool]:
        """The active SparkSession (a test's, a notebook's) or a new one; and whether it is new."""
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise self._fail(
                "kind 'spark' needs PySpark: pip install -r requirements-spark.txt (and Java 17)"
            ) from None
        active = SparkSession.getActiveSession()
        if active is not None:
            return active, False
        builder = SparkSession.builder.master(str(self.source.option("master", "local[*]")))
        builder = builder.appName("tandem").config("spark.ui.enabled", "false")
        for key, value in dict(self.source.option("spark_conf", {})).items():
            builder = builder.config(str(key), str(value))
        return builder.getOrCreate(), True

    def _frame(self, spark: Any) -> Any:
        option = self.source.option
        if option("table") is not None:
            return spark.table(str(option("table")))
        raw = str(option("path"))
        # A URL (s3a://, abfss://, hdfs://, file://) goes to Spark as written; a plain path is
        # read relative to the config file's folder.
        where = raw if _URL.match(raw) else str(self.source.path_option("path"))
        return spark.read.format(str(option("format"))).load(where)

    def remote_source(self, schema: Any) -> remote_profiles.RemoteSource:
        """The source's rows as the profile queries read them, features typed from `schema`."""
        types = {field.name: field.dataType for field in schema.fields}
        columns = dict(self.source.columns)
        for contract_name in ("ts", *(["model"] if self.source.option("model") is None else [])):
            name = columns.get(contract_name, contract_name)
            if name not in types:
                raise self._fail(f"column {name!r} ({contract_name}) is not in the Spark schema")
        features = []
        for name in self.source.option("features"):
            source_name = columns.get(name, name)
            if source_name not in types:
                raise self._fail(
                    f"feature {source_name!r} is not in the Spark schema "
                    f"(columns: {', '.join(sorted(types))})"
                )
            data_type = spark_type(types[source_name])
            if data_type is not None:
                features.append(ProfiledColumn(name, data_type))
        return remote_profiles.RemoteSource(
            relation=portable.identifier(VIEW),
            columns=columns,
            features=features,
            model=self.source.option("model"),
            outputs=tuple(o for o in queries.OUTPUTS if columns.get(o, o) in types),
            serving=tuple(s for s in remote_profiles.SERVING if columns.get(s, s) in types),
        )

    def write_profiles(self, con: Any) -> int:
        spark, created = self._session()
        zone = spark.conf.get(TIME_ZONE, None)
        try:
            spark.conf.set(TIME_ZONE, "UTC")
            return self._profile(con, spark)
        except Exception as error:
            if not _from_spark(error):
                raise
            raise self._fail(f"Spark could not profile the rows: {self._scrub(error)}") from None
        finally:
            for view in (VIEW, SCOPE):
                spark.catalog.dropTempView(view)
            if created:
                spark.stop()
            elif zone is None:
                spark.conf.unset(TIME_ZONE)
            else:
                spark.conf.set(TIME_ZONE, zone)  # a user's own session keeps its time zone

    def _profile(self, con: Any, spark: Any) -> int:
        frame = self._frame(spark)
        source = self.remote_source(frame.schema)
        frame.createOrReplaceTempView(VIEW)

        def query(text: str) -> pd.DataFrame:
            result = spark.sql(text)
            rows = result.collect()
            return pd.DataFrame([tuple(row) for row in rows], columns=result.columns)

        done, self.state = remote_profiles.sync_profiles(
            con, query, DIALECT, source, self.source.name, self.state, cached(spark)
        )
        return done

    def _scrub(self, error: BaseException) -> str:
        """Spark's message, first line only (no JVM stack), with a path's credentials, the
        values of secret-looking Spark settings (keys, tokens, passwords) and of any variable
        the config names replaced by *** (connectors/secrets.py)."""
        java = getattr(error, "java_exception", None)  # py4j: the JVM's own message
        lines = str(java.toString() if java is not None else error).strip().splitlines()
        text = lines[0] if lines else type(error).__name__
        path = self.source.option("path")
        if isinstance(path, str):
            text = text.replace(path, safe_url(path))  # the path shown, its password masked
        conf = dict(self.source.option("spark_conf", {}))
        secret = [str(v) for k, v in conf.items() if SECRET_KEY.search(str(k)) and str(v)]
        return Scrubber.for_source(self.source, extra=secret)(text)


def cached(spark: Any) -> remote_profiles.Materialize:
    """One model's days held in Spark's cache while they are profiled: every column's branch of
    a profile query, and every query, reads them from memory instead of scanning the source
    again (bench/profiles.py measures the gain)."""

    @contextlib.contextmanager
    def materialize(relation: str) -> Iterator[str]:
        days = spark.sql(portable.render("select * from {relation}", DIALECT, relation))
        days = days.persist()
        days.createOrReplaceTempView(SCOPE)
        try:
            yield portable.identifier(SCOPE)
        finally:
            spark.catalog.dropTempView(SCOPE)
            days.unpersist()

    return materialize


# A path with a scheme: a URL for Spark's file systems.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _from_spark(error: BaseException) -> bool:
    """Whether an error is Spark's or the JVM's (a missing path, a bad table, a failed job)."""
    module = type(error).__module__
    return module.startswith(("pyspark", "py4j"))
