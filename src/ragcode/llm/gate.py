"""Interactive calls first: background generation waits while someone waits for an answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class InteractiveGate:
    """Counts the interactive generations running now (chat, query expansion); background
    work (summaries) calls `wait_idle` before each step and so pauses while any runs."""

    def __init__(self) -> None:
        self._running = 0
        self._changed = threading.Condition()

    @contextmanager
    def interactive(self) -> Iterator[None]:
        with self._changed:
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()

    def busy(self) -> bool:
        with self._changed:
            return self._running > 0

    def wait_idle(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._running == 0)
