"""How long summaries still take, from the rate they were measured to settle at.

The web client gets `remaining_s` with each progress message of an upload and words it in the
user's language (static/js/eta.js, the same steps as `remaining_text` here); `ragcode status`
prints `remaining_text` for the whole queue. No rate measured yet means no estimate: a guess
from the model size or the unit count would be wrong by an order of magnitude on some machine.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 600.0  # the same ten minutes as the queue's throughput in `ragcode status`


class RateMeter:
    """Units settled per minute over the last `window_s` seconds. A meter younger than its
    window divides by its own age, so the first minutes are not diluted by time it did not
    watch; a stall lowers the rate as the clock runs on."""

    def __init__(
        self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._window_s = window_s
        self._clock = clock
        self._started = clock()
        self._times: deque[float] = deque()
        self._lock = threading.Lock()  # settled by the summary thread, read by whoever asks

    def settled(self, count: int = 1) -> None:
        now = self._clock()
        with self._lock:
            self._times.extend([now] * count)

    def per_minute(self) -> float | None:
        """None while nothing settled within the window (nothing measured)."""
        now = self._clock()
        with self._lock:
            while self._times and self._times[0] < now - self._window_s:
                self._times.popleft()
            count = len(self._times)
        if count == 0:
            return None
        watched = max(1.0, now - max(self._started, now - self._window_s))
        return count * 60.0 / watched


def remaining_s(pending: int, per_minute: float | None) -> float | None:
    """Seconds until `pending` units are settled at `per_minute`; 0 with nothing pending,
    None without a measured rate."""
    if pending <= 0:
        return 0.0
    if per_minute is None or per_minute <= 0 or not math.isfinite(per_minute):
        return None
    return pending * 60.0 / per_minute


def remaining_text(seconds: float | None) -> str:
    """The estimate in Korean words, rounded up to whole minutes (an estimate, not a clock)."""
    if seconds is None:
        return "남은 시간 측정 중"
    if seconds <= 0:
        return "남은 요약 없음"
    if seconds < 60:
        return "남은 시간 1분 미만"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"남은 시간 약 {minutes}분"
    hours, rest = divmod(minutes, 60)
    if hours >= 48:
        return f"남은 시간 약 {math.floor(minutes / 1440 + 0.5)}일"  # as JS Math.round
    return f"남은 시간 약 {hours}시간" + (f" {rest}분" if rest else "")
