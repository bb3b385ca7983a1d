"""Shared test fixtures: temporary warehouses, configs written as TOML, the demo warehouse."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import hypothesis
import pytest

import settings
from connectors import sync

ROOT = Path(__file__).resolve().parents[1]

# Property tests explore new examples on a developer's machine; in CI ($CI set) they replay the
# same derandomised examples, so a red CI always means a change, never a new random draw.
hypothesis.settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")

# Fixtures every test module may take as arguments, without importing them; the `slow` marker.
pytest_plugins = ["tests.plugins.postgres", "tests.plugins.slow"]

# The demo year's last day, and the instant every test reads as "now" (settings.now(), through
# $TANDEM_NOW, which subprocesses inherit): the suite reads the same whatever the real date is.
# A Thursday whose last 7 days hold all four DORA figures, recovery time included.
DEMO_END = dt.date(2026, 11, 19)
PINNED_NOW = "2026-11-19T23:00:00+00:00"


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


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


class Project:
    """A folder with a sources.toml and its warehouse, as a user would have."""

    def __init__(self, root: Path):
        self.root = root
        self.config_path = root / "sources.toml"
        self.warehouse = root / "data" / "tandem.duckdb"

    def configure(self, sources_toml: str) -> settings.Config:
        write(
            self.config_path,
            '[warehouse]\npath = "data/tandem.duckdb"\n\n' + textwrap.dedent(sources_toml),
        )
        return settings.load(self.config_path)

    def file(self, name: str, text: str) -> Path:
        return write(self.root / name, text)

    def sync(self, only: list[str] | None = None) -> sync.SyncReport:
        return sync.run(settings.load(self.config_path), only)

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            con.execute("set TimeZone = 'UTC'")
            return con.execute(sql, params or {}).fetchall()
        finally:
            con.close()


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A warehouse synced once from the demo source (ending DEMO_END), shared by the slow tests."""
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


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def python_process(code: str, *args: str) -> subprocess.Popen:
    """`python -c code args...` in the repo, with pipes for stdin, stdout and stderr (text)."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=subprocess_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


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
