"""Store on PostgreSQL + pgvector: one database behind many processes (issue 12).

The same contract as the embedded SQLite store (tests/integration/test_store_contract.py runs
one suite against both): collections sharing one database, atomic per-file replacement, the
embedding model claimed per collection, one summary cache keyed by code hash, prompt version
and model, owner scopes filtered inside each query before its `limit`. Lexical ranking is
FTS5's BM25 over bounded candidates (pg_lexical.py); vectors go through per-collection HNSW
indexes (pg_schema.py); each collection's SQL is in pg_tables.py; the shared summary queue
(claims under leases, `FOR UPDATE SKIP LOCKED`) is in pg_claims.py. Server errors become
`StoreError`s, and after a restart the next call reconnects (pg_pool.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

try:
    import pgvector.psycopg  # noqa: F401 (the `postgres` extra: imported first to say so)
    import psycopg
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "PostgreSQL 저장소에는 psycopg 와 pgvector 가 필요합니다: pip install 'ragcode[postgres]'"
    ) from exc

from ragcode.domain import TEAM_ONLY, IndexStatus, SkippedFile, StoredRecord, SummaryState
from ragcode.store import pg_claims, pg_import, pg_symbols, symbols
from ragcode.store import pg_lexical as lexical
from ragcode.store.pg_pool import Connection, ConnectionPool, describe, first_line
from ragcode.store.pg_schema import (
    EXACT_SEARCH_MAX,
    configure,
    create_schema,
    ensure_vector_index,
    vector_search_query,
)
from ragcode.store.pg_tables import (
    UNIT_COLUMNS,
    WRITE_CACHE,
    PreparedEntry,
    SummaryWrite,
    Tables,
    from_db,
    lock,
    row_to_record,
    row_to_stored,
    to_vector,
)
from ragcode.store.protocol import (
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

DEFAULT_COLLECTION = "code"
UNITS_TTL_S = 30.0


class PostgresStore(symbols.SymbolLookupByRows):
    """One collection of a PostgreSQL database; several stores (and processes) may share it."""

    def __init__(self, url: str, collection: str = DEFAULT_COLLECTION) -> None:
        self._collection = collection
        self._tables = Tables(collection)
        self._pool = ConnectionPool(url, configure)
        conn = self._pool.connect(configure=False)  # the vector type may not exist yet
        try:
            create_schema(conn)
        except psycopg.Error as exc:
            raise StoreError(
                f"PostgreSQL 색인({describe(url)})을 열 수 없습니다: {first_line(exc)}"
            ) from exc
        finally:
            conn.close()
        self._indexed: set[tuple[VectorField, int]] = set()
        self._index_lock = threading.Lock()
        self._bulk_depth = 0  # open bulk_writes blocks that defer the first HNSW builds
        self._deferred: set[tuple[VectorField, int]] = set()
        self._embedder_claimed: str | None = None
        self._units: tuple[int, float] | None = None  # (count, when read)

    def close(self) -> None:
        self._pool.close()

    # --- embedding model ---------------------------------------------------------
    def claim_embedder(self, name: str, dim: int) -> None:
        if self._embedder_claimed == name:
            return
        tables = self._tables

        def work(conn: Connection) -> None:
            lock(conn, "embedder", self._collection)
            stored = tables.recorded_embedder(conn) or tables.legacy_embedder(conn, dim)
            if stored is not None and stored != name and tables.has_units(conn):
                raise EmbedderMismatchError(
                    f"'{self._collection}' 컬렉션은 다른 임베딩 모델({stored})로 색인되어 있어 "
                    f"지금 설정된 모델({name})로는 검색할 수 없습니다. 설정을 되돌리거나, "
                    "이 컬렉션의 파일을 remove 한 뒤 다시 색인하세요."
                )
            tables.record_embedder(conn, name)

        self._pool.write("임베딩 모델 기록", work)
        self._embedder_claimed = name

    def _release_embedder_if_empty(self, conn: Connection) -> None:
        """An emptied collection may be filled again with another model."""
        lock(conn, "embedder", self._collection)
        if not self._tables.has_units(conn):
            self._tables.record_embedder(conn, None)
            self._embedder_claimed = None

    # --- files -------------------------------------------------------------------
    def roots(self) -> list[str]:
        query = (
            "SELECT root FROM store_files WHERE collection = %(c)s"
            " UNION SELECT root FROM store_skipped WHERE collection = %(c)s ORDER BY 1"
        )
        return [row[0] for row in self._pool.fetch("색인 읽기", query, {"c": self._collection})]

    def file_hashes(self, root: str) -> dict[str, str]:
        query = "SELECT path, file_hash FROM store_files WHERE collection = %s AND root = %s"
        return dict(self._pool.fetch("색인 읽기", query, (self._collection, root)))

    def skipped_paths(self, root: str) -> list[str]:
        query = "SELECT path FROM store_skipped WHERE collection = %s AND root = %s"
        return [row[0] for row in self._pool.fetch("색인 읽기", query, (self._collection, root))]

    def replace_file(self, record: FileRecord, entries: Sequence[IndexEntry]) -> None:
        prepared = [PreparedEntry.of(entry) for entry in entries]  # bad vectors fail here
        self._ensure_indexes((f, len(v)) for e in prepared for f, v in e.vectors.items())
        tables, paths = self._tables, [record.path]

        def work(conn: Connection) -> None:
            tables.lock_files(conn, record.root, paths)
            deltas = lexical.TermDeltas()
            tables.delete_units(conn, deltas, record.root, paths, [e.entry.uid for e in prepared])
            tables.delete_rows(conn, "store_skipped", record.root, paths)
            tables.upsert_file(conn, record, time.time())
            tables.insert_units(conn, deltas, record, prepared)
            deltas.write(conn)

        self._pool.write("색인 쓰기", work)

    def remove_files(self, root: str, paths: Iterable[str]) -> int:
        wanted, tables = list(dict.fromkeys(paths)), self._tables

        def work(conn: Connection) -> int:
            tables.lock_files(conn, root, wanted)
            deltas = lexical.TermDeltas()
            tables.delete_units(conn, deltas, root, wanted)
            removed = tables.delete_rows(conn, "store_files", root, wanted)
            removed += tables.delete_rows(conn, "store_skipped", root, wanted)
            deltas.write(conn)
            self._release_embedder_if_empty(conn)
            return removed

        return self._pool.write("색인에서 파일 지우기", work)

    def set_skipped(self, root: str, skipped: SkippedFile) -> None:
        tables, paths = self._tables, [skipped.path]

        def work(conn: Connection) -> None:
            tables.lock_files(conn, root, paths)
            deltas = lexical.TermDeltas()
            tables.delete_units(conn, deltas, root, paths)
            tables.delete_rows(conn, "store_files", root, paths)
            tables.upsert_skipped(conn, root, skipped)
            deltas.write(conn)

        self._pool.write("색인 쓰기", work)

    def summary_states(self, root: str) -> dict[str, SummaryState]:
        query = "SELECT uid, summary_state FROM store_units WHERE collection = %s AND root = %s"
        rows = self._pool.fetch("요약 상태 읽기", query, (self._collection, root))
        return {str(uid): SummaryState(state) for uid, state in rows}

    def set_scope(self, root: str, scope: str) -> int:
        # Postings and vectors live in the unit's row: one UPDATE moves everything.
        query = (
            "UPDATE store_units SET scope = %s WHERE collection = %s AND root = %s AND scope <> %s"
        )
        params = (scope, self._collection, root, scope)
        return self._pool.write("공개 범위 바꾸기", lambda c: c.execute(query, params).rowcount)

    @contextmanager
    def bulk_writes(self, wait_for_lexicon: bool = False) -> Iterator[None]:
        """(`wait_for_lexicon`: no background index work here, nothing to wait for.)
        A collection's first indexing writes its rows without HNSW indexes and builds each
        one once at the end: keeping two graphs up row by row made one file per transaction
        ~5x slower (bench/README.md). Only when the collection is empty at the start (an index
        that exists is kept up as usual); while such a block is open in this process, other
        writes of this store defer too, and the last block to end builds. A block that ends
        with an exception builds nothing (an interrupted run should stop at once); the next
        block on the collection builds what is missing, as does the next write. Until then
        vector searches scan every visible row: slower, never wrong."""
        tables = self._tables
        if self._pool.read("색인 읽기", tables.has_units):
            self._ensure_indexes(self._pool.read("색인 읽기", tables.vector_sizes))
            yield
            return
        with self._index_lock:
            self._bulk_depth += 1
        finished = False
        try:
            yield
            finished = True
        finally:
            with self._index_lock:
                self._bulk_depth -= 1
                deferred: set[tuple[VectorField, int]] = set()
                if self._bulk_depth == 0:
                    deferred, self._deferred = self._deferred, set()
        if finished and deferred:
            self._ensure_indexes(deferred)
            self._pool.read("통계 갱신", pg_import.analyze)

    def _ensure_indexes(self, wanted: Iterable[tuple[VectorField, int]]) -> None:
        missing = set(wanted) - self._indexed
        with self._index_lock:
            if self._bulk_depth > 0:
                self._deferred |= missing
                return
        for fld, dim in sorted(missing):

            def work(conn: Connection, fld: VectorField = fld, dim: int = dim) -> bool:
                return ensure_vector_index(conn, self._collection, fld, dim)

            if self._pool.read("벡터 색인 만들기", work):  # False: another one is building it
                with self._index_lock:
                    self._indexed.add((fld, dim))

    # --- summaries ---------------------------------------------------------------
    def cached_summary(self, code_hash: str, origin: SummaryOrigin) -> str | None:
        if not origin.model:  # a model without a name: nothing it wrote is told apart
            return None
        query = (
            "SELECT summary FROM store_summary_cache"
            " WHERE code_hash = %s AND prompt = %s AND model = %s"
        )
        rows = self._pool.fetch("요약 캐시 읽기", query, (code_hash, origin.prompt, origin.model))
        return str(rows[0][0]) if rows else None

    def export_summary_cache(self) -> list[CachedSummary]:
        query = (
            "SELECT code_hash, prompt, model, summary FROM store_summary_cache"
            " ORDER BY code_hash, prompt, model"
        )
        return [CachedSummary(*row) for row in self._pool.fetch("요약 캐시 읽기", query)]

    def import_summary_cache(self, rows: Iterable[CachedSummary]) -> int:
        now = time.time()
        batch = [(r.code_hash, r.prompt, r.model, r.summary, now) for r in rows]

        def work(conn: Connection) -> int:
            with conn.cursor() as cursor:
                cursor.executemany(WRITE_CACHE, batch)
            return len(batch)

        return self._pool.write("요약 캐시 쓰기", work)

    def units_needing_summary(self, *, include_failed: bool, limit: int) -> list[RecordRef]:
        states = [SummaryState.PENDING.value]
        if include_failed:
            states.append(SummaryState.FAILED.value)
        query = (
            f"SELECT {UNIT_COLUMNS} FROM store_units WHERE collection = %s"
            " AND summary_state = ANY(%s) ORDER BY root, path, start_line LIMIT %s"
        )
        rows = self._pool.fetch("색인 읽기", query, (self._collection, states, limit))
        return [RecordRef(uid=row[0], record=row_to_record(row)) for row in rows]

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
        array = to_vector(vector)
        if array is not None:
            self._ensure_indexes([("summary", len(array))])
        write = SummaryWrite(summary, state, array, lexical.Postings.of(tokens))

        def work(conn: Connection) -> bool:
            written = self._tables.write_summary(conn, uid, write, worker)
            cached = summary and state == SummaryState.DONE and prompt and model
            if written is not None and cached:
                conn.execute(WRITE_CACHE, (written, prompt, model, summary, time.time()))
            return written is not None

        return self._pool.write("요약 쓰기", work)

    # --- the shared summary queue (pg_claims.py) ------------------------------------
    def claim_summaries(
        self, worker: str, limit: int, lease_s: float, first_root: str | None = None
    ) -> list[RecordRef]:
        if limit <= 0:
            return []
        collection = self._collection
        return self._pool.write(
            "요약 대기열에서 가져오기",
            lambda conn: pg_claims.claim(conn, collection, worker, limit, lease_s, first_root),
        )

    def renew_leases(self, worker: str, uids: Sequence[str], lease_s: float) -> set[str]:
        if not uids:
            return set()
        return self._pool.write(
            "요약 임대 연장", lambda conn: pg_claims.renew(conn, worker, uids, lease_s)
        )

    def release_leases(self, worker: str) -> int:
        return self._pool.write("요약 임대 반납", lambda conn: pg_claims.release(conn, worker))

    def retry_failed(self) -> int:
        collection = self._collection
        return self._pool.write(
            "실패한 요약 다시 시도", lambda conn: pg_claims.retry_failed(conn, collection)
        )

    def worker_heartbeat(self, beat: WorkerBeat) -> None:
        collection = self._collection
        self._pool.write("작업자 상태 기록", lambda c: pg_claims.heartbeat(c, collection, beat))

    def worker_stopped(self, worker: str) -> None:
        self._pool.write("작업자 상태 기록", lambda conn: pg_claims.stopped(conn, worker))

    def queue_status(self, window_s: float = 600.0) -> QueueStatus:
        collection = self._collection
        return self._pool.read(
            "요약 대기열 읽기", lambda conn: pg_claims.queue_status(conn, collection, window_s)
        )

    # --- search ------------------------------------------------------------------
    def lexical_search(
        self,
        fld: LexicalField,
        tokens: Sequence[str],
        limit: int,
        scopes: Sequence[str] = TEAM_ONLY,
        languages: Sequence[str] | None = None,
    ) -> list[ScoredId]:
        query_terms = lexical.terms(tokens)
        if not query_terms or not scopes or limit <= 0 or (languages is not None and not languages):
            return []

        def work(conn: Connection) -> list[ScoredId]:
            found = lexical.search(
                conn, self._collection, fld, query_terms, scopes, limit, languages
            )
            return [ScoredId(uid, score) for uid, score in found]

        return self._pool.read("키워드 검색", work)

    def vector_search(
        self,
        fld: VectorField,
        query: Vector,
        limit: int,
        scopes: Sequence[str] = TEAM_ONLY,
        languages: Sequence[str] | None = None,
    ) -> list[ScoredId]:
        array = to_vector(query)
        if array is None or limit <= 0 or not scopes or (languages is not None and not languages):
            return []
        exact = self._units_estimate() <= EXACT_SEARCH_MAX
        by_language = languages is not None
        statement = vector_search_query(
            self._collection, fld, len(array), exact=exact, by_language=by_language
        )
        params: dict[str, object] = {"q": array, "scopes": list(scopes), "limit": limit}
        if languages is not None:
            params["languages"] = list(languages)
        rows = self._pool.fetch("벡터 검색", statement, params)
        return [ScoredId(uid, float(score)) for uid, score in rows]

    def vector_search_many(
        self,
        fld: VectorField,
        queries: Sequence[Vector],
        limit: int,
        scopes: Sequence[str] = TEAM_ONLY,
        languages: Sequence[str] | None = None,
    ) -> list[list[ScoredId]]:
        # pgvector answers each from its index (HNSW) or an exact scan: nothing to share.
        return [self.vector_search(fld, query, limit, scopes, languages) for query in queries]

    def languages(self, scopes: Sequence[str] = TEAM_ONLY) -> dict[str, int]:
        if not scopes:
            return {}
        query = (
            "SELECT language, count(*) FROM store_units WHERE collection = %s"
            " AND scope = ANY(%s) GROUP BY language ORDER BY language"
        )
        rows = self._pool.fetch("색인 읽기", query, (self._collection, list(scopes)))
        return {str(language): int(count) for language, count in rows}

    def _units_estimate(self) -> int:
        """Units in the collection, re-read at most every UNITS_TTL_S: it only decides
        between exact and HNSW vector search."""
        now = time.monotonic()
        if self._units is None or now - self._units[1] > UNITS_TTL_S:
            self._units = (self._pool.read("색인 읽기", self._tables.unit_count), now)
        return self._units[0]

    def stored_vectors(self, uids: Sequence[str]) -> dict[str, list[Vector]]:
        query = "SELECT uid, vec_code, vec_summary FROM store_units WHERE uid = ANY(%s)"

        def work(conn: Connection) -> list[tuple[Any, ...]]:
            with conn.cursor(binary=True) as cursor:  # no text round trip for 512 floats
                return cursor.execute(query, (list(uids),)).fetchall()

        return {
            uid: [from_db(v) for v in (code, summary) if v is not None]
            for uid, code, summary in self._pool.read("벡터 읽기", work)
        }

    def code_hashes(self, uids: Sequence[str], scopes: Sequence[str]) -> dict[str, str]:
        if not uids or not scopes:
            return {}
        query = "SELECT uid, code_hash FROM store_units WHERE uid = ANY(%s) AND scope = ANY(%s)"
        rows = self._pool.fetch("색인 읽기", query, (list(uids), list(scopes)))
        return {str(uid): str(code_hash) for uid, code_hash in rows}

    def get_units(
        self, uids: Sequence[str], scopes: Sequence[str] | None = None
    ) -> dict[str, StoredRecord]:
        query = f"SELECT {UNIT_COLUMNS} FROM store_units WHERE uid = ANY(%s)"
        params: tuple[object, ...] = (list(uids),)
        if scopes is not None:
            query += " AND scope = ANY(%s)"
            params += (list(scopes),)
        rows = self._pool.fetch("색인 읽기", query, params)
        return {row[0]: row_to_stored(row) for row in rows}

    def _symbol_rows(self, scopes: Sequence[str]) -> pg_symbols.PgSymbolRows:
        return pg_symbols.PgSymbolRows(self._pool, self._collection, scopes)

    def units_in_file(self, path: str, scopes: Sequence[str] = TEAM_ONLY) -> list[StoredRecord]:
        if not scopes:
            return []
        query = (
            f"SELECT {UNIT_COLUMNS} FROM store_units WHERE collection = %s AND path = %s"
            " AND scope = ANY(%s) ORDER BY root, start_line"
        )
        rows = self._pool.fetch("색인 읽기", query, (self._collection, path, list(scopes)))
        return [row_to_stored(row) for row in rows]

    def status(self) -> IndexStatus:
        return self._pool.read("색인 상태 읽기", self._tables.status)

    # --- import (`ragcode migrate`; the SQL is in pg_import.py) ------------------------
    def collections(self) -> list[str]:
        return self._pool.read("색인 읽기", pg_import.collections)

    def import_files(self, files: Sequence[ExportedFile]) -> int:
        prepared = [pg_import.PreparedFile.of(f) for f in files]  # bad vectors fail here
        tables = self._tables
        return self._pool.write(
            "색인 가져오기", lambda conn: pg_import.write_files(conn, tables, prepared)
        )

    def import_skipped(self, root: str, skipped: Sequence[SkippedFile]) -> int:
        tables = self._tables
        return self._pool.write(
            "색인 가져오기", lambda conn: pg_import.write_skipped(conn, tables, root, skipped)
        )

    def finish_import(self) -> None:
        self._ensure_indexes(self._pool.read("색인 읽기", self._tables.vector_sizes))
        self._pool.read("통계 갱신", pg_import.analyze)
