"""The bounded daily sample the estimators and the multivariate drift read."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import settings
import warehouse
from connectors.loader import Batch, Loader
from metrics import db
from metrics.samples import daily_sample

ROWS = pd.DataFrame(
    {
        "request_id": [f"r{i}" for i in range(1, 10)],
        "ts": pd.to_datetime(
            [
                "2026-11-01 00:00",  # day 1
                "2026-11-01 08:00",
                "2026-11-01 23:59",
                "2026-11-01 12:00",  # an error: never sampled
                "2026-11-02 00:00",  # day 2
                "2026-11-02 10:00",
                "2026-11-03 00:00",  # the window's end: excluded
                "2026-10-31 23:59",  # before the window
                "2026-11-02 11:00",  # another model
            ],
            utc=True,
        ),
        "model": ["m"] * 8 + ["other"],
        "status": ["ok", "ok", "ok", "error", "ok", "ok", "ok", "ok", "ok"],
        "score": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
        "tenure": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    }
)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = tmp_path_factory.mktemp("samples") / "w.duckdb"
    with warehouse.writing(path) as write:
        Loader(write, settings.SourceConfig(name="fixture", kind="test"), "s1").load(
            Batch("inference", "fixture", frame=ROWS)
        )
    connection = db.prepare(warehouse.connect_read(path))
    yield connection
    connection.close()


def test_a_day_gives_its_ok_rows_of_the_model_in_the_window(con):
    got = daily_sample(con, "m", dt.date(2026, 11, 1), dt.date(2026, 11, 3), ["score", "tenure"])
    assert list(got.columns) == ["day", "score", "tenure"]
    by_day = got.groupby("day")["tenure"].apply(sorted).to_dict()
    assert by_day == {dt.date(2026, 11, 1): [1.0, 2.0, 3.0], dt.date(2026, 11, 2): [5.0, 6.0]}


def test_a_day_gives_at_most_per_day_rows_and_the_same_ones_every_time(con):
    first = daily_sample(con, "m", dt.date(2026, 11, 1), dt.date(2026, 11, 3), ["tenure"], 2)
    again = daily_sample(con, "m", dt.date(2026, 11, 1), dt.date(2026, 11, 3), ["tenure"], 2)
    assert first.groupby("day").size().to_dict() == {
        dt.date(2026, 11, 1): 2,
        dt.date(2026, 11, 2): 2,
    }
    assert first.sort_values(["day", "tenure"]).equals(again.sort_values(["day", "tenure"]))
    assert set(first["tenure"]) <= {1.0, 2.0, 3.0, 5.0, 6.0}


def test_per_day_below_one_is_refused(con):
    with pytest.raises(ValueError, match="per_day must be at least 1"):
        daily_sample(con, "m", dt.date(2026, 11, 1), dt.date(2026, 11, 3), ["tenure"], 0)
