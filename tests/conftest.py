"""Shared test fixtures: temporary warehouses, configs written as TOML, the demo warehouse."""

from __future__ import annotations

import os
from pathlib import Path

import hypothesis
import pytest

import settings
from tests.helpers.project import DEMO_END, PINNED_NOW, Project

# Property tests explore new examples on a developer's machine; in CI ($CI set) they replay the
# same derandomised examples, so a red CI always means a change, never a new random draw.
hypothesis.settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")

# Fixtures every test module may take as arguments, without importing them; the `slow` marker.
pytest_plugins = ["tests.plugins.postgres", "tests.plugins.slow", "tests.plugins.oidc"]


@pytest.fixture(scope="session", autouse=True)
def pinned_clock():
    """Pin settings.now() for the whole session; a test may pin another instant itself."""
    previous = os.environ.get(settings.NOW_ENV)
    os.environ[settings.NOW_ENV] = PINNED_NOW
    yield
    if previous is None:
        os.environ.pop(settings.NOW_ENV, None)
    else:
        os.environ[settings.NOW_ENV] = previous


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A warehouse synced from the demo source (ending DEMO_END) once per test process (two
    under xdist), shared by the slow tests."""
    project = Project(tmp_path_factory.mktemp("demo"))
    project.configure(
        f"""
        [[sources]]
        name = "demo"
        kind = "demo"
        end = "{DEMO_END.isoformat()}"
        """
    )
    report = project.sync()
    assert report.ok, report.as_dict()
    return project


@pytest.fixture
def demo_env(demo_project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The demo warehouse, named by $TANDEM_CONFIG as the app and CLIs find it."""
    monkeypatch.setenv("TANDEM_CONFIG", str(demo_project.config_path))
    return demo_project


# --- Spark (an optional extra: skipped without PySpark, unless CI requires it) ------------

SPARK_REQUIRE_ENV = "TANDEM_REQUIRE_SPARK"


def _pyspark():
    if os.environ.get(SPARK_REQUIRE_ENV) == "1":
        import pyspark  # noqa: F401  (fails loudly: CI must have it)

        return
    pytest.importorskip("pyspark")


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for the whole test session: small, quiet, UTC."""
    _pyspark()
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("tandem-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
