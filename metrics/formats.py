"""Values as people read them in a table cell: counts, hours, shares, instants (all UTC).

Pure functions, one per kind of value, each giving "–" for a missing value. Tables show these
strings; their "Download CSV" keeps the raw values.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

MISSING = "–"


def is_missing(value: Any) -> bool:
    """None, NaN, NaT or pandas' NA."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def count(value: Any) -> str:
    """A whole number with thousands separators: 639355 → "639,355"."""
    if is_missing(value):
        return MISSING
    return f"{round(float(value)):,}"


def number(value: Any, digits: int = 1) -> str:
    """A number with thousands separators and `digits` decimals: 1234.56 → "1,234.6"."""
    if is_missing(value):
        return MISSING
    return f"{float(value):,.{digits}f}"


def significant(value: Any, digits: int = 3) -> str:
    """A score or a p-value to `digits` significant figures: 0.000123456 → "0.000123"."""
    if is_missing(value):
        return MISSING
    return f"{float(value):.{digits}g}"


def duration(hours: Any) -> str:
    """Hours with one decimal up to 48 h ("28.5 h"), then whole days and hours ("2 d 4 h").

    Past 48 h the hours are rounded to the nearest whole hour; "3 d" when none are left.
    A negative duration (a clock ahead of the data) reads as its magnitude with a minus.
    """
    if is_missing(hours):
        return MISSING
    value = float(hours)
    if value < 0:
        return "-" + duration(-value)
    if value <= 48:
        return f"{value:.1f} h"
    whole = round(value)
    days, rest = divmod(whole, 24)
    return f"{days:,} d {rest} h" if rest else f"{days:,} d"


def days(value: Any) -> str:
    """Days with one decimal: 66.266 → "66.3"."""
    return number(value, 1)


def interval(hours: float) -> str:
    """An expected interval as configured: 24 → "24 h", 168 → "7 d", 1.5 → "1.5 h"."""
    if hours >= 48 and hours % 24 == 0:
        return f"{int(hours // 24)} d"
    return f"{hours:g} h"


def share(value: Any) -> str:
    """A fraction as a percentage, with as many decimals as a small share needs.

    0.25 → "25%", 0.0451 → "4.5%", 0.0049 → "0.49%", 0 → "0%", 1 → "100%".
    """
    if is_missing(value):
        return MISSING
    percent = float(value) * 100
    size = abs(percent)
    if size == 0 or size >= 10:
        return f"{percent:.0f}%"
    if size >= 1:
        return f"{percent:.1f}%"
    return f"{percent:.2f}%"


def _utc(value: Any) -> dt.datetime:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def timestamp(value: Any) -> str:
    """An instant in UTC as "Thu 19 Nov 14:05" (the table's caption says the time zone)."""
    if is_missing(value):
        return MISSING
    return f"{_utc(value):%a %d %b %H:%M}"


def date(value: Any) -> str:
    """A day as "Thu 19 Nov" (a timestamp is read in UTC)."""
    if is_missing(value):
        return MISSING
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return f"{value:%a %d %b}"
    return f"{_utc(value):%a %d %b}"


def words(value: Any) -> str:
    """A snake_case name in words: click_through_rate → "Click through rate"."""
    if is_missing(value):
        return MISSING
    return str(value).replace("_", " ").strip().capitalize()


def handoff(name: str) -> str:
    """A hand-off between roles in words: "data_science->engineering" reads
    "Data science → engineering"."""
    giver, _, taker = str(name).partition("->")
    return f"{words(giver)} → {taker.replace('_', ' ').strip()}" if taker else words(giver)


def flag(value: Any) -> str:
    """A boolean as "yes" or "no"."""
    if is_missing(value):
        return MISSING
    return "yes" if bool(value) else "no"


def text(value: Any) -> str:
    """Anything else as it is; a missing value as "–"."""
    if is_missing(value):
        return MISSING
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def csv_name(name: str, since: Any = None, until: Any = None) -> str:
    """The file a table downloads as: its name and the days of its window, both included.

    A window [2026-10-23, 2026-11-20) gives delivery_changes_2026-10-23_to_2026-11-19.csv; a
    table with no window is just delivery_changes.csv.
    """
    if since is None or until is None:
        return f"{name}.csv"
    first = _day(since)
    last = _day(until, exclusive=True)
    return f"{name}_{first.isoformat()}_to_{last.isoformat()}.csv"


def _day(value: Any, exclusive: bool = False) -> dt.date:
    """The day `value` names; for an excluded end at midnight, the day before it."""
    if isinstance(value, dt.datetime):
        stamp = value.astimezone(dt.UTC) if value.tzinfo else value
        midnight = stamp.time() == dt.time(0)
        day = stamp.date()
        return day - dt.timedelta(days=1) if exclusive and midnight else day
    day = value if isinstance(value, dt.date) else pd.Timestamp(value).date()
    return day - dt.timedelta(days=1) if exclusive else day
