"""Events between server replicas over PostgreSQL LISTEN/NOTIFY.

Publishing never blocks the caller (an event loop, an ingestion thread): events go to an
outbox that one sender thread NOTIFYs in order. One listener thread per process holds a
connection that LISTENs and hands each event to the subscribed hub. A payload too large for
NOTIFY (8000 bytes) is written to a table and only its id is notified. When the database
goes away both threads reconnect; events published meanwhile wait in the outbox (bounded),
events notified while a listener was away are lost, as the port allows (progress is live
only, and a revoked session is also refused at its socket's next frame).
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import uuid
from typing import Any

import psycopg

from ragcode.db.pg_migrations import Component, Migration, migrate
from ragcode.events.protocol import MAX_EVENT_BYTES, EventListener
from ragcode.store.pg_pool import describe, first_line

log = logging.getLogger(__name__)

CHANNEL = "ragcode_events"
OUTBOX_SIZE = 10_000  # events waiting for the database; beyond: dropped (and logged)
RECONNECT_S = 1.0
SCHEMA = Component("events", (
    Migration(1, "large events", """
CREATE TABLE ragcode_large_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    event text NOT NULL
)"""),
))  # fmt: skip
# Large events are read by every listener right away; kept this long, then deleted.
_LARGE_KEEP = "5 minutes"
_STOP = ""
# TCP keepalives: a listener only reads, so a connection cut without a FIN (a NAT, a failed
# host) would otherwise look alive forever and deliver nothing; these notice it within ~1 min.
_CONNECT: dict[str, Any] = {
    "autocommit": True, "connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30,
    "keepalives_interval": 10, "keepalives_count": 3,
}  # fmt: skip


class PostgresEvents:
    def __init__(self, url: str) -> None:
        self._url = url
        self._where = describe(url)
        self._origin = uuid.uuid4().hex  # this process: its own revocations come back too
        self._outbox: queue.Queue[str] = queue.Queue(maxsize=OUTBOX_SIZE)
        self._stopping = threading.Event()
        self._listener: EventListener | None = None
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._listening = threading.Event()  # tests: the first LISTEN is in place

    # --- the port ------------------------------------------------------------------
    def publish(self, user_id: int, payload: str) -> None:
        self._send({"o": self._origin, "u": user_id, "p": payload})

    def revoke(self, session_key: str) -> None:
        self._send({"o": self._origin, "k": session_key})

    def subscribe(self, listener: EventListener) -> None:
        self._listener = listener
        self._start("listen", self._listen_loop)

    def close(self) -> None:
        self._stopping.set()
        with contextlib.suppress(queue.Full):
            self._outbox.put_nowait(_STOP)
        for thread in self._threads:
            thread.join(timeout=5.0)
        self._threads.clear()

    def wait_listening(self, timeout_s: float) -> bool:
        return self._listening.wait(timeout_s)

    # --- sending -------------------------------------------------------------------
    def _send(self, event: dict[str, Any]) -> None:
        if self._stopping.is_set():
            return
        self._start("notify", self._send_loop)
        try:
            self._outbox.put_nowait(json.dumps(event, ensure_ascii=False))
        except queue.Full:
            log.warning("event dropped: outbox full where=%s", self._where)

    def _start(self, name: str, target: Any) -> None:
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            if any(t.name == f"events-{name}" for t in self._threads) or self._stopping.is_set():
                return
            thread = threading.Thread(target=target, name=f"events-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _send_loop(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        pending: str | None = None
        while True:
            if pending is None:
                pending = self._outbox.get()
                if pending == _STOP:
                    break
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self._url, **_CONNECT)
                    _apply_migrations(conn)
                self._notify(conn, pending)
                pending = None
            except Exception as exc:  # any failure: this thread must live on to send the rest
                log.warning("event send failed where=%s error=%s", self._where, first_line(exc))
                if conn is not None:
                    conn.close()
                conn = None
                if self._stopping.wait(RECONNECT_S):
                    break
        if conn is not None:
            conn.close()

    def _notify(self, conn: psycopg.Connection[Any], event: str) -> None:
        if len(event.encode("utf-8")) <= MAX_EVENT_BYTES:
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, event))
            return
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO ragcode_large_events (event) VALUES (%s) RETURNING id", (event,)
            ).fetchone()
            conn.execute(
                "DELETE FROM ragcode_large_events WHERE created_at < now() - %s::interval",
                (_LARGE_KEEP,),
            )
            reference = json.dumps({"ref": row[0] if row else 0})
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, reference))

    # --- listening -----------------------------------------------------------------
    def _listen_loop(self) -> None:
        while not self._stopping.is_set():
            reader: psycopg.Connection[Any] | None = None  # large events: no query may run
            try:  # on the listening connection while its notifications are iterated
                with psycopg.connect(self._url, **_CONNECT) as conn:
                    _apply_migrations(conn)
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=1.0):
                            event = self._decode(note.payload)
                            if event is not None and "ref" in event:
                                if reader is None or reader.closed:
                                    reader = psycopg.connect(self._url, **_CONNECT)
                                event = self._fetch_large(reader, event["ref"])
                            if event is not None:
                                self._dispatch(event)
            except Exception as exc:  # any failure: reconnect, events must keep arriving
                log.warning("event listener lost where=%s error=%s", self._where, first_line(exc))
                self._stopping.wait(RECONNECT_S)
            finally:
                if reader is not None:
                    reader.close()

    @staticmethod
    def _decode(raw: str) -> dict[str, Any] | None:
        try:
            event = json.loads(raw)
        except ValueError as exc:
            log.warning("malformed event ignored error=%s", exc)
            return None
        return event if isinstance(event, dict) else None

    def _fetch_large(self, reader: psycopg.Connection[Any], ref: object) -> dict[str, Any] | None:
        row = reader.execute(
            "SELECT event FROM ragcode_large_events WHERE id = %s", (ref,)
        ).fetchone()
        return None if row is None else self._decode(str(row[0]))

    def _dispatch(self, event: dict[str, Any]) -> None:
        listener = self._listener
        if listener is None:
            return
        try:
            if "k" in event:
                if event.get("o") != self._origin:  # this process closed its own already
                    listener.revoke_key(str(event["k"]))
            else:
                listener.deliver(int(event["u"]), str(event["p"]))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("malformed event ignored error=%s", exc)


def _apply_migrations(conn: psycopg.Connection[Any]) -> None:
    """The versioned migrations, applied once even when replicas connect together."""
    migrate(conn, SCHEMA)
