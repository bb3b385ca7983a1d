"""The demo source: a seeded, believable year of a three-team ML organisation, ending today.

[[sources]]
name = "demo"
kind = "demo"
# seed = 7
# end = "2026-11-23"   (default: today, UTC)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pandas as pd

import settings
from connectors.base import Connector
from connectors.loader import Batch, SourceError


class DemoConnector(Connector):
    """Every canonical feed, generated in memory by the connectors/demo_data package."""

    kind = "demo"

    def _end(self) -> dt.date:
        end = self.source.option("end")
        if end is None:
            return settings.now().date()
        if isinstance(end, dt.date):
            return end
        try:
            return dt.date.fromisoformat(str(end))
        except ValueError:
            raise SourceError(
                f"source {self.source.name!r}: `end` must be an ISO date, got {end!r}"
            ) from None

    def validate(self) -> None:
        super().validate()
        self._end()

    def estimate(self) -> int | None:
        return 1 if self.source.feed else 7

    def extract(self) -> Iterator[tuple[str, pd.DataFrame]]:
        from connectors import demo_data  # numpy-heavy; only a demo sync needs it

        # The year ends on `end` (default today) and holds nothing later than now.
        frames = demo_data.generate(
            self._end(), now=settings.now(), seed=int(self.source.option("seed", 7))
        )
        wanted = [self.source.feed] if self.source.feed else list(demo_data.FEEDS)
        for name in wanted:
            yield name, frames[name]

    def normalize(self, raw: tuple[str, pd.DataFrame]) -> Batch:
        name, frame = raw
        return Batch(feed=name, origin=f"demo:{name}", frame=frame)
