"""Reading a whole collection out of the embedded SQLite file (`ragcode migrate`): every unit
with the lexical tokens and vectors the store holds, file by file in the order the units were
written. Tokens come back from the FTS5 tables exactly: they were stored space-joined and the
analyser never puts a space inside a token."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

from ragcode.domain import Record, SkippedFile, SummaryState, UnitKind
from ragcode.store import metadata
from ragcode.store.fts import fts_table
from ragcode.store.protocol import (
    LEXICAL_FIELDS,
    VECTOR_FIELDS,
    ExportedFile,
    ExportedUnit,
    IndexEntry,
    LexicalField,
    Vector,
    VectorField,
)
from ragcode.store.vectors import from_blob

_FTS_COLUMNS = ", ".join(f"{fts_table(f)}.tokens" for f in LEXICAL_FIELDS)
_FTS_JOINS = " ".join(
    f"LEFT JOIN {fts_table(f)} ON {fts_table(f)}.rowid = u.id" for f in LEXICAL_FIELDS
)
# Files in the order they were written (the first id of their units; a file's units are
# written together), each file's units by id: a copy that writes them in this order gives
# them ids in the same order, and ranking ties break the same way on both sides.
_FILES = (
    "SELECT f.root, f.path, f.file_hash, f.language, f.indexed_at, u.first FROM files f"
    " LEFT JOIN (SELECT root, path, MIN(id) AS first FROM units WHERE collection = ?1"
    " GROUP BY root, path) AS u ON u.root = f.root AND u.path = f.path"
    " WHERE f.collection = ?1"
    # Units without a file row (never written so) come along: an empty hash makes the next
    # `ragcode index` parse that file again.
    " UNION ALL SELECT root, path, '', language, 0.0, MIN(id) FROM units u WHERE collection = ?1"
    " AND NOT EXISTS (SELECT 1 FROM files f WHERE f.collection = ?1 AND f.root = u.root"
    " AND f.path = u.path) GROUP BY root, path"
    " ORDER BY 6, 1, 2"
)
_UNITS = (
    "SELECT u.root, u.path, u.uid, u.name, u.kind, u.language, u.start_line, u.end_line, u.code,"
    " u.metadata, u.summary, u.summary_state, u.vec_code, u.vec_summary, u.scope,"
    f" u.summary_attempts, u.retry_at, u.summarized_at, {_FTS_COLUMNS}"
    f" FROM units u {_FTS_JOINS} WHERE u.collection = ? AND u.root = ? AND u.path = ?"
    " ORDER BY u.id"
)
_FIRST_TOKENS = 18  # index of the first FTS column in a _UNITS row


def collections(conn: sqlite3.Connection) -> list[str]:
    """Every collection with files, units or a recorded embedding model."""
    rows = conn.execute(
        "SELECT collection FROM files UNION SELECT collection FROM skipped"
        " UNION SELECT collection FROM units"
        " UNION SELECT substr(key, 10) FROM meta WHERE key LIKE 'embedder:%' ORDER BY 1"
    ).fetchall()
    return [str(row[0]) for row in rows]


def skipped(conn: sqlite3.Connection, collection: str, root: str) -> list[SkippedFile]:
    rows = conn.execute(
        "SELECT path, reason FROM skipped WHERE collection = ? AND root = ? ORDER BY path",
        (collection, root),
    ).fetchall()
    return [SkippedFile(path=str(path), reason=str(reason)) for path, reason in rows]


def export_files(path: Path, collection: str) -> Iterator[ExportedFile]:
    """A connection of its own in one read transaction: a consistent snapshot however long
    the consumer takes, while the store's connection stays free for others. One query per
    file (through the units_by_file index) keeps memory flat without sorting every unit."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("BEGIN")
        files = conn.execute(_FILES, (collection,)).fetchall()
        for root, file_path, file_hash, language, indexed_at, _ in files:
            rows = conn.execute(_UNITS, (collection, root, file_path)).fetchall()
            units = tuple(_unit(row) for row in rows)
            yield ExportedFile(
                str(root), str(file_path), str(file_hash), str(language), float(indexed_at), units
            )
        conn.execute("COMMIT")
    finally:
        conn.close()


def _unit(row: Sequence[object]) -> ExportedUnit:
    record = Record(
        path=str(row[1]), title=str(row[3]), kind=UnitKind(str(row[4])), language=str(row[5]),
        start_line=int(str(row[6])), end_line=int(str(row[7])), body=str(row[8]),
        metadata=metadata.from_json(row[9]),
    )  # fmt: skip
    tokens: dict[LexicalField, list[str]] = {
        fld: str(text).split(" ")
        for fld, text in zip(LEXICAL_FIELDS, row[_FIRST_TOKENS:], strict=True)
        if text is not None
    }
    vectors: dict[VectorField, Vector] = {
        fld: from_blob(blob)
        for fld, blob in zip(VECTOR_FIELDS, row[12:14], strict=True)
        if isinstance(blob, bytes)
    }
    entry = IndexEntry(
        uid=str(row[2]), record=record, summary=None if row[10] is None else str(row[10]),
        summary_state=SummaryState(str(row[11])), tokens=tokens, vectors=vectors,
    )  # fmt: skip
    return ExportedUnit(
        entry=entry, scope=str(row[14]), summary_attempts=int(str(row[15] or 0)),
        retry_at=_seconds(row[16]), summarized_at=_seconds(row[17]),
    )  # fmt: skip


def _seconds(value: object) -> float | None:
    return None if value is None else float(str(value))
