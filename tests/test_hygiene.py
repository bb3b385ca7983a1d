"""The test suite's own house rules, read from its source with `ast`.

- No module of the suite (a test module, a helper, a plugin, conftest.py) imports a test module
  or conftest.py,
  whether written (`from tests.test_x import y`) or by name (`importlib.import_module(...)`,
  `__import__(f"tests.test_{kind}")`): what two test files share lives in a helper module
  (tests/helpers/, tests/replay.py) or a plugin (tests/plugins/), never in a `test_*.py`, so
  running one file never runs another's module code and a fixture is defined once.
- The fixtures that make a test `slow` (tests/plugins/slow.py) exist under those names, so a
  renamed fixture cannot quietly bring the demo warehouse back into `pytest -m "not slow"`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.plugins import slow

TESTS = Path(__file__).resolve().parent
TEST_FILES = sorted(TESTS.glob("test_*.py"))
TEST_NAMES = {path.name for path in TEST_FILES}
# Every module of the suite: a helper, a plugin or conftest.py must not import a test module either.
SUITE_FILES = sorted(path for path in TESTS.rglob("*.py") if "fixtures" not in path.parts)


IMPORTERS = {"import_module", "__import__"}  # importlib.import_module, builtins.__import__


def imported_test_modules(source: str) -> list[str]:
    """The tests/test_*.py modules a file's source imports, at any depth (a function's too),
    named as written: `tests.test_x`, `test_x` (bare or relative); a module named by a string
    to `import_module` or `__import__` counts too, an f-string by its leading text
    (`f"tests.test_{kind}_connector"` is found as written)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = _imported_by_name(node)
            found += [name] if name is not None else []
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level <= 1:
            # `from tests import test_x`, `from . import test_x`: the names may be modules.
            module = node.module or ""
            names = [module] if module else []
            if module in ("", "tests"):
                names += [f"{module}.{alias.name}".lstrip(".") for alias in node.names]
        else:
            continue
        found += [name for name in names if _names_a_test_module(name)]
    return found


def _imported_by_name(call: ast.Call) -> str | None:
    """The test module an `import_module(...)` or `__import__(...)` call names, if it names one."""
    func = call.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if called not in IMPORTERS:
        return None
    named = [k.value for k in call.keywords if k.arg == "name"] + call.args[:1]
    if not named:
        return None
    arg = named[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value if _names_a_test_module(arg.value.lstrip(".")) else None
    if isinstance(arg, ast.JoinedStr) and arg.values:
        lead = arg.values[0]
        text = lead.value if isinstance(lead, ast.Constant) else ""
        prefix = text.lstrip(".").removeprefix("tests.")
        # `f"tests.test_{kind}"`: which module it names is only known when it runs.
        return ast.unparse(arg)[2:-1] if prefix.startswith("test_") else None
    return None


def _names_a_test_module(name: str) -> bool:
    parts = name.split(".")
    if parts[0] == "tests":
        parts = parts[1:]
    # conftest.py is pytest's to load: what tests share lives in tests/helpers/ instead.
    return bool(parts) and (f"{parts[0]}.py" in TEST_NAMES or parts[0] == "conftest")


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from tests.test_drift import far_from_zero", ["tests.test_drift"]),
        ("import tests.test_drift", ["tests.test_drift"]),
        ("from tests import test_drift, conftest", ["tests.test_drift", "tests.conftest"]),
        ("from . import test_drift", ["test_drift"]),
        ("from .test_drift import m2_errors", ["test_drift"]),
        ("from test_drift import m2_errors", ["test_drift"]),
        ("def f():\n    from tests.test_drift import m2_errors\n", ["tests.test_drift"]),
        ("from tests.conftest import Project", ["tests.conftest"]),
        ("from tests.helpers.profiles import stored", []),
        ("from tests.replay import ReplayServer", []),
        ("import test_not_ours.thing", []),
        ("from .. import test_drift", []),
        ("from metrics import test_statistics", []),
        ('importlib.import_module("tests.test_drift")', ["tests.test_drift"]),
        ('import_module("tests.test_drift").far_from_zero', ["tests.test_drift"]),
        ('importlib.import_module(name="tests.test_drift")', ["tests.test_drift"]),
        ('__import__("tests.test_drift")', ["tests.test_drift"]),
        ('importlib.import_module(".test_drift", "tests")', [".test_drift"]),
        (
            'def f(kind):\n    return importlib.import_module(f"tests.test_{kind}_connector")\n',
            ["tests.test_{kind}_connector"],
        ),
        ('__import__(f"test_{kind}")', ["test_{kind}"]),
        ('importlib.import_module("tests.helpers.profiles")', []),
        ('importlib.import_module(f"tests.helpers.contracts.{kind}")', []),
        ('importlib.import_module("mlflow")', []),
        ('importlib.import_module(f"connectors.{kind}")', []),
        ('pytest.importorskip("tests.test_drift")', []),
        ('print("tests.test_drift")', []),
    ],
)
def test_the_import_reader_finds_test_modules(source, found):
    assert imported_test_modules(source) == found


def test_the_suite_has_test_files_to_read():
    assert len(TEST_FILES) > 20
    assert TESTS / "test_hygiene.py" in TEST_FILES
    assert {TESTS / "conftest.py", TESTS / "helpers" / "contract_samples.py"} < set(SUITE_FILES)


@pytest.mark.parametrize("path", SUITE_FILES, ids=lambda path: str(path.relative_to(TESTS)))
def test_no_test_module_imports_another(path):
    imports = imported_test_modules(path.read_text(encoding="utf-8"))
    assert imports == [], (
        f"{path.relative_to(TESTS)} imports the test module(s) {imports}: move what they share into a helper "
        "module under tests/helpers/"
    )


def fixture_names(path: Path) -> set[str]:
    """The fixtures a module defines: functions decorated `@pytest.fixture`, called or not."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if ast.unparse(target) == "pytest.fixture":
                    names.add(node.name)
    return names


def test_the_fixtures_that_make_a_test_slow_exist():
    shared = [TESTS / "conftest.py", *sorted((TESTS / "plugins").glob("*.py"))]
    defined = set().union(*(fixture_names(path) for path in shared))
    assert defined >= {"project", "postgres"}  # the reader sees both files' fixtures
    assert defined >= slow.SLOW_FIXTURES


@pytest.mark.parametrize(
    ("fixturenames", "markers", "expected"),
    [
        (["tmp_path", "demo_env", "demo_project", "monkeypatch"], [], True),
        (["spark", "rows"], ["parametrize"], True),
        (["server"], ["browser"], True),
        (["postgres", "tmp_path"], ["parametrize"], False),
        ([], [], False),
    ],
)
def test_what_makes_a_test_slow(fixturenames, markers, expected):
    assert slow.is_slow(fixturenames, markers) is expected
