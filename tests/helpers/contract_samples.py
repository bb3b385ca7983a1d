"""The contract sample of every connector kind that needs more than the demo frames, by hand:
kind -> (contract_sample, TIMESTAMP_CHECK). tests/test_contracts.py adds `files` and `demo`
(made from the demo frames alone) and fails when a registered kind has neither.

`contract_sample(project, frames)` is a context manager yielding the `[[sources]]` TOML (and
keeping any server or environment variable it needs while the tests run); `TIMESTAMP_CHECK` is
(feed, key column, key, timestamp column, the instant the source gave) for one row, or None
when the kind loads no rows (spark: profiles).
"""

from __future__ import annotations

from tests.helpers.contracts import github, jira, jira_csv, mlflow, spark, sql

SAMPLES = {
    "github": (github.contract_sample, github.TIMESTAMP_CHECK),
    "jira": (jira.contract_sample, jira.TIMESTAMP_CHECK),
    "jira_csv": (jira_csv.contract_sample, jira_csv.TIMESTAMP_CHECK),
    "mlflow": (mlflow.contract_sample, mlflow.TIMESTAMP_CHECK),
    "spark": (spark.contract_sample, spark.TIMESTAMP_CHECK),
    "sql": (sql.contract_sample, sql.TIMESTAMP_CHECK),
}
