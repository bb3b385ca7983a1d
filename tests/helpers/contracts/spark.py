"""The spark kind has no row sample: a spark source loads drift profiles, never feed rows
(tests/test_spark_connector.py checks its profiles against DuckDB's)."""

from __future__ import annotations

import pytest

TIMESTAMP_CHECK = None


def contract_sample(project, frames):
    """The row-feed contract tests do not apply: a spark source loads profiles, never rows."""
    pytest.skip("kind 'spark' writes drift profiles, not feed rows: the row contract is moot")
