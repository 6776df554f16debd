"""Uploaded documents per user: what was uploaded, where it lies, how far ingestion got, and
whether its owner shared it with the team (the registry doubles as the persisted job queue:
an upload whose state is not final is resumed when the server starts)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ragcode.domain import TEAM_SCOPE, user_scope
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
_COLUMNS = "id, user_id, name, kind, path, state, units, error, created_at, shared"
UPLOADS_DIR = "uploads"  # under the data directory: <user id>/<upload id>/files
# States a restart must pick up again; "ready" and "failed" are final.
UNFINISHED = ("queued", "indexing", "summarizing")


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
    shared: bool = False  # visible to the whole team (else to its owner only)

    @property
    def scope(self) -> str:
        """The owner scope its index entries carry."""
        return TEAM_SCOPE if self.shared else user_scope(self.user_id)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id, "name": self.name, "kind": self.kind, "state": self.state,
            "units": self.units, "error": self.error, "created_at": self.created_at,
            "shared": self.shared,
        }  # fmt: skip


def _row(row: tuple[object, ...]) -> Document:
    return Document(
        id=str(row[0]), user_id=int(str(row[1])), name=str(row[2]), kind=str(row[3]),
        path=Path(str(row[4])), state=str(row[5]), units=int(str(row[6])),
        error=None if row[7] is None else str(row[7]), created_at=float(str(row[8])),
        shared=bool(row[9]),
    )  # fmt: skip


class DocumentRegistry(LockedDatabase):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)
        with self._guard() as conn:  # registries written before sharing existed
            columns = {str(row[1]) for row in conn.execute("PRAGMA table_info(documents)")}
            if "shared" not in columns:
                conn.execute("ALTER TABLE documents ADD COLUMN shared INTEGER NOT NULL DEFAULT 0")

    def add(self, doc_id: str, user_id: int, name: str, kind: str, path: Path) -> Document:
        """A new upload: private to its owner, queued for ingestion."""
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
                f"SELECT {_COLUMNS} FROM documents WHERE {where} ORDER BY created_at", params
            ).fetchall()
        return [_row(row) for row in rows]

    def get(self, user_id: int, doc_id: str) -> Document | None:
        """The upload `doc_id` if `user_id` owns it."""
        found = self._select("id = ? AND user_id = ?", (doc_id, user_id))
        return found[0] if found else None

    def find(self, doc_id: str) -> Document | None:
        """Any user's upload (callers check who may see or change it)."""
        found = self._select("id = ?", (doc_id,))
        return found[0] if found else None

    def list_for(self, user_id: int) -> list[Document]:
        """The user's own uploads."""
        return self._select("user_id = ?", (user_id,))

    def list_visible(self, user_id: int) -> list[Document]:
        """The user's own uploads and those others shared with the team."""
        return self._select("user_id = ? OR shared = 1", (user_id,))

    def all(self) -> list[Document]:
        return self._select("1 = 1", ())

    def unfinished(self) -> list[Document]:
        marks = ",".join("?" * len(UNFINISHED))
        return self._select(f"state IN ({marks})", UNFINISHED)

    def unfinished_count(self, user_id: int) -> int:
        marks = ",".join("?" * len(UNFINISHED))
        with self._guard() as conn:
            row = conn.execute(
                f"SELECT COUNT(*) FROM documents WHERE user_id = ? AND state IN ({marks})",
                (user_id, *UNFINISHED),
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
