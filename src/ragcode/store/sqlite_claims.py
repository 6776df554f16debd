"""The shared summary queue in the embedded SQLite file: claims, leases, the worker registry.

Every write runs inside the store's BEGIN IMMEDIATE transaction (the caller's), which holds
the file's single write lock: a claim reads the claimable units and leases them before any
other process or thread can, so two claimers never get the same unit. Time is this machine's
clock (an SQLite file is shared only by the processes of one machine).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ragcode.store import claims
from ragcode.store.protocol import QueueStatus, WorkerBeat, WorkerState

_CLAIMABLE = claims.claimable_sql(":now", ":max_attempts")
_CHUNK = 500  # bound parameters per statement


def _marks(count: int) -> str:
    return ",".join("?" * count)


def claim(
    conn: sqlite3.Connection,
    collection: str,
    worker: str,
    limit: int,
    lease_s: float,
    now: float,
    first_root: str | None = None,
) -> list[int]:
    """Lease up to `limit` claimable units; their row ids in (root, path, line) order, those
    of `first_root` first."""
    rows = conn.execute(
        f"SELECT id FROM units WHERE collection = :c AND {_CLAIMABLE}"
        " ORDER BY root IS NOT :first, root, path, start_line LIMIT :limit",
        {"c": collection, "now": now, "max_attempts": claims.MAX_ATTEMPTS, "limit": limit,
         "first": first_root},
    ).fetchall()  # fmt: skip
    ids = [int(row[0]) for row in rows]
    conn.executemany(
        "UPDATE units SET lease_owner = ?, lease_until = ? WHERE id = ?",
        [(worker, now + lease_s, rowid) for rowid in ids],
    )
    return ids


def renew(
    conn: sqlite3.Connection, worker: str, uids: Sequence[str], lease_s: float, now: float
) -> set[str]:
    kept: set[str] = set()
    for start in range(0, len(uids), _CHUNK):
        chunk = list(uids[start : start + _CHUNK])
        rows = conn.execute(
            "UPDATE units SET lease_until = ? WHERE lease_owner = ?"
            f" AND uid IN ({_marks(len(chunk))}) RETURNING uid",
            (now + lease_s, worker, *chunk),
        ).fetchall()
        kept.update(str(row[0]) for row in rows)
    return kept


def release(conn: sqlite3.Connection, worker: str) -> int:
    cursor = conn.execute(
        "UPDATE units SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?", (worker,)
    )
    return cursor.rowcount


def retry_failed(conn: sqlite3.Connection, collection: str) -> int:
    cursor = conn.execute(
        "UPDATE units SET summary_attempts = 0, retry_at = NULL"
        " WHERE collection = ? AND summary_state = ?",
        (collection, claims.FAILED),
    )
    return cursor.rowcount


def heartbeat(conn: sqlite3.Connection, collection: str, beat: WorkerBeat, now: float) -> None:
    conn.execute(
        "INSERT INTO summary_workers (id, collection, host, pid, started, last_seen, lease_s,"
        " done, failed, stopped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
        " ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen,"
        " lease_s = excluded.lease_s, done = excluded.done, failed = excluded.failed, stopped = 0",
        (beat.id, collection, beat.host, beat.pid, beat.started, now, beat.lease_s, beat.done,
         beat.failed),
    )  # fmt: skip
    conn.execute(
        "DELETE FROM summary_workers WHERE last_seen < ?", (now - claims.FORGET_WORKERS_S,)
    )


def stopped(conn: sqlite3.Connection, worker: str, now: float) -> None:
    conn.execute(
        "UPDATE summary_workers SET stopped = 1, last_seen = ? WHERE id = ?", (now, worker)
    )


def queue_status(
    conn: sqlite3.Connection, collection: str, window_s: float, now: float
) -> QueueStatus:
    counts = claims.empty_counts()
    rows = conn.execute(
        "SELECT summary_state, coalesce(lease_until, 0) >= :now,"
        " summary_attempts >= :max_attempts, coalesce(retry_at, 0) <= :now, count(*)"
        f" FROM units WHERE collection = :c AND summary_state IN {claims.QUEUED_STATES_SQL}"
        " GROUP BY 1, 2, 3, 4",
        {"c": collection, "now": now, "max_attempts": claims.MAX_ATTEMPTS},
    )
    for state, leased, final, due, count in rows:
        claims.tally(counts, str(state), bool(leased), bool(final), bool(due), int(count))
    workers = [
        WorkerState(*row)
        for row in conn.execute(
            "SELECT id, host, pid, started, last_seen, done, failed FROM summary_workers"
            " WHERE collection = ? AND stopped = 0 AND last_seen >= ? - lease_s * ?"
            " ORDER BY started",
            (collection, now, claims.LIVE_LEASES),
        )
    ]
    recent = conn.execute(
        "SELECT count(*) FROM units WHERE collection = ? AND summarized_at >= ?",
        (collection, now - window_s),
    ).fetchone()[0]
    return QueueStatus(**counts, workers=workers, recent=int(recent), window_s=window_s)
