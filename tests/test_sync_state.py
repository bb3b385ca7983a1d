"""A source's high-water mark: stored with its rows, read by the next sync, kept on failure."""

from __future__ import annotations

import pandas as pd

from connectors import registry
from connectors.base import Connector
from connectors.loader import Batch


class Counter(Connector):
    """Yields the incidents numbered after the stored mark, up to `upto` (an option)."""

    kind = "counter"
    produces = ("incidents",)
    seen: list[dict] = []

    def extract(self):
        Counter.seen.append(dict(self.state))
        start = self.state.get("last", 0)
        upto = self.source.option("upto")
        rows = [
            {"incident_id": f"INC-{n}", "opened_at": f"2026-01-{n:02d}T00:00:00Z"}
            for n in range(start + 1, upto + 1)
        ]
        if self.source.option("fail"):
            raise RuntimeError("the server went away")
        self.state["last"] = upto
        yield rows

    def normalize(self, raw):
        return Batch("incidents", "counter", frame=pd.DataFrame(raw, dtype=object))


def test_the_mark_is_read_back_and_kept_when_a_sync_fails(project, monkeypatch):
    monkeypatch.setitem(registry.CONNECTORS, "counter", Counter)
    Counter.seen = []
    toml = '[[sources]]\nname = "inc"\nkind = "counter"\nupto = {upto}\nfail = {fail}\n'
    project.configure(toml.format(upto=3, fail="false"))
    assert project.sync().ok
    project.configure(toml.format(upto=5, fail="false"))
    assert project.sync().ok
    project.configure(toml.format(upto=9, fail="true"))
    assert not project.sync().ok

    assert Counter.seen == [{}, {"last": 3}, {"last": 5}]
    assert project.query("select state from source_state") == [('{"last": 5}',)]
    assert project.query("select count(*) from incidents") == [(5,)]
    # The failed sync wrote nothing: the next one starts from the same mark.
    project.configure(toml.format(upto=6, fail="false"))
    assert project.sync().ok
    assert Counter.seen[-1] == {"last": 5}
    assert project.query("select count(*) from incidents") == [(6,)]
