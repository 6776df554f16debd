"""The SQL of one collection's rows in the PostgreSQL store: files, skipped files, units and
the collection's metadata. Every method runs on a connection the caller holds (inside its
transaction when it writes); entries are prepared before any SQL runs, so a bad one fails
before the transaction starts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from psycopg import sql
from psycopg.types.json import Jsonb

from ragcode.domain import IndexStatus, Record, SkippedFile, StoredRecord, SummaryState, UnitKind
from ragcode.store import claims, metadata
from ragcode.store.pg_lexical import Postings, TermDeltas
from ragcode.store.pg_pool import Connection
from ragcode.store.protocol import (
    LEXICAL_FIELDS,
    VECTOR_FIELDS,
    FileRecord,
    IndexEntry,
    LexicalField,
    Vector,
    VectorField,
)

# A record in the columns of a store_units row (named as they were when units were code only).
UNIT_COLUMNS = (
    "uid, path, name, kind, language, start_line, end_line, code, metadata, summary, summary_state"
)
WRITE_CACHE = (
    "INSERT INTO store_summary_cache (code_hash, prompt, model, summary, created_at)"
    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (code_hash, prompt, model) DO UPDATE"
    " SET summary = excluded.summary, created_at = excluded.created_at"
)
_INSERT_UNIT = (
    "INSERT INTO store_units (uid, collection, root, path, name, kind, language, start_line,"
    " end_line, code, metadata, code_hash, summary, summary_state, scope, vec_code, vec_summary,"
    + ",".join(f" lex_{fld}, tf_{fld}, len_{fld}" for fld in LEXICAL_FIELDS)
    + ") VALUES ("
    + ", ".join(["%s"] * 17 + ["%s::tsvector, %s, %s"] * len(LEXICAL_FIELDS))
    + ")"
)
# `ragcode migrate` (pg_import.py): the same row followed by the summary queue's columns, so a
# failed unit keeps its back-off (leases belong to the old setup's processes and stay behind).
IMPORT_UNIT = (
    _INSERT_UNIT.replace(
        ") VALUES (", ", summary_attempts, retry_at, summarized_at) VALUES (", 1
    ).removesuffix(")")
    + ", %s, %s, %s)"
)
# The database's clock, in seconds like time.time(): leases are compared on one clock, whatever
# the clocks of the machines the workers run on say. Fixed for the statement.
NOW_SQL = "extract(epoch from statement_timestamp())::double precision"
_SEPARATOR = "\x1f"  # between the parts of an advisory lock key (text cannot hold NUL)


def to_vector(vector: Vector | None) -> Vector | None:
    """A flat float32 array, or ValueError for anything that is not a vector."""
    if vector is None:
        return None
    return np.asarray(vector, dtype=np.float32).reshape(-1)


def from_db(value: object) -> Vector:
    """A vector as pgvector's loader returns it (a `pgvector.Vector`, or numpy in old versions)."""
    to_numpy = getattr(value, "to_numpy", None)
    return np.asarray(to_numpy() if to_numpy is not None else value, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class SummaryWrite:
    """A summary (or a failure) ready to be written: postings analysed, vector flattened."""

    text: str | None
    state: SummaryState
    vector: Vector | None
    postings: Postings


@dataclass(frozen=True, slots=True)
class PreparedEntry:
    entry: IndexEntry
    vectors: dict[VectorField, Vector]
    postings: dict[LexicalField, Postings]

    @classmethod
    def of(cls, entry: IndexEntry) -> PreparedEntry:
        vectors = {fld: to_vector(v) for fld, v in entry.vectors.items()}
        return cls(
            entry=entry,
            vectors={fld: v for fld, v in vectors.items() if v is not None},
            postings={fld: Postings.of(entry.tokens.get(fld)) for fld in LEXICAL_FIELDS},
        )

    def params(self, collection: str, record: FileRecord) -> tuple[object, ...]:
        item, entry = self.entry.record, self.entry
        lexical = [
            value
            for postings in (self.postings[fld] for fld in LEXICAL_FIELDS)
            for value in (postings.tsvector, postings.frequent, postings.length)
        ]
        return (
            entry.uid, collection, record.root, item.path, item.title, str(item.kind),
            item.language, item.start_line, item.end_line, item.body, Jsonb(dict(item.metadata)),
            item.code_hash, entry.summary, str(entry.summary_state), record.scope,
            self.vectors.get("code"), self.vectors.get("summary"), *lexical,
        )  # fmt: skip


def row_to_record(row: Sequence[Any]) -> Record:
    return Record(
        path=row[1], title=row[2], kind=UnitKind(row[3]), language=row[4], start_line=row[5],
        end_line=row[6], body=row[7], metadata=metadata.from_json(row[8]),
    )  # fmt: skip


def row_to_stored(row: Sequence[Any]) -> StoredRecord:
    return StoredRecord(
        record=row_to_record(row), summary=row[9], summary_state=SummaryState(row[10])
    )


def lock(conn: Connection, *key: str) -> None:
    """A transaction-scoped advisory lock: the other processes' writers take turns."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (_SEPARATOR.join(key),))


class Tables:
    """One collection's rows."""

    def __init__(self, collection: str) -> None:
        self.collection = collection
        self.embedder_key = f"embedder:{collection}"

    # --- files ---------------------------------------------------------------------
    def lock_files(self, conn: Connection, root: str, paths: Sequence[str]) -> None:
        """Two processes writing the same file take turns (in key order: no deadlock)."""
        keys = sorted(_SEPARATOR.join(("file", self.collection, root, path)) for path in paths)
        conn.execute(
            "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0)))"
            " FROM (SELECT k FROM unnest(%s::text[]) AS k ORDER BY k) AS ordered",
            (keys,),
        )

    def delete_rows(self, conn: Connection, table: str, root: str, paths: Sequence[str]) -> int:
        query = sql.SQL("DELETE FROM {} WHERE collection = %s AND root = %s AND path = ANY(%s)")
        cursor = conn.execute(
            query.format(sql.Identifier(table)), (self.collection, root, list(paths))
        )
        return cursor.rowcount

    def upsert_file(self, conn: Connection, record: FileRecord, indexed_at: float) -> None:
        conn.execute(
            "INSERT INTO store_files (collection, root, path, file_hash, language, indexed_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (collection, root, path) DO UPDATE"
            " SET file_hash = excluded.file_hash, language = excluded.language,"
            " indexed_at = excluded.indexed_at",
            (self.collection, record.root, record.path, record.file_hash, record.language,
             indexed_at),
        )  # fmt: skip

    def upsert_skipped(self, conn: Connection, root: str, skipped: SkippedFile) -> None:
        conn.execute(
            "INSERT INTO store_skipped (collection, root, path, reason) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (collection, root, path) DO UPDATE SET reason = excluded.reason",
            (self.collection, root, skipped.path, skipped.reason),
        )

    # --- units ---------------------------------------------------------------------
    def insert_units(
        self,
        conn: Connection,
        deltas: TermDeltas,
        record: FileRecord,
        entries: Sequence[PreparedEntry],
    ) -> None:
        if not entries:
            return
        with conn.cursor() as cursor:
            cursor.executemany(_INSERT_UNIT, [e.params(self.collection, record) for e in entries])
        for entry in entries:
            for fld, postings in entry.postings.items():
                deltas.add(self.collection, fld, postings)

    def delete_units(
        self,
        conn: Connection,
        deltas: TermDeltas,
        root: str,
        paths: Sequence[str],
        uids: Sequence[str] = (),
    ) -> None:
        """Delete the units of these files, and any unit elsewhere holding one of `uids` (as
        SQLite's INSERT OR REPLACE on the unique uid would), subtracting their postings."""
        ids = sql.SQL(
            "SELECT id FROM store_units WHERE (collection = %(collection)s AND root = %(root)s"
            " AND path = ANY(%(paths)s)) OR uid = ANY(%(uids)s)"
        )
        params: dict[str, object] = {
            "collection": self.collection, "root": root, "paths": list(paths), "uids": list(uids),
        }  # fmt: skip
        deltas.remove_units(conn, ids, params)
        conn.execute(sql.SQL("DELETE FROM store_units WHERE id IN ({})").format(ids), params)

    def write_summary(
        self,
        conn: Connection,
        uid: str,
        summary: SummaryWrite,
        worker: str | None,
    ) -> str | None:
        """Only the summary's columns, postings and vector, and the unit's lease freed; the
        unit's code hash, or None when the unit is gone (its file changed while the LLM was
        writing) or, with `worker`, when that worker no longer holds its lease."""
        row = conn.execute(
            f"SELECT id, code_hash, collection, lease_owner, summary_attempts, {NOW_SQL}"
            " FROM store_units WHERE uid = %s FOR UPDATE",
            (uid,),
        ).fetchone()
        if row is None:
            return None
        unit_id, code_hash, collection, owner, attempts, now = row
        if worker is not None and owner != worker:
            return None
        failed = summary.state == SummaryState.FAILED
        attempts = attempts + 1 if failed else 0
        deltas = TermDeltas()
        deltas.remove_units(conn, sql.SQL("%(id)s"), {"id": unit_id}, ("summary",))
        postings = summary.postings
        conn.execute(
            "UPDATE store_units SET summary = %s, summary_state = %s, vec_summary = %s,"
            " lex_summary = %s::tsvector, tf_summary = %s, len_summary = %s,"
            " lease_owner = NULL, lease_until = NULL, summary_attempts = %s, retry_at = %s,"
            " summarized_at = %s WHERE id = %s",
            (summary.text, str(summary.state), summary.vector, postings.tsvector,
             postings.frequent, postings.length, attempts,
             now + claims.retry_delay(attempts) if failed else None,
             now if summary.state == SummaryState.DONE else None, unit_id),
        )  # fmt: skip
        deltas.add(collection, "summary", postings)
        deltas.write(conn)
        return str(code_hash)

    def unit_count(self, conn: Connection) -> int:
        """Units with postings in any field: kept exact in store_terms by the writers."""
        row = conn.execute(
            "SELECT coalesce(max(df), 0) FROM store_terms WHERE collection = %s AND term = ''",
            (self.collection,),
        ).fetchone()
        return int(row[0]) if row else 0

    def has_units(self, conn: Connection) -> bool:
        found = conn.execute(
            "SELECT 1 FROM store_units WHERE collection = %s LIMIT 1", (self.collection,)
        )
        return found.fetchone() is not None

    def vector_sizes(self, conn: Connection) -> list[tuple[VectorField, int]]:
        """The size of the stored vectors of each field (one embedding model per collection:
        one row each tells it), i.e. the HNSW indexes the collection needs."""
        found: list[tuple[VectorField, int]] = []
        for fld in VECTOR_FIELDS:
            query = sql.SQL(
                "SELECT vector_dims({column}) FROM store_units"
                " WHERE collection = %s AND {column} IS NOT NULL LIMIT 1"
            ).format(column=sql.Identifier(f"vec_{fld}"))
            row = conn.execute(query, (self.collection,)).fetchone()
            if row is not None:
                found.append((fld, int(row[0])))
        return found

    # --- the embedding model --------------------------------------------------------
    def recorded_embedder(self, conn: Connection) -> str | None:
        row = conn.execute(
            "SELECT value FROM store_meta WHERE key = %s", (self.embedder_key,)
        ).fetchone()
        return None if row is None else str(row[0])

    def legacy_embedder(self, conn: Connection, dim: int) -> str | None:
        """Vectors written before any model was claimed: judged by their size."""
        row = conn.execute(
            "SELECT vector_dims(vec_code) FROM store_units"
            " WHERE collection = %s AND vec_code IS NOT NULL LIMIT 1",
            (self.collection,),
        ).fetchone()
        return None if row is None or row[0] == dim else f"{row[0]}차원 모델"

    def record_embedder(self, conn: Connection, name: str | None) -> None:
        if name is None:
            conn.execute("DELETE FROM store_meta WHERE key = %s", (self.embedder_key,))
            return
        conn.execute(
            "INSERT INTO store_meta (key, value) VALUES (%s, %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (self.embedder_key, name),
        )

    # --- status ---------------------------------------------------------------------
    def status(self, conn: Connection) -> IndexStatus:
        counts: dict[str, int] = dict(
            conn.execute(
                "SELECT summary_state, count(*) FROM store_units WHERE collection = %s"
                " GROUP BY summary_state",
                (self.collection,),
            ).fetchall()
        )
        files = conn.execute(
            "SELECT count(*) FROM store_files WHERE collection = %s", (self.collection,)
        ).fetchone()
        skipped = conn.execute(
            "SELECT path, reason FROM store_skipped WHERE collection = %s ORDER BY root, path",
            (self.collection,),
        ).fetchall()
        return IndexStatus(
            files=files[0] if files else 0,
            units=sum(counts.values()),
            summaries_done=counts.get(SummaryState.DONE.value, 0),
            summaries_pending=counts.get(SummaryState.PENDING.value, 0),
            summaries_failed=counts.get(SummaryState.FAILED.value, 0),
            summaries_trivial=counts.get(SummaryState.TRIVIAL.value, 0),
            skipped=[SkippedFile(path=path, reason=reason) for path, reason in skipped],
            embedder=self.recorded_embedder(conn),
        )
