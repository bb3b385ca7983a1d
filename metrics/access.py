"""Who sees which teams: the access policy of `[access]`, and its enforcement on the warehouse.

A signed-in person (`User`) resolves to a `Scope`: an admin sees every team; otherwise the teams
they are a member of (every page, the rows behind the numbers) and those they only view (KPI
check, Model overview, the retro summary; no rows). Several teams: the union.

The scope is enforced here, below the pages: `check` refuses filters naming a team or a model
outside it ("not in your teams") before any number is computed, and `restrict` shadows every
warehouse table holding team data with a temp view filtered to the scope, on the short-lived
read-only connection a metric runs on, so every query (and every macro) reads only the scope's
rows, and an all-teams total counts each row once. A model belongs to the teams that deploy it,
open its incidents or track its tickets (sql/catalog.sql) and to its contract's team
(models.toml); a model of no known team is hidden from everyone but admins.

The command-line tools are operator tools with file access: they run unscoped.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb

import warehouse
from metrics import db
from metrics.filters import Filters

if TYPE_CHECKING:
    import settings

GROUP_PREFIX = "group:"
# What NotInScope says, whatever was refused.
NOT_IN_SCOPE = "not in your teams"

# How each warehouse table holding team data is scoped for a non-admin, by the sql/ file of its
# view. Order matters: `changes` reads the scoped `deployments`, `ticket_transitions` the
# scoped `tickets`.
SCOPED_TABLES: dict[str, str] = {
    "deployments": "scope_by_team",
    "incidents": "scope_by_team_or_model",
    "tickets": "scope_by_team_or_model",
    "changes": "scope_by_deployment",
    "ticket_transitions": "scope_by_ticket",
    "inference": "scope_by_model",
    "inference_features": "scope_by_model",
    "kpis": "scope_by_model",
    "drift_bin_specs": "scope_by_model",
    "drift_profile_bins": "scope_by_model",
    "drift_profile_values": "scope_by_model",
    "drift_profile_days": "scope_by_model",
    "serving_profile_bins": "scope_by_model",
    "inference_kind_days": "scope_by_model",
    "quarantine": "scope_raw_hidden",
    # The steps the sync stored for the whole warehouse (profiling/stored_steps.py): a scoped
    # connection computes them from its own views instead (restrict), so a team's figures are
    # what its rows alone give.
    "attribution_incidents": "scope_hidden",
    "attribution_change_fixes": "scope_hidden",
    "attribution_change_shipping": "scope_hidden",
    "flow_tickets_stored": "scope_hidden",
    "flow_stays_stored": "scope_hidden",
    "source_holdings_stored": "scope_hidden",
}
# Tables that hold no team's data: every scope reads them whole.
UNSCOPED_TABLES = frozenset({"sync_runs", "source_state", "tandem_meta"})
# A table in neither list (a new one) reads as empty for non-admins until it gets a rule.
HIDDEN_VIEW = "scope_hidden"


# Columns that make a table a list of single items (a change, a ticket, an incident, a
# deployment, a request, a quarantined row): what a viewer is not shown (Scope.sees_rows).
ITEM_COLUMNS = frozenset(
    {
        "change_id",
        "ticket_id",
        "incident_id",
        "deployment_id",
        "attributed_deployment_id",
        "request_id",
        "row_number",
        "raw",
        # A title names one change, ticket or incident: a table with titles lists items.
        "title",
    }
)


def lists_items(columns: Iterable[str]) -> bool:
    """Whether a table of these columns lists single items rather than figures."""
    return not ITEM_COLUMNS.isdisjoint(columns)


class NotAllowed(Exception):
    """The person may not sign in (no `allow` glob matches, or they are in no team)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotInScope(Exception):
    """Filters name a team or a model outside the scope: "not in your teams"; `which` says
    what was refused ("team risk", "model fraud")."""

    def __init__(self, which: str = "") -> None:
        super().__init__(NOT_IN_SCOPE)
        self.which = which


@dataclass(frozen=True)
class User:
    """A signed-in person: their email (compared case-insensitively), the values of their
    groups claim, and a display name."""

    email: str
    groups: frozenset[str] = frozenset()
    name: str | None = None


def matches(pattern: str, user: User) -> bool:
    """Whether a `[access]` entry names the user: `group:NAME` when NAME is exactly one of
    their groups, else an email glob (fnmatch: `*`, `?`, `[ab]`) on the lowercased email."""
    if pattern.startswith(GROUP_PREFIX):
        return pattern[len(GROUP_PREFIX) :] in user.groups
    return fnmatch.fnmatchcase(user.email.strip().lower(), pattern.strip().lower())


def _any(patterns: Iterable[str], user: User) -> bool:
    return any(matches(pattern, user) for pattern in patterns)


@dataclass(frozen=True)
class Scope:
    """What one person sees: every team (admin), or the teams they are a member or a viewer of.

    Hashable and frozen: a cache keys by `key()`.
    """

    who: str
    admin: bool = False
    member_teams: frozenset[str] = frozenset()
    viewer_teams: frozenset[str] = frozenset()

    @property
    def role(self) -> str:
        """The role: admin, member (of at least one team) or viewer (of their teams only)."""
        if self.admin:
            return "admin"
        return "member" if self.member_teams else "viewer"

    @property
    def teams(self) -> frozenset[str] | None:
        """Every team in scope (member or viewer); None for an admin: every team."""
        if self.admin:
            return None
        return self.member_teams | self.viewer_teams

    def sees(self, team: str | None) -> bool:
        """Whether `team` is in scope (a team of None is in an admin's scope only)."""
        return self.admin or (team is not None and team in self.member_teams | self.viewer_teams)

    def sees_rows(self, filters: Filters | None = None) -> bool:
        """Whether the rows behind the numbers may be shown for `filters`: always for an admin;
        for the filter's team when it is a member team; with no team chosen, only when every
        team in scope is a member team."""
        if self.admin:
            return True
        team = filters.team if filters is not None else None
        if team is not None:
            return team in self.member_teams
        return bool(self.member_teams) and not self.viewer_teams

    @property
    def signed_in(self) -> bool:
        """False for the open mode's LOCAL scope (nobody signed in)."""
        return self != LOCAL

    def key(self) -> str:
        """A cache key: the same for two people who see the same teams the same way."""
        if self.admin:
            return "admin"
        members = ",".join(sorted(self.member_teams))
        viewers = ",".join(sorted(self.viewer_teams))
        return f"member:{members};viewer:{viewers}"

    @property
    def everything(self) -> str:
        """What no team chosen covers, in words: "all teams", or "your teams: growth, risk"."""
        teams = self.teams
        if teams is None:
            return "all teams"
        return ("your team: " if len(teams) == 1 else "your teams: ") + ", ".join(sorted(teams))

    def describe(self) -> str:
        """In words: "admin: every team", "member of growth, risk; viewer of forecasting"."""
        if self.admin:
            return "admin: every team"
        parts = []
        if self.member_teams:
            parts.append("member of " + ", ".join(sorted(self.member_teams)))
        if self.viewer_teams:
            parts.append("viewer of " + ", ".join(sorted(self.viewer_teams)))
        return "; ".join(parts) or "no team"


# The open mode (no sign-in configured): whoever runs Tandem locally sees every team.
LOCAL = Scope(who="local", admin=True)


def resolve(access: settings.AccessConfig, user: User) -> Scope:
    """The scope of `user` under `[access]`; NotAllowed when they may not sign in.

    Without `[access]` (not configured), the open mode: LOCAL.
    """
    if not access.configured:
        return LOCAL
    who = user.email.strip().lower()
    if not _any(access.allow, user):
        raise NotAllowed(f"{who} is not allowed to sign in to Tandem")
    if _any(access.admins, user):
        return Scope(who=who, admin=True)
    members = frozenset(t.team for t in access.teams if _any(t.members, user))
    viewers = frozenset(t.team for t in access.teams if _any(t.viewers, user)) - members
    if not members and not viewers:
        raise NotAllowed(f"signed in as {who} but in no team of [access]")
    return Scope(who=who, member_teams=members, viewer_teams=viewers)


# -- which teams a model belongs to ------------------------------------------------------------

Pair = tuple[str | None, str | None]


def contract_pairs(terms: Mapping[str, Any]) -> frozenset[Pair]:
    """(team, model) for each contract (models.toml) that names its team."""
    return frozenset((c.team, model) for model, c in terms.items() if getattr(c, "team", None))


def warehouse_pairs(con: duckdb.DuckDBPyConnection) -> frozenset[Pair]:
    """(team, model) as the warehouse pairs them (sql/catalog.sql); read it on a connection
    that is not restricted (restrict reads it before shadowing the tables)."""
    return frozenset(db.rows(con, "catalog"))


def models_of(teams: Iterable[str], pairs: Iterable[Pair]) -> frozenset[str]:
    """The models any of `teams` has (a model of no known team belongs to none)."""
    wanted = set(teams)
    return frozenset(m for t, m in pairs if m is not None and t is not None and t in wanted)


def check(
    filters: Filters | None,
    scope: Scope,
    catalog_pairs: Iterable[Pair],
    model: str | None = None,
) -> None:
    """Refuse (NotInScope) filters naming a team outside the scope, or a model (the filters'
    or `model`, for the entries that take it apart from the filters) none of whose teams is in
    it. An admin's scope refuses nothing."""
    if scope.admin:
        return
    if filters is not None and filters.team is not None and not scope.sees(filters.team):
        raise NotInScope(f"team {filters.team}")
    named = [m for m in (filters.model if filters is not None else None, model) if m]
    if named:
        visible = models_of(scope.teams or (), catalog_pairs)
        for name in named:
            if name not in visible:
                raise NotInScope(f"model {name}")


# -- enforcement on a read connection ------------------------------------------------------------


def _base(database: str, table: str) -> str:
    # Qualified with the database: a bare main.x would resolve to the temp view itself.
    return ".".join(warehouse.quote(part) for part in (database, "main", table))


def tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The warehouse's own tables (not the temp ones) on the connection's current database."""
    return [
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() "
            "where database_name = current_database() and schema_name = 'main' "
            "order by table_name"
        ).fetchall()
    ]


def restrict(
    con: duckdb.DuckDBPyConnection, scope: Scope, extra_pairs: Iterable[Pair] = ()
) -> duckdb.DuckDBPyConnection:
    """Make `con` read only what `scope` sees (nothing to do for an admin).

    Fills the temp tables scope_teams and scope_models (models of the scope's teams in the
    warehouse, or in `extra_pairs`: the contracts' teams), then shadows every table holding team
    data with a temp view of the same name filtered to them (SCOPED_TABLES); quarantined rows
    keep their reasons but lose their raw content; a table in no list reads as empty. Views
    shadow tables for plain names and for the macros made before (metrics/db.py prepare); the
    attribution macros are made again to compute over the views, not read the stored rows.
    """
    if scope.admin:
        return con
    teams = sorted(scope.teams or ())
    pairs = warehouse_pairs(con) | frozenset(extra_pairs)
    models = sorted(models_of(teams, pairs))
    con.execute(db.sql("scope_teams"), {"teams": teams})
    con.execute(db.sql("scope_models"), {"models": models})
    ((database,),) = con.execute("select current_database()").fetchall()
    present = tables(con)
    ordered = [t for t in SCOPED_TABLES if t in present]
    ordered += [t for t in present if t not in SCOPED_TABLES and t not in UNSCOPED_TABLES]
    for table in ordered:
        rule = SCOPED_TABLES.get(table, HIDDEN_VIEW)
        con.execute(db.sql(rule).format(view=warehouse.quote(table), base=_base(database, table)))
    # The macros again, computing the attribution over the scoped views rather than reading
    # what the sync stored for every team.
    db.prepare(con, stored=())
    return con


def visible_models(con: duckdb.DuckDBPyConnection) -> frozenset[str] | None:
    """The models a restricted connection may show; None when it is not restricted (every
    model). For metrics that list models from elsewhere than the warehouse (the contracts)."""
    ((restricted,),) = con.execute(
        "select count(*) from duckdb_tables() "
        "where database_name = 'temp' and table_name = 'scope_models'"
    ).fetchall()
    if not restricted:
        return None
    return frozenset(m for (m,) in con.execute("select model from scope_models").fetchall())
