"""A few PostgreSQL connections shared by the threads of one store, and the errors they raise
turned into `StoreError`s a user can act on.

Connections are opened on demand (at most `size`), reused most-recent-first, and dropped when
they break. A server restart breaks every idle connection at once, so the first broken one
empties the pool; a call that finds its connection dead before doing anything (a read, or a
write whose BEGIN failed) is retried once on a new connection, so the call after a restart
works. A write that fails half-way is not retried: its transaction was rolled back, and the
caller gets a `StoreError`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from ragcode.store.protocol import StoreError

log = logging.getLogger(__name__)

Connection = psycopg.Connection[TupleRow]
Params = Sequence[object] | Mapping[str, object] | None
Statement = str | sql.Composed | sql.SQL
T = TypeVar("T")


def describe(url: str) -> str:
    """host:port/dbname of a connection URL, without the user or password."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(잘못된 PostgreSQL 주소)"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


class ConnectionPool:
    def __init__(self, url: str, configure: Callable[[Connection], None], size: int = 4) -> None:
        self._url = url
        self._where = describe(url)
        self._configure = configure
        self._size = size
        self._idle: list[Connection] = []
        self._open = 0
        self._cond = threading.Condition()
        self._closed = False

    # --- connections -----------------------------------------------------------
    def connect(self, *, configure: bool = True) -> Connection:
        """A new connection; unconfigured only to create the schema (and the vector type)."""
        try:
            conn = psycopg.connect(self._url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(
                f"PostgreSQL 색인 서버({self._where})에 연결할 수 없습니다: {first_line(exc)}. "
                "서버가 실행 중인지, [store] url 이 맞는지 확인하세요"
            ) from exc
        try:
            if configure:
                self._configure(conn)
        except psycopg.Error as exc:
            conn.close()
            raise self.error("연결 설정", exc, broken=conn.broken) from exc
        return conn

    def _take(self, timeout_s: float = 60.0) -> tuple[Connection, bool]:
        with self._cond:
            if self._closed:
                raise StoreError("색인 저장소가 이미 닫혔습니다")
            if not self._cond.wait_for(lambda: self._idle or self._open < self._size, timeout_s):
                raise StoreError("PostgreSQL 연결이 모두 사용 중입니다. 잠시 뒤 다시 시도하세요")
            if self._idle:
                return self._idle.pop(), True
            self._open += 1
        try:
            return self.connect(), False
        except BaseException:
            with self._cond:
                self._open -= 1
                self._cond.notify()
            raise

    def _give_back(self, conn: Connection) -> None:
        stale: list[Connection] = []
        with self._cond:
            if conn.broken or conn.closed or self._closed:
                self._open -= 1
                stale, self._idle = self._idle, []  # a restart broke those too
                self._open -= len(stale)
                stale.append(conn)
            else:
                self._idle.append(conn)
            self._cond.notify_all()
        for dead in stale:
            dead.close()

    # --- running work ----------------------------------------------------------
    def read(self, action: str, work: Callable[[Connection], T]) -> T:
        return self._run(action, work, write=False)

    def fetch(self, action: str, query: Statement, params: Params = None) -> list[TupleRow]:
        """The rows of one read-only statement."""
        return self.read(action, lambda conn: conn.execute(query, params).fetchall())

    def write(self, action: str, work: Callable[[Connection], T]) -> T:
        """`work` runs in one transaction; an exception inside rolls everything back."""
        return self._run(action, work, write=True)

    def _run(self, action: str, work: Callable[[Connection], T], *, write: bool) -> T:
        for attempt in (1, 2):
            conn, reused = self._take()
            begun = False
            try:
                if write:
                    with conn.transaction():
                        begun = True
                        return work(conn)
                return work(conn)
            except psycopg.Error as exc:
                if conn.broken and reused and attempt == 1 and not (write and begun):
                    log.info("store.reconnect where=%s action=%s", self._where, action)
                    continue
                raise self.error(action, exc, broken=conn.broken) from exc
            finally:
                self._give_back(conn)
        raise AssertionError("unreachable")

    def error(self, action: str, exc: psycopg.Error, *, broken: bool) -> StoreError:
        if broken or isinstance(exc, psycopg.InterfaceError):
            return StoreError(
                f"{action} 실패: PostgreSQL 색인 서버({self._where})와의 연결이 끊겼거나 서버가 "
                f"응답하지 않습니다 ({first_line(exc)}). 서버 상태를 확인하고 다시 시도하세요"
            )
        return StoreError(f"{action} 실패 (PostgreSQL {self._where}): {first_line(exc)}")

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
        for conn in idle:
            conn.close()


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
