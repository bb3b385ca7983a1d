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


@pytest.fixture(scope="module")
def busy(tmp_path_factory):
    """Two busy days of one model: 3,300 and 1,200 rows, every 15th an error (3,080 and 1,120 ok)."""
    path = tmp_path_factory.mktemp("busy") / "w.duckdb"
    n = 4_500
    rows = pd.DataFrame(
        {
            "request_id": [f"q{i}" for i in range(n)],
            "ts": pd.Timestamp("2026-11-01", tz="UTC")
            + pd.to_timedelta(
                [(i % 3_000) * 20 if i < 3_300 else 86_400 + i for i in range(n)], "s"
            ),
            "model": "m",
            "status": ["error" if i % 15 == 0 else "ok" for i in range(n)],
            "tenure": [float(i) for i in range(n)],
        }
    )
    with warehouse.writing(path) as write:
        Loader(write, settings.SourceConfig(name="fixture", kind="test"), "s1").load(
            Batch("inference", "fixture", frame=rows)
        )
    connection = db.prepare(warehouse.connect_read(path))
    yield connection
    connection.close()


@pytest.mark.parametrize("per_day", [1, 2, 50, 1_000, 2_999, 5_000])
def test_a_busy_day_keeps_exactly_the_per_day_smallest_hashes(busy, per_day):
    # The plain rule, by sorting every ok row of each day: the bounded pick must equal it.
    expected = busy.execute(
        """
        select cast(ts as date) as day, tenure from inference
        where model = 'm' and status = 'ok'
        qualify row_number() over (
            partition by cast(ts as date) order by hash(request_id), request_id
        ) <= $n
        order by day, hash(request_id), request_id
        """,
        {"n": per_day},
    ).df()
    got = daily_sample(busy, "m", dt.date(2026, 11, 1), dt.date(2026, 11, 3), ["tenure"], per_day)
    assert got["tenure"].tolist() == expected["tenure"].tolist()
    sizes = got.groupby("day").size().to_dict()
    ok_rows = {dt.date(2026, 11, 1): 3_080, dt.date(2026, 11, 2): 1_120}
    assert sizes == {day: min(per_day, rows) for day, rows in ok_rows.items()}


def test_inside_remembered_a_sample_is_read_once_and_each_caller_gets_its_own(con, monkeypatch):
    from metrics import samples

    reads = []
    real = samples.frame
    monkeypatch.setattr(samples, "frame", lambda *a, **k: reads.append(k["model"]) or real(*a, **k))
    window = (dt.date(2026, 11, 1), dt.date(2026, 11, 3))
    with samples.remembered():
        first = daily_sample(con, "m", *window, ["score", "tenure"])
        first.loc[:, "tenure"] = 0.0  # one caller's change
        again = daily_sample(con, "m", *window, ["score", "tenure"])
        other = daily_sample(con, "m", *window, ["tenure"])  # other columns: read
    assert reads == ["m", "m"]
    assert sorted(again["tenure"]) == [1.0, 2.0, 3.0, 5.0, 6.0]
    assert list(other.columns) == ["day", "tenure"]
    daily_sample(con, "m", *window, ["score", "tenure"])  # outside the block: read again
    assert reads == ["m", "m", "m"]


def test_what_one_run_remembers_no_other_thread_sees(con):
    """Each of the app's runs is a thread with its own memory: another session's run on the
    same process never gets a value computed on this run's connection and scope."""
    import threading

    from metrics import samples

    computed = []

    def compute(who):
        computed.append(who)
        return who

    seen = {}

    def other_run():
        seen["outside"] = samples.remember(con, ("k",), lambda: compute("other"))
        with samples.remembered():
            seen["inside"] = samples.remember(con, ("k",), lambda: compute("other again"))

    with samples.remembered():
        assert samples.remember(con, ("k",), lambda: compute("this")) == "this"
        thread = threading.Thread(target=other_run)
        thread.start()
        thread.join()
        assert samples.remember(con, ("k",), lambda: compute("never")) == "this"
    assert seen == {"outside": "other", "inside": "other again"}
    assert computed == ["this", "other", "other again"]
