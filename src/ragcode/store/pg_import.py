"""Writing a collection copied from another store into PostgreSQL (`ragcode migrate`).

Units arrive as records (metadata included) with their tokens and vectors: the postings are
built from the stored tokens the same way as when a file is indexed (pg_lexical.Postings), so
the lexical index and the term statistics equal what indexing the same files here would have
written. A batch of files is one transaction and replaces whatever those files held before,
so a copy interrupted between batches can simply be run again. The HNSW indexes are built
after the last batch (`PostgresStore.finish_import`): one build costs much less than keeping
an index up row by row.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from ragcode.domain import TEAM_SCOPE, SkippedFile
from ragcode.store.pg_lexical import TermDeltas
from ragcode.store.pg_pool import Connection
from ragcode.store.pg_tables import IMPORT_UNIT, PreparedEntry, Tables
from ragcode.store.protocol import ExportedFile, ExportedUnit, FileRecord


@dataclass(frozen=True, slots=True)
class PreparedFile:
    """A file ready to be written: vectors flattened and postings built before any SQL."""

    file: ExportedFile
    units: tuple[tuple[ExportedUnit, PreparedEntry], ...]

    @classmethod
    def of(cls, file: ExportedFile) -> PreparedFile:
        return cls(file, tuple((unit, PreparedEntry.of(unit.entry)) for unit in file.units))

    def record(self, scope: str = TEAM_SCOPE) -> FileRecord:
        f = self.file
        return FileRecord(f.root, f.path, f.file_hash, f.language, scope)


def collections(conn: Connection) -> list[str]:
    rows = conn.execute(
        "SELECT collection FROM store_files UNION SELECT collection FROM store_skipped"
        " UNION SELECT collection FROM store_units"
        " UNION SELECT substr(key, 10) FROM store_meta WHERE key LIKE 'embedder:%' ORDER BY 1"
    ).fetchall()
    return [str(row[0]) for row in rows]


def write_files(conn: Connection, tables: Tables, files: Sequence[PreparedFile]) -> int:
    """Replace these files (and any unit elsewhere holding one of their uids, as indexing
    would) by their copies; returns the units written."""
    deltas = TermDeltas()
    for root, group in itertools.groupby(files, key=lambda f: f.file.root):
        batch = list(group)
        paths = [f.file.path for f in batch]
        tables.lock_files(conn, root, paths)
        uids = [unit.entry.uid for f in batch for unit, _ in f.units]
        tables.delete_units(conn, deltas, root, paths, uids)
        tables.delete_rows(conn, "store_skipped", root, paths)
    rows: list[tuple[object, ...]] = []
    for prepared in files:
        tables.upsert_file(conn, prepared.record(), prepared.file.indexed_at)
        for unit, entry in prepared.units:
            queue = (unit.summary_attempts, unit.retry_at, unit.summarized_at)
            rows.append((*entry.params(tables.collection, prepared.record(unit.scope)), *queue))
            for fld, postings in entry.postings.items():
                deltas.add(tables.collection, fld, postings)
    if rows:
        with conn.cursor() as cursor:
            cursor.executemany(IMPORT_UNIT, rows)
    deltas.write(conn)
    return len(rows)


def write_skipped(
    conn: Connection, tables: Tables, root: str, skipped: Sequence[SkippedFile]
) -> int:
    """As `set_skipped` for each file, in one transaction."""
    paths = [s.path for s in skipped]
    tables.lock_files(conn, root, paths)
    deltas = TermDeltas()
    tables.delete_units(conn, deltas, root, paths)
    tables.delete_rows(conn, "store_files", root, paths)
    for item in skipped:
        tables.upsert_skipped(conn, root, item)
    deltas.write(conn)
    return len(skipped)


def analyze(conn: Connection) -> None:
    """Fresh planner statistics after a bulk load (autovacuum would get there later)."""
    conn.execute("ANALYZE store_units")
    conn.execute("ANALYZE store_terms")
