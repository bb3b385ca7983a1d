"""Jira Cloud: issues as tickets, their status changes as transitions, incidents by issue type.

    [[sources]]
    name = "jira"
    kind = "jira"
    base_url = "https://yourcompany.atlassian.net"
    jql = "project = ML"                    # which issues; an ORDER BY clause is kept
    email = "ml-bot@yourcompany.com"        # Basic auth: the Atlassian account's email...
    token_env = "JIRA_API_TOKEN"            # ...and the variable that holds its API token
    # auth = "bearer"                       # send the token as Bearer (an OAuth 2.0 token,
    #                                         or a personal access token), without `email`
    # timezone = "Europe/Berlin"            # the account's Jira timezone (default: asked)
    # team = "growth"                       # every issue's team, unless a rule below names one
    # team_label_prefix = "team:"           # label "team:growth" -> team "growth"
    # model_label_prefix = "model:"         # label "model:churn" -> model "churn"
    # teams = { "Growth" = "growth" }       # component (or label) -> team
    # models = { "Churn" = "churn" }        # component (or label) -> model
    # category_label_prefix = "category:"   # label "category:research" -> work category
    # roles = { "Ana Lima" = "data_science" }  # assignee display name (or account id) -> role
    # incident_type = "Incident"            # issue type(s) that are incidents, not tickets
    # deployment_field = "Deployment ID"    # incidents: field naming the deployment...
    # deployment_label_prefix = "deploy:"   # ...or a label "deploy:<deployment_id>"
    # sprint_field = "Sprint"               # custom fields by name (or id); these are the
    # story_points_field = ["Story Points", "Story point estimate"]  # defaults
    # page_size = 100

Search is `POST /rest/api/3/search/jql` (the old `/search` answers 410) with an explicit list
of fields and the changelog expanded, paged on `nextPageToken` until `isLast` (the token is
absent on the last page). The changelog embedded in a search result is capped: when its
`total` exceeds the histories returned, the whole changelog is paged from
`/rest/api/3/issue/{key}/changelog`. Sprint and story points are custom fields whose ids
differ per instance, resolved by name through `/rest/api/3/field`. Descriptions (ADF JSON in
v3) are not requested. The endpoints are Jira Cloud's: a Data Center server has no
`/rest/api/3/search/jql` and answers 404, named in the sync's error.

Work categories come from the issue type through the config's `[work_categories]` (or from a
category label); severities are priority names, renamed with `values.severity` if needed.
A transition's assignee is the one at the time: assignee changes in the changelog are replayed
in time order (before the first change, its `from`; with no change, the current one).
An assignee is their `accountId`, stable where display names change and are shared; a display
name only where Jira gives no account id. Roles are read from the display name (or the account
id) here, before the loader pseudonymises the assignee (connectors/identity.py).

Incremental: the latest `updated` seen is kept in the sync state, and the next sync adds
`AND updated >= "yyyy/MM/dd HH:mm"` to the JQL. JQL dates have minute precision and are read
in the timezone of the account that runs the search, not UTC: the mark is written in that
timezone (the `timezone` option, else the `timeZone` that `/rest/api/3/myself` reports) and
goes back one minute; when the timezone is unknown it goes back 14 hours more (the widest UTC
offset). Reading an issue again is harmless: the loader upserts by key and counts it as a
duplicate. The state also keeps the feeds it was read for: when they change (a source of
`feed = "tickets"` now reads every feed), the mark is dropped and every issue is read again,
since a feed added was never read and the mark would skip its history.

Label prefixes, label and component names in `teams` / `models`, and issue types match
case-insensitively; the values taken are kept as written (connectors/labels.py).
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from connectors.base import Connector
from connectors.feeds import column_names
from connectors.feeds import parse_instant as _instant
from connectors.http import HttpClient, json_text
from connectors.labels import LabelRule, folded, prefixed
from connectors.loader import Batch, SourceError
from connectors.secrets import safe_url

SEARCH_PATH = "rest/api/3/search/jql"
FIELDS_PATH = "rest/api/3/field"
MYSELF_PATH = "rest/api/3/myself"
CHANGELOG_PATH = "rest/api/3/issue/{key}/changelog"

SYSTEM_FIELDS = (
    "summary",
    "issuetype",
    "status",
    "assignee",
    "created",
    "updated",
    "resolutiondate",
    "labels",
    "components",
    "priority",
    "issuelinks",
)
DEFAULT_SPRINT_FIELDS = ("Sprint",)
DEFAULT_STORY_POINTS_FIELDS = ("Story Points", "Story point estimate")
CHANGELOG_PAGE = 100
JQL_DATE = "%Y/%m/%d %H:%M"
MARGIN = dt.timedelta(minutes=1)
# Without the account's timezone, a mark written in UTC may be read up to 14 hours early
# (UTC+14) or 12 hours late (UTC-12): going back 14 hours covers both.
UNKNOWN_TIMEZONE_MARGIN = dt.timedelta(hours=14)

COLUMNS = {name: column_names(name) for name in ("tickets", "ticket_transitions", "incidents")}

_ORDER_BY = re.compile(r"\s+order\s+by\s+.*$", re.IGNORECASE | re.DOTALL)
_LEGACY_SPRINT_NAME = re.compile(r"[\[,]name=([^,\]]*)")


# -- options shared with the CSV export (connectors/jira_csv.py) -------------------------------


@dataclass(frozen=True)
class IssueRules:
    """How one source's issues get a team, a model, a work category and roles (from options).

    Read once per source: labels and components match names case-insensitively and values are
    kept as written (connectors/labels.py); roles match the assignee's display name as written,
    or their account id.
    """

    team: LabelRule = field(default_factory=LabelRule)
    model: LabelRule = field(default_factory=LabelRule)
    category_label_prefix: str | None = None
    roles: Mapping[str, str] = field(default_factory=dict)
    incident_types: frozenset[str] = frozenset({"incident"})
    deployment_label_prefix: str | None = None

    @classmethod
    def from_options(cls, source_name: str, option: Any) -> IssueRules:
        """Read the mapping options of a source; SourceError naming a malformed one."""

        def text(key: str) -> str | None:
            value = option(key)
            if value is not None and not isinstance(value, str):
                raise SourceError(f"source {source_name!r}: `{key}` must be a string")
            return value or None

        def table(key: str) -> dict[str, str]:
            value = option(key) or {}
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise SourceError(
                    f"source {source_name!r}: `{key}` maps names to values, e.g. "
                    f'{key} = {{ "Growth" = "growth" }}'
                )
            return {str(k): v for k, v in value.items()}

        incident = option("incident_type", "Incident")
        if isinstance(incident, str):
            incident = [incident] if incident else []
        if not isinstance(incident, list) or not all(isinstance(v, str) for v in incident):
            raise SourceError(
                f"source {source_name!r}: `incident_type` is an issue type or a list of them"
            )
        return cls(
            team=LabelRule(text("team_label_prefix"), folded(table("teams")), text("team")),
            model=LabelRule(text("model_label_prefix"), folded(table("models")), text("model")),
            category_label_prefix=text("category_label_prefix"),
            roles=table("roles"),
            incident_types=frozenset(t.strip().casefold() for t in incident),
            deployment_label_prefix=text("deployment_label_prefix"),
        )

    def is_incident(self, issue_type: str | None) -> bool:
        return issue_type is not None and issue_type.strip().casefold() in self.incident_types

    def role(self, assignee: str | None, display_name: str | None = None) -> str | None:
        """The role of a person named by `display_name`, else by their id `assignee`."""
        if display_name and display_name in self.roles:
            return self.roles[display_name]
        return self.roles.get(assignee) if assignee else None

    def team_of(self, labels: list[str], components: list[str]) -> str | None:
        return self.team.pick(labels, components)

    def model_of(self, labels: list[str], components: list[str]) -> str | None:
        return self.model.pick(labels, components)

    def category_of(self, labels: list[str]) -> str | None:
        # None lets the loader map the issue type through the config's [work_categories].
        return prefixed(labels, self.category_label_prefix)

    def deployment_of(self, labels: list[str]) -> str | None:
        return prefixed(labels, self.deployment_label_prefix)


def zone(source_name: str, name: Any) -> zoneinfo.ZoneInfo:
    """The timezone an option names, or a SourceError naming the source."""
    try:
        return zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SourceError(
            f"source {source_name!r}: unknown timezone {name!r} (an IANA name like 'Europe/Berlin')"
        ) from None


# -- reading an issue ---------------------------------------------------------------------------


def _name(value: Any, key: str = "name") -> str | None:
    """The `name` (or `key`) of an object field like issuetype, status, priority."""
    if isinstance(value, dict):
        return json_text(value.get(key))
    return json_text(value)


def _person(value: Any) -> tuple[str | None, str | None]:
    """(identity, display name) of a user field: the identity is the stable accountId, the
    display name where Jira gives no account id."""
    display = _name(value, "displayName")
    account = _name(value, "accountId") if isinstance(value, dict) else None
    return account or display, display


def _strings(value: Any, key: str = "name") -> list[str]:
    """A list field (labels, components) as strings."""
    if not isinstance(value, list):
        return []
    return [s for s in (_name(v, key) if isinstance(v, dict) else json_text(v) for v in value) if s]


def _first(fields: Mapping[str, Any], ids: tuple[str, ...]) -> Any:
    """The first non-empty value among custom fields of the same meaning."""
    for field_id in ids:
        value = fields.get(field_id)
        if value not in (None, "", []):
            return value
    return None


def _sprint_name(value: Any) -> str | None:
    """The last sprint's name: Cloud gives objects, old Data Center strings `...[name=X,...]`."""
    if value in (None, "", []):
        return None
    last = value[-1] if isinstance(value, list) else value
    if isinstance(last, dict):
        return json_text(last.get("name"))
    text = json_text(last)
    match = _LEGACY_SPRINT_NAME.search(text or "")
    return match.group(1) if match else text


def _histories(issue: Mapping[str, Any]) -> list[dict]:
    """The issue's changelog histories, oldest first (unreadable times last, as read)."""
    changelog = issue.get("changelog") or {}
    histories = [h for h in changelog.get("histories") or [] if isinstance(h, dict)]

    def order(indexed: tuple[int, dict]) -> tuple:
        index, history = indexed
        at = _instant(history.get("created"))
        return (at is None, at or dt.datetime.min.replace(tzinfo=dt.UTC), index)

    # Ties keep the order read; ids break them when Jira lists newest first.
    return [h for _, h in sorted(enumerate(histories), key=order)]


def _items(history: Mapping[str, Any], field: str) -> list[dict]:
    return [
        item
        for item in history.get("items") or []
        if isinstance(item, dict) and (item.get("fieldId") or item.get("field")) == field
    ]


def transitions(issue: Mapping[str, Any], rules: IssueRules) -> list[dict]:
    """One row per status change of an issue, with the assignee at the time of the change.

    Assignee changes are replayed in time order; one made in the same history as a status
    change counts for it (who took the ticket moved it).
    """
    key = json_text(issue.get("key"))
    fields = issue.get("fields") or {}
    histories = _histories(issue)
    changes = [item for h in histories for item in _items(h, "assignee")]
    if changes:
        first = changes[0]
        display = json_text(first.get("fromString"))
        assignee = json_text(first.get("from")) or display
    else:
        assignee, display = _person(fields.get("assignee"))
    rows = []
    for history in histories:
        for change in _items(history, "assignee"):
            display = json_text(change.get("toString"))
            assignee = json_text(change.get("to")) or display
        for change in _items(history, "status"):
            rows.append(
                {
                    "ticket_id": key,
                    "at": json_text(history.get("created")),
                    "from_status": json_text(change.get("fromString")),
                    "to_status": json_text(change.get("toString")),
                    "assignee": assignee,
                    "role": rules.role(assignee, display),
                }
            )
    return rows


@dataclass(frozen=True)
class FieldIds:
    """The instance's ids of the custom fields Tandem reads, resolved by name."""

    sprint: tuple[str, ...] = ()
    story_points: tuple[str, ...] = ()
    deployment: tuple[str, ...] = ()

    @property
    def requested(self) -> list[str]:
        return [*SYSTEM_FIELDS, *self.sprint, *self.story_points, *self.deployment]


@dataclass(frozen=True)
class IssuePage:
    """One page of search results (changelogs complete) for one feed: what extract yields."""

    feed: str
    page: int
    since: str | None
    issues: tuple[dict, ...]
    fields: FieldIds


def names_option(
    value: Any, what: str, source: str, noun: str = "a field name (or id)"
) -> tuple[str, ...] | None:
    """An option that names one field (a string) or several (a list), as a tuple.

    Args:
        value: the option's value; None if unset.
        what: the option's key, for the error.
        source: the source's name, for the error.
        noun: what one name names, for the error ("a column name").

    Returns:
        The names, or None when the option is unset; a SourceError when it is neither.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise SourceError(f"source {source!r}: `{what}` is {noun} or a list of them")


def _split_order(jql: str) -> tuple[str, str]:
    """The JQL's condition and its ORDER BY clause (kept last when the condition grows)."""
    match = _ORDER_BY.search(jql)
    if not match:
        return jql.strip(), ""
    return jql[: match.start()].strip(), match.group(0).strip()


def narrowed_jql(jql: str, since: str | None) -> str:
    """The configured JQL, restricted to issues updated since `since` ("yyyy/MM/dd HH:mm")."""
    if since is None:
        return jql
    condition, order = _split_order(jql)
    narrowed = f'({condition}) AND updated >= "{since}"'
    return f"{narrowed} {order}" if order else narrowed


class JiraConnector(Connector):
    """Jira Cloud's REST API v3: tickets, ticket_transitions and incidents."""

    kind = "jira"
    produces = ("tickets", "ticket_transitions", "incidents")

    def validate(self) -> None:
        super().validate()
        name = self.source.name
        for key in ("base_url", "jql"):
            value = self.source.option(key)
            if not isinstance(value, str) or not value.strip():
                raise SourceError(f"source {name!r}: kind 'jira' needs `{key}`")
        auth = self.source.option("auth", "basic")
        if auth not in ("basic", "bearer"):
            raise SourceError(f"source {name!r}: `auth` is 'basic' or 'bearer', not {auth!r}")
        has_token = self.source.option("token_env") is not None
        if has_token and auth == "basic" and not self._user():
            raise SourceError(
                f"source {name!r}: Jira Cloud's Basic auth needs `email` (the account the API "
                'token belongs to); a Data Center personal access token needs auth = "bearer"'
            )
        if self._user() and not has_token:
            raise SourceError(
                f"source {name!r}: `email` is set but not `token_env` (the environment "
                "variable holding the API token)"
            )
        if self.source.option("timezone") is not None:
            zone(name, self.source.option("timezone"))
        page_size = self.source.option("page_size", 100)
        if not isinstance(page_size, int) or page_size < 1:
            raise SourceError(f"source {name!r}: `page_size` must be a positive integer")
        for key in ("sprint_field", "story_points_field", "deployment_field"):
            names_option(self.source.option(key), key, name)
        self.rules = IssueRules.from_options(name, self.source.option)

    # -- I/O ------------------------------------------------------------------------------------

    def _user(self) -> str | None:
        return self.source.option("email") or self.source.option("user")

    def _client(self) -> HttpClient:
        bearer = self.source.option("auth") == "bearer"
        return HttpClient(
            self.source.name,
            self.source.option("base_url"),
            token=self.source.secret("token_env"),
            token_env=self.source.option("token_env"),
            scheme="Bearer" if bearer else "Basic",
            user=None if bearer else self._user(),
        )

    def _field_ids(self, http: HttpClient) -> FieldIds:
        reply = http.get(FIELDS_PATH).body
        if not isinstance(reply, list):
            raise SourceError(
                f"source {self.source.name!r}: {FIELDS_PATH} did not answer a list of fields"
            )
        known = [f for f in reply if isinstance(f, dict)]

        def resolve(option: str, defaults: tuple[str, ...]) -> tuple[str, ...]:
            configured = names_option(self.source.option(option), option, self.source.name)
            ids: list[str] = []
            for wanted in configured or defaults:
                matches = [
                    str(f["id"])
                    for f in known
                    if f.get("id") == wanted or str(f.get("name", "")).lower() == wanted.lower()
                ]
                if configured and not matches:
                    raise SourceError(
                        f"source {self.source.name!r}: no Jira field is named {wanted!r} "
                        f"({option}; see {FIELDS_PATH})"
                    )
                ids.extend(m for m in matches if m not in ids)
            return tuple(ids)

        return FieldIds(
            sprint=resolve("sprint_field", DEFAULT_SPRINT_FIELDS),
            story_points=resolve("story_points_field", DEFAULT_STORY_POINTS_FIELDS),
            deployment=resolve("deployment_field", ()),
        )

    def _since(self, http: HttpClient) -> str | None:
        """The JQL lower bound for `updated` from the stored mark, in the account's timezone."""
        mark = _instant(self.state.get("updated"))
        if mark is None:
            return None
        name = self.source.option("timezone")
        if name is None:
            reply = http.get(MYSELF_PATH).body
            name = reply.get("timeZone") if isinstance(reply, dict) else None
        zone = None
        if name:
            try:
                zone = zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                zone = None
        if zone is None:
            return (mark - MARGIN - UNKNOWN_TIMEZONE_MARGIN).astimezone(dt.UTC).strftime(JQL_DATE)
        return (mark - MARGIN).astimezone(zone).strftime(JQL_DATE)

    def _complete(self, http: HttpClient, issue: dict) -> dict:
        """The issue with its whole changelog, paged from the changelog endpoint if capped."""
        changelog = issue.get("changelog")
        if not isinstance(changelog, dict):
            return issue
        histories = changelog.get("histories") or []
        total = changelog.get("total")
        if not isinstance(total, int) or total <= len(histories) or not issue.get("key"):
            return issue
        path = CHANGELOG_PATH.format(key=urllib.parse.quote(str(issue["key"]), safe=""))
        values: list[dict] = []
        while True:
            reply = http.get(path, {"startAt": len(values), "maxResults": CHANGELOG_PAGE}).body
            page = reply.get("values") if isinstance(reply, dict) else None
            if not page:
                break
            values.extend(page)
            if reply.get("isLast", len(values) >= reply.get("total", total)):
                break
        return {**issue, "changelog": {**changelog, "histories": values}}

    def _advance_mark(self, issues: list[dict]) -> None:
        seen = [_instant((i.get("fields") or {}).get("updated")) for i in issues]
        latest = max((s for s in seen if s is not None), default=None)
        mark = _instant(self.state.get("updated"))
        if latest is not None and (mark is None or latest > mark):
            self.state["updated"] = latest.astimezone(dt.UTC).isoformat()

    def _wanted(self) -> list[str]:
        return [self.source.feed] if self.source.feed else list(self.produces)

    def extract(self) -> Iterator[IssuePage]:
        wanted = self._wanted()
        if self.state.get("feeds") != sorted(wanted):
            # The mark says how far the feeds of the sync that left it were read: a feed added
            # since was never read, and the mark would skip its history.
            self.state = {"feeds": sorted(wanted)}
        http = self._client()
        fields = self._field_ids(http)
        since = self._since(http)
        body: dict[str, Any] = {
            "jql": narrowed_jql(self.source.option("jql"), since),
            "fields": fields.requested,
            "maxResults": self.source.option("page_size", 100),
        }
        if "ticket_transitions" in wanted:
            body["expand"] = "changelog"
        page = 0
        while True:
            page += 1
            reply = http.post(SEARCH_PATH, body).body
            if not isinstance(reply, dict):
                raise SourceError(
                    f"source {self.source.name!r}: {SEARCH_PATH} did not answer a page of issues"
                )
            issues = [i for i in reply.get("issues") or [] if isinstance(i, dict)]
            if "ticket_transitions" in wanted:
                issues = [self._complete(http, issue) for issue in issues]
            self._advance_mark(issues)
            for feed in wanted:
                yield IssuePage(feed, page, since, tuple(issues), fields)
            token = reply.get("nextPageToken")
            if reply.get("isLast") or not token:
                break
            body = {**body, "nextPageToken": token}

    # -- pure -----------------------------------------------------------------------------------

    def normalize(self, raw: IssuePage) -> Batch:
        build = {
            "tickets": self._tickets,
            "ticket_transitions": self._transitions,
            "incidents": self._incidents,
        }[raw.feed]
        rows = build(raw)
        frame = pd.DataFrame(rows, columns=list(COLUMNS[raw.feed]), dtype=object)
        window = f"updated >= {raw.since}" if raw.since else "all issues"
        origin = f"{safe_url(self.source.option('base_url'))} search ({window}) page {raw.page}"
        return Batch(raw.feed, origin, frame=frame)

    def _is_incident(self, issue: Mapping[str, Any]) -> bool:
        return self.rules.is_incident(_name((issue.get("fields") or {}).get("issuetype")))

    def _linked_incident(self, fields: Mapping[str, Any]) -> str | None:
        """The key of the first issue linked to this one (either way, any link type) whose type
        is an incident type: the incident the ticket's work fixes."""
        for link in fields.get("issuelinks") or ():
            if not isinstance(link, Mapping):
                continue
            for side in ("outwardIssue", "inwardIssue"):
                linked = link.get(side)
                if isinstance(linked, Mapping) and self._is_incident(linked):
                    return json_text(linked.get("key"))
        return None

    def _tickets(self, raw: IssuePage) -> list[dict]:
        rows = []
        for issue in raw.issues:
            if self._is_incident(issue):
                continue
            fields = issue.get("fields") or {}
            labels = _strings(fields.get("labels"))
            components = _strings(fields.get("components"))
            assignee, display = _person(fields.get("assignee"))
            rows.append(
                {
                    "ticket_id": json_text(issue.get("key")),
                    "title": json_text(fields.get("summary")),
                    "type": _name(fields.get("issuetype")),
                    "work_category": self.rules.category_of(labels),
                    "team": self.rules.team_of(labels, components),
                    "model": self.rules.model_of(labels, components),
                    "assignee": assignee,
                    "role": self.rules.role(assignee, display),
                    "created_at": json_text(fields.get("created")),
                    "resolved_at": json_text(fields.get("resolutiondate")),
                    "status": _name(fields.get("status")),
                    "story_points": json_text(_first(fields, raw.fields.story_points)),
                    "sprint": _sprint_name(_first(fields, raw.fields.sprint)),
                    "labels": labels or None,
                    "incident_id": self._linked_incident(fields),
                }
            )
        return rows

    def _transitions(self, raw: IssuePage) -> list[dict]:
        return [
            row
            for issue in raw.issues
            if not self._is_incident(issue)
            for row in transitions(issue, self.rules)
        ]

    def _incidents(self, raw: IssuePage) -> list[dict]:
        rows = []
        for issue in raw.issues:
            if not self._is_incident(issue):
                continue
            fields = issue.get("fields") or {}
            labels = _strings(fields.get("labels"))
            components = _strings(fields.get("components"))
            rows.append(
                {
                    "incident_id": json_text(issue.get("key")),
                    "title": json_text(fields.get("summary")),
                    "model": self.rules.model_of(labels, components),
                    "team": self.rules.team_of(labels, components),
                    "opened_at": json_text(fields.get("created")),
                    "resolved_at": json_text(fields.get("resolutiondate")),
                    "severity": _name(fields.get("priority")),
                    "deployment_id": json_text(_first(fields, raw.fields.deployment))
                    or self.rules.deployment_of(labels),
                }
            )
        return rows
