"""The mlflow kind: a real MLflow store in one sqlite file, written through the real client, and
the contract sample read from one. Used by tests/test_mlflow_connector.py too.

MLflow is an optional extra: without it `mlflow_or_skip()` skips, unless TANDEM_REQUIRE_MLFLOW=1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import os
import shutil
from pathlib import Path

import pytest

COMMIT_TAG = "mlflow.source.git.commit"


def mlflow_or_skip():
    """The mlflow module, or a skip (a failure when TANDEM_REQUIRE_MLFLOW=1)."""
    if os.environ.get("TANDEM_REQUIRE_MLFLOW") == "1":
        return importlib.import_module("mlflow")
    return pytest.importorskip("mlflow")


class Store:
    """A real MLflow tracking and registry store in one sqlite file, written as a CD job would."""

    def __init__(self, path: Path, template: Path | None = None):
        if template is not None:
            shutil.copy(template, path)
        self.uri = f"sqlite:///{path}"
        self.client = mlflow_or_skip().MlflowClient(self.uri, self.uri)
        artifacts = (path.parent / f"{path.stem}-artifacts").as_uri()
        self.experiment = self.client.create_experiment("training", artifact_location=artifacts)
        self.runs: dict[tuple[str, str], str] = {}

    def version(self, model: str, commit: str | None = None, **tags: str) -> str:
        """Register a new version of `model` (trained by a run with `commit`); its number."""
        if not self.client.search_registered_models(filter_string=f"name = '{model}'"):
            self.client.create_registered_model(model)
        run_id = None
        if commit is not None:
            run_id = self.client.create_run(self.experiment, tags={COMMIT_TAG: commit}).info.run_id
        mv = self.client.create_model_version(
            model, f"s3://models/{model}/{commit}", run_id=run_id, tags=tags
        )
        if run_id:
            self.runs[(model, str(mv.version))] = run_id
        return str(mv.version)


TIMESTAMP_CHECK = (
    "deployments",
    "deployment_id",
    "mlflow:churn:1:production",
    "finished_at",
    dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC),
)


@contextlib.contextmanager
def contract_sample(project, frames):
    """Two tagged versions of one model and an alias, in a real sqlite store."""
    mlflow_or_skip()
    store = Store(project.root / "mlflow.db")
    store.version("churn", commit="ccc333", deployed_at="2026-11-20T10:30:00+01:00")
    store.version("churn", commit="ddd444", deployed_at="2026-11-21T16:00:00Z")
    store.client.set_registered_model_alias("churn", "production", "2")
    env = "TANDEM_CONTRACT_MLFLOW_URI"
    before = os.environ.get(env)
    os.environ[env] = store.uri
    try:
        yield (
            '[[sources]]\nname = "mlflow_models"\nkind = "mlflow"\n'
            f'tracking_uri_env = "{env}"\nteam = "growth"\n'
        )
    finally:
        if before is None:
            os.environ.pop(env, None)
        else:
            os.environ[env] = before
