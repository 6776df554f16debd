"""Uploaded documents per user: what was uploaded, where it lies, how far ingestion got."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ragcode.history.sqlite import LockedDatabase

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
_COLUMNS = "id, user_id, name, kind, path, state, units, error, created_at"


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    user_id: int
    name: str
    kind: str  # "code" | "document"
    path: Path  # the directory ingestion indexes (one root per upload)
    state: str  # "queued" | "indexing" | "summarizing" | "ready" | "failed"
    units: int
    error: str | None
    created_at: float

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id, "name": self.name, "kind": self.kind, "state": self.state,
            "units": self.units, "error": self.error, "created_at": self.created_at,
        }  # fmt: skip


def _row(row: tuple[object, ...]) -> Document:
    return Document(
        id=str(row[0]), user_id=int(str(row[1])), name=str(row[2]), kind=str(row[3]),
        path=Path(str(row[4])), state=str(row[5]), units=int(str(row[6])),
        error=None if row[7] is None else str(row[7]), created_at=float(str(row[8])),
    )  # fmt: skip


class DocumentRegistry(LockedDatabase):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    def add(self, doc_id: str, user_id: int, name: str, kind: str, path: Path) -> Document:
        now = time.time()
        with self._guard() as conn:
            conn.execute(
                f"INSERT INTO documents ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                (doc_id, user_id, name, kind, str(path), "queued", 0, None, now),
            )
        return Document(doc_id, user_id, name, kind, path, "queued", 0, None, now)

    def get(self, user_id: int, doc_id: str) -> Document | None:
        with self._guard() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM documents WHERE id = ? AND user_id = ?", (doc_id, user_id)
            ).fetchone()
        return _row(row) if row else None

    def list_for(self, user_id: int) -> list[Document]:
        with self._guard() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM documents WHERE user_id = ? ORDER BY created_at",
                (user_id,),
            ).fetchall()
        return [_row(row) for row in rows]

    def update(
        self, doc_id: str, *, state: str, units: int | None = None, error: str | None = None
    ) -> None:
        with self._guard() as conn:
            conn.execute(
                "UPDATE documents SET state = ?, units = COALESCE(?, units), error = ?"
                " WHERE id = ?",
                (state, units, error, doc_id),
            )

    def exists(self, doc_id: str) -> bool:
        with self._guard() as conn:
            row = conn.execute("SELECT 1 FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return row is not None

    def delete(self, doc_id: str) -> None:
        with self._guard() as conn:
            conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
