"""Open sockets per user, so background work (ingestion) can push events to that user."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

log = logging.getLogger(__name__)

Sender = Callable[[BaseModel], Awaitable[None]]


class Hub:
    def __init__(self) -> None:
        self._senders: dict[int, set[Sender]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def register(self, user_id: int, sender: Sender) -> None:
        self._loop = asyncio.get_running_loop()
        self._senders.setdefault(user_id, set()).add(sender)

    def unregister(self, user_id: int, sender: Sender) -> None:
        senders = self._senders.get(user_id)
        if senders is not None:
            senders.discard(sender)
            if not senders:
                del self._senders[user_id]

    async def publish(self, user_id: int, message: BaseModel) -> None:
        for sender in list(self._senders.get(user_id, ())):
            try:
                await sender(message)
            except Exception as exc:  # a socket closing meanwhile must not stop the others
                log.debug("publish failed user=%s error=%s", user_id, exc)

    def publish_threadsafe(self, user_id: int, message: BaseModel) -> None:
        """From a worker thread; dropped when the user has no socket (or no loop runs)."""
        loop = self._loop
        if loop is None or loop.is_closed() or user_id not in self._senders:
            return
        with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
            asyncio.run_coroutine_threadsafe(self.publish(user_id, message), loop)
