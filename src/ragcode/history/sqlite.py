"""History in one SQLite file of the data directory (WAL; one connection behind a lock)."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ragcode.db.sqlite import LockedDatabase
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
    error = HistoryError
    failure = "대화 기록 저장소 오류"

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

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

    # --- export (`ragcode migrate`) ---------------------------------------------------
    def export_turns(self, after: int, limit: int) -> builtins.list[StoredTurn]:
        with self._guard() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM turns WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
            ).fetchall()
        return [_row_to_turn(row) for row in rows]

    def count_turns(self) -> int:
        with self._guard() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM turns").fetchone()[0])
