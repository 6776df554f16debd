"""The shared summary queue on PostgreSQL: claims, leases and the worker registry.

A claim is one UPDATE ... RETURNING over a `FOR UPDATE SKIP LOCKED` sub-select: concurrent
claimers skip the rows another claim is leasing instead of waiting for it, and a row leased
meanwhile no longer matches when it is re-checked, so no unit is handed out twice and nobody
queues behind anybody. Every time is the database's clock (NOW_SQL), never a worker's.
"""

from __future__ import annotations

from collections.abc import Sequence

from ragcode.store import claims
from ragcode.store.pg_pool import Connection
from ragcode.store.pg_tables import NOW_SQL, row_to_record
from ragcode.store.protocol import QueueStatus, RecordRef, WorkerBeat, WorkerState

_CLAIMABLE = claims.claimable_sql(NOW_SQL, "%(max_attempts)s")
_UNIT = "u.uid, u.path, u.name, u.kind, u.language, u.start_line, u.end_line, u.code, u.metadata"
_CLAIM = f"""
UPDATE store_units AS u SET lease_owner = %(worker)s, lease_until = {NOW_SQL} + %(lease)s
FROM (
    SELECT id FROM store_units WHERE collection = %(c)s AND {_CLAIMABLE}
    ORDER BY root IS DISTINCT FROM %(first)s, root, path, start_line LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) AS picked
WHERE u.id = picked.id
RETURNING {_UNIT}, u.root
"""


def claim(
    conn: Connection,
    collection: str,
    worker: str,
    limit: int,
    lease_s: float,
    first_root: str | None = None,
) -> list[RecordRef]:
    rows = conn.execute(
        _CLAIM,
        {"worker": worker, "lease": lease_s, "c": collection, "limit": limit,
         "max_attempts": claims.MAX_ATTEMPTS, "first": first_root},
    ).fetchall()  # fmt: skip
    # RETURNING has no order: back to the claim's (first root, root, path, line).
    rows.sort(key=lambda row: (row[-1] != first_root, row[-1], row[1], row[5]))
    return [RecordRef(uid=row[0], record=row_to_record(row)) for row in rows]


def renew(conn: Connection, worker: str, uids: Sequence[str], lease_s: float) -> set[str]:
    rows = conn.execute(
        f"UPDATE store_units SET lease_until = {NOW_SQL} + %s"
        " WHERE lease_owner = %s AND uid = ANY(%s) RETURNING uid",
        (lease_s, worker, list(uids)),
    ).fetchall()
    return {str(row[0]) for row in rows}


def release(conn: Connection, worker: str) -> int:
    cursor = conn.execute(
        "UPDATE store_units SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = %s",
        (worker,),
    )
    return cursor.rowcount


def retry_failed(conn: Connection, collection: str) -> int:
    cursor = conn.execute(
        "UPDATE store_units SET summary_attempts = 0, retry_at = NULL"
        " WHERE collection = %s AND summary_state = %s",
        (collection, claims.FAILED),
    )
    return cursor.rowcount


def heartbeat(conn: Connection, collection: str, beat: WorkerBeat) -> None:
    conn.execute(
        "INSERT INTO store_workers (id, collection, host, pid, started, last_seen, lease_s,"
        f" done, failed) VALUES (%s, %s, %s, %s, %s, {NOW_SQL}, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen,"
        " lease_s = excluded.lease_s, done = excluded.done, failed = excluded.failed,"
        " stopped = false",
        (beat.id, collection, beat.host, beat.pid, beat.started, beat.lease_s, beat.done,
         beat.failed),
    )  # fmt: skip
    conn.execute(
        f"DELETE FROM store_workers WHERE last_seen < {NOW_SQL} - %s", (claims.FORGET_WORKERS_S,)
    )


def stopped(conn: Connection, worker: str) -> None:
    conn.execute(
        f"UPDATE store_workers SET stopped = true, last_seen = {NOW_SQL} WHERE id = %s", (worker,)
    )


def queue_status(conn: Connection, collection: str, window_s: float) -> QueueStatus:
    counts = claims.empty_counts()
    params = {"c": collection, "max_attempts": claims.MAX_ATTEMPTS, "window": window_s}
    rows = conn.execute(
        f"SELECT summary_state, coalesce(lease_until, 0) >= {NOW_SQL},"
        f" summary_attempts >= %(max_attempts)s, coalesce(retry_at, 0) <= {NOW_SQL}, count(*)"
        f" FROM store_units WHERE collection = %(c)s AND summary_state IN"
        f" {claims.QUEUED_STATES_SQL} GROUP BY 1, 2, 3, 4",
        params,
    ).fetchall()
    for state, leased, final, due, count in rows:
        claims.tally(counts, str(state), bool(leased), bool(final), bool(due), int(count))
    workers = [
        WorkerState(*row)
        for row in conn.execute(
            "SELECT id, host, pid, started, last_seen, done, failed FROM store_workers"
            f" WHERE collection = %(c)s AND NOT stopped"
            f" AND last_seen >= {NOW_SQL} - lease_s * %(live)s ORDER BY started",
            {"c": collection, "live": claims.LIVE_LEASES},
        ).fetchall()
    ]
    recent = conn.execute(
        "SELECT count(*) FROM store_units WHERE collection = %(c)s"
        f" AND summarized_at >= {NOW_SQL} - %(window)s",
        params,
    ).fetchone()
    return QueueStatus(
        **counts, workers=workers, recent=int(recent[0]) if recent else 0, window_s=window_s
    )
