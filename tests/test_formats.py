"""Tables for people: cell formats by hand-picked values, headers with units, CSV file names,
and one module that draws every table."""

from __future__ import annotations

import ast
import datetime as dt
import math

import pandas as pd
import pytest

from metrics import columns, formats
from tests.helpers.project import ROOT

UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [(639355, "639,355"), (0, "0"), (999, "999"), (1000, "1,000"), (12.0, "12"), (None, "–")],
)
def test_count(value, expected):
    assert formats.count(value) == expected


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (3973.3983, "165 d 13 h"),  # the "3973.3983": 165 × 24 = 3960, 13.4 h left
        (28.510833, "28.5 h"),
        (48.0, "48.0 h"),  # still hours at 48
        (52.0, "2 d 4 h"),
        (72.2, "3 d"),  # 72 h: whole days, no "0 h"
        (0.04, "0.0 h"),
        (float("nan"), "–"),
        (None, "–"),
        (-5.0, "-5.0 h"),
    ],
)
def test_duration(hours, expected):
    assert formats.duration(hours) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.25, "25%"),
        (1 / 3, "33%"),
        (1.0, "100%"),
        (0.0451, "4.5%"),
        (0.0049, "0.49%"),
        (0.0, "0%"),
        (-0.02, "-2.0%"),
        (None, "–"),
    ],
)
def test_share(value, expected):
    assert formats.share(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.datetime(2026, 11, 19, 14, 5, 59, tzinfo=UTC), "Thu 19 Nov 14:05"),
        (pd.Timestamp("2026-11-19T14:05:00+00:00"), "Thu 19 Nov 14:05"),
        # Another zone is read in UTC: 09:05 in New York (UTC-5 in November) is 14:05 UTC.
        (pd.Timestamp("2026-11-19T09:05:00-05:00"), "Thu 19 Nov 14:05"),
        (pd.Timestamp("2026-11-19T14:05:00"), "Thu 19 Nov 14:05"),  # naive is UTC
        (pd.NaT, "–"),
    ],
)
def test_timestamp(value, expected):
    assert formats.timestamp(value) == expected


def test_date_number_significant_flag_words():
    assert formats.date(dt.date(2026, 10, 24)) == "Sat 24 Oct"
    assert formats.date(pd.Timestamp("2026-10-24T13:32:00+00:00")) == "Sat 24 Oct"
    assert formats.number(1234.56, 1) == "1,234.6"
    assert formats.significant(0.000123456) == "0.000123"
    assert formats.flag(True) == "yes" and formats.flag(False) == "no"
    assert formats.words("click_through_rate") == "Click through rate"
    assert formats.interval(24) == "24 h" and formats.interval(168) == "7 d"
    assert formats.interval(36) == "36 h" and formats.interval(1.5) == "1.5 h"
    assert formats.handoff("data_science->engineering") == "Data science → engineering"
    assert formats.handoff("product->engineering") == "Product → engineering"


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        # The last 28 days to 19 Nov: [23 Oct, 20 Nov), both days named included.
        (
            dt.datetime(2026, 10, 23, tzinfo=UTC),
            dt.datetime(2026, 11, 20, tzinfo=UTC),
            "delivery_changes_2026-10-23_to_2026-11-19.csv",
        ),
        # A drift window of dates, its end excluded.
        (
            dt.date(2026, 10, 23),
            dt.date(2026, 11, 20),
            "delivery_changes_2026-10-23_to_2026-11-19.csv",
        ),
        (None, None, "delivery_changes.csv"),
    ],
)
def test_csv_name(since, until, expected):
    assert formats.csv_name("delivery_changes", since, until) == expected


def test_display_writes_headers_with_units_and_every_cell_for_people():
    frame = pd.DataFrame(
        {
            "change_id": ["pr-1", "pr-2"],
            "lead_time_hours": [28.510833, 3973.3983],
            "shipped_at": pd.to_datetime(["2026-11-19T14:05:00Z", None], utc=True),
            "error_rate": [0.0049, 0.25],
            "requests": [639355, 12],
            "is_left_out": [False, True],
            "brand_new_thing": [1.23456, math.nan],
            "value": [0.0451, 12.5],
            "unit": ["ratio", "EUR"],
        }
    )
    shown = columns.display(
        frame,
        [
            "change_id",
            "lead_time_hours",
            "shipped_at",
            "error_rate",
            "requests",
            "is_left_out",
            "brand_new_thing",
            "value",
            "not_in_the_frame",
        ],
    )
    assert shown.to_dict("list") == {
        "Change": ["pr-1", "pr-2"],
        "Lead time": ["28.5 h", "165 d 13 h"],
        "Shipped": ["Thu 19 Nov 14:05", "–"],
        "Error rate (%)": ["0.49%", "25%"],
        "Requests": ["639,355", "12"],
        "Left out": ["no", "yes"],
        "Brand new thing": ["1.23", "–"],  # not listed: its name in words, by its dtype
        "Value": ["4.51%", "12.50 EUR"],  # each row in its own unit
    }
    assert columns.has_times(frame, ["change_id", "shipped_at"])
    assert not columns.has_times(frame, ["change_id", "requests"])
    # The download keeps raw values, and the column a value's unit comes from.
    assert list(columns.raw(frame, ["change_id", "value"]).columns) == [
        "change_id",
        "value",
        "unit",
    ]


def test_every_listed_column_has_a_known_format_and_a_header_without_underscores():
    for name, column in columns.COLUMNS.items():
        assert column.kind in columns.FORMATS or column.kind in columns.UNIT_FORMATS, name
        assert "_" not in column.header, name


def _calls(path, name: str, on: str | None = None) -> list[int]:
    """Lines that call `<anything>.name(...)`, or `on.name(...)` when `on` is given."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
        and (on is None or (isinstance(node.func.value, ast.Name) and node.func.value.id == on))
    ]


def test_only_the_table_helper_draws_tables():
    """Every table goes through pages/tables.py, so every table is formatted the same way and
    downloadable: no page calls st.dataframe or st.table itself."""
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py")])
        if path.name != "tables.py"
        for lines in [_calls(path, "dataframe") + _calls(path, "table", on="st")]
        if lines
    }
    assert offenders == {}
    assert _calls(ROOT / "pages" / "tables.py", "dataframe")  # the check can see a call


def test_a_column_is_as_wide_as_its_longest_cell_within_bounds():
    model = columns.COLUMNS["model"]
    # "demand_forecast": 15 characters × 7.5 px + 28 px of padding.
    assert columns.width(model, "Model", ["churn", "demand_forecast"]) == 140
    assert columns.width(model, "Model", ["a"]) == 65  # the header, 5 × 7.5 + 28
    assert columns.width(model, "Model", ["x" * 200]) == columns.MAX_PX
    title = columns.COLUMNS["title"]
    assert columns.width(title, "Title", ["x" * 200]) == columns.MAX_LARGE_PX
    assert columns.width(columns.COLUMNS["requests"], "Requests", ["1"]) == 88  # 8 × 7.5 + 28
