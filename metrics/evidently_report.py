"""Evidently's own drift report for the same model and windows, on a reservoir sample.

Evidently takes about a minute per million rows, so its report runs on a sample of each
window (default 20,000 rows a side) and says so. Column types are passed to Evidently as
Tandem typed them, so both read an integer column with gaps the same way (pandas would turn
it into floats and Evidently would then call it numerical).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import duckdb
import pandas as pd

from metrics import drift
from metrics.db import sql

SAMPLE_ROWS = 20_000
# The width Evidently's report is laid out for: its counters and tables need about 1,020 px
# (measured with Evidently 0.7 in Chromium) and are clipped on the right in a narrower frame.
REPORT_WIDTH_PX = 1040

# Evidently's own drift calculation calls pandas' `replace` in a way pandas 2.2 deprecates; the
# warning is Evidently's to fix, says nothing to Tandem's users, and would fill the server log
# on every report. Only that message, only from that module.
warnings.filterwarnings(
    "ignore",
    message="Downcasting behavior in `replace` is deprecated",
    category=FutureWarning,
    module=r"evidently\.legacy\.calculations\.data_drift",
)


@dataclass(frozen=True)
class EvidentlyReport:
    html: str
    reference_rows: int
    current_rows: int
    sample_rows: int


def sample(
    con: duckdb.DuckDBPyConnection,
    model: str,
    window: drift.Window,
    columns: list[str],
    rows: int = SAMPLE_ROWS,
) -> pd.DataFrame:
    since, until = window.instants()
    return con.execute(
        sql("drift_sample"),
        {"model": model, "since": since, "until": until, "columns": columns, "rows": rows},
    ).df()[columns]


def build(
    con: duckdb.DuckDBPyConnection,
    model: str,
    result: drift.DriftResult,
    current: drift.Window,
    reference: drift.Window,
    rows: int = SAMPLE_ROWS,
) -> EvidentlyReport:
    """Evidently's DataDriftPreset report (HTML) on samples of both windows."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numerical = [c.column for c in result.tested if c.type == "numerical"]
    categorical = [c.column for c in result.tested if c.type == "categorical"]
    columns = numerical + categorical
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    frames = {}
    for side, window in (("reference", reference), ("current", current)):
        frame = sample(con, model, window, columns, rows)
        for name in categorical:
            frame[name] = frame[name].astype("object")
        frames[side] = frame
    snapshot = Report([DataDriftPreset(columns=columns)]).run(
        Dataset.from_pandas(frames["current"], data_definition=definition),
        Dataset.from_pandas(frames["reference"], data_definition=definition),
    )
    return EvidentlyReport(
        snapshot.get_html_str(as_iframe=False),
        len(frames["reference"]),
        len(frames["current"]),
        rows,
    )


def fit_to_width(html: str, width: int = REPORT_WIDTH_PX) -> str:
    """Evidently's report HTML scaled down (CSS zoom) to fit a frame narrower than `width`
    pixels, so nothing is clipped on the right; unscaled in a wider frame.

    A frame's width is known only in the browser, hence the few lines of script: on load and
    on every resize, zoom = frame width / `width`, at most 1.
    """
    script = (
        "<script>(function () {"
        "function fit() {"
        f"var zoom = Math.min(1, document.documentElement.clientWidth / {int(width)});"
        "document.body.style.zoom = zoom;"
        "}"
        "window.addEventListener('resize', fit);"
        "document.addEventListener('DOMContentLoaded', fit);"
        "})();</script>"
    )
    head = html.find("<head>")
    if head < 0:
        return script + html
    return html[: head + len("<head>")] + script + html[head + len("<head>") :]


def verdicts(reference: pd.DataFrame, current: pd.DataFrame) -> tuple[dict, float]:
    """Evidently's DataDriftPreset on two frames with its own defaults: per column (method
    name, score, threshold), and its drifted-columns share. For checks and benchmarks."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    snapshot = Report([DataDriftPreset()]).run(current, reference).dict()
    columns, share = {}, None
    for metric in snapshot["metrics"]:
        config = metric["config"]
        if "column" in config:
            columns[config["column"]] = (config["method"], metric["value"], config["threshold"])
        else:
            share = metric["value"]["share"]
    return columns, share


# Evidently's verdict rule, as the drift engine applies it (one definition).
drifted = drift.is_drifted
