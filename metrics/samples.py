"""Bounded, repeatable samples of a model's inference rows, day by day.

The estimators and the multivariate drift need rows, not profiles; reading every row of a busy
model for 90 days would not stay within a page's time. A day gives at most `per_day` rows,
picked by a hash of the request id, so the same day always gives the same rows.

Within `remembered()`, a sample asked for twice on the same connection is read once, and so is
anything computed through `remember`: a model's report and the drift page estimate its
performance for the quality reading and again for drift impact, and the drift page's timeline
and its drift impact read the same days against the same reference.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import duckdb
import numpy as np
import pandas as pd

from metrics.db import frame

# Rows per day read when the caller does not say: enough for a daily mean's sampling error to
# be small beside the effects looked for, few enough that 90 days stay well under a second.
PER_DAY = 5_000

# (connection id, model, since, until, columns, per_day) -> rows, and `remember`'s keys ->
# values, while `remembered` is open; None outside. Per context: each session's run (a thread
# of the app) has its own, so no run sees another's connection or scope.
_REMEMBERED: contextvars.ContextVar[dict[tuple, object] | None] = contextvars.ContextVar(
    "tandem_samples_remembered", default=None
)

T = TypeVar("T")


@contextlib.contextmanager
def remembered() -> Iterator[None]:
    """Read each distinct sample once inside the block (one connection's, one warehouse state:
    a read-only connection sees no write). The block must end before its connections close (a
    connection's id is in the key); the memory goes with the block. Nested: the outer one's."""
    token = _REMEMBERED.set({} if _REMEMBERED.get() is None else _REMEMBERED.get())
    try:
        yield
    finally:
        _REMEMBERED.reset(token)


def remember(con: duckdb.DuckDBPyConnection, key: tuple, compute: Callable[[], T]) -> T:
    """`compute()`, once per (connection, key) inside `remembered()` (always outside it); each
    caller gets its own copy, free to change."""
    memory = _REMEMBERED.get()
    if memory is None:
        return compute()
    key = ("remember", id(con), *key)
    if key not in memory:
        memory[key] = compute()
    return copy.deepcopy(memory[key])  # type: ignore[return-value]


def daily_sample(
    con: duckdb.DuckDBPyConnection,
    model: str,
    since: dt.date | dt.datetime,
    until: dt.date | dt.datetime,
    columns: Sequence[str],
    per_day: int = PER_DAY,
) -> pd.DataFrame:
    """Up to `per_day` ok rows of `model` per UTC day in [since, until), with `columns`.

    Returns a frame with a `day` column (datetime.date) then `columns` in the warehouse's
    order; days without rows are absent. Dates are read as UTC midnights.
    """
    if per_day < 1:
        raise ValueError(f"per_day must be at least 1, got {per_day}")
    key = (id(con), model, _instant(since), _instant(until), tuple(columns), int(per_day))
    memory = _REMEMBERED.get()
    if memory is not None and key in memory:
        return memory[key].copy()  # type: ignore[attr-defined]
    rows = frame(
        con,
        "inference_daily_sample",
        model=model,
        since=_instant(since),
        until=_instant(until),
        columns=list(columns),
        per_day=int(per_day),
    )
    rows["day"] = _dates(rows["day"])
    if memory is not None:
        memory[key] = rows.copy()
    return rows


def _dates(days: pd.Series) -> np.ndarray:
    """A day column as datetime.date objects, converted once per distinct day (a sample holds
    thousands of rows a day)."""
    codes, distinct = pd.factorize(pd.to_datetime(days))
    return np.array([d.date() for d in distinct], dtype=object)[codes]


def _instant(value: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.combine(value, dt.time(), dt.UTC)
