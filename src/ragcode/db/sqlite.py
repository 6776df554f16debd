"""One SQLite file of the data directory shared by the threads of a process: history, accounts
and the upload registry of the embedded default each keep their tables this way."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class DatabaseOpenError(RuntimeError):
    """The SQLite file cannot be opened (permissions, not a database)."""


def open_database(path: Path) -> sqlite3.Connection:
    """A connection shared by threads (callers hold a lock); WAL for concurrent readers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return connect_shared(path)
    except sqlite3.DatabaseError as exc:
        raise DatabaseOpenError(f"데이터베이스를 열 수 없습니다 ({path}): {exc}") from exc


def connect_shared(
    path: Path, set_up: Callable[[sqlite3.Connection], None] | None = None
) -> sqlite3.Connection:
    """A connection in autocommit mode that threads may share, waiting for other processes'
    locks (30 s), in WAL mode, then `set_up` (a schema); a connection that fails any of it is
    closed and the SQLite error raised."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=30000")  # first: the WAL switch may have to wait
        switch_to_wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
        if set_up is not None:
            set_up(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def switch_to_wal(conn: sqlite3.Connection, timeout: float = 30.0) -> None:
    """`PRAGMA journal_mode=WAL`, retried while another connection holds a lock on a file
    still in rollback-journal mode (a new file, or two processes opening at once).

    The switch takes a shared lock and then an exclusive one; when another connection is
    writing, SQLite answers "database is locked" at once instead of calling the busy handler
    (waiting could deadlock), so the busy timeout alone does not make it wait. An attempt
    may itself wait out the connection's busy timeout: the whole may last that much longer.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() >= deadline:
                raise
            # Jitter: two openers that collided should not retry in lockstep.
            time.sleep(random.uniform(0.02, 0.1))


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT (the connection is in autocommit mode otherwise): the write
    lock is taken at the start, so two processes cannot both read-then-write the same rows."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class LockedDatabase:
    """One SQLite connection shared by threads behind a lock, its schema created on open.
    A subclass naming `error` gets every SQLite failure (opening included) as that type,
    its message prefixed with `failure` (what the user was trying to reach)."""

    error: type[Exception] | None = None
    failure = "데이터베이스 오류"

    def __init__(self, path: Path, schema: str) -> None:
        self._lock = threading.Lock()
        try:
            self._conn = open_database(path)
        except DatabaseOpenError as exc:
            raise (self.error or DatabaseOpenError)(str(exc)) from exc
        with self._guard() as conn:
            conn.executescript(schema)

    @contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                if self.error is None:
                    raise
                raise self.error(f"{self.failure}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()
