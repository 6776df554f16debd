"""Open sockets per user: the per-user caps (sockets, requests in flight across them), logout
reaching open sockets, and pushes from background work (ingestion) to a user's sockets.

Everything but `publish_threadsafe` runs on the event loop, so the counts need no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from typing import Protocol

from pydantic import BaseModel

log = logging.getLogger(__name__)


class Peer(Protocol):
    """One open chat socket, as the hub sees it."""

    @property
    def user_id(self) -> int: ...

    @property
    def session_key(self) -> str: ...

    async def send(self, message: BaseModel) -> None: ...

    async def revoke(self) -> None:
        """Tell the client its session ended and close the socket (4401)."""
        ...


def session_key(token: str) -> str:
    """What the hub files a socket under: a hash, so raw tokens are not kept around."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Hub:
    def __init__(self) -> None:
        self._peers: dict[int, set[Peer]] = {}
        self._in_flight: dict[int, int] = {}
        self._revoking: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def admit(self, peer: Peer, max_sockets: int) -> bool:
        """Register a new socket unless its user already has `max_sockets` open."""
        self._loop = asyncio.get_running_loop()
        peers = self._peers.setdefault(peer.user_id, set())
        if len(peers) >= max_sockets:
            if not peers:
                del self._peers[peer.user_id]
            log.info("socket refused user=%s open=%d", peer.user_id, len(peers))
            return False
        peers.add(peer)
        return True

    def remove(self, peer: Peer) -> None:
        peers = self._peers.get(peer.user_id)
        if peers is not None:
            peers.discard(peer)
            if not peers:
                del self._peers[peer.user_id]

    def sockets(self, user_id: int) -> int:
        return len(self._peers.get(user_id, ()))

    def begin_request(self, user_id: int, limit: int) -> bool:
        """Count one more request of the user in flight, unless `limit` are already."""
        running = self._in_flight.get(user_id, 0)
        if running >= limit:
            return False
        self._in_flight[user_id] = running + 1
        return True

    def end_request(self, user_id: int) -> None:
        left = self._in_flight.get(user_id, 1) - 1
        if left > 0:
            self._in_flight[user_id] = left
        else:
            self._in_flight.pop(user_id, None)

    def in_flight(self, user_id: int) -> int:
        return self._in_flight.get(user_id, 0)

    def revoke_session(self, token: str) -> int:
        """Close this process's sockets of a session (logout); returns how many.

        The closing handshakes run as tasks, so a client slow to answer never holds up the
        logout response. Replicas that share the database notice on the socket's next frame.
        """
        key = session_key(token)
        targets = [p for peers in self._peers.values() for p in peers if p.session_key == key]
        for peer in targets:
            task = asyncio.create_task(peer.revoke())
            self._revoking.add(task)
            task.add_done_callback(self._revoking.discard)
        return len(targets)

    async def publish(self, user_id: int, message: BaseModel) -> None:
        for peer in list(self._peers.get(user_id, ())):
            try:
                await peer.send(message)
            except Exception as exc:  # a socket closing meanwhile must not stop the others
                log.debug("publish failed user=%s error=%s", user_id, exc)

    def publish_threadsafe(self, user_id: int, message: BaseModel) -> None:
        """From a worker thread; dropped when the user has no socket (or no loop runs)."""
        loop = self._loop
        if loop is None or loop.is_closed() or user_id not in self._peers:
            return
        with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
            asyncio.run_coroutine_threadsafe(self.publish(user_id, message), loop)
