"""What every connector is: a small class that declares its feeds, extracts, and normalizes.

`extract` does the I/O and yields raw records (files found, pages fetched); `normalize` is pure
and turns one raw record into a `Batch` of canonical rows. Loading, validation, quarantine and
upsert are the shared loader's (connectors/loader.py), never a connector's.

Incremental sources keep a high-water mark in `self.state`, a JSON-able dict: the sync reads it
from the warehouse before `extract` and stores whatever `extract` left there in the same
transaction as the rows, so a failed or killed sync keeps the old mark with the old rows.
Sources of local files record their files' fingerprints there (connectors/files.py FileTracker)
and say `unchanged()` when nothing needs reading: a sync where every source is unchanged writes
nothing at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from connectors.feeds import FEEDS
from connectors.loader import Batch, SourceError
from settings import SourceConfig


class Connector:
    """One kind of source. Subclasses set `kind` and implement `extract` and `normalize`."""

    kind: ClassVar[str]
    # The feeds this kind can produce; a source of this kind may produce a subset.
    produces: ClassVar[tuple[str, ...]] = tuple(FEEDS)

    def __init__(self, source: SourceConfig, state: dict[str, Any] | None = None):
        self.source = source
        # The high-water mark the last successful sync left (empty on a first sync).
        self.state: dict[str, Any] = dict(state or {})
        self.validate()

    def validate(self) -> None:
        """Raise SourceError if the source's config cannot work (called before any I/O)."""
        if self.source.feed is not None and self.source.feed not in self.produces:
            raise SourceError(
                f"source {self.source.name!r}: kind {self.kind!r} has no feed "
                f"{self.source.feed!r} (it produces {', '.join(self.produces)})"
            )

    def extract(self) -> Iterator[Any]:
        """Fetch raw records from the outside world: only I/O here."""
        raise NotImplementedError

    def normalize(self, raw: Any) -> Batch:
        """Turn one raw record into a batch of canonical rows: pure, no I/O."""
        raise NotImplementedError

    def unchanged(self) -> bool:
        """True when the source has nothing new since its last sync (the sync then skips it)."""
        return False

    def estimate(self) -> int | None:
        """How many raw records `extract` will yield, if known (for progress bars)."""
        return None

    def notices(self) -> list[str]:
        """Lines for whoever runs the sync about how this source was read (none by default)."""
        return []

    def write_profiles(self, con: Any) -> int:
        """Write the drift profiles this source computed on its own engine; the days written.

        Called by the sync after the source's batches, in the same transaction (`con` is the
        warehouse). Kinds that hand over rows have none to write: the sync profiles their rows.
        """
        return 0

    def batches(self) -> Iterator[Batch]:
        for raw in self.extract():
            yield self.normalize(raw)
