"""Answered once across reconnects.

A client that finds its socket dead (closed, or half-open: no pong) sends its unanswered
requests again on a new socket, with the same `request_id` and `"resend": true`. The first
copy may still be running on the old socket of this process, or may have finished and been
recorded while its answer never reached the client. `RequestLedger` makes a second copy wait
for the first one here; `answered` then finds the recorded turn among the user's latest ones
(in the shared history: another replica's copy counts too), which is replayed, not generated
again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ragcode.history.protocol import HistoryStore, StoredTurn

# Turns searched for a resent request: a client resends at most its requests in flight
# (`server.max_requests_in_flight`), all of them among the user's latest turns.
RECENT_TURNS = 32


class RequestLedger:
    """The requests this process is answering, by (user, request id)."""

    def __init__(self) -> None:
        self._running: dict[tuple[int, str], asyncio.Event] = {}

    @asynccontextmanager
    async def hold(self, user_id: int, request_id: str) -> AsyncIterator[bool]:
        """Held while a request is answered. Another copy of it already running here is
        waited for first; yields whether there was one (then look in the history)."""
        key = (user_id, request_id)
        earlier = self._running.get(key)
        done = asyncio.Event()
        self._running[key] = done
        try:
            if earlier is not None:
                await earlier.wait()
            yield earlier is not None
        finally:
            done.set()
            if self._running.get(key) is done:
                del self._running[key]


def answered(history: HistoryStore, user_id: int, request_id: str) -> StoredTurn | None:
    """The user's turn recorded for `request_id`, if it is among their latest turns."""
    for turn in reversed(history.list(user_id, RECENT_TURNS)):
        if turn.request_id == request_id:
            return turn
    return None
