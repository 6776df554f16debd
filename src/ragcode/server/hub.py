"""Open sockets per user: the per-user caps (sockets, requests in flight across them), logout
reaching open sockets, and pushes from background work (ingestion) to a user's sockets.

Pushes and revocations travel over the event bus, so that they reach the user's sockets on
whichever process holds them (one process: the bus delivers at once). Everything but the
bus callbacks (`deliver`, `revoke_key`) and `publish_threadsafe` runs on the event loop, so
the counts need no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from typing import Protocol

from pydantic import BaseModel

from ragcode.events.protocol import EventBus

log = logging.getLogger(__name__)


class Peer(Protocol):
    """One open chat socket, as the hub sees it."""

    @property
    def user_id(self) -> int: ...

    @property
    def session_key(self) -> str: ...

    async def send_text(self, text: str) -> None:
        """Send one JSON message, already serialized."""
        ...

    async def revoke(self) -> None:
        """Tell the client its session ended and close the socket (4401)."""
        ...


def session_key(token: str) -> str:
    """What the hub files a socket under: a hash, so raw tokens are not kept around."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Hub:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._peers: dict[int, set[Peer]] = {}
        self._in_flight: dict[int, int] = {}
        self._revoking: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None  # the sockets' loop, once one opens
        bus.subscribe(self)

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
        """Close this process's sockets of a session (logout) and tell the other processes;
        returns how many sockets here (the bus sends in the background)."""
        key = session_key(token)
        count = self._revoke_here(key)
        self._bus.revoke(key)
        return count

    def _revoke_here(self, key: str) -> int:
        """The closing handshakes run as tasks, so a client slow to answer never holds up the
        logout response."""
        targets = [p for peers in self._peers.values() for p in peers if p.session_key == key]
        for peer in targets:
            task = asyncio.create_task(peer.revoke())
            self._revoking.add(task)
            task.add_done_callback(self._revoking.discard)
        return len(targets)

    async def _publish_text(self, user_id: int, text: str) -> None:
        for peer in list(self._peers.get(user_id, ())):
            try:
                await peer.send_text(text)
            except Exception as exc:  # a socket closing meanwhile must not stop the others
                log.debug("publish failed user=%s error=%s", user_id, exc)

    def publish_threadsafe(self, user_id: int, message: BaseModel) -> None:
        """From any thread: to the user's sockets on every process (dropped where none)."""
        self._bus.publish(user_id, message.model_dump_json())

    # --- bus callbacks (any thread) -------------------------------------------------
    def deliver(self, user_id: int, payload: str) -> None:
        loop = self._loop
        if loop is None or loop.is_closed() or user_id not in self._peers:
            return
        with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
            asyncio.run_coroutine_threadsafe(self._publish_text(user_id, payload), loop)

    def revoke_key(self, session_key: str) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._revoke_here, session_key)
