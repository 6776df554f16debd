"""The event port. Every server process subscribes its hub; an event published by any process
(the replica or worker running an upload, the replica where a user logged out) reaches the
processes that hold the user's sockets. Delivery is best effort and at most once: progress is
shown live, and a revoked session is also refused by the session check of the next frame."""

from __future__ import annotations

from typing import Protocol

# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; events are kept under this.
MAX_EVENT_BYTES = 7000


class EventListener(Protocol):
    """What a bus delivers to (the server's hub); called from any thread."""

    def deliver(self, user_id: int, payload: str) -> None:
        """Send `payload` (a JSON message) to the user's sockets in this process."""
        ...

    def revoke_key(self, session_key: str) -> None:
        """Close this process's sockets of a session (a logout on another process)."""
        ...


class EventBus(Protocol):
    def publish(self, user_id: int, payload: str) -> None:
        """A message for the user's sockets, wherever they are (any thread; never raises)."""
        ...

    def revoke(self, session_key: str) -> None:
        """Tell the other processes a session ended (this process closes its own sockets)."""
        ...

    def subscribe(self, listener: EventListener) -> None:
        """Start delivering to `listener` (one per process: its hub)."""
        ...

    def close(self) -> None: ...
