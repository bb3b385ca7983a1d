"""Labels to fields: how GitHub and Jira sources read a team, a model or a severity from labels.

One case rule for every connector: names are matched case-insensitively and values are kept as
written. A label "Team:Growth" matches the prefix "team:" and gives "Growth"; a component
"GROWTH" matches the name "Growth" of `teams = { Growth = "growth" }` and gives "growth".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


def prefixed(labels: Iterable[str], prefix: str | None) -> str | None:
    """The rest of the first label that starts with `prefix` and has something after it.

    Args:
        labels: label names, in the order the source lists them.
        prefix: "team:", "model:", ...; None or "" matches nothing.

    Returns:
        What follows the prefix, stripped, as written; None if no label has it.
    """
    if not prefix:
        return None
    folded = prefix.casefold()
    for label in labels:
        rest = label[len(prefix) :].strip()
        if rest and label[: len(prefix)].casefold() == folded:
            return rest
    return None


def folded(table: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """A name -> value table keyed by case-folded name, for `LabelRule.names`."""
    items = table.items() if isinstance(table, Mapping) else table
    return {str(name).casefold(): value for name, value in items}


@dataclass(frozen=True)
class LabelRule:
    """Where one field (a team, a model) comes from: a label prefix, a table of names, a default.

    `names` is keyed by case-folded name (build it with `folded`), once per source.
    """

    prefix: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None

    def pick(self, labels: Iterable[str], components: Iterable[str] = ()) -> str | None:
        """A prefixed label first, then a component or a label `names` lists, then the default."""
        labels = list(labels)
        found = prefixed(labels, self.prefix)
        if found:
            return found
        for name in [*components, *labels]:
            value = self.names.get(name.casefold())
            if value is not None:
                return value
        return self.default
