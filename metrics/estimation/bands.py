"""An estimate with its band: the value and the range the sampling error allows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Band:
    value: float | None
    lower: float | None
    upper: float | None
