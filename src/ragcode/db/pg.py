"""The PostgreSQL side of a persistence adapter (accounts, history, uploads, limits): a pool of
connections (the store's `ConnectionPool`), the component's migrations applied on open, and
the pool's `StoreError`s raised as the port's own error type where the port has one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

try:
    import psycopg  # the `postgres` extra: imported first to say so
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "PostgreSQL 저장소에는 psycopg 가 필요합니다: pip install 'ragcode[postgres]'"
    ) from exc

from psycopg import sql

from ragcode.db.pg_migrations import Component, migrate
from ragcode.store.pg_pool import Connection, ConnectionPool
from ragcode.store.protocol import StoreError

T = TypeVar("T")


def _configure(conn: Connection) -> None:
    """READ COMMITTED whatever the server's default: the locks taken before a count (login
    limits, the first admin) only work when each statement sees what committed before it.
    Times need nothing: they are compared in SQL and converted to UTC when read."""
    conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED


def pg_text(value: str) -> str:
    """PostgreSQL text cannot hold NUL characters (SQLite keeps them): a chat message, a file
    name or a looked-up name holding one would fail the whole call, so NUL becomes U+FFFD."""
    return value.replace("\x00", "\ufffd")


def continue_identity(conn: Connection, table: str, at_least: int = 0) -> None:
    """After rows were copied in with their own ids: the identity goes on after the largest
    (and after `at_least`: ids the source gave to rows since deleted, or that other rows
    refer to), so that new rows never take an id again (and sort after the copied ones)."""
    conn.execute(
        sql.SQL(
            "SELECT setval(pg_get_serial_sequence({table}, 'id'), greatest(max(id), {floor}))"
            " FROM {ident} HAVING greatest(max(id), {floor}) > 0"
        ).format(table=sql.Literal(table), ident=sql.Identifier(table), floor=sql.Literal(at_least))
    )


class PgDatabase:
    def __init__(
        self, url: str, component: Component, error: type[Exception] = StoreError, size: int = 4
    ) -> None:
        self._error = error
        self._pool = ConnectionPool(url, _configure, size)
        with self._errors():
            conn = self._pool.connect()
            try:
                migrate(conn, component)
            finally:
                conn.close()

    def read(self, action: str, work: Callable[[Connection], T]) -> T:
        """`work` in autocommit (each statement on its own); `action` names it in errors."""
        with self._errors():
            return self._pool.read(action, work)

    def write(self, action: str, work: Callable[[Connection], T]) -> T:
        """`work` in one transaction; any exception inside rolls it back."""
        with self._errors():
            return self._pool.write(action, work)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except StoreError as exc:
            if isinstance(exc, self._error):
                raise
            raise self._error(str(exc)) from exc

    def close(self) -> None:
        self._pool.close()
