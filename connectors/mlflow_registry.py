"""MLflow Model Registry: deployments of registered model versions (an optional extra).

    [[sources]]
    name = "models"
    kind = "mlflow"
    tracking_uri_env = "TANDEM_MLFLOW_URI"   # env var holding the tracking/registry URI
    # registry_uri_env = "..."               (default: MLflow's own MLFLOW_REGISTRY_URI, else the
    #                                         tracking URI); tokens come from MLflow's own env
    #                                         vars (MLFLOW_TRACKING_TOKEN, ..._USERNAME/_PASSWORD)
    # models = ["fraud", "churn"]             (default: every registered model)
    # alias = "production"                    (the alias that marks what is deployed)
    # stage = "Production"                    (old registries: stages, deprecated since 2.9)
    # deployed_at_tag = "deployed_at"         (model version tag written by the CD job)
    # version_tag = "version"                 (model version tag holding a release name)
    # environment = "production"
    # team = "risk"  or  team = { fraud = "risk", churn = "growth" }  (else the model's `team` tag)

Needs `pip install -r requirements-mlflow.txt` (the MLflow client, without its server).

The open-source registry keeps no history of alias or stage changes (aliases and tags carry no
timestamps), so a deployment of a version is read from, in this order:
1. its `deployed_at` tag, written by the CD job when it deployed the version: an exact time;
2. the alias moving to it between two syncs: `self.state` remembers, per model, the version the
   alias pointed to at the last sync, and when it changed the new version is deployed with
   finished_at = the time of this sync. Its precision is therefore the sync interval. The first
   sync only records where each alias points: when that happened is unknown, so it is not
   invented. An alias moved back to a version it deployed before is a new deployment (a
   rollback), numbered `mlflow:<model>:<version>:<environment>:2`, `:3`, ...;
3. on old registries, the version entering the configured stage: its `last_updated_timestamp`,
   which a stage transition sets (a later edit of the version moves it too).

A version carries one `deployed_at` tag, so its tag gives one deployment per environment: a CD
job that deploys the same version again overwrites the tag, and the deployment's time moves.
commit_sha comes from the source run's `mlflow.source.git.commit` tag.

Incremental: tags and aliases have no timestamps to filter on, so each sync reads the current
alias of each model and the versions that carry a `deployed_at` tag; it compares them with the
state and asks for a version or its run only when it is new or changed. Stage transitions are
read newest first by `last_updated_timestamp`, down to the last sync's mark and including it (a
version updated at the mark's timestamp after the last read is new; one read again is upserted
unchanged). Errors name no secret: the URIs' values, their passwords and secret query values,
and MLflow's token variables are scrubbed (connectors/secrets.py). Transient failures
are retried by the MLflow client itself (MLFLOW_HTTP_REQUEST_MAX_RETRIES and
MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR for a tracking server).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

import settings
from connectors.base import Connector
from connectors.feeds import column_names
from connectors.loader import Batch, SourceError
from connectors.secrets import Scrubber
from settings import Secret

COMMIT_TAG = "mlflow.source.git.commit"
TEAM_TAG = "team"
COLUMNS = column_names("deployments")
# MLflow's own variables for a tracking server's credentials (not named in the config).
CREDENTIAL_ENV = ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD")
# Enough to see a registry whole in a few requests, well under MLflow's per-request caps.
PAGE_SIZE = 500
AUTH_CODES = {"UNAUTHENTICATED", "PERMISSION_DENIED", "UNAUTHORIZED"}
# The cause worth a line when a tracking server cannot be reached at all (the client's own
# message is a long chain of wrapped exceptions).
UNREACHABLE = re.compile(
    r"connection refused|name or service not known|temporary failure in name resolution|"
    r"no route to host|timed out|unable to open database file",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Deployed:
    """One version of a model found deployed, and how: by tag, alias or stage."""

    version: str
    evidence: str  # "tag", "alias" or "stage"
    # The deployed_at tag as written (text: the loader quarantines what does not parse), the
    # sync time (alias), or the stage transition in epoch milliseconds (stage).
    at: str | int
    release: str | None = None  # the version tag, when the version carries one
    commit_sha: str | None = None
    occurrence: int = 1  # the nth time the alias deployed this version


@dataclass(frozen=True)
class ModelSighting:
    """What one sync saw of one registered model through one kind of evidence: one batch."""

    origin: str
    model: str
    team_tag: str | None
    deployed: tuple[Deployed, ...]


def _quote_tag(key: str) -> str:
    """A tag key in MLflow's filter syntax (backquoted, so dots and spaces are safe)."""
    return "tags.`" + key + "`"


class MlflowConnector(Connector):
    """Deployments of model versions from an MLflow Model Registry: one batch per model."""

    kind = "mlflow"
    produces = ("deployments",)

    # -- configuration --------------------------------------------------------------------------

    def _where(self) -> str:
        return f"source {self.source.name!r}"

    def validate(self) -> None:
        super().validate()
        where = self._where()
        if not self.source.option("tracking_uri_env"):
            raise SourceError(
                f"{where}: kind 'mlflow' needs `tracking_uri_env`, the environment variable "
                "holding the tracking URI (e.g. MLFLOW_TRACKING_URI)"
            )
        models = self.source.option("models")
        if models is not None and (
            not isinstance(models, list) or not all(isinstance(m, str) and m for m in models)
        ):
            raise SourceError(f"{where}: `models` must be a list of registered model names")
        for key in ("alias", "stage", "deployed_at_tag", "version_tag", "environment"):
            value = self.source.option(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise SourceError(f"{where}: `{key}` must be a non-empty string")
        if "`" in self._deployed_at_tag():
            raise SourceError(f"{where}: `deployed_at_tag` cannot contain a backquote")
        team = self.source.option("team")
        if team is not None and not (
            isinstance(team, str)
            or (isinstance(team, dict) and all(isinstance(v, str) for v in team.values()))
        ):
            raise SourceError(
                f"{where}: `team` is a team name or a table of model = team "
                '(team = { fraud = "risk" })'
            )

    def _deployed_at_tag(self) -> str:
        return self.source.option("deployed_at_tag", "deployed_at")

    def _alias(self) -> str | None:
        # Aliases are how registries mark a deployed version since MLflow 2.3; a registry
        # configured by stage only reads stages.
        if self.source.option("stage") is not None and self.source.option("alias") is None:
            return None
        return self.source.option("alias", "production")

    def _environment(self) -> str:
        return self.source.option("environment", "production")

    # -- reading the registry -------------------------------------------------------------------

    def _uri_env(self) -> str:
        return str(self.source.option("tracking_uri_env"))

    def _client(self, tracking: Secret) -> Any:
        try:
            from mlflow import MlflowClient
        except ImportError:
            raise SourceError(
                f"{self._where()}: kind 'mlflow' needs the MLflow client: "
                "pip install -r requirements-mlflow.txt"
            ) from None
        uri = tracking.reveal()
        # A database URI whose file is missing would be created empty by MLflow: say so instead.
        match = re.match(r"sqlite:///(.+)$", uri)
        if match and match.group(1) != ":memory:" and not Path(match.group(1)).exists():
            raise SourceError(
                f"{self._where()}: the MLflow store named by ${self._uri_env()} does not exist "
                "(its sqlite file is missing)"
            )
        registry = self.source.secret("registry_uri_env")
        return MlflowClient(uri, registry.reveal() if registry else None)

    def _failure(self, error: Exception) -> SourceError:
        """One line naming the source, the environment variable and the cause, no secret."""
        scrub = Scrubber.for_source(self.source, CREDENTIAL_ENV)
        text = scrub(" ".join(str(error).split()))
        code = getattr(error, "error_code", None)
        where = f"{self._where()}: the MLflow registry named by ${self._uri_env()}"
        if code in AUTH_CODES or re.search(r"\b(401|403)\b", text):
            return SourceError(
                f"{where} refused the credentials (set MLFLOW_TRACKING_TOKEN, or "
                "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or the credentials in "
                f"${self._uri_env()})"
            )
        unreachable = UNREACHABLE.search(text)
        if unreachable:
            return SourceError(f"{where} cannot be reached ({unreachable.group(0).lower()})")
        if len(text) > 300:
            text = text[:297] + "..."
        return SourceError(f"{where} cannot be read: {type(error).__name__}: {text}")

    def extract(self) -> Iterator[ModelSighting]:
        tracking = self.source.secret("tracking_uri_env")
        try:
            yield from self._read(self._client(tracking))
        except SourceError:
            raise
        except Exception as error:  # the client raises many kinds: each becomes one line
            raise self._failure(error) from None

    def _models(self, client: Any) -> list[Any]:
        """The registered models to read: those listed, or every one."""
        listed = self.source.option("models")
        if listed is not None:
            models = []
            for name in listed:
                try:
                    models.append(client.get_registered_model(name))
                except Exception as error:
                    if getattr(error, "error_code", None) == "RESOURCE_DOES_NOT_EXIST":
                        raise SourceError(
                            f"{self._where()}: no registered model {name!r} in the MLflow "
                            f"registry named by ${self._uri_env()}"
                        ) from None
                    raise
            return models
        models, token = [], None
        while True:
            page = client.search_registered_models(max_results=PAGE_SIZE, page_token=token)
            models.extend(page)
            token = page.token
            if not token:
                return sorted(models, key=lambda m: m.name)

    def _tagged(self, client: Any, names: set[str]) -> dict[str, dict[str, Any]]:
        """Per model, its versions that carry the deployed_at tag (one query, paged)."""
        query = _quote_tag(self._deployed_at_tag()) + " LIKE '%'"
        found: dict[str, dict[str, Any]] = {}
        token = None
        while True:
            page = client.search_model_versions(
                filter_string=query, max_results=PAGE_SIZE, page_token=token
            )
            for version in page:
                if version.name in names:
                    found.setdefault(version.name, {})[str(version.version)] = version
            token = page.token
            if not token:
                return found

    def _commit(self, client: Any, run_id: str | None) -> str | None:
        if not run_id:
            return None
        try:
            run = client.get_run(run_id)
        except Exception as error:
            if getattr(error, "error_code", None) == "RESOURCE_DOES_NOT_EXIST":
                return None  # the run was deleted; the version still deployed
            raise
        return run.data.tags.get(COMMIT_TAG)

    def _read(self, client: Any) -> Iterator[ModelSighting]:
        now = settings.now().isoformat()
        tag_key = self._deployed_at_tag()
        version_tag = self.source.option("version_tag", "version")
        alias = self._alias()
        models = self._models(client)
        names = {m.name for m in models}
        tagged = self._tagged(client, names) if names else {}
        known = self.state.setdefault("models", {})
        for model in models:
            seen = known.setdefault(model.name, {})
            team_tag = (model.tags or {}).get(TEAM_TAG)
            versions = tagged.get(model.name, {})

            # 1. deployed_at tags: when one is new or changed, the model's tagged versions are
            # read again as one batch, so what the loader quarantined for this model before is
            # replaced by this read; runs are asked for only for new or changed versions.
            before = seen.get("tagged", {})
            now_tagged = {
                v: [mv.tags[tag_key], before.get(v, [None, None])[1]] for v, mv in versions.items()
            }
            changed = [
                v for v, (value, _) in now_tagged.items() if before.get(v, [None])[0] != value
            ]
            for v in changed:
                now_tagged[v][1] = self._commit(client, versions[v].run_id)
            if changed or set(before) - set(now_tagged):
                seen["tagged"] = now_tagged
                yield ModelSighting(
                    f"models:/{model.name}#{tag_key}",
                    model.name,
                    team_tag,
                    tuple(
                        Deployed(
                            v,
                            "tag",
                            value,
                            release=versions[v].tags.get(version_tag),
                            commit_sha=sha,
                        )
                        for v, (value, sha) in sorted(now_tagged.items(), key=_by_version)
                    ),
                )

            # 2. the alias moved since the last sync: the new version deployed by now.
            if alias is not None:
                pointed = (model.aliases or {}).get(alias)
                pointed = None if pointed is None else str(pointed)
                aliases = seen.setdefault("aliases", {})
                last = aliases.get(alias, {})
                if pointed is not None and last and last.get("version") != pointed:
                    counts = last.get("deployed", {})
                    counts[pointed] = counts.get(pointed, 0) + 1
                    last["deployed"] = counts
                    if pointed not in now_tagged:  # a deployed_at tag says it more exactly
                        mv = client.get_model_version(model.name, pointed)
                        yield ModelSighting(
                            f"models:/{model.name}@{alias}",
                            model.name,
                            team_tag,
                            (
                                Deployed(
                                    pointed,
                                    "alias",
                                    now,
                                    release=mv.tags.get(version_tag),
                                    commit_sha=self._commit(client, mv.run_id),
                                    occurrence=counts[pointed],
                                ),
                            ),
                        )
                if pointed is not None:
                    aliases[alias] = {"version": pointed, "deployed": last.get("deployed", {})}

        # 3. old registries: versions that entered the stage since the last sync's mark.
        stage = self.source.option("stage")
        if stage is not None:
            teams = {m.name: (m.tags or {}).get(TEAM_TAG) for m in models}
            yield from self._staged(client, stage, teams, tagged, version_tag)

    def _staged(
        self,
        client: Any,
        stage: str,
        teams: dict[str, str | None],
        tagged: dict[str, dict[str, Any]],
        version_tag: str,
    ) -> Iterator[ModelSighting]:
        mark = self.state.get("stage_mark", 0)
        newest = mark
        found: dict[str, list[Any]] = {}
        token = None
        while True:
            page = client.search_model_versions(
                max_results=PAGE_SIZE,
                order_by=["last_updated_timestamp DESC"],
                page_token=token,
            )
            # `>=`: a version updated in the mark's millisecond after the last read is new; one
            # read again is upserted unchanged.
            fresh = [mv for mv in page if mv.last_updated_timestamp >= mark]
            for mv in fresh:
                newest = max(newest, mv.last_updated_timestamp)
                if (
                    mv.name in teams
                    and (mv.current_stage or "").lower() == stage.lower()
                    and str(mv.version) not in tagged.get(mv.name, {})
                ):
                    found.setdefault(mv.name, []).append(mv)
            token = page.token
            if not token or len(fresh) < len(page):
                break
        self.state["stage_mark"] = newest
        for name in sorted(found):
            yield ModelSighting(
                f"models:/{name}#stage={stage}",
                name,
                teams[name],
                tuple(
                    Deployed(
                        str(mv.version),
                        "stage",
                        mv.last_updated_timestamp,
                        release=mv.tags.get(version_tag),
                        commit_sha=self._commit(client, mv.run_id),
                    )
                    for mv in sorted(found[name], key=lambda mv: int(mv.version))
                ),
            )

    # -- normalizing ----------------------------------------------------------------------------

    def _team(self, model: str, team_tag: str | None) -> str | None:
        team = self.source.option("team")
        if isinstance(team, dict):
            return team.get(model, team_tag)
        return team_tag if team_tag is not None else team

    def normalize(self, raw: ModelSighting) -> Batch:
        environment = self._environment()
        team = self._team(raw.model, raw.team_tag)
        rows = []
        for deployed in raw.deployed:
            deployment_id = f"mlflow:{raw.model}:{deployed.version}:{environment}"
            if deployed.occurrence > 1:
                deployment_id += f":{deployed.occurrence}"
            at = deployed.at
            if isinstance(at, int):  # epoch milliseconds from the registry
                at = dt.datetime.fromtimestamp(at / 1000, dt.UTC).isoformat()
            rows.append(
                {
                    "deployment_id": deployment_id,
                    "model": raw.model,
                    "version": deployed.release or deployed.version,
                    "environment": environment,
                    "team": team,
                    "started_at": None,
                    "finished_at": at,
                    "status": "success",
                    "commit_sha": deployed.commit_sha,
                }
            )
        return Batch(
            "deployments",
            raw.origin,
            frame=pd.DataFrame(rows, columns=list(COLUMNS), dtype=object),
        )


def _by_version(item: tuple[str, Any]) -> tuple[int, str]:
    version = item[0]
    return (int(version), version) if version.isdigit() else (0, version)
