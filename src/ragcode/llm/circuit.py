"""Circuit breaker for one endpoint: K failures in a row take it out for a cool-down.

After the cool-down the endpoint is half-open: exactly one request (the probe) may use it.
A probe that succeeds closes the circuit; one that fails opens it for another cool-down.
Not thread-safe by itself: the pool calls it under its own lock. The clock is injectable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

CircuitState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(self, *, threshold: int, cooldown_s: float, clock: Callable[[], float]) -> None:
        self._threshold = max(1, threshold)
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._open_until: float | None = None
        self._probing = False

    @property
    def failures(self) -> int:
        """Consecutive failures since the last success."""
        return self._failures

    @property
    def state(self) -> CircuitState:
        if self._open_until is None:
            return "closed"
        return "open" if self._clock() < self._open_until else "half_open"

    def allows_request(self) -> bool:
        state = self.state
        return state == "closed" or (state == "half_open" and not self._probing)

    def on_dispatch(self) -> None:
        if self.state == "half_open":
            self._probing = True

    def on_success(self) -> None:
        self._failures = 0
        self._open_until = None
        self._probing = False

    def on_failure(self) -> bool:
        """Record a failure; True when this failure opened the circuit."""
        was_probe = self._probing
        self._failures += 1
        self._probing = False
        if was_probe or self._failures >= self._threshold:
            self._open_until = self._clock() + self._cooldown_s
            return True
        return False

    def on_abandon(self) -> None:
        """The request was cancelled by its consumer: it proves nothing either way."""
        self._probing = False
