"""History in one SQLite file of the data directory (WAL; one connection behind a lock)."""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ragcode.history.protocol import HistoryError, NewTurn, StoredTurn

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    mode TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    references_json TEXT NOT NULL,
    standalone_question TEXT
);
CREATE INDEX IF NOT EXISTS turns_user ON turns (user_id, id);
"""
_COLUMNS = (
    "id, user_id, request_id, created_at, mode, question, answer, references_json,"
    " standalone_question"
)


def open_database(path: Path) -> sqlite3.Connection:
    """A connection shared by threads (callers hold a lock); WAL for concurrent readers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
    except sqlite3.DatabaseError as exc:
        raise HistoryError(f"데이터베이스를 열 수 없습니다 ({path}): {exc}") from exc
    return conn


class LockedDatabase:
    """One SQLite connection shared by threads behind a lock, its schema created on open
    (history, accounts and the upload registry all keep their tables this way)."""

    def __init__(self, path: Path, schema: str) -> None:
        self._conn = open_database(path)
        self._lock = threading.Lock()
        with self._guard() as conn:
            conn.executescript(schema)

    @contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _row_to_turn(row: Sequence[object]) -> StoredTurn:
    references = json.loads(str(row[7]))
    return StoredTurn(
        id=int(str(row[0])),
        user_id=int(str(row[1])),
        request_id=str(row[2]),
        created_at=datetime.fromisoformat(str(row[3])),
        mode=str(row[4]),
        question=str(row[5]),
        answer=str(row[6]),
        references=references if isinstance(references, list) else [],
        standalone_question=None if row[8] is None else str(row[8]),
    )


class SqliteHistory(LockedDatabase):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    @contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise HistoryError(f"대화 기록 저장소 오류: {exc}") from exc

    def add(self, turn: NewTurn) -> StoredTurn:
        created = datetime.now(UTC)
        references = json.dumps(turn.references, ensure_ascii=False, default=str)
        with self._guard() as conn:
            cursor = conn.execute(
                f"INSERT INTO turns ({_COLUMNS.split(', ', 1)[1]}) VALUES (?,?,?,?,?,?,?,?)",
                (
                    turn.user_id, turn.request_id, created.isoformat(timespec="microseconds"),
                    turn.mode, turn.question, turn.answer, references,
                    turn.standalone_question,
                ),
            )  # fmt: skip
            turn_id = int(cursor.lastrowid or 0)
        return StoredTurn(
            turn_id, turn.user_id, turn.request_id, created, turn.mode, turn.question,
            turn.answer, list(turn.references), turn.standalone_question,
        )  # fmt: skip

    def list(self, user_id: int, limit: int, before: int | None = None) -> list[StoredTurn]:
        cursor_id = before if before is not None else 2**62
        with self._guard() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM turns WHERE user_id = ? AND id < ?"
                " ORDER BY id DESC LIMIT ?",
                (user_id, cursor_id, max(0, limit)),
            ).fetchall()
        return [_row_to_turn(row) for row in reversed(rows)]

    def recent(self, user_id: int, modes: Sequence[str], limit: int) -> builtins.list[StoredTurn]:
        if not modes or limit <= 0:
            return []
        marks = ",".join("?" * len(modes))
        with self._guard() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM turns WHERE user_id = ? AND mode IN ({marks})"
                " ORDER BY id DESC LIMIT ?",
                (user_id, *modes, limit),
            ).fetchall()
        return [_row_to_turn(row) for row in reversed(rows)]

    def delete_all(self, user_id: int) -> int:
        with self._guard() as conn:
            return conn.execute("DELETE FROM turns WHERE user_id = ?", (user_id,)).rowcount
