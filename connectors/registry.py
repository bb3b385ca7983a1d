"""The one explicit list of connector kinds. Tests, docs and the CLI iterate it."""

from __future__ import annotations

import importlib
from typing import Any

from connectors.base import Connector
from connectors.loader import SourceError
from settings import SourceConfig

# "module:Class" per kind, one line each.
_KINDS = (
    "connectors.files:FilesConnector",
    "connectors.demo:DemoConnector",
    "connectors.github:GithubConnector",
    "connectors.jira:JiraConnector",
    "connectors.jira_csv:JiraCsvConnector",
    "connectors.sql:SqlConnector",
    "connectors.mlflow_registry:MlflowConnector",
    "connectors.spark:SparkConnector",
)


def _load(spec: str) -> type[Connector]:
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


CONNECTORS: dict[str, type[Connector]] = {
    connector.kind: connector for connector in map(_load, _KINDS)
}


def create(source: SourceConfig, state: dict[str, Any] | None = None) -> Connector:
    """The connector for `source`, or a SourceError naming the kinds there are."""
    try:
        kind = CONNECTORS[source.kind]
    except KeyError:
        raise SourceError(
            f"source {source.name!r}: unknown kind {source.kind!r} "
            f"(kinds: {', '.join(sorted(CONNECTORS))})"
        ) from None
    return kind(source, state)
