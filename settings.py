"""Tandem's settings: one TOML file that names the warehouse and the sources.

Found at `--config`, else `$TANDEM_CONFIG`, else `./sources.toml`, else the embedded default
(the demo source and `data/tandem.duckdb`). Relative paths in a file are read from the file's
own folder. Secrets are never in the file: a source names the environment variable that holds
one (`token_env = "GITHUB_TOKEN"`), and `Secret` keeps the value out of reprs and logs.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_WAREHOUSE = Path("data") / "tandem.duckdb"
DEFAULT_CONTRACTS = "models.toml"
PROJECT_DIR = Path(__file__).resolve().parent
CONFIG_ENV = "TANDEM_CONFIG"
# Pins "now" (an ISO 8601 instant; a date means its midnight UTC) for tests, screenshots and
# reports that must read the same on any day. Unset: the wall clock.
NOW_ENV = "TANDEM_NOW"
DEFAULT_CONFIG_NAME = "sources.toml"
# The notes store (annotations, decisions, retro actions): a SQLite file beside the warehouse
# unless `[notes] url` or `url_env` names another database.
DEFAULT_NOTES_FILE = "tandem-notes.sqlite"
# The privacy key (pseudonyms of people) when `[privacy] key_env` names no variable: a file
# beside the config, or beside the warehouse for the embedded default, readable by its owner only.
DEFAULT_PRIVACY_KEY_FILE = "tandem-privacy.key"
# How often a source is expected to sync when its config does not say (`expected_every_hours`):
# Data sources calls it stale once its last successful sync is older than this.
DEFAULT_EXPECTED_EVERY_HOURS = 24.0

# How ticket types map onto work categories when a source gives no category (case-insensitive).
DEFAULT_WORK_CATEGORIES = {
    "bug": "maintenance",
    "chore": "maintenance",
    "tech debt": "maintenance",
    "maintenance": "maintenance",
    "story": "development",
    "task": "development",
    "feature": "development",
    "improvement": "development",
    "epic": "development",
    "spike": "research",
    "research": "research",
    "experiment": "experiment",
    "a/b test": "experiment",
    "learning": "learning",
    "training": "learning",
}


@dataclass(frozen=True)
class Workflow:
    """How a team's ticket statuses read: which are active work, waiting, blocked, done.

    Statuses match case-insensitively. Work categories group into the work mix, each group
    with its target share. Set in `[workflow]` of the config; these defaults fit Jira-like flows.
    """

    active: tuple[str, ...] = (
        "in progress",
        "in review",
        "review",
        "in development",
        "doing",
        "testing",
        "in testing",
        "qa",
        "in qa",
    )
    waiting: tuple[str, ...] = (
        "to do",
        "todo",
        "open",
        "backlog",
        "selected for development",
        "ready for engineering",
        "ready for dev",
        "ready for review",
        "ready",
        "waiting",
        "awaiting review",
    )
    blocked: tuple[str, ...] = ("blocked", "on hold", "impeded")
    done: tuple[str, ...] = ("done", "closed", "resolved", "released", "complete", "completed")
    # Work stopped without being finished: neither throughput nor work in progress.
    dropped: tuple[str, ...] = (
        "won't do",
        "wont do",
        "cancelled",
        "canceled",
        "rejected",
        "duplicate",
        "abandoned",
    )
    mix_groups: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("committed", ("development", "maintenance")),
        ("experiments", ("research", "experiment")),
        ("learning", ("learning",)),
    )
    mix_targets: tuple[tuple[str, float], ...] = (
        ("committed", 0.6),
        ("experiments", 0.3),
        ("learning", 0.1),
    )
    # A decided experiment carries a label like "outcome:productionize".
    outcome_label_prefix: str = "outcome:"

    def params(self) -> dict[str, Any]:
        """Named SQL parameters: $active_statuses, $waiting_statuses, ... as lowercase lists."""
        return {
            "active_statuses": list(self.active),
            "waiting_statuses": list(self.waiting),
            "blocked_statuses": list(self.blocked),
            "done_statuses": list(self.done),
            "dropped_statuses": list(self.dropped),
            "outcome_prefix": self.outcome_label_prefix,
        }


def _parse_workflow(raw: Any, origin: str) -> Workflow:
    if raw is None:
        return Workflow()
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: [workflow] must be a table")
    default = Workflow()
    fields: dict[str, Any] = {}
    for key in ("active", "waiting", "blocked", "done", "dropped"):
        if key in raw:
            values = raw[key]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ConfigError(f"{origin}: [workflow] {key} must be a list of status names")
            fields[key] = tuple(v.strip().lower() for v in values)
    if "mix_groups" in raw:
        groups = raw["mix_groups"]
        if not isinstance(groups, dict):
            raise ConfigError(f"{origin}: [workflow.mix_groups] maps a group to its categories")
        fields["mix_groups"] = tuple((g, tuple(c)) for g, c in groups.items())
    if "mix_targets" in raw:
        targets = raw["mix_targets"]
        if not isinstance(targets, dict) or not all(
            isinstance(v, int | float) for v in targets.values()
        ):
            raise ConfigError(f"{origin}: [workflow.mix_targets] maps a group to a share")
        fields["mix_targets"] = tuple((g, float(v)) for g, v in targets.items())
    if "outcome_label_prefix" in raw:
        fields["outcome_label_prefix"] = str(raw["outcome_label_prefix"])
    workflow = Workflow(**{**default.__dict__, **fields})
    groups = {g for g, _ in workflow.mix_groups}
    unknown = [g for g, _ in workflow.mix_targets if g not in groups]
    if unknown:
        raise ConfigError(
            f"{origin}: [workflow.mix_targets] names unknown groups: " + ", ".join(unknown)
        )
    return workflow


def now() -> dt.datetime:
    """The current instant in UTC: `$TANDEM_NOW` when set, else the wall clock.

    Every "today" in Tandem (the default windows, the retro's week, the demo's last day) reads
    it, so one variable moves all of them together.
    """
    pinned = os.environ.get(NOW_ENV, "").strip()
    if not pinned:
        return dt.datetime.now(dt.UTC)
    try:
        value = dt.datetime.fromisoformat(pinned)
    except ValueError:
        raise ConfigError(
            f"${NOW_ENV} must be an ISO 8601 date or instant like 2026-11-20T18:00:00Z, "
            f"got {pinned!r}"
        ) from None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class ConfigError(ValueError):
    """A configuration that cannot be used, with a sentence that says where and why."""


class Secret:
    """A value read from the environment that never shows itself in a repr, a log or an error."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself, for the one call that sends it (an Authorization header, a URL)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__


@dataclass(frozen=True)
class NotesConfig:
    """`[notes]`: where what people write (annotations, decisions, retro actions) is kept.

    `url` is a SQLAlchemy URL without a password; `url_env` names the environment variable that
    holds a URL with one (a shared PostgreSQL). Neither: a SQLite file beside the warehouse.
    `admins` may edit and delete anyone's annotations.
    """

    url: str | None = None
    url_env: str | None = None
    admins: tuple[str, ...] = ()

    def resolve(self, warehouse_path: Path) -> Secret:
        """The store's URL, kept a Secret: it may hold the password from `url_env`."""
        if self.url_env:
            value = os.environ.get(self.url_env)
            if not value:
                raise ConfigError(
                    f"[notes] url_env names the environment variable {self.url_env}, "
                    "which is not set"
                )
            return Secret(value)
        if self.url:
            return Secret(self.url)
        return Secret(f"sqlite:///{warehouse_path.parent / DEFAULT_NOTES_FILE}")


def _parse_notes(raw: Any, base_dir: Path, origin: str) -> NotesConfig:
    if raw is None:
        return NotesConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: [notes] must be a table")
    unknown = sorted(set(raw) - {"url", "url_env", "admins"})
    if unknown:
        raise ConfigError(
            f"{origin}: [notes] has unknown keys {', '.join(unknown)} (url, url_env, admins)"
        )
    url, url_env, admins = raw.get("url"), raw.get("url_env"), raw.get("admins", [])
    if url is not None and url_env is not None:
        raise ConfigError(f"{origin}: [notes] takes url or url_env, not both")
    if url is not None:
        if not isinstance(url, str) or "://" not in url:
            raise ConfigError(
                f"{origin}: [notes] url must be a SQLAlchemy URL like "
                f"sqlite:///data/tandem-notes.sqlite, got {url!r}"
            )
        if urllib.parse.urlsplit(url).password:
            raise ConfigError(
                f"{origin}: [notes] url holds a password: put the whole URL in an environment "
                "variable and name it in url_env"
            )
        # A relative SQLite path is read from the config file's folder, like every path here.
        prefix = "sqlite:///"
        if url.startswith(prefix) and url[len(prefix) :] and not url[len(prefix) :].startswith("/"):
            path = url[len(prefix) :]
            if path != ":memory:":
                url = prefix + os.path.normpath(base_dir / os.path.expanduser(path))
    if url_env is not None and (not isinstance(url_env, str) or not url_env.strip()):
        raise ConfigError(f"{origin}: [notes] url_env must name an environment variable")
    if not isinstance(admins, list) or not all(isinstance(a, str) and a.strip() for a in admins):
        raise ConfigError(f"{origin}: [notes] admins must be a list of user names")
    return NotesConfig(url=url, url_env=url_env, admins=tuple(a.strip() for a in admins))


# `[digest]`: the keys it takes, and SMTP's usual port (587, submission, with STARTTLS).
DIGEST_KEYS = ("webhook_env", "host", "port", "from", "to", "user_env", "password_env", "starttls")
DEFAULT_SMTP_PORT = 587


@dataclass(frozen=True)
class DigestConfig:
    """`[digest]`: where `python -m metrics digest` sends the weekly digest.

    `webhook_env` names the environment variable holding a Slack incoming-webhook URL (a
    secret). Email goes over SMTP to `host`:`port` from `sender` to `to`, logging in with the
    user and password held in the variables `user_env` and `password_env` when they are named,
    after STARTTLS when `starttls` is true.
    """

    webhook_env: str | None = None
    host: str | None = None
    port: int = DEFAULT_SMTP_PORT
    sender: str | None = None
    to: tuple[str, ...] = ()
    user_env: str | None = None
    password_env: str | None = None
    starttls: bool = False

    def secret(self, key: str) -> Secret | None:
        """The value of the variable named by `key` (webhook_env, user_env or password_env);
        None when the key is not set; ConfigError naming the key when its variable is empty."""
        variable = getattr(self, key)
        if variable is None:
            return None
        value = os.environ.get(variable)
        if not value:
            raise ConfigError(
                f"[digest] {key} names the environment variable {variable}, which is not set"
            )
        return Secret(value)


def _parse_digest(raw: Any, origin: str) -> DigestConfig:
    if raw is None:
        return DigestConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: [digest] must be a table")
    unknown = sorted(set(raw) - set(DIGEST_KEYS))
    if unknown:
        raise ConfigError(
            f"{origin}: [digest] has unknown keys {', '.join(unknown)} ({', '.join(DIGEST_KEYS)})"
        )
    for key in ("webhook_env", "user_env", "password_env", "host", "from"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{origin}: [digest] {key} must be a non-empty string, got {value!r}")
    port = raw.get("port", DEFAULT_SMTP_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"{origin}: [digest] port must be a whole number 1-65535, got {port!r}")
    to = raw.get("to", [])
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not all(isinstance(a, str) and "@" in a for a in to):
        raise ConfigError(
            f"{origin}: [digest] to must be an email address or a list of them, got {to!r}"
        )
    sender = raw.get("from")
    if sender is not None and "@" not in sender:
        raise ConfigError(f"{origin}: [digest] from must be an email address, got {sender!r}")
    starttls = raw.get("starttls", False)
    if not isinstance(starttls, bool):
        raise ConfigError(f"{origin}: [digest] starttls must be true or false, got {starttls!r}")
    if (raw.get("user_env") is None) != (raw.get("password_env") is None):
        raise ConfigError(f"{origin}: [digest] takes user_env and password_env together")
    return DigestConfig(
        webhook_env=raw.get("webhook_env"),
        host=raw.get("host"),
        port=port,
        sender=sender,
        to=tuple(a.strip() for a in to),
        user_env=raw.get("user_env"),
        password_env=raw.get("password_env"),
        starttls=starttls,
    )


# `[access]`: the keys it takes, and those of each `[[access.teams]]` table.
ACCESS_KEYS = ("allow", "admins", "teams")
TEAM_ACCESS_KEYS = ("team", "members", "viewers")
GROUP_PREFIX = "group:"


@dataclass(frozen=True)
class TeamAccess:
    """One `[[access.teams]]` table: a team, who works in it and who only reads its results.

    Each entry of `members` and `viewers` is an email glob (`*@example.com`) or `group:NAME`,
    a value of the sign-in's groups claim.
    """

    team: str
    members: tuple[str, ...] = ()
    viewers: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessConfig:
    """`[access]`: who may sign in (`allow`), who sees everything (`admins`), and each team's
    members and viewers. Not configured (no `[access]` table): the open mode, everyone local
    sees every team (metrics/access.py LOCAL)."""

    allow: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()
    teams: tuple[TeamAccess, ...] = ()
    configured: bool = False


def _access_patterns(raw: Any, where: str, what: str) -> tuple[str, ...]:
    """A list of email globs or group:NAME entries; ConfigError naming `where` otherwise."""
    if not isinstance(raw, list):
        raise ConfigError(f"{where} must be a list of {what}, got {raw!r}")
    patterns = []
    for item in raw:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{where} must be a list of {what}, got the entry {item!r}")
        item = item.strip()
        if item.startswith(GROUP_PREFIX):
            if not item[len(GROUP_PREFIX) :].strip():
                raise ConfigError(f"{where}: {item!r} names no group (group:NAME)")
            item = GROUP_PREFIX + item[len(GROUP_PREFIX) :].strip()
        elif "@" not in item:
            raise ConfigError(
                f"{where}: {item!r} is neither an email glob (it has no @) nor group:NAME"
            )
        patterns.append(item)
    return tuple(patterns)


def _parse_access(raw: Any, origin: str) -> AccessConfig:
    if raw is None:
        return AccessConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: [access] must be a table")
    unknown = sorted(set(raw) - set(ACCESS_KEYS))
    if unknown:
        raise ConfigError(
            f"{origin}: [access] has unknown keys {', '.join(unknown)} ({', '.join(ACCESS_KEYS)})"
        )
    globs = "email globs (or group:NAME)"
    if "allow" not in raw:
        raise ConfigError(f"{origin}: [access] needs allow, the email globs of who may sign in")
    allow = _access_patterns(raw["allow"], f"{origin}: [access] allow", globs)
    if not allow:
        raise ConfigError(f"{origin}: [access] allow is empty: nobody could sign in")
    admins = _access_patterns(raw.get("admins", []), f"{origin}: [access] admins", globs)
    raw_teams = raw.get("teams", [])
    if not isinstance(raw_teams, list):
        raise ConfigError(f"{origin}: [access] teams must be an array of tables ([[access.teams]])")
    teams: list[TeamAccess] = []
    for index, item in enumerate(raw_teams):
        where = f"{origin}: [[access.teams]] #{index + 1}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a table")
        name = item.get("team")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where} needs a team")
        where = f"{origin}: [[access.teams]] {name.strip()!r}"
        unknown = sorted(set(item) - set(TEAM_ACCESS_KEYS))
        if unknown:
            raise ConfigError(
                f"{where} has unknown keys {', '.join(unknown)} ({', '.join(TEAM_ACCESS_KEYS)})"
            )
        if any(t.team == name.strip() for t in teams):
            raise ConfigError(f"{where}: the team is listed twice in [[access.teams]]")
        teams.append(
            TeamAccess(
                team=name.strip(),
                members=_access_patterns(item.get("members", []), f"{where} members", globs),
                viewers=_access_patterns(item.get("viewers", []), f"{where} viewers", globs),
            )
        )
    return AccessConfig(allow=allow, admins=admins, teams=tuple(teams), configured=True)


# `[privacy]`: the keys it takes, and those of each `[[privacy.people]]` table.
PRIVACY_KEYS = ("min_people", "key_env", "show_names", "people")
PERSON_KEYS = ("name", "email", "github", "jira", "teams")
# The order a person's aliases are tried for their canonical identity (the HMAC's input).
ALIAS_KINDS = ("email", "github", "jira")


@dataclass(frozen=True)
class Person:
    """One `[[privacy.people]]` table: a person's name, their aliases in each tool, their teams.

    Every alias (an email, a GitHub login, a Jira account id) stands for the same person, who
    counts once across tools and gets one pseudonym: that of `canonical`, the first of email,
    github and jira the table gives (lower case).
    """

    name: str
    email: str | None = None
    github: str | None = None
    jira: str | None = None
    teams: tuple[str, ...] = ()

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(a for a in (self.email, self.github, self.jira) if a)

    @property
    def canonical(self) -> str:
        return self.aliases[0].lower()


@dataclass(frozen=True)
class PrivacyConfig:
    """`[privacy]`: how people show in the warehouse, and how few make a group too small.

    People (change authors, ticket and transition assignees) are stored as pseudonyms,
    `person-` + 10 hex characters of an HMAC-SHA256 of their identity under a key kept out of
    the config: in the environment variable `key_env` names, else in `key_file` (made on the
    first sync, mode 0600). `show_names = true` keeps names instead. `people` joins one person's
    aliases across tools.
    """

    min_people: int = 3
    key_env: str | None = None
    show_names: bool = False
    people: tuple[Person, ...] = ()
    key_file: Path = Path(DEFAULT_PRIVACY_KEY_FILE)


def _parse_privacy(raw: Any, key_file: Path, origin: str) -> PrivacyConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: [privacy] must be a table")
    unknown = sorted(set(raw) - set(PRIVACY_KEYS))
    if unknown:
        raise ConfigError(
            f"{origin}: [privacy] has unknown keys {', '.join(unknown)} ({', '.join(PRIVACY_KEYS)})"
        )
    min_people = raw.get("min_people", 3)
    if isinstance(min_people, bool) or not isinstance(min_people, int) or min_people < 1:
        raise ConfigError(
            f"{origin}: [privacy] min_people must be a whole number of at least 1, "
            f"got {min_people!r}"
        )
    key_env = raw.get("key_env")
    if key_env is not None and (not isinstance(key_env, str) or not key_env.strip()):
        # The value is a variable's name, never a key: saying what it is does no harm.
        raise ConfigError(
            f"{origin}: [privacy] key_env must name an environment variable, "
            f'like "TANDEM_PRIVACY_KEY", got {key_env!r}'
        )
    show_names = raw.get("show_names", False)
    if not isinstance(show_names, bool):
        raise ConfigError(
            f"{origin}: [privacy] show_names must be true or false, got {show_names!r}"
        )
    raw_people = raw.get("people", [])
    if not isinstance(raw_people, list):
        raise ConfigError(
            f"{origin}: [privacy] people must be an array of tables ([[privacy.people]])"
        )
    people: list[Person] = []
    owner: dict[str, str] = {}  # alias (lower case) -> the name of the person it belongs to
    for index, item in enumerate(raw_people):
        where = f"{origin}: [[privacy.people]] #{index + 1}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a table")
        unknown = sorted(set(item) - set(PERSON_KEYS))
        if unknown:
            raise ConfigError(
                f"{where} has unknown keys {', '.join(unknown)} ({', '.join(PERSON_KEYS)})"
            )
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where} needs a name")
        where = f"{origin}: [[privacy.people]] {name.strip()!r}"
        aliases: dict[str, str] = {}
        for kind in ALIAS_KINDS:
            value = item.get(kind)
            if value is None:
                continue
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where} {kind} must be a non-empty string")
            aliases[kind] = value.strip()
        if not aliases:
            raise ConfigError(f"{where} needs at least one of email, github, jira")
        for kind, alias in aliases.items():
            other = owner.get(alias.lower())
            if other is not None:
                raise ConfigError(
                    f"{where} {kind}: the alias is already {other!r}'s; "
                    "an alias belongs to one person"
                )
            owner[alias.lower()] = name.strip()
        teams = item.get("teams", [])
        if not isinstance(teams, list) or not all(isinstance(t, str) and t.strip() for t in teams):
            raise ConfigError(f"{where} teams must be a list of team names")
        people.append(Person(name=name.strip(), teams=tuple(t.strip() for t in teams), **aliases))
    return PrivacyConfig(
        min_people=min_people,
        key_env=key_env.strip() if key_env else None,
        show_names=show_names,
        people=tuple(people),
        key_file=key_file,
    )


@dataclass(frozen=True)
class SourceConfig:
    """One `[[sources]]` table: a name, a kind, and the options that kind reads."""

    name: str
    kind: str
    feed: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    base_dir: Path = Path(".")

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    @property
    def expected_every_hours(self) -> float:
        """How often this source should sync, in hours (`expected_every_hours`, default 24)."""
        return float(self.options.get("expected_every_hours", DEFAULT_EXPECTED_EVERY_HOURS))

    def path_option(self, key: str) -> Path | None:
        """An option holding a path (or glob), read relative to the config file's folder."""
        raw = self.options.get(key)
        if raw is None:
            return None
        path = Path(os.path.expanduser(str(raw)))
        return path if path.is_absolute() else self.base_dir / path

    def secret(self, key: str) -> Secret | None:
        """The secret whose environment variable the option `key` names (e.g. `token_env`)."""
        variable = self.options.get(key)
        if variable is None:
            return None
        value = os.environ.get(str(variable))
        if not value:
            raise ConfigError(
                f"source {self.name!r}: environment variable {variable} (named by {key}) is not set"
            )
        return Secret(value)


@dataclass(frozen=True)
class Config:
    """The whole configuration: where the warehouse is and what feeds it."""

    warehouse: Path
    sources: tuple[SourceConfig, ...]
    work_categories: dict[str, str]
    origin: str
    workflow: Workflow = field(default_factory=Workflow)
    # The model contracts (models.toml), when there is such a file.
    contracts: Path | None = None
    # The environment variable that holds a webhook URL for `python -m metrics check`.
    webhook_env: str | None = None
    # `[delivery] attribution_window_hours`: an incident that names no deployment falls back to
    # its model's latest successful production deployment only within this many hours before it
    # opened. None (unset): no window, the fallback always applies.
    attribution_window_hours: float | None = None
    # `[privacy]`: pseudonyms of people, their aliases, and the smallest group shown.
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    # `[notes]`: the store of annotations, decisions and retro actions.
    notes: NotesConfig = field(default_factory=NotesConfig)
    # `[digest]`: the weekly digest's webhook and email (python -m metrics digest).
    digest: DigestConfig = field(default_factory=DigestConfig)
    # `[access]`: who may sign in and which teams each person sees (default: not configured).
    access: AccessConfig = field(default_factory=AccessConfig)
    # `[warehouse] sync_memory_limit`: the most memory a sync holds before spilling to disk
    # (DuckDB's size syntax, "2GB", "512MB").
    sync_memory_limit: str = "2GB"  # warehouse.SYNC_MEMORY_LIMIT

    @property
    def min_people(self) -> int:
        """`[privacy] min_people`: a team-level split (AI-assisted changes) is withheld where
        fewer distinct change authors contributed to a group."""
        return self.privacy.min_people

    def notes_url(self) -> Secret:
        """The notes store's SQLAlchemy URL (a Secret: it may hold a password)."""
        return self.notes.resolve(self.warehouse)

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        names = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"{self.origin}: no source named {name!r} (sources: {names})")


_SOURCE_KEYS = {"name", "kind", "feed", "columns", "values"}


def _parse_source(raw: Any, index: int, base_dir: Path, origin: str) -> SourceConfig:
    where = f"{origin}: [[sources]] #{index + 1}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table")
    name, kind = raw.get("name"), raw.get("kind")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: needs a `name`")
    where = f"{origin}: source {name!r}"
    if not isinstance(kind, str) or not kind:
        raise ConfigError(f"{where}: needs a `kind`")
    columns = raw.get("columns", {})
    values = raw.get("values", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise ConfigError(f"{where}: `columns` maps canonical names to source column names")
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise ConfigError(f"{where}: `values` maps a column to a table of value renames")
    options = {k: v for k, v in raw.items() if k not in _SOURCE_KEYS}
    expected = options.get("expected_every_hours", DEFAULT_EXPECTED_EVERY_HOURS)
    if isinstance(expected, bool) or not isinstance(expected, int | float) or expected <= 0:
        raise ConfigError(
            f"{where}: `expected_every_hours` must be a positive number of hours "
            f"(24 for a daily sync, 168 for a weekly export), got {expected!r}"
        )
    return SourceConfig(
        name=name,
        kind=kind,
        feed=raw.get("feed"),
        columns=dict(columns),
        values={col: {str(k): str(v) for k, v in m.items()} for col, m in values.items()},
        options=options,
        base_dir=base_dir,
    )


def parse(
    data: dict[str, Any], base_dir: Path, origin: str, key_file: Path | None = None
) -> Config:
    """Turn a parsed TOML document into a Config; raise ConfigError naming what is wrong.

    `key_file` is where the privacy key is kept when `[privacy] key_env` names no variable
    (default: beside the config, in `base_dir`).
    """
    warehouse = data.get("warehouse", {})
    if not isinstance(warehouse, dict):
        raise ConfigError(f"{origin}: [warehouse] must be a table")
    path = Path(os.path.expanduser(str(warehouse.get("path", DEFAULT_WAREHOUSE))))
    memory_limit = warehouse.get("sync_memory_limit", Config.sync_memory_limit)
    if not isinstance(memory_limit, str) or not re.fullmatch(
        r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", memory_limit.strip(), re.IGNORECASE
    ):
        raise ConfigError(
            f'{origin}: [warehouse] sync_memory_limit must be a size like "2GB" or '
            f'"512MB", got {memory_limit!r}'
        )
    if not path.is_absolute():
        path = Path(os.path.normpath(base_dir / path))
    raw_sources = data.get("sources", [])
    if not isinstance(raw_sources, list):
        raise ConfigError(f"{origin}: `sources` must be an array of tables ([[sources]])")
    sources = tuple(_parse_source(s, i, base_dir, origin) for i, s in enumerate(raw_sources))
    seen: set[str] = set()
    for source in sources:
        if source.name in seen:
            raise ConfigError(f"{origin}: two sources are named {source.name!r}")
        seen.add(source.name)
    categories = dict(DEFAULT_WORK_CATEGORIES)
    categories.update({str(k).lower(): str(v) for k, v in data.get("work_categories", {}).items()})
    contracts_table = data.get("contracts", {})
    alerts = data.get("alerts", {})
    if not isinstance(contracts_table, dict) or not isinstance(alerts, dict):
        raise ConfigError(f"{origin}: [contracts] and [alerts] must be tables")
    contracts: Path | None = Path(
        os.path.expanduser(str(contracts_table.get("path", DEFAULT_CONTRACTS)))
    )
    if not contracts.is_absolute():
        contracts = Path(os.path.normpath(base_dir / contracts))
    if "path" not in contracts_table and not contracts.exists():
        # The demo's models come with their contracts (the models.toml shipped with Tandem).
        demo = any(source.kind == "demo" for source in sources)
        contracts = PROJECT_DIR / DEFAULT_CONTRACTS if demo else None
    delivery_table = data.get("delivery", {})
    if not isinstance(delivery_table, dict):
        raise ConfigError(f"{origin}: [delivery] must be a table")
    window = delivery_table.get("attribution_window_hours")
    if window is not None and (
        isinstance(window, bool) or not isinstance(window, int | float) or window <= 0
    ):
        raise ConfigError(
            f"{origin}: [delivery] attribution_window_hours must be a positive number of hours "
            f"(72 for three days), got {window!r}"
        )
    privacy = _parse_privacy(
        data.get("privacy", {}), key_file or base_dir / DEFAULT_PRIVACY_KEY_FILE, origin
    )
    return Config(
        warehouse=path,
        sync_memory_limit=memory_limit.strip(),
        sources=sources,
        work_categories=categories,
        origin=origin,
        workflow=_parse_workflow(data.get("workflow"), origin),
        contracts=contracts,
        webhook_env=alerts.get("webhook_env"),
        attribution_window_hours=None if window is None else float(window),
        privacy=privacy,
        notes=_parse_notes(data.get("notes"), base_dir, origin),
        digest=_parse_digest(data.get("digest"), origin),
        access=_parse_access(data.get("access"), origin),
    )


def default_config(base_dir: Path | None = None) -> Config:
    """The embedded default: the demo source, warehouse at data/tandem.duckdb, and the demo
    models' contracts (the models.toml shipped beside this file)."""
    base_dir = base_dir or Path.cwd()
    return parse(
        {
            "sources": [{"name": "demo", "kind": "demo"}],
            "contracts": {"path": str(PROJECT_DIR / DEFAULT_CONTRACTS)},
        },
        base_dir,
        "embedded default",
        # No config file to sit beside: the key goes beside the warehouse.
        key_file=base_dir / DEFAULT_WAREHOUSE.parent / DEFAULT_PRIVACY_KEY_FILE,
    )


def chosen_config() -> str | None:
    """The file `load()` reads without a path: $TANDEM_CONFIG, else ./sources.toml if there is
    one; None for the embedded default."""
    chosen = os.environ.get(CONFIG_ENV)
    if not chosen and Path(DEFAULT_CONFIG_NAME).exists():
        chosen = DEFAULT_CONFIG_NAME
    return chosen or None


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """The configuration at `path`, else $TANDEM_CONFIG, else ./sources.toml, else the default."""
    chosen = path or chosen_config()
    if not chosen:
        return default_config()
    config_path = Path(chosen).expanduser()
    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {config_path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{config_path}: not valid TOML ({error})") from None
    return parse(data, config_path.resolve().parent, str(config_path))
