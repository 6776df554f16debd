"""Hub: sockets per user, requests in flight per user, revoking one session's sockets."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from ragcode.events.local import LocalEvents
from ragcode.server.hub import Hub, session_key
from ragcode.server.protocol import CLOSE_REASONS, Progress

pytestmark = pytest.mark.unit


@dataclass(eq=False)
class FakePeer:
    user_id: int
    token: str
    sent: list[str] = field(default_factory=list)
    revoked: int = 0

    @property
    def session_key(self) -> str:
        return session_key(self.token)

    async def send_text(self, text: str) -> None:
        self.sent.append(text)

    async def revoke(self) -> None:
        self.revoked += 1


def test_sockets_are_capped_per_user() -> None:
    async def scenario() -> None:
        hub = Hub(LocalEvents())
        peers = [FakePeer(1, "t") for _ in range(3)]
        assert [hub.admit(p, 2) for p in peers] == [True, True, False]
        assert hub.admit(FakePeer(2, "u"), 2)  # another user is not affected
        hub.remove(peers[0])
        assert hub.admit(peers[2], 2) and hub.sockets(1) == 2

    asyncio.run(scenario())


def test_requests_in_flight_are_counted_per_user() -> None:
    hub = Hub(LocalEvents())
    assert [hub.begin_request(1, 2) for _ in range(3)] == [True, True, False]
    assert hub.begin_request(2, 2)
    hub.end_request(1)
    assert hub.begin_request(1, 2) and hub.in_flight(1) == 2
    for _ in range(5):
        hub.end_request(1)
    assert hub.in_flight(1) == 0  # never negative


def test_revoking_a_session_reaches_only_its_sockets() -> None:
    async def scenario() -> None:
        hub = Hub(LocalEvents())
        mine = [FakePeer(1, "token-a"), FakePeer(1, "token-a")]
        other_session, other_user = FakePeer(1, "token-b"), FakePeer(2, "token-c")
        for peer in [*mine, other_session, other_user]:
            assert hub.admit(peer, 5)
        assert hub.revoke_session("token-a") == 2
        await asyncio.sleep(0)  # the revocations run as tasks
        assert [p.revoked for p in mine] == [1, 1]
        assert other_session.revoked == 0 and other_user.revoked == 0

    asyncio.run(scenario())


def test_close_reasons_fit_a_close_frame() -> None:
    for code, reason in CLOSE_REASONS.items():
        assert 4000 <= code < 5000
        assert len(reason.encode("utf-8")) <= 123, reason  # RFC 6455: 125 minus the code
        assert any("가" <= ch <= "힣" for ch in reason)


@dataclass
class RecordingBus(LocalEvents):
    """The local bus, recording what the hub tells other processes."""

    revoked: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def revoke(self, session_key: str) -> None:
        self.revoked.append(session_key)


def test_logout_tells_other_processes_and_their_revocations_reach_local_sockets() -> None:
    async def scenario() -> None:
        bus = RecordingBus()
        hub = Hub(bus)
        here, elsewhere = FakePeer(1, "token-a"), FakePeer(1, "token-b")
        assert hub.admit(here, 5) and hub.admit(elsewhere, 5)
        assert hub.revoke_session("token-a") == 1
        assert bus.revoked == [session_key("token-a")]  # the other replicas are told
        hub.revoke_key(session_key("token-b"))  # as the bus delivers another's logout
        for _ in range(3):
            await asyncio.sleep(0)
        assert (here.revoked, elsewhere.revoked) == (1, 1)

    asyncio.run(scenario())


def test_published_progress_travels_through_the_bus_to_the_users_sockets() -> None:
    async def scenario() -> None:
        hub = Hub(LocalEvents())
        mine, other = FakePeer(1, "a"), FakePeer(2, "b")
        assert hub.admit(mine, 5) and hub.admit(other, 5)
        message = Progress(document_id="d1", done=1, total=2, unit=None, summary="요약")
        await asyncio.to_thread(hub.publish_threadsafe, 1, message)  # from a worker thread
        for _ in range(5):
            await asyncio.sleep(0.01)
        assert mine.sent == [message.model_dump_json()] and other.sent == []

    asyncio.run(scenario())
