"""Layers that point one way: every import of every project file, checked against the house.

    app.py -> pages/ -> metrics/ -> profiling/ -> warehouse
    app.py -> connectors/ -> {warehouse (through the one loader), profiling/}
    metrics/ -> notes/ (the store of what people write, beside the warehouse)
    settings: the configuration module anyone may import

Each .py file is parsed with `ast`, not imported, and every import counts wherever it sits
(module level, inside a function, under `if TYPE_CHECKING`). bench/ and tests/ sit outside the
layers and may import anything.

The import directions between the top-level packages, for a reader or a closing note:

    .venv/bin/python -m tests.test_layers
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Outside the layers: scripts and tests that drive the whole house.
EXEMPT = frozenset({"bench", "tests"})


@dataclass(frozen=True)
class Rule:
    """What one layer may import: project packages, and third-party packages."""

    layer: str
    # The project's top-level packages and modules it may import (itself included).
    project: frozenset[str]
    # Third-party packages it must never import.
    never: frozenset[str] = frozenset()
    # When set, the only third-party packages it may import (the standard library always).
    only: frozenset[str] | None = None


RULES = (
    Rule("warehouse", frozenset({"warehouse"}), never=frozenset({"streamlit"})),
    Rule("settings", frozenset({"settings"}), never=frozenset({"streamlit"})),
    Rule(
        "profiling",
        frozenset({"profiling", "warehouse", "settings"}),
        never=frozenset({"streamlit"}),
    ),
    # What people write (annotations, decisions, retro actions): its own database, below the
    # metrics that read it beside the warehouse; it knows no metric and no page.
    Rule("notes", frozenset({"notes", "settings"}), never=frozenset({"streamlit"})),
    Rule(
        "connectors",
        frozenset({"connectors", "profiling", "warehouse", "settings"}),
        never=frozenset({"streamlit"}),
    ),
    Rule(
        "metrics",
        frozenset({"metrics", "profiling", "notes", "warehouse", "settings"}),
        never=frozenset({"streamlit"}),
    ),
    Rule(
        "pages",
        frozenset({"pages", "metrics"}),
        only=frozenset({"streamlit", "plotly", "pandas"}),
    ),
    # app.py is the composition root: it wires the first-start sync (connectors), checks the
    # warehouse it is about to fill (warehouse.needs_upgrade) and hands the pages their filters.
    Rule("app", frozenset({"app", "pages", "metrics", "connectors", "settings", "warehouse"})),
)
ORDER = ("app", "pages", "connectors", "metrics", "notes", "profiling", "warehouse", "settings")


@dataclass(frozen=True)
class Import:
    """One import statement's target in one file: the top-level name it reaches."""

    path: Path
    line: int
    name: str  # the top-level package or module, e.g. "metrics" for `from metrics.db import sql`


def python_files(root: Path) -> list[Path]:
    """Every project .py file under `root` (hidden directories left out)."""
    return sorted(
        path
        for path in root.rglob("*.py")
        if not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def top_level(root: Path) -> frozenset[str]:
    """The project's top-level packages and modules: what its own imports can name."""
    return frozenset(
        path.relative_to(root).parts[0].removesuffix(".py") for path in python_files(root)
    )


def layer_of(root: Path, path: Path) -> str:
    return path.relative_to(root).parts[0].removesuffix(".py")


def imports(root: Path, path: Path) -> Iterator[Import]:
    """Every import in one file, at any depth; relative imports resolved to their package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = path.relative_to(root).parent.parts
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = [part for part in [*base, *(node.module or "").split(".")] if part]
                if target:
                    yield Import(path, node.lineno, target[0])
            else:
                yield Import(path, node.lineno, node.module.split(".")[0])


def violations(root: Path, rule: Rule) -> list[str]:
    """Each import in `rule.layer` that breaks the rule, as 'file:line imports name'."""
    project = top_level(root)
    found = []
    for path in python_files(root):
        if layer_of(root, path) != rule.layer:
            continue
        for spot in imports(root, path):
            name = spot.name
            if name in project:
                broken = name not in rule.project
            elif name in sys.stdlib_module_names:
                broken = False
            else:
                broken = name in rule.never or (rule.only is not None and name not in rule.only)
            if broken:
                where = spot.path.relative_to(root)
                found.append(f"{where}:{spot.line} imports {name}")
    return found


def directions(root: Path) -> dict[str, list[str]]:
    """Per top-level package or module, the other project packages it imports."""
    project = top_level(root)
    out: dict[str, set[str]] = {name: set() for name in project}
    for path in python_files(root):
        layer = layer_of(root, path)
        out[layer] |= {i.name for i in imports(root, path) if i.name in project} - {layer}
    rank = {name: i for i, name in enumerate(ORDER)}
    ordered = sorted(out, key=lambda name: (rank.get(name, len(ORDER)), name))
    return {name: sorted(out[name]) for name in ordered}


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param(
            rule,
            id=rule.layer,
        )
        for rule in RULES
    ],
)
def test_imports_point_down(rule):
    broken = violations(ROOT, rule)
    allowed = ", ".join(sorted(rule.project - {rule.layer})) or "no project package"
    assert not broken, f"{rule.layer} may import {allowed}; found:\n" + "\n".join(broken)


def test_every_top_level_package_is_a_layer_or_exempt():
    layered = {rule.layer for rule in RULES}
    assert top_level(ROOT) - layered - EXEMPT == set()
    assert layered <= top_level(ROOT)


# SQL that changes a database: metrics only read (DuckDB's temp macros, created on each read
# connection from sql/macros.sql, are session state, not warehouse writes).
WRITES = re.compile(
    r"\b(insert\s+into|delete\s+from|update\s+\S+\s+set|merge\s+into|truncate\b|"
    r"create\s+(or\s+replace\s+)?(table|view|schema|sequence|index)|alter\s+table|drop\s+table)",
    re.IGNORECASE,
)


def writing_sql(root: Path, package: str) -> list[str]:
    """The string literals in a package's code (docstrings left out) that hold writing SQL."""
    found = []
    for path in python_files(root / package):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and WRITES.search(node.value)
            ):
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.value[:60]!r}")
    return found


def test_metrics_hold_no_sql_that_writes():
    assert writing_sql(ROOT, "metrics") == []


def test_the_checks_see_imports_and_writes_at_any_depth(tmp_path):
    """The checks themselves, on a tiny house: each planted break is found, nothing else."""
    files = {
        "warehouse.py": "import duckdb\n",
        "settings.py": "",
        "profiling/__init__.py": "",
        "profiling/store.py": "import warehouse\nfrom . import queries\n",
        "profiling/queries.py": "",
        "connectors/__init__.py": "",
        "connectors/sync.py": "from profiling import store\n\n"
        "def sync():\n    from metrics import drift\n",
        "metrics/__init__.py": "",
        "metrics/drift.py": '"""insert into docs is fine."""\n\n'
        "class Reader:\n    def read(self):\n        import streamlit\n"
        "        return 'delete from t where x = 1'\n",
        "notes/__init__.py": "",
        "notes/store.py": "import settings\nimport sqlalchemy\n\n"
        "def known():\n    from metrics import drift\n",
        "pages/__init__.py": "",
        "pages/page.py": "import pandas\nfrom metrics import drift\n\n"
        "if True:\n    import duckdb\n",
        "app.py": "from pages import page\nimport profiling\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = {rule.layer: violations(tmp_path, rule) for rule in RULES}
    assert found == {
        "warehouse": [],
        "settings": [],
        "profiling": [],
        "connectors": ["connectors/sync.py:4 imports metrics"],
        "metrics": ["metrics/drift.py:5 imports streamlit"],
        "notes": ["notes/store.py:5 imports metrics"],
        "pages": ["pages/page.py:5 imports duckdb"],
        "app": ["app.py:2 imports profiling"],
    }
    assert writing_sql(tmp_path, "metrics") == ["metrics/drift.py:6 'delete from t where x = 1'"]
    assert directions(tmp_path)["connectors"] == ["metrics", "profiling"]


def main() -> None:
    """Print the import directions between the top-level packages, one package a line."""
    for name, targets in directions(ROOT).items():
        print(f"{name} -> {', '.join(targets) or '(nothing)'}")


if __name__ == "__main__":
    main()
