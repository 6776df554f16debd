"""The attempt-limit port: attempts per key in a sliding window, reserved before the work."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol


class AttemptCounter(Protocol):
    def reserve(self, limits: Mapping[str, int]) -> float:
        """Count one attempt on every key unless one is at its limit: then count nothing and
        return the seconds until an attempt is allowed (0.0: counted, go ahead). Atomic across
        every caller that shares the counter (threads; replicas for a database counter)."""
        ...

    def release(self, keys: Iterable[str]) -> None:
        """Take back the latest attempt on each key (the attempt turned out to be allowed)."""
        ...

    def close(self) -> None: ...
