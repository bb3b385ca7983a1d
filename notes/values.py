"""The notes store's plain values that a page needs without opening the store: who writes
(Actor, local_actor), what the warehouse knows (Known), the longest text (TEXT_LIMIT).
No SQLAlchemy nor Alembic here: importing those costs about 0.3 s of a process's first page
view, and most views write nothing. notes/store.py gives these under its own names too.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from dataclasses import dataclass

# The longest annotation, action or action's outcome, in characters (after trimming blanks).
TEXT_LIMIT = 2_000


@dataclass(frozen=True)
class Actor:
    """Who writes: a signed-in user, or without sign-in the OS user (`local_actor`)."""

    name: str
    is_admin: bool = False


def local_actor(admins: Iterable[str] = ()) -> Actor:
    """The OS user as the author (no sign-in); an admin when `[notes] admins` names them."""
    name = getpass.getuser()
    return Actor(name, name in set(admins))


@dataclass(frozen=True)
class Known:
    """What the warehouse knows, passed in by the caller: its (team, model) pairs and the keys
    of the retro's figures an action may link (metrics.actions.figure_keys)."""

    pairs: frozenset[tuple[str | None, str | None]]
    figures: frozenset[str] = frozenset()
    # True when `pairs` are a signed-in person's teams and models only (metrics.access): then
    # "everything" means the company's records and those of the known teams and models.
    restricted: bool = False

    @classmethod
    def of(
        cls,
        pairs: Iterable[tuple[str | None, str | None]],
        figures: Iterable[str] = (),
        restricted: bool = False,
    ) -> Known:
        return cls(frozenset((t, m) for t, m in pairs), frozenset(figures), restricted)

    @property
    def teams(self) -> frozenset[str]:
        return frozenset(t for t, _ in self.pairs if t is not None)

    @property
    def models(self) -> frozenset[str]:
        return frozenset(m for _, m in self.pairs if m is not None)

    def models_of(self, team: str) -> frozenset[str]:
        return frozenset(m for t, m in self.pairs if t == team and m is not None)

    def teams_of(self, model: str) -> frozenset[str]:
        return frozenset(t for t, m in self.pairs if m == model and t is not None)
