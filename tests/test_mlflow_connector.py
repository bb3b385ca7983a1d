"""The MLflow connector against a real local MLflow store (sqlite), through the real client.

MLflow is an optional extra (requirements-mlflow.txt): without it these tests skip, unless
TANDEM_REQUIRE_MLFLOW=1 says it must be there. What a user without the extra sees is checked
always, in a subprocess that hides the package.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import socket
import threading
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

import settings
from connectors import registry
from connectors.feeds import column_names
from connectors.loader import SourceError
from connectors.mlflow_registry import Deployed, MlflowConnector, ModelSighting
from settings import SourceConfig
from tests.helpers.contracts.mlflow import Store, mlflow_or_skip
from tests.helpers.project import Project, python_process
from tests.replay import Answer, ReplayServer

URI_ENV = "TANDEM_TEST_MLFLOW_URI"


@pytest.fixture
def needs_mlflow():
    mlflow_or_skip()


needs_mlflow_client = pytest.mark.usefixtures("needs_mlflow")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """An empty store, created once: MLflow's migrations take seconds, a copy takes none."""
    mlflow_or_skip()
    path = tmp_path_factory.mktemp("mlflow") / "empty.db"
    uri = f"sqlite:///{path}"
    mlflow_or_skip().MlflowClient(uri, uri).search_registered_models()
    return path


@pytest.fixture
def store(tmp_path, template, monkeypatch) -> Store:
    made = Store(tmp_path / "mlflow.db", template)
    monkeypatch.setenv(URI_ENV, made.uri)
    return made


@pytest.fixture
def statements():
    """Every SQL statement the MLflow client sends to its store, with its bound values."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    seen: list[tuple[str, tuple]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        values = parameters if isinstance(parameters, tuple | list) else ()
        if isinstance(parameters, dict):
            values = tuple(parameters.values())
        seen.append((statement, tuple(values)))

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


def _run_lookups(seen: list[tuple[str, tuple]], store: Store) -> set[str]:
    """The runs whose rows the client read (a run id bound in a query on the runs table)."""
    run_ids = set(store.runs.values())
    return {
        value
        for statement, values in seen
        if re.search(r"\bFROM runs\b", statement)
        for value in values
        if value in run_ids
    }


def _source(extra: str = "") -> str:
    return f'[[sources]]\nname = "models"\nkind = "mlflow"\ntracking_uri_env = "{URI_ENV}"\n{extra}'


def _deployments(project: Project) -> list[tuple]:
    return project.query(
        "select deployment_id, model, version, environment, team, finished_at, status, "
        "commit_sha from deployments order by deployment_id"
    )


def _stats(report) -> dict:
    rows = report.as_dict()["sources"]
    return {
        row["feed"]: (row["read"], row["loaded"], row["duplicates"], row["quarantined"])
        for row in rows
    }


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_tags_and_alias_moves_become_deployments_incrementally(project, store, statements):
    fraud_1 = store.version("fraud", commit="aaa111")
    fraud_2 = store.version("fraud", commit="bbb222")
    store.client.set_registered_model_tag("fraud", "team", "risk")
    store.client.set_registered_model_alias("fraud", "production", fraud_1)
    store.version(
        "churn", commit="ccc333", deployed_at="2026-11-20T10:30:00+01:00", version="2.4.0"
    )
    store.version("churn", commit="ddd444", deployed_at="last tuesday")
    project.configure(_source('team = { churn = "growth" }\n'))

    first = project.sync()
    assert first.ok, first.as_dict()
    # churn 1 by its tag; churn 2's tag is not a time; fraud's alias: where it points is only
    # recorded, since when it has pointed there the registry does not know.
    assert _stats(first) == {"deployments": (2, 1, 0, 1)}
    assert _deployments(project) == [
        (
            "mlflow:churn:1:production",
            "churn",
            "2.4.0",
            "production",
            "growth",
            _utc(2026, 11, 20, 9, 30),
            "success",
            "ccc333",
        )
    ]
    quarantined = project.query("select feed, origin, raw, reason from quarantine")
    assert len(quarantined) == 1
    feed, origin, raw, reason = quarantined[0]
    assert (feed, origin) == ("deployments", "models:/churn#deployed_at")
    assert "mlflow:churn:2:production" in raw and "last tuesday" in raw
    assert reason == "finished_at: unparsable timestamp 'last tuesday'"
    assert _run_lookups(statements, store) == {
        store.runs[("churn", "1")],
        store.runs[("churn", "2")],
    }

    # Nothing changed: nothing is read, nothing loaded, no run asked for; the quarantine stays.
    statements.clear()
    second = project.sync()
    assert second.ok and _stats(second) == {}
    assert _run_lookups(statements, store) == set()
    assert len(_deployments(project)) == 1
    assert project.query("select count(*) from quarantine") == [(1,)]

    # The alias moves to version 2: exactly one new deployment, finished by this sync.
    store.client.set_registered_model_alias("fraud", "production", fraud_2)
    statements.clear()
    before = settings.now()
    third = project.sync()
    after = settings.now()
    assert third.ok and _stats(third) == {"deployments": (1, 1, 0, 0)}
    assert _run_lookups(statements, store) == {store.runs[("fraud", fraud_2)]}
    rows = _deployments(project)
    assert [r[0] for r in rows] == ["mlflow:churn:1:production", "mlflow:fraud:2:production"]
    deployment_id, model, version, environment, team, finished_at, status, sha = rows[1]
    assert (model, version, environment, team, status, sha) == (
        "fraud",
        "2",
        "production",
        "risk",
        "success",
        "bbb222",
    )
    assert before <= finished_at <= after

    # The CD job fixes churn 2's tag: the model's tagged versions are read again, the quarantine
    # of that read is replaced, and only the fixed one loads.
    store.client.set_model_version_tag("churn", "2", "deployed_at", "2026-11-22T08:00:00Z")
    statements.clear()
    fourth = project.sync()
    assert fourth.ok and _stats(fourth) == {"deployments": (2, 1, 1, 0)}
    assert _run_lookups(statements, store) == {store.runs[("churn", "2")]}
    assert project.query("select count(*) from quarantine") == [(0,)]
    assert project.query(
        "select finished_at, commit_sha from deployments where deployment_id = $id",
        {"id": "mlflow:churn:2:production"},
    ) == [(_utc(2026, 11, 22, 8, 0), "ddd444")]
    assert len(_deployments(project)) == 3

    # A tag deleted later does not undo a deployment that happened.
    store.client.delete_model_version_tag("churn", "2", "deployed_at")
    fifth = project.sync()
    assert fifth.ok and _stats(fifth) == {"deployments": (1, 0, 1, 0)}
    assert len(_deployments(project)) == 3
    assert project.sync().ok and _stats(project.sync()) == {}


def test_an_alias_moved_back_is_a_new_deployment(project, store):
    v1, v2 = store.version("fraud", commit="aaa111"), store.version("fraud", commit="bbb222")
    v3 = store.version("fraud", deployed_at="2026-11-21T12:00:00Z")
    alias = "champion"
    project.configure(_source(f'alias = "{alias}"\nenvironment = "prod-eu"\nteam = "risk"\n'))
    for version in (v1, v2, v1, v2, v3):
        store.client.set_registered_model_alias("fraud", alias, version)
        assert project.sync().ok
    # v1 was where the alias pointed at the first sync (not a deployment we saw); v3 carries
    # its own deployed_at, which says when more exactly than the sync that saw the move.
    assert [(r[0], r[2], r[4], r[5] == _utc(2026, 11, 21, 12)) for r in _deployments(project)] == [
        ("mlflow:fraud:1:prod-eu", "1", "risk", False),
        ("mlflow:fraud:2:prod-eu", "2", "risk", False),
        ("mlflow:fraud:2:prod-eu:2", "2", "risk", False),
        ("mlflow:fraud:3:prod-eu", "3", "risk", True),
    ]
    state = project.query("select state from source_state where source = 'models'")[0][0]
    assert '"champion": {"deployed": {"1": 1, "2": 2, "3": 1}, "version": "3"}' in state


def test_stage_transitions_of_old_registries(project, store):
    v1, v2 = store.version("ranker", commit="aaa111"), store.version("ranker", commit="bbb222")
    store.version("other", commit="ccc333")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stages are deprecated since MLflow 2.9

        def promote(version: str, stage: str = "Production") -> int:
            return store.client.transition_model_version_stage(
                "ranker", version, stage, archive_existing_versions=True
            ).last_updated_timestamp

        promote(v1, "Staging")
        promoted_1 = promote(v1)
        project.configure(_source('models = ["ranker"]\nstage = "Production"\n'))
        first = project.sync()
        assert first.ok and _stats(first) == {"deployments": (1, 1, 0, 0)}
        promoted_2 = promote(v2)
    second = project.sync()
    assert second.ok and _stats(second) == {"deployments": (1, 1, 0, 0)}
    # The version at the mark is read again (one staged in the same millisecond could have
    # come after the last read): a duplicate, nothing loaded.
    third = project.sync()
    assert third.ok and _stats(third) == {"deployments": (1, 0, 1, 0)}
    assert [(r[0], r[5], r[7]) for r in _deployments(project)] == [
        (
            "mlflow:ranker:1:production",
            dt.datetime.fromtimestamp(promoted_1 / 1000, dt.UTC),
            "aaa111",
        ),
        (
            "mlflow:ranker:2:production",
            dt.datetime.fromtimestamp(promoted_2 / 1000, dt.UTC),
            "bbb222",
        ),
    ]


class Listing(list):
    """A page of an MLflow listing: its items and the token of the next page (none)."""

    token = None


class FakeRegistry:
    """The few MlflowClient calls the connector makes, over versions a test sets (no MLflow)."""

    def __init__(self, failure: Exception | None = None):
        self.versions: list[SimpleNamespace] = []
        self.failure = failure

    def stage(self, version: str, at_ms: int) -> None:
        self.versions.append(
            SimpleNamespace(
                name="ranker",
                version=version,
                tags={},
                run_id=None,
                current_stage="Production",
                last_updated_timestamp=at_ms,
            )
        )

    def get_registered_model(self, name: str) -> SimpleNamespace:
        if self.failure is not None:
            raise self.failure
        return SimpleNamespace(name=name, tags={}, aliases={})

    def search_model_versions(self, filter_string=None, order_by=None, **_) -> Listing:
        if filter_string is not None:  # the deployed_at tag query: no version carries one
            return Listing()
        newest_first = sorted(self.versions, key=lambda v: -v.last_updated_timestamp)
        return Listing(newest_first)


def _fake_sync(monkeypatch, fake: FakeRegistry, state: dict, **options) -> list[ModelSighting]:
    monkeypatch.setenv(URI_ENV, "http://mlflow.example:5000")
    source = SourceConfig(
        "models",
        "mlflow",
        options={"tracking_uri_env": URI_ENV, "models": ["ranker"], **options},
    )
    connector = MlflowConnector(source, state)
    monkeypatch.setattr(connector, "_client", lambda tracking: fake)
    sightings = list(connector.extract())
    state.clear()
    state.update(connector.state)
    return sightings


def test_a_version_staged_in_the_marks_millisecond_is_read_by_the_next_sync(monkeypatch):
    fake, state = FakeRegistry(), {}
    fake.stage("1", 1_764_000_000_000)
    first = _fake_sync(monkeypatch, fake, state, stage="Production")
    assert [d.version for s in first for d in s.deployed] == ["1"]
    assert state["stage_mark"] == 1_764_000_000_000
    # Version 2 entered the stage in the same millisecond, after the first sync read.
    fake.stage("2", 1_764_000_000_000)
    second = _fake_sync(monkeypatch, fake, state, stage="Production")
    assert [d.version for s in second for d in s.deployed] == ["1", "2"]


def test_a_failure_names_no_token_password_or_secret_query_value(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-from-mlflow-env")
    monkeypatch.setenv(
        "TANDEM_TEST_REGISTRY_URI", "https://bot:pw-s3cr3t@reg.example/?token=q-s3cr3t"
    )
    echoed = RuntimeError(
        "GET https://reg.example/api/2.0/mlflow/registered-models/get?name=ranker&token=q-s3cr3t "
        "with headers {'Authorization': 'Bearer tok-from-mlflow-env'} as bot:pw-s3cr3t failed"
    )
    with pytest.raises(SourceError) as caught:
        _fake_sync(
            monkeypatch, FakeRegistry(echoed), {}, registry_uri_env="TANDEM_TEST_REGISTRY_URI"
        )
    message = str(caught.value)
    assert message.startswith(f"source 'models': the MLflow registry named by ${URI_ENV} cannot")
    for secret in ("q-s3cr3t", "pw-s3cr3t", "tok-from-mlflow-env", "bot:"):
        assert secret not in message


def test_normalize_writes_the_deployments_columns_of_the_contract():
    source = SourceConfig("models", "mlflow", options={"tracking_uri_env": URI_ENV})
    sighting = ModelSighting(
        "models:/churn#deployed_at", "churn", "growth", (Deployed("3", "tag", "2026-11-20"),)
    )
    batch = MlflowConnector(source).normalize(sighting)
    assert tuple(batch.frame.columns) == column_names("deployments")
    assert batch.frame.iloc[0]["started_at"] is None


@needs_mlflow_client
def test_a_missing_store_is_one_line_and_is_not_created(project, tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "mlflow.db"
    monkeypatch.setenv(URI_ENV, f"sqlite:///{missing}")
    project.configure(_source())
    report = project.sync()
    assert report.as_dict()["sources"][0]["error"] == (
        f"source 'models': the MLflow store named by ${URI_ENV} does not exist "
        "(its sqlite file is missing)"
    )
    assert not missing.exists()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@needs_mlflow_client
def test_an_unreachable_server_names_the_variable_never_the_password(project, monkeypatch):
    monkeypatch.setenv(URI_ENV, f"http://tandem:pw-s3cr3t@127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    project.configure(_source('models = ["fraud"]\n'))
    report = project.sync()
    error = report.as_dict()["sources"][0]["error"]
    assert error == (
        f"source 'models': the MLflow registry named by ${URI_ENV} cannot be reached "
        "(connection refused)"
    )


@contextlib.contextmanager
def _hanging_up_server():
    """A port whose server accepts each connection and closes it without an answer."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@needs_mlflow_client
def test_an_unexpected_failure_is_one_line_without_the_password(project, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    project.configure(_source('models = ["fraud"]\n'))
    with _hanging_up_server() as port:
        monkeypatch.setenv(URI_ENV, f"http://tandem:pw-s3cr3t@127.0.0.1:{port}")
        report = project.sync()
    error = report.as_dict()["sources"][0]["error"]
    assert error.startswith(
        f"source 'models': the MLflow registry named by ${URI_ENV} cannot be read: "
        "MlflowException: API request to ***/api/2.0/mlflow/registered-models/get failed"
    ), error
    assert "\n" not in error and "pw-s3cr3t" not in error and "tandem:" not in error
    assert project.query("select error from sync_runs where source = 'models'") == [(error,)]


@needs_mlflow_client
def test_refused_credentials_name_mlflows_token_variable(project, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-s3cr3t")
    with ReplayServer() as server:
        server.route(
            "/api/2.0/mlflow/registered-models/get",
            Answer({"error_code": "UNAUTHENTICATED", "message": "Invalid token"}, 401),
        )
        monkeypatch.setenv(URI_ENV, server.url)
        project.configure(_source('models = ["fraud"]\n'))
        report = project.sync()
    error = report.as_dict()["sources"][0]["error"]
    assert error == (
        f"source 'models': the MLflow registry named by ${URI_ENV} refused the credentials "
        "(set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, "
        f"or the credentials in ${URI_ENV})"
    )
    asked = [s for s in server.seen if s.path.endswith("/registered-models/get")]
    assert asked and asked[0].query == {"name": ["fraud"]}
    assert asked[0].headers["Authorization"] == "Bearer tok-s3cr3t"


def test_a_listed_model_that_is_not_registered(project, store):
    store.version("fraud", commit="aaa111")
    project.configure(_source('models = ["fraud", "frod"]\n'))
    report = project.sync()
    assert report.as_dict()["sources"][0]["error"] == (
        f"source 'models': no registered model 'frod' in the MLflow registry named by ${URI_ENV}"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("", "needs `tracking_uri_env`"),
        ('tracking_uri_env = "X"\nmodels = "fraud"\n', "`models` must be a list"),
        ('tracking_uri_env = "X"\nteam = 3\n', "`team` is a team name or a table"),
        ('tracking_uri_env = "X"\nfeed = "tickets"\n', "has no feed 'tickets'"),
    ],
)
def test_config_errors_are_named_before_any_io(project, extra, message):
    config = project.configure(f'[[sources]]\nname = "models"\nkind = "mlflow"\n{extra}')
    with pytest.raises(Exception, match=message):
        registry.create(config.sources[0])


# A sync in a Python whose imports of `mlflow` fail as they do without the extra installed,
# whether or not it is installed here: the finder answers before any real one is asked.
SYNC_WITHOUT_MLFLOW = """
import importlib.abc
import json
import sys


class HideMlflow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "mlflow" or name.startswith("mlflow."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, HideMlflow())

import settings
from connectors import sync

report = sync.run(settings.load(sys.argv[1]))
print(json.dumps(report.as_dict()))
"""


def test_without_the_extra_a_sync_says_how_to_install_it(project, monkeypatch):
    monkeypatch.setenv(URI_ENV, "sqlite:///mlflow.db")
    project.configure(_source())
    process = python_process(SYNC_WITHOUT_MLFLOW, str(project.config_path))
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert json.loads(out)["sources"][0]["error"] == (
        "source 'models': kind 'mlflow' needs the MLflow client: "
        "pip install -r requirements-mlflow.txt"
    )
