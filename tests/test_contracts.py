"""Contract tests generated over the connector registry: every kind, every feed it produces.

For each kind: keys unique and non-null, timestamps stored as UTC instants equal to the
source's, `normalize` deterministic, and a second sync changing nothing.

A kind's sample is `contract_sample(project, frames)`: a context manager that yields the
`[[sources]]` TOML (and keeps any server it needs running). `files` and `demo` are made here
from the demo frames; every other kind is listed by hand in tests/helpers/contract_samples.py
(its module under tests/helpers/contracts/), never looked up by file name.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import pandas as pd
import pytest

from connectors import demo_data, registry
from connectors.feeds import FEEDS
from tests.helpers.contract_samples import SAMPLES
from tests.helpers.project import Project

END = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo_frames():
    return demo_data.generate(END)


def _files_sample(project: Project, frames) -> str:
    blocks = []
    for feed, frame in frames.items():
        sample = frame.head(40)
        if feed == "inference":
            sample = frame[frame["model"] == "recommender"].head(40)
        path = project.root / "exports" / f"{feed}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        sample.assign(**{c: sample[c].map(",".join) for c in ("labels",) if c in sample}).to_csv(
            path, index=False
        )
        blocks.append(
            f'[[sources]]\nname = "{feed}_files"\nkind = "files"\nfeed = "{feed}"\n'
            f'path = "exports/{feed}.csv"\n'
        )
    return "\n".join(blocks)


def _demo_sample(project: Project, frames) -> str:
    return f'[[sources]]\nname = "demo"\nkind = "demo"\nend = "{END.isoformat()}"\n'


LOCAL_SAMPLES = {"files": _files_sample, "demo": _demo_sample}


def sample(kind: str):
    """The contract sample of a kind: a context manager yielding its sources TOML."""
    if kind in LOCAL_SAMPLES:
        return contextlib.contextmanager(
            lambda project, frames: (yield LOCAL_SAMPLES[kind](project, frames))
        )
    contract_sample, _ = SAMPLES[kind]
    return contract_sample


def test_every_connector_kind_has_a_contract_sample():
    assert set(LOCAL_SAMPLES).isdisjoint(SAMPLES)
    kinds = set(LOCAL_SAMPLES) | set(SAMPLES)
    assert kinds == set(registry.CONNECTORS), (
        f"registered kinds without a sample: {sorted(set(registry.CONNECTORS) - kinds)}; "
        f"samples of no registered kind: {sorted(kinds - set(registry.CONNECTORS))}"
    )
    for kind, (contract_sample, check) in SAMPLES.items():
        assert callable(contract_sample), kind
        # (feed, key column, key, timestamp column, an aware instant), or None: no rows.
        assert check is None or (check[0] in FEEDS and check[4].tzinfo is not None), kind


# The demo kind syncs a whole generated year (about 30 s): slow, like the demo warehouse.
@pytest.fixture(
    scope="module",
    params=[
        pytest.param(kind, marks=pytest.mark.slow) if kind == "demo" else kind
        for kind in sorted(registry.CONNECTORS)
    ],
)
def synced(request, tmp_path_factory, demo_frames):
    project = Project(tmp_path_factory.mktemp(request.param))
    with sample(request.param)(project, demo_frames) as toml:
        config = project.configure(toml)
        first = project.sync()
        assert first.ok, first.as_dict()
        yield request.param, project, config, first


def _produced(config) -> set[str]:
    return {
        feed
        for source in config.sources
        for feed in ([source.feed] if source.feed else registry.CONNECTORS[source.kind].produces)
    }


def test_keys_are_unique_and_not_null(synced):
    _, project, config, first = synced
    loaded = {row["feed"] for row in first.as_dict()["sources"] if row["loaded"]}
    assert loaded == _produced(config)
    for feed in (FEEDS[name] for name in sorted(loaded)):
        keys = ", ".join(f'"{k}"' for k in feed.key)
        nulls = " or ".join(f'"{k}" is null' for k in feed.key)
        total, distinct, null_keys = project.query(
            f"select count(*), count(distinct (source, {keys})), count(*) filter (where {nulls}) "
            f"from {feed.name}"
        )[0]
        assert total > 0 and total == distinct and null_keys == 0, feed.name


def timestamp_check(kind: str, frames) -> tuple[str, str, str, str, dt.datetime]:
    """(feed, key column, key, timestamp column, the instant the source gave) for one row.

    Kinds in `SAMPLES` name one row as `TIMESTAMP_CHECK` beside `contract_sample`.
    """
    if kind in LOCAL_SAMPLES:
        first = frames["deployments"].iloc[0]
        return (
            "deployments",
            "deployment_id",
            first["deployment_id"],
            "finished_at",
            first["finished_at"].to_pydatetime(),
        )
    _, check = SAMPLES[kind]
    return check


def test_timestamps_are_utc_instants_of_the_source(synced, demo_frames):
    kind, project, _, _ = synced
    feed, key_column, key, column, instant = timestamp_check(kind, demo_frames)
    stored = project.query(
        f'select "{column}", typeof("{column}") from {feed} where "{key_column}" = $key',
        {"key": key},
    )
    assert stored == [(instant, "TIMESTAMP WITH TIME ZONE")], kind


def test_normalize_is_deterministic(synced):
    _, _, config, _ = synced
    for source in config.sources:
        connector = registry.create(source)
        raw = next(iter(connector.extract()))
        a, b = connector.normalize(raw), connector.normalize(raw)
        assert (a.feed, a.origin, a.relation, a.params) == (b.feed, b.origin, b.relation, b.params)
        if a.frame is not None:
            pd.testing.assert_frame_equal(a.frame, b.frame)


def test_a_second_sync_changes_nothing(synced):
    _, project, _, first = synced
    tables = {
        f: project.query(f"select * exclude (synced_at) from {f} order by all") for f in FEEDS
    }
    second = project.sync()
    assert second.ok
    for row in second.as_dict()["sources"]:
        assert row["loaded"] == 0, row
        assert row["read"] == row["duplicates"] + row["quarantined"], row
    for feed, before in tables.items():
        assert project.query(f"select * exclude (synced_at) from {feed} order by all") == before
