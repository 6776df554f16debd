"""Embedded store: one SQLite file (WAL) with FTS5 postings per field and vectors as blobs;
lexical search by tantivy indexes derived from the file (tantivy_lexicon.py) or by FTS5."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from ragcode.db.sqlite import connect_shared
from ragcode.domain import (
    TEAM_ONLY,
    IndexStatus,
    Record,
    SkippedFile,
    StoredRecord,
    SummaryState,
    UnitKind,
)
from ragcode.store import (
    claims,
    fts,
    metadata,
    sqlite_claims,
    sqlite_errors,
    sqlite_export,
    sqlite_symbols,
    symbols,
)
from ragcode.store.fts import fts_table
from ragcode.store.protocol import (
    LEXICAL_FIELDS,
    CachedSummary,
    EmbedderMismatchError,
    ExportedFile,
    FileRecord,
    IndexEntry,
    LexicalField,
    QueueStatus,
    RecordRef,
    ScoredId,
    StoreError,
    SummaryOrigin,
    Vector,
    VectorField,
    WorkerBeat,
)
from ragcode.store.schema import VISIBLE_UNITS_INDEX, create_schema, has_visible_units_index
from ragcode.store.tantivy_background import BackgroundLexicon
from ragcode.store.tantivy_lexicon import Pause
from ragcode.store.vector_projection import PROJECTION_MIN_ROWS
from ragcode.store.vectors import VectorMatrix, stored_vectors, to_blob, trim_log

# A record in the columns of a `units` row (named as they were when units were code only).
_UNIT_COLUMNS = (
    "uid, path, name, kind, language, start_line, end_line, code, metadata, summary, summary_state"
)
_WRITE_CACHE = (
    "INSERT OR REPLACE INTO summary_cache (code_hash, prompt, model, summary, created_at)"
    " VALUES (?, ?, ?, ?, ?)"
)


def _row_to_record(row: Sequence[object]) -> Record:
    return Record(
        path=str(row[1]),
        title=str(row[2]),
        kind=UnitKind(str(row[3])),
        language=str(row[4]),
        start_line=int(str(row[5])),
        end_line=int(str(row[6])),
        body=str(row[7]),
        metadata=metadata.from_json(row[8]),
    )


log = logging.getLogger(__name__)

DEFAULT_COLLECTION = "code"
# Who answers lexical_search: FTS5's bm25() in the database file, or tantivy indexes derived
# from it in `<file>-tantivy/` (store/tantivy_lexicon.py; bench/README.md, issue 13).
LexicalEngine = Literal["fts5", "tantivy"]


# Candidates beyond `limit` that tantivy hands over for the exact rescoring: its scores are
# within ~5% of FTS5's, so the true top `limit` lies inside: half the list more, at least 20
# (a list of 50 takes 75, MCP's 200 identifier hints 300). Until 2026-12-02 a list of 50 took
# 100; 70 kept every figure of the three eval sets, but not every list of a worst case (random
# tokens, 30-400 per unit: tests/integration/test_store_tantivy.py), which 75 keeps.
RESCORE_MARGIN = 20
RESCORE_SHARE = 0.5


def _set_up(conn: sqlite3.Connection) -> None:
    # A REPLACE that deletes a units row must fire its delete trigger (vector log).
    conn.execute("PRAGMA recursive_triggers=ON")
    create_schema(conn)


def lexicon_dir(path: Path) -> Path:
    """Beside the database, named like SQLite's own -wal and -shm files."""
    return path.with_name(f"{path.name}-tantivy")


class SqliteStore(symbols.SymbolLookupByRows):
    """One collection of the index file; several stores may share the file (WAL)."""

    def __init__(
        self,
        path: Path,
        collection: str = DEFAULT_COLLECTION,
        lexical_engine: LexicalEngine = "fts5",
        lexicon_pause: Pause | None = None,
        projected_vectors_from: int | None = PROJECTION_MIN_ROWS,
    ) -> None:
        """`lexicon_pause`: called by the tantivy build thread between batches (tests).
        `projected_vectors_from`: rows of a vector field from which a search picks its
        candidates through the projected copy (store/vector_projection.py; None or 0: exact)."""
        self._projected_vectors_from = projected_vectors_from
        self._collection = collection
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Another process (start.sh runs the server and an index together) may hold the
            # file: connect_shared waits for it, switching to WAL included.
            self._conn = connect_shared(path, _set_up)
        except sqlite3.DatabaseError as exc:
            reason = sqlite_errors.describe(exc, path)
            raise StoreError(
                reason or f"색인 데이터베이스를 열 수 없습니다 ({path}): {exc}"
            ) from exc
        self._lock = threading.RLock()
        # The rescoring reads through it when it is there (schema.py: best effort).
        self._rows_through = (
            f" INDEXED BY {VISIBLE_UNITS_INDEX}" if has_visible_units_index(self._conn) else ""
        )
        self._matrices: dict[VectorField, VectorMatrix] = {}
        self._embedder_claimed: str | None = None  # checked once per store and model
        # The FTS5 tables are written either way: they keep the tokens the tantivy indexes
        # are built from, and let the setting go back to "fts5" without reindexing.
        # Builds and long catch-ups run in the lexicon's own thread; FTS5 answers meanwhile.
        self._lexicon = (
            BackgroundLexicon(lexicon_dir(path), path, lexicon_pause)
            if lexical_engine == "tantivy"
            else None
        )

    # --- plumbing ----------------------------------------------------------------
    @contextmanager
    def _transaction(self, units: bool = True) -> Iterator[sqlite3.Connection]:
        """`units`: the transaction may change units, so the vector change log grows."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                    if units:
                        trim_log(self._conn)
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                reason = sqlite_errors.describe(exc, self._path)
                raise StoreError(reason or f"색인 쓰기 실패: {exc}") from exc

    def close(self) -> None:
        if self._lexicon is not None:  # stops and joins a build: no half index recorded
            self._lexicon.close()
        with self._lock:
            self._conn.close()

    def lexical_engine_serving(self) -> LexicalEngine:
        """Who answers lexical searches now: "fts5" while the tantivy index is built."""
        return "tantivy" if self._lexicon is not None and self._lexicon.serving() else "fts5"

    # --- embedding model ---------------------------------------------------------
    def claim_embedder(self, name: str, dim: int) -> None:
        if self._embedder_claimed == name:
            return
        with self._transaction(units=False) as conn:
            stored = self._recorded_embedder(conn) or self._legacy_embedder(conn, name, dim)
            if stored is not None and stored != name and self._has_units(conn):
                raise EmbedderMismatchError(
                    f"'{self._collection}' 컬렉션은 다른 임베딩 모델({stored})로 색인되어 있어 "
                    f"지금 설정된 모델({name})로는 검색할 수 없습니다. 설정을 되돌리거나, "
                    "이 컬렉션의 파일을 remove 한 뒤 다시 색인하세요."
                )
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (self._embedder_key, name)
            )
        self._embedder_claimed = name

    @property
    def _embedder_key(self) -> str:
        return f"embedder:{self._collection}"

    def _recorded_embedder(self, conn: sqlite3.Connection) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (self._embedder_key,))
        value = row.fetchone()
        return str(value[0]) if value else None

    def _legacy_embedder(self, conn: sqlite3.Connection, name: str, dim: int) -> str | None:
        """Collections written before the model was recorded: judge by the vector size."""
        row = conn.execute(
            "SELECT length(vec_code) FROM units WHERE collection = ? AND vec_code IS NOT NULL"
            " LIMIT 1",
            (self._collection,),
        ).fetchone()
        if row is None or int(row[0]) == dim * 4:  # float32
            return None
        return f"{int(row[0]) // 4}차원 모델"

    def _has_units(self, conn: sqlite3.Connection) -> bool:
        row = conn.execute("SELECT 1 FROM units WHERE collection = ? LIMIT 1", (self._collection,))
        return row.fetchone() is not None

    def _release_embedder_if_empty(self, conn: sqlite3.Connection) -> None:
        """An emptied collection may be filled again with another model."""
        if not self._has_units(conn):
            conn.execute("DELETE FROM meta WHERE key = ?", (self._embedder_key,))
            self._embedder_claimed = None

    # --- files -------------------------------------------------------------------
    def roots(self) -> list[str]:
        rows = self._conn.execute(
            "SELECT root FROM files WHERE collection = ?1"
            " UNION SELECT root FROM skipped WHERE collection = ?1 ORDER BY 1",
            (self._collection,),
        ).fetchall()
        return [row[0] for row in rows]

    def file_hashes(self, root: str) -> dict[str, str]:
        rows = self._conn.execute(
            "SELECT path, file_hash FROM files WHERE collection = ? AND root = ?",
            (self._collection, root),
        )
        return dict(rows.fetchall())

    def skipped_paths(self, root: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT path FROM skipped WHERE collection = ? AND root = ?", (self._collection, root)
        )
        return [row[0] for row in rows.fetchall()]

    def replace_file(self, record: FileRecord, entries: Sequence[IndexEntry]) -> None:
        with self._transaction() as conn:
            self._delete_file_units(conn, record.root, record.path)
            self._delete_file_rows(conn, "skipped", record.root, record.path)
            conn.execute(
                "INSERT OR REPLACE INTO files"
                " (collection, root, path, file_hash, language, indexed_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    self._collection, record.root, record.path, record.file_hash,
                    record.language, time.time(),
                ),
            )  # fmt: skip
            for entry in entries:
                self._insert_entry(conn, record, entry)

    def _insert_entry(
        self, conn: sqlite3.Connection, record: FileRecord, entry: IndexEntry
    ) -> None:
        item = entry.record
        cursor = conn.execute(
            "INSERT OR REPLACE INTO units (uid, collection, root, path, name, kind, language,"
            " start_line, end_line, code, metadata, code_hash, summary, summary_state,"
            " vec_code, vec_summary, scope)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.uid, self._collection, record.root, item.path, item.title, str(item.kind),
                item.language, item.start_line, item.end_line, item.body,
                metadata.to_json(item.metadata), item.code_hash,
                entry.summary, str(entry.summary_state),
                to_blob(entry.vectors.get("code")), to_blob(entry.vectors.get("summary")),
                record.scope,
            ),
        )  # fmt: skip
        rowid = cursor.lastrowid
        for fld in LEXICAL_FIELDS:
            self._insert_postings(conn, fld, rowid, entry.tokens.get(fld), record.scope)

    def _insert_postings(
        self,
        conn: sqlite3.Connection,
        fld: LexicalField,
        rowid: int | None,
        tokens: list[str] | None,
        scope: str,
    ) -> None:
        if tokens:
            conn.execute(
                f"INSERT INTO {fts_table(fld)} (rowid, tokens, collection, scope)"
                " VALUES (?, ?, ?, ?)",
                (rowid, " ".join(tokens), self._collection, scope),
            )

    def _delete_file_rows(self, conn: sqlite3.Connection, table: str, root: str, path: str) -> int:
        cursor = conn.execute(
            f"DELETE FROM {table} WHERE collection = ? AND root = ? AND path = ?",
            (self._collection, root, path),
        )
        return cursor.rowcount

    def _delete_file_units(self, conn: sqlite3.Connection, root: str, path: str) -> None:
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM units WHERE collection = ? AND root = ? AND path = ?",
                (self._collection, root, path),
            )
        ]
        for fld in LEXICAL_FIELDS:
            conn.executemany(f"DELETE FROM {fts_table(fld)} WHERE rowid = ?", [(i,) for i in ids])
        self._delete_file_rows(conn, "units", root, path)

    def remove_files(self, root: str, paths: Iterable[str]) -> int:
        removed = 0
        with self._transaction() as conn:
            for path in paths:
                self._delete_file_units(conn, root, path)
                removed += self._delete_file_rows(conn, "files", root, path)
                removed += self._delete_file_rows(conn, "skipped", root, path)
            self._release_embedder_if_empty(conn)
        return removed

    def set_skipped(self, root: str, skipped: SkippedFile) -> None:
        with self._transaction() as conn:
            self._delete_file_units(conn, root, skipped.path)
            self._delete_file_rows(conn, "files", root, skipped.path)
            conn.execute(
                "INSERT OR REPLACE INTO skipped (collection, root, path, reason)"
                " VALUES (?, ?, ?, ?)",
                (self._collection, root, skipped.path, skipped.reason),
            )

    def summary_states(self, root: str) -> dict[str, SummaryState]:
        rows = self._conn.execute(
            "SELECT uid, summary_state FROM units WHERE collection = ? AND root = ?",
            (self._collection, root),
        ).fetchall()
        return {str(uid): SummaryState(state) for uid, state in rows}

    def set_scope(self, root: str, scope: str) -> int:
        with self._transaction() as conn:
            ids = [
                (scope, row[0])
                for row in conn.execute(
                    "SELECT id FROM units WHERE collection = ? AND root = ? AND scope != ?",
                    (self._collection, root, scope),
                )
            ]
            conn.executemany("UPDATE units SET scope = ? WHERE id = ?", ids)
            for fld in LEXICAL_FIELDS:
                conn.executemany(f"UPDATE {fts_table(fld)} SET scope = ? WHERE rowid = ?", ids)
        return len(ids)

    @contextmanager
    def bulk_writes(self, wait_for_lexicon: bool = False) -> Iterator[None]:
        """FTS5 and the vector blobs cost the same row by row. tantivy: the indexes catch
        up (or are built: 6-7 s at 100k units, ~3% of indexing them) once at the end, so
        that the first search after `ragcode index` or an upload does not pay for it. A
        build runs in the lexicon's thread, searches meanwhile are answered by FTS5. Only
        `wait_for_lexicon` (the CLI: its process would otherwise exit in the middle of the
        build) waits for it; a server's upload job ends at once (76 s at 1M units)."""
        yield
        if self._lexicon is None:
            return
        try:
            with self._lock:
                caught_up = self._lexicon.catch_up(self._conn)
            if not caught_up and wait_for_lexicon:
                self._lexicon.wait()
        except (ValueError, OSError, sqlite3.Error) as exc:  # the next search tries again
            log.warning("어휘 색인(tantivy)을 따라잡지 못했습니다: %s", exc)

    # --- summaries ---------------------------------------------------------------
    def cached_summary(self, code_hash: str, origin: SummaryOrigin) -> str | None:
        if not origin.model:  # a model without a name: nothing it wrote is told apart
            return None
        row = self._conn.execute(
            "SELECT summary FROM summary_cache WHERE code_hash = ? AND prompt = ? AND model = ?",
            (code_hash, origin.prompt, origin.model),
        ).fetchone()
        return None if row is None else str(row[0])

    def export_summary_cache(self) -> list[CachedSummary]:
        rows = self._conn.execute(
            "SELECT code_hash, prompt, model, summary FROM summary_cache"
            " ORDER BY code_hash, prompt, model"
        )
        return [CachedSummary(str(h), str(p), str(m), str(s)) for h, p, m, s in rows]

    def import_summary_cache(self, rows: Iterable[CachedSummary]) -> int:
        with self._transaction(units=False) as conn:
            cursor = conn.executemany(
                _WRITE_CACHE,
                [(r.code_hash, r.prompt, r.model, r.summary, time.time()) for r in rows],
            )
            return cursor.rowcount

    def units_needing_summary(self, *, include_failed: bool, limit: int) -> list[RecordRef]:
        states = [SummaryState.PENDING.value] + (
            [SummaryState.FAILED.value] if include_failed else []
        )
        marks = ",".join("?" * len(states))
        rows = self._conn.execute(
            f"SELECT {_UNIT_COLUMNS} FROM units WHERE collection = ?"
            f" AND summary_state IN ({marks}) ORDER BY root, path, start_line LIMIT ?",
            (self._collection, *states, limit),
        ).fetchall()
        return [RecordRef(uid=row[0], record=_row_to_record(row)) for row in rows]

    def set_summary(
        self,
        uid: str,
        *,
        summary: str | None,
        state: SummaryState,
        tokens: list[str],
        vector: Vector | None,
        model: str,
        worker: str | None = None,
        prompt: str | None = None,
    ) -> bool:
        now = time.time()
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT id, code_hash, scope, lease_owner, summary_attempts FROM units"
                " WHERE uid = ?",
                (uid,),
            ).fetchone()
            if row is None:  # the file changed or was removed while the LLM was writing
                return False
            rowid, code_hash, scope, owner, attempts = row
            if worker is not None and owner != worker:  # lease lost: another worker's unit
                return False
            failed = state == SummaryState.FAILED
            attempts = int(attempts) + 1 if failed else 0
            # vec_summary in the SET list logs the unit (schema.py, version 7) even when the
            # vector stays NULL: the tantivy indexes learn of the new summary postings so.
            conn.execute(
                "UPDATE units SET summary = ?, summary_state = ?, vec_summary = ?,"
                " lease_owner = NULL, lease_until = NULL, summary_attempts = ?, retry_at = ?,"
                " summarized_at = ? WHERE id = ?",
                (
                    summary, str(state), to_blob(vector), attempts,
                    now + claims.retry_delay(attempts) if failed else None,
                    now if state == SummaryState.DONE else None, rowid,
                ),
            )  # fmt: skip
            conn.execute(f"DELETE FROM {fts_table('summary')} WHERE rowid = ?", (rowid,))
            self._insert_postings(conn, "summary", rowid, tokens, str(scope))
            if summary and state == SummaryState.DONE and prompt and model:
                conn.execute(_WRITE_CACHE, (code_hash, prompt, model, summary, now))
        return True

    # --- the shared summary queue (sqlite_claims.py) --------------------------------
    def claim_summaries(
        self, worker: str, limit: int, lease_s: float, first_root: str | None = None
    ) -> list[RecordRef]:
        if limit <= 0:
            return []
        with self._transaction(units=False) as conn:
            ids = sqlite_claims.claim(
                conn, self._collection, worker, limit, lease_s, time.time(), first_root
            )
            rows = conn.execute(
                f"SELECT {_UNIT_COLUMNS} FROM units WHERE id IN ({','.join('?' * len(ids))})"
                " ORDER BY root, path, start_line",
                ids,
            ).fetchall()
        return [RecordRef(uid=row[0], record=_row_to_record(row)) for row in rows]

    def renew_leases(self, worker: str, uids: Sequence[str], lease_s: float) -> set[str]:
        if not uids:
            return set()
        with self._transaction(units=False) as conn:
            return sqlite_claims.renew(conn, worker, uids, lease_s, time.time())

    def release_leases(self, worker: str) -> int:
        with self._transaction(units=False) as conn:
            return sqlite_claims.release(conn, worker)

    def retry_failed(self) -> int:
        with self._transaction(units=False) as conn:
            return sqlite_claims.retry_failed(conn, self._collection)

    def worker_heartbeat(self, beat: WorkerBeat) -> None:
        with self._transaction(units=False) as conn:
            sqlite_claims.heartbeat(conn, self._collection, beat, time.time())

    def worker_stopped(self, worker: str) -> None:
        with self._transaction(units=False) as conn:
            sqlite_claims.stopped(conn, worker, time.time())

    def queue_status(self, window_s: float = 600.0) -> QueueStatus:
        with self._lock:
            return sqlite_claims.queue_status(self._conn, self._collection, window_s, time.time())

    # --- search ------------------------------------------------------------------
    def lexical_search(
        self,
        fld: LexicalField,
        tokens: Sequence[str],
        limit: int,
        scopes: Sequence[str] = TEAM_ONLY,
        languages: Sequence[str] | None = None,
    ) -> list[ScoredId]:
        match = fts.match_query(tokens)
        if not match or not scopes or (languages is not None and not languages):
            return []
        if self._lexicon is not None:
            found = self._tantivy_search(fld, tokens, limit, scopes, languages)
            if found is not None:
                return found
        if languages is not None:
            return self._fts_search_in_languages(fld, match, limit, scopes, languages)
        table = fts_table(fld)
        marks = ",".join("?" * len(scopes))
        # Rank and cut inside FTS5 first, then join: joining every match before sorting
        # doubled the cost at 100k units (bench/bench_search.py). The scope filter sits
        # before the cut, so other users' files never take a place in the top `limit`.
        rows = self._conn.execute(
            f"SELECT units.uid, ranked.score FROM (SELECT rowid, bm25({table}) AS score"
            f" FROM {table} WHERE {table} MATCH ? AND collection = ? AND scope IN ({marks})"
            " ORDER BY score LIMIT ?)"
            " AS ranked JOIN units ON units.id = ranked.rowid ORDER BY ranked.score",
            (match, self._collection, *scopes, limit),
        ).fetchall()
        # FTS5's bm25() is negated so that smaller is better; flip it back.
        return [ScoredId(uid, -float(rank)) for uid, rank in rows]

    def _fts_search_in_languages(
        self,
        fld: LexicalField,
        match: str,
        limit: int,
        scopes: Sequence[str],
        languages: Sequence[str],
    ) -> list[ScoredId]:
        """FTS5 for units of `languages` only: the postings carry no language, so every
        match is joined to its unit (by primary key) and filtered before the sort and the
        cut. 27-33 ms against 25 unfiltered at 20k units; `rowid IN (SELECT id FROM units
        WHERE language ...)` inside the MATCH query took 0.4-4.7 s (SQLite hands the IN
        list to FTS5 as rowid look-ups)."""
        table = fts_table(fld)
        marks = ",".join("?" * len(scopes))
        language_marks = ",".join("?" * len(languages))
        rows = self._conn.execute(
            f"SELECT units.uid, bm25({table}) AS score FROM {table}"
            f" JOIN units ON units.id = {table}.rowid"
            f" WHERE {table} MATCH ? AND {table}.collection = ? AND {table}.scope IN ({marks})"
            f" AND units.language IN ({language_marks}) ORDER BY score LIMIT ?",
            (match, self._collection, *scopes, *languages, limit),
        ).fetchall()
        return [ScoredId(uid, -float(rank)) for uid, rank in rows]

    def _tantivy_search(
        self,
        fld: LexicalField,
        tokens: Sequence[str],
        limit: int,
        scopes: Sequence[str],
        languages: Sequence[str] | None,
    ) -> list[ScoredId] | None:
        """tantivy picks the candidates (its one-byte field lengths move scores by up to
        ~5%), then the best `limit` are scored again exactly as FTS5's bm25() would, from the
        tokens SQLite keeps: the same list as the "fts5" engine, at tantivy's speed.
        None: FTS5 answers instead, as the index is being built or caught up in the
        background, or cannot be written or read here (a read-only data directory, a full
        disk)."""
        assert self._lexicon is not None
        wanted = limit + max(RESCORE_MARGIN, int(RESCORE_SHARE * limit))
        with self._lock:  # catching up opens a read transaction on the shared connection
            try:
                hits = self._lexicon.search(
                    self._conn, fld, tokens, wanted, self._collection, scopes, languages
                )
                freqs = self._lexicon.doc_freqs(fld, tokens) if hits else {}
            except (OSError, ValueError) as exc:
                log.warning("어휘 색인(tantivy)을 쓸 수 없어 FTS5로 찾습니다: %s", exc)
                return None
            if hits is None:
                return None
            if not hits:
                return []
            ids = [unit_id for unit_id, _score in hits]
            marks = ",".join("?" * len(ids))
            scope_marks = ",".join("?" * len(scopes))
            # The engine filtered already; the scope is checked again against the rows of
            # now, in case a unit id was reused by a write committed since the catch-up.
            # By id through the index that holds these columns: by rowid SQLite reads a
            # row's scope past its code and vectors (one statement of 75 ids at 10k units:
            # 0.34 against 0.22 ms alone, 0.58-0.67 against 0.29 amid searches). "+": with 50
            # ids and no hint SQLite once scanned an index on collection (40 ms at 100k). One
            # statement for the rows and their tokens: two cost ~1 ms per list at 10k units
            # (bench/bench_search.py). The tokens come from the FTS5 table's content table
            # (column c0): a join through the virtual table opens an FTS5 cursor per row
            # (0.42 against 0.26 ms for 60 rows).
            uid_of: dict[int, str] = {}
            texts: dict[int, str] = {}
            try:
                candidates = self._conn.execute(
                    f"SELECT units.id, units.uid, units.language, f.c0 FROM units"
                    f"{self._rows_through} JOIN {fts_table(fld)}_content AS f"
                    f" ON f.id = units.id WHERE units.id IN ({marks})"
                    f" AND +units.collection = ? AND +units.scope IN ({scope_marks})",
                    (*ids, self._collection, *scopes),
                ).fetchall()
            except sqlite3.OperationalError as exc:  # the index dropped since the open
                log.warning("어휘 후보를 읽지 못해 FTS5로 찾습니다: %s", exc)
                return None
            for unit_id, uid, language, text in candidates:
                if languages is None or language in languages:
                    uid_of[unit_id], texts[unit_id] = uid, text
            rows, total = fts.totals(self._conn, fld)
        if rows <= 0 or total <= 0:
            return []
        exact = fts.bm25_rows(texts, tokens, freqs, rows, total / rows)
        scored = [(unit_id, exact[unit_id]) for unit_id in ids if unit_id in exact]
        # A summary rewritten since the catch-up may no longer hold any term: score 0.
        ranked = sorted((hit for hit in scored if hit[1] > 0), key=lambda hit: (-hit[1], hit[0]))
        return [ScoredId(uid_of[unit_id], score) for unit_id, score in ranked[:limit]]

    def vector_search(
        self,
        fld: VectorField,
        query: Vector,
        limit: int,
        scopes: Sequence[str] = TEAM_ONLY,
        languages: Sequence[str] | None = None,
    ) -> list[ScoredId]:
        # The search holds the lock too: a refresh changes the matrix in place (freed slots
        # reused by other units, maybe other users'), and numpy releases the GIL.
        with self._lock:
            return self._matrix(fld).search(query, limit, scopes, languages)

    def vector_search_many(
        self,
        fld: VectorField,
        queries: Sequence[Vector],
        limit: int,
        scopes: Sequence[str] = TEAM_ONLY,
        languages: Sequence[str] | None = None,
    ) -> list[list[ScoredId]]:
        with self._lock:
            return self._matrix(fld).search_many(queries, limit, scopes, languages)

    def languages(self, scopes: Sequence[str] = TEAM_ONLY) -> dict[str, int]:
        if not scopes:
            return {}
        marks = ",".join("?" * len(scopes))
        with self._lock:
            rows = self._conn.execute(
                "SELECT language, COUNT(*) FROM units WHERE collection = ?"
                f" AND scope IN ({marks}) GROUP BY language ORDER BY language",
                (self._collection, *scopes),
            ).fetchall()
        return {str(language): int(count) for language, count in rows}

    def _matrix(self, fld: VectorField) -> VectorMatrix:
        """The caller holds the lock: catching up opens a read transaction on the shared
        connection. A matrix that failed to catch up is dropped and read whole next time."""
        current = self._matrices.pop(fld, None)
        if current is None:
            current = VectorMatrix.load(
                self._conn, fld, self._collection, self._projected_vectors_from
            )
        self._matrices[fld] = current = current.refreshed(self._conn)
        return current

    def stored_vectors(self, uids: Sequence[str]) -> dict[str, list[Vector]]:
        # Under the lock, as every read of the shared connection: another thread's write
        # transaction on it is never read half done.
        with self._lock:
            return stored_vectors(self._conn, uids)

    def code_hashes(self, uids: Sequence[str], scopes: Sequence[str]) -> dict[str, str]:
        if not scopes:
            return {}
        return {
            str(uid): str(code_hash)
            for uid, code_hash in self._rows_of("uid, code_hash", uids, scopes)
        }

    def get_units(
        self, uids: Sequence[str], scopes: Sequence[str] | None = None
    ) -> dict[str, StoredRecord]:
        return {
            str(row[0]): StoredRecord(
                record=_row_to_record(row),
                summary=row[9],
                summary_state=SummaryState(row[10]),
            )
            for row in self._rows_of(_UNIT_COLUMNS, uids, scopes)
        }

    def _rows_of(
        self, columns: str, uids: Sequence[str], scopes: Sequence[str] | None
    ) -> list[Any]:
        """`columns` of the units stored under these ids (of `scopes` when given), read 500
        ids per statement (SQLite's bound on a statement's variables)."""
        scoped = "" if scopes is None else f" AND scope IN ({','.join('?' * len(scopes))})"
        rows: list[Any] = []  # sqlite3 rows: tuples of the columns' values
        with self._lock:
            for start in range(0, len(uids), 500):
                chunk = list(uids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                query = f"SELECT {columns} FROM units WHERE uid IN ({marks}){scoped}"
                rows += self._conn.execute(query, (*chunk, *(scopes or ()))).fetchall()
        return rows

    def _symbol_rows(self, scopes: Sequence[str]) -> sqlite_symbols.SqliteSymbolRows:
        # The lock (one connection for every thread) is held per query, not per check.
        return sqlite_symbols.SqliteSymbolRows(self._conn, self._lock, self._collection, scopes)

    def units_in_file(self, path: str, scopes: Sequence[str] = TEAM_ONLY) -> list[StoredRecord]:
        if not scopes:
            return []
        marks = ",".join("?" * len(scopes))
        rows = self._conn.execute(
            f"SELECT {_UNIT_COLUMNS} FROM units WHERE collection = ? AND path = ?"
            f" AND scope IN ({marks}) ORDER BY root, start_line",
            (self._collection, path, *scopes),
        ).fetchall()
        return [
            StoredRecord(_row_to_record(row), summary=row[9], summary_state=SummaryState(row[10]))
            for row in rows
        ]

    def status(self) -> IndexStatus:
        counts = dict(
            self._conn.execute(
                "SELECT summary_state, COUNT(*) FROM units WHERE collection = ?"
                " GROUP BY summary_state",
                (self._collection,),
            ).fetchall()
        )
        skipped = [
            SkippedFile(path=path, reason=reason)
            for path, reason in self._conn.execute(
                "SELECT path, reason FROM skipped WHERE collection = ? ORDER BY root, path",
                (self._collection,),
            )
        ]
        return IndexStatus(
            files=self._conn.execute(
                "SELECT COUNT(*) FROM files WHERE collection = ?", (self._collection,)
            ).fetchone()[0],
            units=sum(counts.values()),
            summaries_done=counts.get(SummaryState.DONE.value, 0),
            summaries_pending=counts.get(SummaryState.PENDING.value, 0),
            summaries_failed=counts.get(SummaryState.FAILED.value, 0),
            summaries_trivial=counts.get(SummaryState.TRIVIAL.value, 0),
            skipped=skipped,
            embedder=self._recorded_embedder(self._conn),
        )

    # --- export (`ragcode migrate`; the SQL is in sqlite_export.py) ------------------
    def collections(self) -> list[str]:
        with self._lock:
            return sqlite_export.collections(self._conn)

    def export_files(self) -> Iterator[ExportedFile]:
        return sqlite_export.export_files(self._path, self._collection)

    def export_skipped(self, root: str) -> list[SkippedFile]:
        with self._lock:
            return sqlite_export.skipped(self._conn, self._collection, root)
