"""Attempt limits of one process (the embedded default): attempts per key in a sliding window.

An attempt is reserved (counted as a failure) before the password is checked, under one lock
with the limit check, so that a burst of parallel requests cannot all pass the check while
the first ones are still hashing. A login that succeeds takes its own reservation back.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping

# Beyond this many keys the least recently counted ones are forgotten: a flood of made-up
# user names costs bounded memory (~30 MB at most) instead of growing without end.
MAX_KEYS = 100_000


class AttemptLimiter:
    """At most `limit` attempts per key within `window_s` seconds; each key has its own limit."""

    def __init__(
        self, window_s: float, *, max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self._window = window_s
        self._max_keys = max_keys
        self._clock = clock
        # key -> attempt times, oldest first; the dict is ordered by each key's latest
        # attempt, so the expired keys are always at its front.
        self._attempts: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._attempts)

    def reserve(self, limits: Mapping[str, int]) -> float:
        """Count one attempt on every key unless one is at its limit: then count nothing and
        return the seconds until an attempt is allowed (0.0: counted, go ahead)."""
        now = self._clock()
        with self._lock:
            self._drop_expired(now)
            wait = max((self._wait(key, limit, now) for key, limit in limits.items()), default=0)
            if wait > 0:
                return wait
            for key in limits:
                self._attempts.setdefault(key, []).append(now)
                self._attempts.move_to_end(key)  # the most recently counted key goes last
            while len(self._attempts) > self._max_keys:
                self._attempts.popitem(last=False)
        return 0.0

    def release(self, keys: Iterable[str]) -> None:
        """Take back the latest attempt on each key (the attempt turned out to be allowed)."""
        with self._lock:
            for key in keys:
                times = self._attempts.get(key)
                if times:
                    times.pop()
                if not times:
                    self._attempts.pop(key, None)

    def _wait(self, key: str, limit: int, now: float) -> float:
        times = self._attempts.get(key)
        if times is None:
            return 0.0
        recent = [t for t in times if now - t < self._window]
        times[:] = recent
        if len(recent) < limit:
            return 0.0
        return self._window - (now - recent[-limit])

    def close(self) -> None:
        """Nothing to close: the counts live in this process's memory."""

    def _drop_expired(self, now: float) -> None:
        while self._attempts:
            key, times = next(iter(self._attempts.items()))
            if times and now - times[-1] < self._window:
                return
            del self._attempts[key]
