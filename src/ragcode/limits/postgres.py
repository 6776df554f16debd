"""Attempt limits counted in PostgreSQL, so that every replica counts together (the same
contract as `limits.memory.AttemptLimiter`: reserve before the work, all keys or none).

A reservation locks its keys (transaction-scoped advisory locks, taken in one fixed order so
that two reservations sharing keys cannot deadlock), counts each key's attempts within the
window by the database clock, and inserts one row per key only if none is at its limit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime

from ragcode.db.pg import PgDatabase
from ragcode.db.pg_migrations import Component, Migration
from ragcode.store.pg_pool import Connection

# Keys are stored as digests: a key holds what a client typed (a user name at login), which
# may be long or hold characters PostgreSQL text refuses; equality is all a limit needs.
SCHEMA = Component("limits", (
    Migration(1, "attempts", """
CREATE TABLE limit_attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    counter text NOT NULL,
    key_hash bytea NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX limit_attempts_key ON limit_attempts (counter, key_hash, at);
CREATE INDEX limit_attempts_age ON limit_attempts (counter, at);
"""),
))  # fmt: skip
# Rows older than the window deleted per reservation: more than a reservation adds, so the
# table stays near the attempts of one window; SKIP LOCKED, so pruning never waits.
PRUNE_BATCH = 500


def _digest(counter: str, key: str) -> bytes:
    return hashlib.sha256(f"{counter}\0{key}".encode("utf-8", "surrogatepass")).digest()


def _lock_id(digest: bytes) -> int:
    """A signed 64-bit advisory lock id; a collision only makes two keys wait for each other."""
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresAttempts:
    """At most `limit` attempts per key within `window_s` seconds, counted in the database;
    counters of different `name`s ("login", "signup") share the table and nothing else."""

    def __init__(self, url: str, name: str, window_s: float) -> None:
        self._name = name
        self._window = float(window_s)
        self._db = PgDatabase(url, SCHEMA)

    def reserve(self, limits: Mapping[str, int]) -> float:
        """Count one attempt on every key unless one is at its limit: then count nothing and
        return the seconds until an attempt is allowed (0.0: counted, go ahead)."""
        if not limits:
            return 0.0
        keys = {_digest(self._name, key): limit for key, limit in limits.items()}

        def work(conn: Connection) -> float:
            self._lock(conn, keys)
            # Read after the locks: the previous holder's attempts are committed by then.
            now = conn.execute("SELECT clock_timestamp()").fetchall()[0][0]
            wait = max(self._wait(conn, key, limit, now) for key, limit in keys.items())
            if wait == 0:
                conn.execute(
                    "INSERT INTO limit_attempts (counter, key_hash, at)"
                    " SELECT %s, k, %s FROM unnest(%s::bytea[]) AS k",
                    (self._name, now, list(keys)),
                )
            self._prune(conn)
            return wait

        return self._db.write("시도 횟수 확인", work)

    def release(self, keys: Iterable[str]) -> None:
        """Take back the latest attempt on each key (the attempt turned out to be allowed)."""
        digests = [_digest(self._name, key) for key in keys]
        if not digests:
            return

        def work(conn: Connection) -> None:
            self._lock(conn, digests)
            for digest in digests:  # one by one: a key given twice gives back two attempts
                conn.execute(
                    "DELETE FROM limit_attempts WHERE id = (SELECT id FROM limit_attempts"
                    " WHERE counter = %s AND key_hash = %s ORDER BY at DESC, id DESC LIMIT 1)",
                    (self._name, digest),
                )

        self._db.write("시도 횟수 되돌리기", work)

    def _lock(self, conn: Connection, digests: Iterable[bytes]) -> None:
        for lock_id in sorted({_lock_id(digest) for digest in digests}):
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id,))

    def _wait(self, conn: Connection, key: bytes, limit: int, now: datetime) -> float:
        """Seconds until `key` is under its limit: until the `limit`-th latest attempt within
        the window leaves it (0.0 when fewer than `limit` are within it; a limit below 1
        counts as 1)."""
        row = conn.execute(
            "SELECT %(window)s - extract(epoch FROM %(now)s - at)::float8 FROM limit_attempts"
            " WHERE counter = %(counter)s AND key_hash = %(key)s"
            " AND at > %(now)s - make_interval(secs => %(window)s)"
            " ORDER BY at DESC OFFSET %(skip)s LIMIT 1",
            {"window": self._window, "now": now, "counter": self._name, "key": key,
             "skip": max(limit, 1) - 1},
        ).fetchone()  # fmt: skip
        # A row means the key is at its limit: never 0.0 (go ahead), even rounded.
        return max(float(row[0]), 1e-6) if row else 0.0

    def _prune(self, conn: Connection) -> None:
        """Last in the transaction, and SKIP LOCKED: it never waits while holding key locks
        (a `release` holding a key lock may be deleting the same old row)."""
        conn.execute(
            "DELETE FROM limit_attempts WHERE id IN (SELECT id FROM limit_attempts"
            " WHERE counter = %s AND at < clock_timestamp() - make_interval(secs => %s)"
            " LIMIT %s FOR UPDATE SKIP LOCKED)",
            (self._name, self._window, PRUNE_BATCH),
        )

    def close(self) -> None:
        self._db.close()
