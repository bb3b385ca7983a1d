r"""GitHub: deployments (Deployments API or Actions runs), merged pull requests, incident issues.

    [[sources]]
    name = "shop-github"
    kind = "github"
    repo = "octo/shop"                     # or repos = ["octo/shop", "octo/search"]
    token_env = "GITHUB_TOKEN"             # the environment variable holding the token
    # base_url = "https://github.example.com/api/v3"   (GitHub Enterprise; default api.github.com)
    # feeds = ["deployments", "changes", "incidents"]  (default: all three)
    # deployments_from = "deployments"     ("actions": completed workflow runs instead)
    # environment = "production"           (deployments: only this environment; actions: the
    #                                       environment every matching run deployed to)
    # workflow = "Deploy*"                 (actions: workflow name or file, glob; or
    #                                       workflow_regex = "^deploy-(prod|production)$")
    # model = "recommender"                (default model; a deployment's payload overrides)
    # team = "ranking"                     (default team; likewise)
    # link_environment = "production"      (the environment whose deployments ship changes)
    # base = "main"                        (only pull requests into this branch)
    # incident_label = "incident"
    # severity_label_prefix = "severity:"  (likewise model_label_prefix, team_label_prefix)
    # since = "2025-01-01"                 (ignore history before this date on a first sync)
    # hotfix_workflows = ["hotfix*"]       (deployments.kind, below; likewise rollback_workflows,
    #                                       hotfix_labels and rollback_labels)
    # incident_pattern = 'INC-\d+'         (changes.incident_id, below)
    # ai_assisted_labels = ["ai-assisted"] (changes.ai_assisted, below; and ai_assistants)

Feeds and their fields:

- deployments, from the Deployments API: one row per deployment, `deployment_id` =
  "owner/name/deployments/<id>", started_at = its created_at, finished_at and status from its
  latest final status (success -> success; failure, error -> failed; an `inactive` status only
  closes a deployment that had no final status, and is passed on as "inactive" so the loader
  quarantines it unless `values.status` maps it). A deployment still pending or in progress is
  not a row yet: it is kept in the state and looked at again by the next sync (after
  `stale_after_days`, default 7, it is handed over unfinished and the loader quarantines it).
  `production_environment: true` makes the environment "production". model, version and team
  come from the deployment's payload when it has them, else from the options.
- deployments, from Actions: completed runs of the workflows matching `workflow`, one row per
  run ("owner/name/actions/runs/<id>"): started_at = run_started_at, finished_at = updated_at,
  conclusion success -> success, failure/timed_out/startup_failure -> failed; runs cancelled,
  skipped, neutral, stale or waiting for action did not deploy and are not rows
  (`ignore_conclusions`). GitHub answers at most 1,000 runs for a filtered listing.
- changes: merged pull requests, `change_id` = "owner/name#<number>", first_commit_at = the
  earliest authored date among the pull request's commits, merged_at, author (login), title.
- deployments.kind (why it happened): a "kind" in the deployment's payload, as written; else
  `rollback_workflows`, then `hotfix_workflows` (globs, any case) on a run's workflow name or
  file, or on a deployment's task ("deploy:hotfix") or description; or `rollback_labels` /
  `hotfix_labels` on any pull request it shipped (rollback first; the label rules count only in
  a sync that reads `changes`). When some rule is set, a deployment matching none is
  "planned"; when none is, kind is null: a source never told how its hotfixes look does not
  know, and calling everything planned would hide rework.
- changes.incident_id: the first reference after a closing keyword (close, fix, resolve and
  their forms, any case, an optional colon) in the title, then the body: a match of
  `incident_pattern` (default `INC-\d+`, another tool's id, kept as written), or a GitHub
  issue ("#9", "octo/shop#9", its web address) of the same repository that is one of its
  incident issues ("octo/shop#9", the id the incidents feed gives it). A fixed bug is no
  incident: "fixes #8" names nothing unless #8 carries `incident_label`, and needs the
  incidents feed (it is read before the pull requests, and the state keeps the incident
  numbers). Issues linked in the pull request's sidebar without a keyword are not read (the
  REST API does not list them). Incidents kept in Jira: `incident_pattern = 'OPS-\d+'` (the
  incident project's key) makes "fixes OPS-7" name the Jira connector's incident OPS-7.
- changes.ai_assisted: true when the pull request carries one of `ai_assisted_labels`
  (default "ai-assisted", any case) or one of its commits has a `Co-authored-by:` trailer
  naming one of `ai_assistants` (any case, anywhere in the trailer: "Claude
  <noreply@anthropic.com>", "Copilot <...+Copilot@users.noreply.github.com>", "cursoragent
  <cursoragent@cursor.com>"); false when every rule set was read and none matched; null when
  not known (both options empty, or no commit message read: a pull request a Tandem before
  this one kept waiting in its state).
- incidents: issues labelled `incident_label` (pull requests, which the issues endpoint also
  returns, are skipped), opened_at = created_at, resolved_at = closed_at, severity / model /
  team from `severity:`, `model:`, `team:` labels, deployment_id from a line
  "deployment: <deployment_id>" in the body or a link to an Actions run.

Which deployment shipped a pull request. Successful deployments of `link_environment` (any
case) are taken in the order they were created; the commits a deployment shipped are those
between the previous successful deployment of that environment and it, as the compare API lists
them (`compare/{previous sha}...{sha}`: the commits reachable from sha and not from the
previous one). A merged pull request belongs to the first such deployment, created at or after
it was merged, whose commits contain its `merge_commit_sha` (a merge commit; for a squash
merge the squashed commit on the base branch; for a rebase merge the last rebased commit, the
one the base branch was updated to) or one of its own head commits (a merge commit brings them
along). A pull request merged after the last successful deployment has deployment_id null and
is kept in the state (at most 1000 of them) until a later deployment ships it, when its row is
written again with that deployment. The first successful deployment a source ever sees has no
predecessor to compare with: pull requests merged before it are left without a deployment.

Incremental: the state keeps per repository the newest created_at of deployments (runs: minus
`lookback_hours`, default 24, for runs that finished late), the newest updated_at of pull
requests (the listing is read newest-updated first and stops there) and of incident issues
(`since=`), the last successful deployment of the linking environment, the deployments still
unfinished and the pull requests not yet shipped. A pull request merged before the mark that is
updated again (a comment) was loaded already and is not read again.

Marks are whole seconds, and the next sync reads the mark's second again: an item created or
updated in that second after the last read is new, and one read again is upserted unchanged.
Pull requests the last sync read in that second are remembered and skipped, since linking one
again would take its deployment away. The state also keeps the feeds it was read for: when
`feeds` changes, the repository starts afresh, since a feed added was never read and the marks
would skip its history (deployments are read for `changes` alone, to link them, unloaded).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import settings
from connectors.base import Connector
from connectors.feeds import column_names
from connectors.feeds import parse_instant as parse_time
from connectors.http import HttpClient, json_text
from connectors.labels import LabelRule, prefixed
from connectors.loader import Batch, Reject, SourceError

DEFAULT_BASE_URL = "https://api.github.com"
API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
FEED_NAMES = ("deployments", "changes", "incidents")
DEPLOYMENT_STATES = {"success": "success", "failure": "failed", "error": "failed"}
RUN_CONCLUSIONS = {
    "success": "success",
    "failure": "failed",
    "timed_out": "failed",
    "startup_failure": "failed",
}
IGNORED_CONCLUSIONS = ("cancelled", "skipped", "neutral", "stale", "action_required")
MAX_PENDING = 1000
PER_PAGE = 100

# The columns of a page's rows: the canonical ones, and the item's web address.
PAGE_COLUMNS = {
    "deployments": (*column_names("deployments"), "url"),
    "changes": column_names("changes"),
    "incidents": (*column_names("incidents"), "url"),
}
_REPO = re.compile(r"^[\w.-]+/[\w.-]+$")
_DEPLOYMENT_LINE = re.compile(r"(?im)^\s*deployment(?:[ _]id)?\s*:\s*(\S+)\s*$")
_RUN_LINK = re.compile(r"/([\w.-]+/[\w.-]+)/actions/runs/(\d+)")
# GitHub's closing keywords: "fixes INC-123", "Resolves: #9", "closes octo/shop#9".
CLOSING_KEYWORDS = ("close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves",
                    "resolved")  # fmt: skip
DEFAULT_INCIDENT_PATTERN = r"INC-\d+"
# Names that AI coding assistants sign `Co-authored-by:` trailers with (matched in any case,
# anywhere in the trailer: "Claude <noreply@anthropic.com>", "cursoragent <...@cursor.com>").
DEFAULT_AI_ASSISTANTS = ("Copilot", "Claude", "Cursor", "Codeium", "Windsurf", "Aider", "Devin",
                         "Codex", "Gemini", "Tabnine")  # fmt: skip
DEFAULT_AI_LABELS = ("ai-assisted",)
_TRAILER = re.compile(r"(?im)^\s*co-authored-by\s*:\s*(.+?)\s*$")
_ISSUE_REF = r"(?:(?P<repo>[\w.-]+/[\w.-]+))?#(?P<number>\d+)"
MAX_INCIDENT_NUMBERS = 5000


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _labels(issue: dict) -> list[str]:
    return [
        label.get("name", "") if isinstance(label, dict) else str(label)
        for label in issue.get("labels") or []
    ]


def _payload(deployment: dict) -> dict:
    payload = deployment.get("payload")
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError:
            return {}
    return payload if isinstance(payload, dict) else {}


def deployment_outcome(statuses: list[dict]) -> tuple[str, str] | None:
    """(state, the time it was set) of a deployment's latest final status, or None if unfinished.

    success/failure/error are final; `inactive` (set when a later deployment replaces a
    successful one) closes a deployment only if it had no other final status.
    """
    ordered = sorted(
        (s for s in statuses if isinstance(s, dict)),
        key=lambda s: (str(s.get("created_at") or ""), s.get("id") or 0),
    )
    final = [s for s in ordered if s.get("state") in DEPLOYMENT_STATES]
    if final:
        return DEPLOYMENT_STATES[final[-1]["state"]], final[-1].get("created_at")
    inactive = [s for s in ordered if s.get("state") == "inactive"]
    if inactive:
        return "inactive", inactive[-1].get("created_at")
    return None


@dataclass(frozen=True)
class Options:
    """What a github source's options say, read once."""

    model: str | None = None
    team: str | None = None
    version: str | None = None
    environment: str | None = None
    run_environment: str = "production"
    severity_prefix: str | None = "severity:"
    model_prefix: str | None = "model:"
    team_prefix: str | None = "team:"
    # deployments.kind: globs on a run's workflow name or file / a deployment's task.
    hotfix_workflows: tuple[str, ...] = ()
    rollback_workflows: tuple[str, ...] = ()
    # ... or labels on the pull requests a deployment shipped.
    hotfix_labels: tuple[str, ...] = ()
    rollback_labels: tuple[str, ...] = ()
    # changes.incident_id and changes.ai_assisted
    incident_pattern: str = DEFAULT_INCIDENT_PATTERN
    ai_labels: tuple[str, ...] = DEFAULT_AI_LABELS
    ai_assistants: tuple[str, ...] = DEFAULT_AI_ASSISTANTS

    @property
    def incident_model(self) -> LabelRule:
        return LabelRule(self.model_prefix, default=self.model)

    @property
    def incident_team(self) -> LabelRule:
        return LabelRule(self.team_prefix, default=self.team)


def deployment_kind(
    names: list[Any],
    options: Options,
    declared: Any = None,
    labelled: str | None = None,
    labels_read: bool = False,
) -> str | None:
    """Why a deployment happened: planned, hotfix or rollback; None when the source says nothing.

    Args:
        names: what names the deployment (a run's workflow name and file; a deployment's task
            and description); globs match them in any case.
        options: the source's `hotfix_workflows` / `rollback_workflows` globs and
            `hotfix_labels` / `rollback_labels`.
        declared: a kind the deployment states itself (a deployment payload's "kind"); it wins,
            as written (the loader lowercases it and quarantines one it does not know).
        labelled: "rollback" or "hotfix" when a pull request it shipped carries such a label.
        labels_read: whether the pull requests were read this sync (the label rules count only
            then: a sync of deployments alone cannot tell).

    Returns:
        "rollback" for a name or label matching a rollback rule, then "hotfix" likewise;
        "planned" for any other deployment when some rule is set; None when none is: a source
        that was never told how its hotfixes look knows nothing of why it deployed.
    """
    if json_text(declared):
        return json_text(declared)
    texts = [str(n).lower() for n in names if n]
    for kind, globs in (
        ("rollback", options.rollback_workflows),
        ("hotfix", options.hotfix_workflows),
    ):
        matched = any(fnmatch.fnmatchcase(text, glob.lower()) for glob in globs for text in texts)
        if matched or (labels_read and labelled == kind):
            return kind
    label_rules = labels_read and (options.rollback_labels or options.hotfix_labels)
    if options.rollback_workflows or options.hotfix_workflows or label_rules:
        return "planned"
    return None


def labelled_kind(labels: list[str], options: Options) -> str | None:
    """ "rollback" or "hotfix" when a pull request carries such a label (any case), else None."""
    folded = {label.casefold() for label in labels}
    for kind, wanted in (("rollback", options.rollback_labels), ("hotfix", options.hotfix_labels)):
        if folded & {label.casefold() for label in wanted}:
            return kind
    return None


def _closing_reference(pattern: str) -> re.Pattern:
    keywords = "|".join(CLOSING_KEYWORDS)
    return re.compile(
        rf"(?i:\b(?:{keywords}))\s*:?\s+(?:(?P<incident>{pattern})"
        rf"|(?:https?://[^\s/]+/(?P<url_repo>[\w.-]+/[\w.-]+)/issues/(?P<url_number>\d+))"
        rf"|{_ISSUE_REF})"
    )


def fixed_incident(
    repo: str, texts: list[Any], pattern: str, incident_numbers: frozenset[int] = frozenset()
) -> str | None:
    """The incident a pull request says it fixes, from its title then its body.

    Args:
        repo: the pull request's repository, "owner/name".
        texts: the title and the body, in that order (None skipped).
        pattern: the regex of an incident id from another tool (`incident_pattern`, default
            `INC-\\d+`); the match is kept as written.
        incident_numbers: the numbers of this repository's incident issues that the source has
            read: "fixes #9" names incident "owner/name#9" only if issue 9 is one of them (a
            fixed bug is not an incident).

    Returns:
        The first reference after a closing keyword ("fixes INC-123", "Resolves: #9",
        "closes octo/shop#9", "fixes https://github.com/octo/shop/issues/9"), or None.
    """
    reference = _closing_reference(pattern)
    for text in texts:
        if not isinstance(text, str):
            continue
        for match in reference.finditer(text):
            if match.group("incident"):
                return match.group("incident")
            ref_repo = match.group("url_repo") or match.group("repo") or repo
            number = match.group("url_number") or match.group("number")
            if ref_repo.lower() == repo.lower() and int(number) in incident_numbers:
                return f"{repo}#{int(number)}"
    return None


def ai_assisted(labels: list[str], messages: list[Any] | None, options: Options) -> bool | None:
    """Whether a pull request was made with an AI assistant: True, False, or None if not known.

    True when it carries one of `ai_labels` (any case) or one of its commits has a
    `Co-authored-by:` trailer naming one of `ai_assistants` (any case, anywhere in the trailer).
    False when every rule that is set was read and nothing matched. None when not known: neither
    rule set, or `ai_assistants` set and no commit message read (the state of a pull request
    kept by an older Tandem has none).
    """
    wanted = {label.casefold() for label in options.ai_labels}
    if any(label.casefold() in wanted for label in labels):
        return True
    names = [name.casefold() for name in options.ai_assistants if name]
    texts = [m for m in messages or [] if isinstance(m, str)]
    if names and not texts:
        return None
    for message in texts:
        for trailer in _TRAILER.findall(message):
            if any(name in trailer.casefold() for name in names):
                return True
    return False if names or wanted else None


def deployment_row(
    repo: str,
    deployment: dict,
    statuses: list[dict],
    options: Options,
    labelled: str | None = None,
    labels_read: bool = False,
) -> dict:
    """One canonical deployments row from a deployment and its statuses."""
    payload = _payload(deployment)
    outcome = deployment_outcome(statuses)
    environment = deployment.get("environment")
    if deployment.get("production_environment") is True:
        environment = "production"
    return {
        "deployment_id": f"{repo}/deployments/{deployment['id']}",
        "model": json_text(payload.get("model")) or options.model,
        "version": json_text(payload.get("version")) or options.version,
        "environment": json_text(environment),
        "team": json_text(payload.get("team")) or options.team,
        "started_at": json_text(deployment.get("created_at")),
        "finished_at": json_text(outcome[1]) if outcome else None,
        "status": outcome[0] if outcome else None,
        "commit_sha": json_text(deployment.get("sha")),
        "kind": deployment_kind(
            [deployment.get("task"), deployment.get("description")],
            options,
            payload.get("kind"),
            labelled,
            labels_read,
        ),
        "url": json_text(deployment.get("url")),
    }


def run_row(
    repo: str, run: dict, options: Options, labelled: str | None = None, labels_read: bool = False
) -> dict:
    """One canonical deployments row from a completed Actions workflow run."""
    conclusion = run.get("conclusion")
    return {
        "deployment_id": f"{repo}/actions/runs/{run['id']}",
        "model": options.model,
        "version": options.version,
        "environment": options.run_environment,
        "team": options.team,
        "started_at": json_text(run.get("run_started_at") or run.get("created_at")),
        "finished_at": json_text(run.get("updated_at")),
        "status": RUN_CONCLUSIONS.get(conclusion, json_text(conclusion)),
        "commit_sha": json_text(run.get("head_sha")),
        "kind": deployment_kind(
            [run.get("name"), str(run.get("path") or "").rsplit("/", 1)[-1]],
            options,
            labelled=labelled,
            labels_read=labels_read,
        ),
        "url": json_text(run.get("html_url")),
    }


def slim_pull(
    pull: dict,
    commits: list[dict],
    options: Options | None = None,
    incident_numbers: frozenset[int] = frozenset(),
    repo: str = "",
) -> dict:
    """What Tandem keeps of a merged pull request and its commits (small enough for state).

    Its head commit (and the last commit listed, the same one unless the listing was cut at
    250) stands for all its commits: if a deployment holds the head, it holds the rest. The
    incident it fixes and whether an AI assistant helped are read now, while the commits'
    messages are at hand (the state does not keep them).
    """
    options = options or Options()
    dates = []
    messages = []
    for commit in commits:
        detail = (commit.get("commit") if isinstance(commit, dict) else None) or {}
        author = detail.get("author") or {}
        committer = detail.get("committer") or {}
        dates.append(author.get("date") or committer.get("date"))
        messages.append(detail.get("message"))
    heads = {(pull.get("head") or {}).get("sha")}
    if commits and isinstance(commits[-1], dict):
        heads.add(commits[-1].get("sha"))
    return {
        "number": pull.get("number"),
        "title": pull.get("title"),
        "author": (pull.get("user") or {}).get("login"),
        "merged_at": pull.get("merged_at"),
        "merge_commit_sha": pull.get("merge_commit_sha"),
        "head_shas": sorted(heads - {None}),
        "first_commit_at": first_commit_at(dates),
        "incident_id": fixed_incident(
            repo, [pull.get("title"), pull.get("body")], options.incident_pattern, incident_numbers
        ),
        "ai_assisted": ai_assisted(_labels(pull), messages, options),
        "kind_label": labelled_kind(_labels(pull), options),
    }


def first_commit_at(commit_dates: list[Any]) -> str | None:
    """The earliest authored date, as GitHub wrote it; an unparsable one wins so it quarantines."""
    present = [d for d in commit_dates if d is not None]
    unparsable = [d for d in present if parse_time(d) is None]
    if unparsable:
        return json_text(unparsable[0])
    return min(present, key=parse_time) if present else None


def change_row(repo: str, pull: dict, deployment_id: str | None) -> dict:
    """One canonical changes row from a slim pull request and the deployment that shipped it."""
    return {
        "change_id": f"{repo}#{pull['number']}",
        "deployment_id": deployment_id,
        "first_commit_at": json_text(pull.get("first_commit_at")),
        "merged_at": json_text(pull.get("merged_at")),
        "author": json_text(pull.get("author")),
        "title": json_text(pull.get("title")),
        "incident_id": json_text(pull.get("incident_id")),
        "ai_assisted": pull.get("ai_assisted"),
    }


def named_deployment(repo: str, body: Any) -> str | None:
    """The deployment an incident's body names: a "deployment: <id>" line or an Actions run link."""
    if not isinstance(body, str):
        return None
    line = _DEPLOYMENT_LINE.search(body)
    if line:
        return line.group(1)
    run = _RUN_LINK.search(body)
    if run:
        return f"{run.group(1)}/actions/runs/{run.group(2)}"
    return None


def incident_row(repo: str, issue: dict, options: Options) -> dict:
    """One canonical incidents row from an issue."""
    labels = _labels(issue)
    return {
        "incident_id": f"{repo}#{issue['number']}",
        "model": options.incident_model.pick(labels),
        "team": options.incident_team.pick(labels),
        "opened_at": json_text(issue.get("created_at")),
        "resolved_at": json_text(issue.get("closed_at")),
        "severity": prefixed(labels, options.severity_prefix),
        "deployment_id": named_deployment(repo, issue.get("body")),
        "title": json_text(issue.get("title")),
        "url": json_text(issue.get("html_url")),
    }


@dataclass(frozen=True)
class Shipment:
    """A successful deployment of the linking environment and the commits it shipped."""

    deployment_id: str
    created_at: str | None
    commits: frozenset[str]


def link_changes(pulls: list[dict], shipments: list[Shipment]) -> dict[int, str]:
    """Which deployment shipped each slim pull request: number -> deployment_id.

    `shipments` are in the order they were created; a pull request goes to the first one,
    created at or after its merge, whose commits hold its merge commit or a head commit.
    """
    shipped: dict[int, str] = {}
    for pull in pulls:
        merged = parse_time(pull.get("merged_at"))
        if merged is None:
            continue
        shas = {pull.get("merge_commit_sha"), *(pull.get("head_shas") or [])} - {None}
        for shipment in shipments:
            created = parse_time(shipment.created_at)
            if created is not None and created < merged:
                continue
            if shas & shipment.commits:
                shipped[pull["number"]] = shipment.deployment_id
                break
    return shipped


@dataclass
class Page:
    """Raw records of one feed of one repository, as extract hands them to normalize."""

    feed: str
    repo: str
    origin: str
    items: list[Any]
    # changes: pull request number -> the deployment that shipped it.
    shipped: dict[int, str] = field(default_factory=dict)
    # deployments: deployment_id -> "rollback"/"hotfix" from the labels of the pull requests
    # it shipped; None when no pull request was read (the label rules cannot tell).
    labelled: dict[str, str] | None = None


def shipped_kinds(changes: Page) -> dict[str, str]:
    """deployment_id -> "rollback"/"hotfix" from the labels of the pull requests it shipped."""
    kinds: dict[str, str] = {}
    for pull in changes.items:
        if not isinstance(pull, dict) or pull.get("number") not in changes.shipped:
            continue
        deployment_id = changes.shipped[pull["number"]]
        if pull.get("kind_label") == "rollback" or kinds.get(deployment_id) == "rollback":
            kinds[deployment_id] = "rollback"
        elif pull.get("kind_label") == "hotfix":
            kinds[deployment_id] = "hotfix"
    return kinds


def _reject(item: Any, reason: str) -> Reject:
    return Reject(None, json.dumps(item, sort_keys=True, default=str), reason)


def item_row(page: Page, item: Any, options: Options) -> dict | Reject:
    """The canonical row of one raw item of a page, or the Reject that says why it has none."""
    if page.feed == "deployments":
        if "run" in item:
            run = item["run"]
            if not isinstance(run, dict) or run.get("id") is None:
                return _reject(run, "workflow run without an id")
            labelled = (page.labelled or {}).get(f"{page.repo}/actions/runs/{run['id']}")
            return run_row(page.repo, run, options, labelled, page.labelled is not None)
        deployment = item["deployment"]
        if not isinstance(deployment, dict) or deployment.get("id") is None:
            return _reject(deployment, "deployment without an id")
        labelled = (page.labelled or {}).get(f"{page.repo}/deployments/{deployment['id']}")
        return deployment_row(
            page.repo, deployment, item["statuses"], options, labelled, page.labelled is not None
        )
    if page.feed == "changes":
        if "reject" in item:
            return _reject(item["reject"], "pull request without a number")
        return change_row(page.repo, item, page.shipped.get(item["number"]))
    if not isinstance(item, dict) or item.get("number") is None:
        return _reject(item, "issue without a number")
    return incident_row(page.repo, item, options)


class GithubConnector(Connector):
    """Deployments, merged pull requests and incident issues of GitHub repositories."""

    kind = "github"
    produces = FEED_NAMES

    # -- configuration ----------------------------------------------------------------------

    def _repos(self) -> list[str]:
        repos = self.source.option("repos")
        if repos is None:
            repo = self.source.option("repo")
            repos = [repo] if repo is not None else []
        if not isinstance(repos, list) or not repos:
            raise SourceError(
                f"source {self.source.name!r}: kind 'github' needs `repo = \"owner/name\"` "
                "(or `repos = [...]`)"
            )
        bad = [str(r) for r in repos if not isinstance(r, str) or not _REPO.match(r)]
        if bad:
            raise SourceError(
                f"source {self.source.name!r}: repositories are written owner/name, got "
                + ", ".join(repr(b) for b in bad)
            )
        return list(repos)

    def _feeds(self) -> list[str]:
        if self.source.feed is not None:
            return [self.source.feed]
        feeds = self.source.option("feeds", list(FEED_NAMES))
        unknown = [f for f in feeds if f not in FEED_NAMES] if isinstance(feeds, list) else feeds
        if unknown or not feeds:
            raise SourceError(
                f"source {self.source.name!r}: `feeds` lists some of {', '.join(FEED_NAMES)}"
            )
        return list(feeds)

    def _options(self) -> Options:
        def opt(key: str, default: Any = None) -> Any:
            value = self.source.option(key, default)
            return None if value is None else str(value)

        return Options(
            model=opt("model"),
            team=opt("team"),
            version=opt("version"),
            environment=opt("environment"),
            run_environment=opt("environment", "production"),
            severity_prefix=opt("severity_label_prefix", "severity:"),
            model_prefix=opt("model_label_prefix", "model:"),
            team_prefix=opt("team_label_prefix", "team:"),
            hotfix_workflows=self._names("hotfix_workflows", ()),
            rollback_workflows=self._names("rollback_workflows", ()),
            hotfix_labels=self._names("hotfix_labels", ()),
            rollback_labels=self._names("rollback_labels", ()),
            incident_pattern=opt("incident_pattern", DEFAULT_INCIDENT_PATTERN),
            ai_labels=self._names("ai_assisted_labels", DEFAULT_AI_LABELS),
            ai_assistants=self._names("ai_assistants", DEFAULT_AI_ASSISTANTS),
        )

    def _names(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """An option that lists names (a single string is a list of one)."""
        value = self.source.option(key, list(default))
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SourceError(f"source {self.source.name!r}: `{key}` is a list of names")
        return tuple(value)

    def _since(self) -> str | None:
        since = self.source.option("since")
        if since is None:
            return None
        moment = parse_time(str(since)) or parse_time(f"{since}T00:00:00+00:00")
        if moment is None:
            raise SourceError(
                f"source {self.source.name!r}: `since` must be an ISO date, got {since!r}"
            )
        return _iso(moment)

    def validate(self) -> None:
        super().validate()
        self._repos()
        self._feeds()
        self._since()
        options = self._options()
        try:
            _closing_reference(options.incident_pattern)
        except re.error as error:
            raise SourceError(
                f"source {self.source.name!r}: incident_pattern is not a regex ({error})"
            ) from None
        source = self.source.option("deployments_from", "deployments")
        if source not in ("deployments", "actions"):
            raise SourceError(
                f"source {self.source.name!r}: deployments_from is 'deployments' or 'actions', "
                f"got {source!r}"
            )
        if source == "actions":
            if not (self.source.option("workflow") or self.source.option("workflow_regex")):
                raise SourceError(
                    f"source {self.source.name!r}: deployments_from = 'actions' needs `workflow` "
                    "(a glob on the workflow's name or file) or `workflow_regex`"
                )
            pattern = self.source.option("workflow_regex")
            if pattern is not None:
                try:
                    re.compile(str(pattern))
                except re.error as error:
                    raise SourceError(
                        f"source {self.source.name!r}: workflow_regex is not a regex ({error})"
                    ) from None

    def _client(self) -> HttpClient:
        return HttpClient(
            self.source.name,
            str(self.source.option("base_url", DEFAULT_BASE_URL)),
            token=self.source.secret("token_env"),
            token_env=self.source.option("token_env"),
            headers=API_HEADERS,
        )

    # -- extract: I/O only, and the state as it goes --------------------------------------------

    def extract(self) -> Iterator[Page]:
        http = self._client()
        feeds = self._feeds()
        for repo in self._repos():
            state = self._repo_state(repo, feeds)
            successes: list[dict] = []
            deployments = None
            if "deployments" in feeds or "changes" in feeds:
                deployments, successes = self._deployments(http, repo, state)
            # Incidents before changes: "fixes #9" names an incident only if issue 9 is one.
            incidents = self._incidents(http, repo, state) if "incidents" in feeds else None
            changes = None
            if "changes" in feeds:
                changes = self._changes(http, repo, state, successes)
                # A deployment's kind may come from the labels of the pull requests it shipped.
                deployments.labelled = shipped_kinds(changes)
            if "deployments" in feeds and deployments.items:
                yield deployments
            if changes is not None and changes.items:
                yield changes
            if incidents is not None and incidents.items:
                yield incidents

    def _repo_state(self, repo: str, feeds: list[str]) -> dict:
        """A repository's state, started afresh when the feeds this sync wants have changed.

        The marks say how far the feeds of the sync that left them were read. A feed added
        since was never read (deployments are read for `changes` alone, to link them, without
        being loaded): kept, the marks would skip its history.
        """
        wanted = sorted(feeds)
        state = self.state.get(repo)
        if not isinstance(state, dict) or state.get("feeds") != wanted:
            state = self.state[repo] = {"feeds": wanted}
        return state

    def _items(self, http: HttpClient, path: str, params: dict | None = None, key: str = ""):
        """Every item of a listing, following the Link header's rel="next"."""
        response = http.get(path, params)
        fetched = {response.url}
        while True:
            body = response.body
            items = body.get(key) if key and isinstance(body, dict) else body
            if not isinstance(items, list):
                raise SourceError(
                    f"source {self.source.name!r}: unexpected answer from {path} "
                    f"(expected a list{f' in {key!r}' if key else ''})"
                )
            yield from items
            next_url = response.next_link()
            if not next_url:
                return
            if next_url in fetched:
                raise SourceError(
                    f"source {self.source.name!r}: the pages of {path} link back to one already "
                    "read (a Link header that loops)"
                )
            fetched.add(next_url)
            response = http.get(next_url)

    def _deployments(self, http: HttpClient, repo: str, state: dict) -> tuple[Page, list[dict]]:
        """New (and newly finished) deployments, and the successful ones as canonical rows."""
        options = self._options()
        if self.source.option("deployments_from", "deployments") == "actions":
            items, since = self._runs(http, repo, state)
        else:
            items, since = self._deployment_items(http, repo, state)
        origin = f"github:{repo}:deployments" + (f" since {since}" if since else "")
        page = Page("deployments", repo, origin, items)
        # The linking needs them before normalize: the same pure mapping, not another one.
        rows = (item_row(page, item, options) for item in items)
        successes = [row for row in rows if isinstance(row, dict) and row["status"] == "success"]
        return page, successes

    def _deployment_items(
        self, http: HttpClient, repo: str, state: dict
    ) -> tuple[list[Any], str | None]:
        mark = state.get("deployments_at") or self._since()
        mark_at = parse_time(mark)
        params = {"environment": self.source.option("environment"), "per_page": PER_PAGE}
        # Deployments still unfinished at the last sync are older than the mark: read on to the
        # oldest of them (one that was deleted meanwhile is simply not found).
        waiting = {o["id"]: parse_time(o["created_at"]) for o in state.get("open", [])}
        fresh: list[Any] = []
        for deployment in self._items(http, f"repos/{repo}/deployments", params):
            created = (
                parse_time(deployment.get("created_at")) if isinstance(deployment, dict) else None
            )
            # `<`, not `<=`: one created in the mark's second after the last read is new, and
            # one read again is upserted unchanged.
            if mark_at is not None and created is not None and created < mark_at:
                if deployment.get("id") in waiting:
                    fresh.append(deployment)
                    del waiting[deployment["id"]]
                if not waiting or created < min(waiting.values()):
                    break  # newest first: the rest was read by an earlier sync
                continue
            if isinstance(deployment, dict):
                waiting.pop(deployment.get("id"), None)
            fresh.append(deployment)
        newest = [parse_time(d.get("created_at")) for d in fresh if isinstance(d, dict)]
        newest = [t for t in [*newest, mark_at] if t is not None]
        if newest:
            state["deployments_at"] = _iso(max(newest))
        stale_after = dt.timedelta(days=float(self.source.option("stale_after_days", 7)))
        now = settings.now()
        items: list[Any] = []
        still_open: list[dict] = []
        for deployment in fresh:
            if not isinstance(deployment, dict) or deployment.get("id") is None:
                items.append({"deployment": deployment, "statuses": []})
                continue
            statuses = list(
                self._items(
                    http,
                    f"repos/{repo}/deployments/{deployment['id']}/statuses",
                    {"per_page": PER_PAGE},
                )
            )
            created = parse_time(deployment.get("created_at"))
            unfinished = deployment_outcome(statuses) is None
            if unfinished and created is not None and now - created < stale_after:
                still_open.append({"id": deployment["id"], "created_at": _iso(created)})
                continue
            items.append({"deployment": deployment, "statuses": statuses})
        state["open"] = still_open
        return items, mark

    def _workflow_matches(self, run: dict) -> bool:
        names = [str(run.get("name") or ""), str(run.get("path") or "").rsplit("/", 1)[-1]]
        pattern = self.source.option("workflow_regex")
        if pattern is not None:
            return any(re.search(str(pattern), name) for name in names)
        glob = str(self.source.option("workflow")).lower()
        return any(fnmatch.fnmatchcase(name.lower(), glob) for name in names)

    def _runs(self, http: HttpClient, repo: str, state: dict) -> tuple[list[Any], str | None]:
        mark = state.get("runs_at") or self._since()
        since = None
        if mark:
            lookback = dt.timedelta(hours=float(self.source.option("lookback_hours", 24)))
            since = _iso(parse_time(mark) - lookback)
        params = {
            "status": "completed",
            "created": f">={since}" if since else None,
            "per_page": PER_PAGE,
        }
        ignored = set(self.source.option("ignore_conclusions", IGNORED_CONCLUSIONS))
        items: list[Any] = []
        newest = [parse_time(mark)] if mark else []
        for run in self._items(http, f"repos/{repo}/actions/runs", params, key="workflow_runs"):
            if not isinstance(run, dict) or run.get("id") is None:
                items.append({"run": run})
                continue
            created = parse_time(run.get("created_at"))
            if created is not None:
                newest.append(created)
            if not self._workflow_matches(run) or run.get("conclusion") in ignored:
                continue  # another workflow, or a run that deployed nothing
            items.append({"run": run})
        if newest:
            state["runs_at"] = _iso(max(newest))
        return items, since

    def _shipments(
        self, http: HttpClient, repo: str, state: dict, successes: list[dict]
    ) -> list[Shipment]:
        """What each new successful deployment of the linking environment shipped, in order."""
        environment = str(self.source.option("link_environment", "production")).lower()
        ours = [
            row
            for row in successes
            if str(row["environment"] or "").lower() == environment
            and row["commit_sha"]
            and parse_time(row["started_at"]) is not None
        ]
        ours.sort(key=lambda row: parse_time(row["started_at"]))
        last = state.get("last_success")
        shipments = []
        for row in ours:
            if last is not None and parse_time(row["started_at"]) <= parse_time(last["created_at"]):
                continue  # the one we compared from, or one that finished late: shipped nothing new
            current = {
                "deployment_id": row["deployment_id"],
                "sha": row["commit_sha"],
                "created_at": row["started_at"],
            }
            if last is None:
                state["first_success_at"] = row["started_at"]
            else:
                commits = self._items(
                    http,
                    f"repos/{repo}/compare/{last['sha']}...{row['commit_sha']}",
                    {"per_page": PER_PAGE},
                    key="commits",
                )
                shas = frozenset(c.get("sha") for c in commits if isinstance(c, dict))
                shipments.append(Shipment(row["deployment_id"], row["started_at"], shas))
            last = current
        state["last_success"] = last
        return shipments

    def _changes(self, http: HttpClient, repo: str, state: dict, successes: list[dict]) -> Page:
        mark = state.get("pulls_at") or self._since()
        mark_at = parse_time(mark)
        # The mark's second is read again (a pull request updated in it after the last read is
        # new); the ones the last sync read in it, unchanged since, are skipped: read again, a
        # shipped one would be linked anew, and lose its deployment.
        read_at_mark = set(state.get("pulls_read_at_mark", [])) if "pulls_at" in state else set()
        options = self._options()
        incident_numbers = frozenset(state.get("incident_numbers", []))
        pending = {p["number"]: p for p in state.get("pending", [])}
        params = {
            "state": "closed",
            "sort": "updated",
            "direction": "desc",
            "base": self.source.option("base"),
            "per_page": PER_PAGE,
        }

        def loaded_before(merged: dt.datetime | None, number: int) -> bool:
            """Whether an earlier sync read it merged: before the mark's second, or in it."""
            if mark_at is None or merged is None or merged > mark_at:
                return False
            return merged < mark_at or number in read_at_mark

        fresh: list[dict] = []
        rejects: list[Any] = []
        listed: list[tuple[int, dt.datetime]] = []
        for pull in self._items(http, f"repos/{repo}/pulls", params):
            if not isinstance(pull, dict) or pull.get("number") is None:
                rejects.append(pull)
                continue
            number = pull["number"]
            updated = parse_time(pull.get("updated_at"))
            if mark_at is not None and updated is not None:
                if updated < mark_at:
                    break  # newest-updated first: nothing past here changed since the last sync
                if updated == mark_at and number in read_at_mark:
                    continue
            if updated is not None:
                listed.append((number, updated))
            if pull.get("merged_at") is None:
                continue  # closed without merging: not a change
            if number in pending:
                fresh.append({**pending.pop(number), "title": pull.get("title")})
                continue
            if loaded_before(parse_time(pull.get("merged_at")), number):
                continue  # merged before the last sync: loaded then, updated since (a comment)
            commits = list(
                self._items(http, f"repos/{repo}/pulls/{number}/commits", {"per_page": PER_PAGE})
            )
            fresh.append(slim_pull(pull, commits, options, incident_numbers, repo))
        newest = max([t for t in [mark_at, *(u for _, u in listed)] if t is not None], default=None)
        if newest is not None:
            at_newest = {n for n, u in listed if u == newest}
            state["pulls_at"] = _iso(newest)
            state["pulls_read_at_mark"] = sorted(
                at_newest | (read_at_mark if newest == mark_at else set())
            )
        shipments = self._shipments(http, repo, state, successes)
        waiting = list(pending.values())
        shipped = link_changes(fresh + waiting, shipments)
        first = parse_time(state.get("first_success_at"))
        still_pending = [
            p
            for p in fresh + waiting
            if p["number"] not in shipped
            and parse_time(p.get("merged_at")) is not None
            and not (
                first is not None
                and parse_time(p.get("merged_at")) is not None
                and parse_time(p.get("merged_at")) < first
            )
        ]
        still_pending.sort(key=lambda p: str(p.get("merged_at") or ""))
        state["pending"] = still_pending[-MAX_PENDING:]
        items: list[Any] = fresh + [p for p in waiting if p["number"] in shipped]
        items += [{"reject": r} for r in rejects]
        origin = f"github:{repo}:changes" + (f" since {mark}" if mark else "")
        return Page("changes", repo, origin, items, shipped)

    def _incidents(self, http: HttpClient, repo: str, state: dict) -> Page:
        mark = state.get("issues_at") or self._since()
        params = {
            "labels": str(self.source.option("incident_label", "incident")),
            "state": "all",
            "sort": "updated",
            "direction": "asc",
            "since": mark,
            "per_page": PER_PAGE,
        }
        items = []
        numbers = set(state.get("incident_numbers", []))
        newest = [parse_time(mark)] if mark else []
        for issue in self._items(http, f"repos/{repo}/issues", params):
            if isinstance(issue, dict) and "pull_request" in issue:
                continue  # the issues endpoint lists pull requests too
            items.append(issue)
            if isinstance(issue, dict) and isinstance(issue.get("number"), int):
                numbers.add(issue["number"])
            if isinstance(issue, dict) and parse_time(issue.get("updated_at")) is not None:
                newest.append(parse_time(issue.get("updated_at")))
        if newest:
            state["issues_at"] = _iso(max(newest))
        # Kept for the changes' "fixes #9" (the newest numbers when there are too many).
        state["incident_numbers"] = sorted(numbers)[-MAX_INCIDENT_NUMBERS:]
        origin = f"github:{repo}:incidents" + (f" since {mark}" if mark else "")
        return Page("incidents", repo, origin, items)

    # -- normalize: pure --------------------------------------------------------------------------

    def normalize(self, raw: Page) -> Batch:
        options = self._options()
        rows: list[dict] = []
        rejects: list[Reject] = []
        for item in raw.items:
            row = item_row(raw, item, options)
            if isinstance(row, Reject):
                rejects.append(row)
            else:
                rows.append(row)
        frame = pd.DataFrame(rows, columns=list(PAGE_COLUMNS[raw.feed]), dtype=object)
        return Batch(raw.feed, raw.origin, frame=frame, rejects=rejects)
