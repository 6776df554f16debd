"""The upload registry in the embedded SQLite file (see `uploads.protocol`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ragcode.db.sqlite import LockedDatabase, immediate
from ragcode.uploads.protocol import (
    SUMMARIZING,
    TO_INDEX,
    UNFINISHED,
    Document,
    RegistryError,
    UploadBusyError,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    state TEXT NOT NULL,
    units INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_user ON documents (user_id, created_at);
"""
# Columns added after the first release, in order: registries written before them get them.
_ADDED_COLUMNS = (
    ("shared", "INTEGER NOT NULL DEFAULT 0"),
    ("lease_owner", "TEXT"),
    ("lease_until", "REAL NOT NULL DEFAULT 0"),
)
_COLUMNS = "id, user_id, name, kind, path, state, units, error, created_at, shared"
_UNFINISHED_MARKS = ",".join("?" * len(UNFINISHED))


def _row(row: tuple[object, ...]) -> Document:
    return Document(
        id=str(row[0]), user_id=int(str(row[1])), name=str(row[2]), kind=str(row[3]),
        path=Path(str(row[4])), state=str(row[5]), units=int(str(row[6])),
        error=None if row[7] is None else str(row[7]), created_at=float(str(row[8])),
        shared=bool(row[9]),
    )  # fmt: skip


class SqliteRegistry(LockedDatabase):
    error = RegistryError
    failure = "업로드 목록 저장소 오류"

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)
        # Checked inside the write lock: the CLI and the server may open the file together.
        with self._guard() as conn, immediate(conn):
            columns = {str(row[1]) for row in conn.execute("PRAGMA table_info(documents)")}
            for name, definition in _ADDED_COLUMNS:
                if name not in columns:
                    conn.execute(f"ALTER TABLE documents ADD COLUMN {name} {definition}")
        # One process serves the embedded registry: a lock per upload is enough there.
        self._uploads: dict[str, threading.Lock] = {}
        self._uploads_guard = threading.Lock()

    def add(self, doc_id: str, user_id: int, name: str, kind: str, path: Path) -> Document:
        now = time.time()
        with self._guard() as conn:
            conn.execute(
                f"INSERT INTO documents ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (doc_id, user_id, name, kind, str(path), "queued", 0, None, now, 0),
            )
        return Document(doc_id, user_id, name, kind, path, "queued", 0, None, now)

    def _select(self, where: str, params: tuple[object, ...]) -> list[Document]:
        with self._guard() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM documents WHERE {where} ORDER BY created_at, id", params
            ).fetchall()
        return [_row(row) for row in rows]

    def get(self, user_id: int, doc_id: str) -> Document | None:
        found = self._select("id = ? AND user_id = ?", (doc_id, user_id))
        return found[0] if found else None

    def find(self, doc_id: str) -> Document | None:
        found = self._select("id = ?", (doc_id,))
        return found[0] if found else None

    def list_for(self, user_id: int) -> list[Document]:
        return self._select("user_id = ?", (user_id,))

    def list_visible(self, user_id: int) -> list[Document]:
        return self._select("user_id = ? OR shared = 1", (user_id,))

    def all(self) -> list[Document]:
        return self._select("1 = 1", ())

    def unfinished(self) -> list[Document]:
        return self._select(f"state IN ({_UNFINISHED_MARKS})", UNFINISHED)

    def waiting_count(self, user_id: int) -> int:
        with self._guard() as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM documents WHERE user_id = ?"
                f" AND state IN ({','.join('?' * len(TO_INDEX))})",
                (user_id, *TO_INDEX),
            ).fetchone()
        return int(row[0])

    def update(
        self, doc_id: str, *, state: str, units: int | None = None, error: str | None = None
    ) -> None:
        with self._guard() as conn:
            conn.execute(
                "UPDATE documents SET state = ?, units = COALESCE(?, units), error = ?"
                " WHERE id = ?",
                (state, units, error, doc_id),
            )

    def set_shared(self, doc_id: str, shared: bool) -> None:
        with self._guard() as conn:
            conn.execute("UPDATE documents SET shared = ? WHERE id = ?", (int(shared), doc_id))

    def exists(self, doc_id: str) -> bool:
        with self._guard() as conn:
            row = conn.execute("SELECT 1 FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return row is not None

    def delete(self, doc_id: str) -> None:
        with self._guard() as conn:
            conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))

    @contextmanager
    def exclusive(self, doc_id: str, wait_s: float | None = None) -> Iterator[None]:
        with self._uploads_guard:
            lock = self._uploads.setdefault(doc_id, threading.Lock())
        if not lock.acquire(timeout=-1 if wait_s is None else wait_s):
            raise UploadBusyError(f"업로드 {doc_id} 를 다른 작업이 처리하고 있습니다")
        try:
            yield
        finally:
            lock.release()

    # --- the job queue -----------------------------------------------------------
    def claim(self, owner: str, lease_s: float) -> Document | None:
        return self._claim(owner, lease_s, TO_INDEX)

    def claim_summarizing(self, owner: str, lease_s: float) -> Document | None:
        return self._claim(owner, lease_s, (SUMMARIZING,))

    def _claim(self, owner: str, lease_s: float, states: tuple[str, ...]) -> Document | None:
        now = time.time()
        marks = ",".join("?" * len(states))
        with self._guard() as conn, immediate(conn):
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM documents WHERE state IN ({marks})"
                " AND (lease_owner IS NULL OR lease_until < ?) ORDER BY created_at, id LIMIT 1",
                (*states, now),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE documents SET lease_owner = ?, lease_until = ? WHERE id = ?",
                (owner, now + lease_s, row[0]),
            )
        return _row(row)

    def renew(self, doc_id: str, owner: str, lease_s: float) -> bool:
        with self._guard() as conn:
            cursor = conn.execute(
                "UPDATE documents SET lease_until = ? WHERE id = ? AND lease_owner = ?",
                (time.time() + lease_s, doc_id, owner),
            )
        return cursor.rowcount == 1

    def release(self, doc_id: str, owner: str) -> None:
        with self._guard() as conn:
            conn.execute(
                "UPDATE documents SET lease_owner = NULL, lease_until = 0"
                " WHERE id = ? AND lease_owner = ?",
                (doc_id, owner),
            )
