"""Events of the embedded default: one process, so publishing is delivering."""

from __future__ import annotations

from ragcode.events.protocol import EventListener


class LocalEvents:
    def __init__(self) -> None:
        self._listener: EventListener | None = None

    def publish(self, user_id: int, payload: str) -> None:
        if self._listener is not None:
            self._listener.deliver(user_id, payload)

    def revoke(self, session_key: str) -> None:
        """No other process shares this server's sessions."""

    def subscribe(self, listener: EventListener) -> None:
        self._listener = listener

    def close(self) -> None:
        self._listener = None
