"""Events between replicas over a real PostgreSQL (LISTEN/NOTIFY): pushes reach every process,
revocations reach the others, large payloads arrive whole, and a restart is survived."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from ragcode.events.postgres import PostgresEvents
from ragcode.events.protocol import MAX_EVENT_BYTES
from tests.pg_server import PgServer, running_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@dataclass
class Recorder:
    delivered: list[tuple[int, str]] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def deliver(self, user_id: int, payload: str) -> None:
        with self.changed:
            self.delivered.append((user_id, payload))
            self.changed.notify_all()

    def revoke_key(self, session_key: str) -> None:
        with self.changed:
            self.revoked.append(session_key)
            self.changed.notify_all()

    def wait_for(self, done: Callable[[], bool], timeout_s: float = 10.0) -> bool:
        with self.changed:
            return self.changed.wait_for(done, timeout_s)


Pair = tuple[PostgresEvents, "Recorder", PostgresEvents, "Recorder"]


@pytest.fixture
def two_replicas(pg_database: str) -> Iterator[Pair]:
    buses = [PostgresEvents(pg_database), PostgresEvents(pg_database)]
    recorders = [Recorder(), Recorder()]
    for bus, recorder in zip(buses, recorders, strict=True):
        bus.subscribe(recorder)
        assert bus.wait_listening(20)
    yield buses[0], recorders[0], buses[1], recorders[1]
    for bus in buses:
        bus.close()


def test_a_push_reaches_every_process_in_order(
    two_replicas: Pair,
) -> None:
    a, seen_a, _, seen_b = two_replicas
    sent = [(7, f'{{"status": "progress", "done": {n}}}') for n in range(20)]
    for user_id, payload in sent:
        a.publish(user_id, payload)
    for seen in (seen_b, seen_a):  # the publisher's own sockets get it through the bus too
        assert seen.wait_for(lambda seen=seen: len(seen.delivered) >= 20)  # type: ignore[misc]  # mypy cannot infer a lambda with a default argument
        assert seen.delivered == sent


def test_a_logout_reaches_the_other_processes_only(
    two_replicas: Pair,
) -> None:
    a, seen_a, b, seen_b = two_replicas
    a.revoke("key-1")
    b.publish(1, "{}")  # after the revocation: once it arrives, the revocation has too
    assert seen_a.wait_for(lambda: len(seen_a.delivered) == 1)
    assert seen_b.wait_for(lambda: seen_b.revoked == ["key-1"])
    assert seen_a.revoked == []  # A closed its own sockets itself


def test_a_payload_too_large_for_notify_arrives_whole(
    two_replicas: Pair,
) -> None:
    a, _, _, seen_b = two_replicas
    large = '{"summary": "' + "요약" * MAX_EVENT_BYTES + '"}'
    a.publish(3, large)
    a.publish(3, "small")
    assert seen_b.wait_for(lambda: len(seen_b.delivered) == 2)
    assert seen_b.delivered == [(3, large), (3, "small")]


@pytest.fixture(scope="module")
def own_server() -> Iterator[PgServer]:
    with running_server() as server:
        yield server


def test_both_sides_reconnect_after_a_database_restart(own_server: PgServer) -> None:
    sender, receiver = PostgresEvents(own_server.url()), PostgresEvents(own_server.url())
    seen = Recorder()
    receiver.subscribe(seen)
    try:
        assert receiver.wait_listening(20)
        sender.publish(1, "before")
        assert seen.wait_for(lambda: len(seen.delivered) == 1)
        own_server.stop()
        sender.publish(1, "while down")  # kept in the outbox until the database is back
        time.sleep(1.0)
        own_server.start()
        assert seen.wait_for(lambda: (1, "after") in seen.delivered, timeout_s=0.1) is False
        deadline = time.monotonic() + 30
        while (1, "after") not in seen.delivered and time.monotonic() < deadline:
            sender.publish(1, "after")  # the listener may take a moment to LISTEN again
            seen.wait_for(lambda: (1, "after") in seen.delivered, timeout_s=1.0)
        assert (1, "after") in seen.delivered
    finally:
        sender.close()
        receiver.close()
