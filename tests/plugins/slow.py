"""The `slow` marker on every test that stands on something slow to build.

`pytest` runs everything (CI does); `pytest -m "not slow"` is the quick loop. A test is slow
when running it alone takes more than about 5 s. Here that is, above all, what it takes:

- the demo warehouse (`demo_project`, `demo_env` through it): a year synced from the demo
  source, about 25 s, built by the first test that asks for it;
- a Spark session (`spark`): a JVM, about 15 s to start, then seconds per query;
- a real Chromium (the `browser` marker).

Those are marked here, from their fixtures and markers, so a new demo or Spark test is slow
without saying so. A test slow on its own is marked where it is written: `@pytest.mark.slow`.
"""

from __future__ import annotations

import pytest

SLOW_FIXTURES = frozenset({"demo_project", "spark"})
SLOW_MARKERS = frozenset({"browser"})


def is_slow(fixturenames, markers) -> bool:
    """Whether a test taking these fixtures (the whole closure) and markers is slow."""
    return bool(SLOW_FIXTURES & set(fixturenames) or SLOW_MARKERS & set(markers))


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        markers = {mark.name for mark in item.iter_markers()}
        if is_slow(getattr(item, "fixturenames", ()), markers):
            item.add_marker(pytest.mark.slow)
