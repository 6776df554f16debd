"""PostgreSQL schema of the store: the same collections, units and summary cache as the
embedded SQLite file, with lexical postings as `tsvector` columns and vectors as pgvector.

One row per unit (a record: a code unit or a document chunk) holds its text, its metadata
(jsonb), its four lexical postings (`lex_<field>` GIN-indexed, with `tf_<field>` for frequent
terms and `len_<field>` tokens) and its two vectors, so one transaction replaces a file's units
everywhere, and moving an upload to another owner scope is one UPDATE. `store_terms` holds the
document frequency of every term per collection and field (and, under the empty term, the
number of units with postings and their total length): BM25 needs them, and counting matches
of a common term through the GIN index is what made full-text search slow at 100k units.
"""

from __future__ import annotations

import contextlib
import hashlib

import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql

from ragcode.store.claims import QUEUED_STATES_SQL
from ragcode.store.metadata import LEGACY_KEY_SQL
from ragcode.store.pg_pool import Connection
from ragcode.store.protocol import LEGACY_PROMPT, LEXICAL_FIELDS, StoreError, VectorField

# 2: summary leases and the worker registry (the shared summary queue); 3: record metadata;
# 4: the summary cache keyed by (code hash, prompt version, model)
SCHEMA_VERSION = 5
# HNSW candidate list: 200 found 0.90 of the true top 10 on clustered 512-d vectors at 20k
# (100: 0.83), half of them filtered out by scope; iterative scans go on past it when needed.
EF_SEARCH = 200
# Collections up to this many units are searched exactly (as the embedded store always does):
# a few milliseconds, and the evaluation sets give the same figures on both stores.
EXACT_SEARCH_MAX = 5000
# HNSW indexes `vector` columns of at most 2,000 dimensions; larger vectors are searched
# exactly (a sequential scan), which is correct, only slower.
HNSW_MAX_DIM = 2000

_LEXICAL_COLUMNS = "".join(
    f"    lex_{fld} tsvector,\n    tf_{fld} jsonb,\n    len_{fld} integer NOT NULL DEFAULT 0,\n"
    for fld in LEXICAL_FIELDS
)
_LEXICAL_INDEXES = "".join(
    f"CREATE INDEX IF NOT EXISTS store_units_lex_{fld} ON store_units USING gin (lex_{fld});\n"
    for fld in LEXICAL_FIELDS
)
# Text compares byte-wise (COLLATE "C"), as in SQLite: same sort order for roots and paths.
# The version 1 tables, never edited: a new database is created at version 1 and migrated like
# an old one, so every migration runs on every new database (and is tested that way).
TABLES_V1 = f"""
CREATE TABLE IF NOT EXISTS store_files (
    collection text COLLATE "C" NOT NULL,
    root text COLLATE "C" NOT NULL,
    path text COLLATE "C" NOT NULL,
    file_hash text NOT NULL,
    language text NOT NULL,
    indexed_at double precision NOT NULL,
    PRIMARY KEY (collection, root, path)
);
CREATE TABLE IF NOT EXISTS store_skipped (
    collection text COLLATE "C" NOT NULL,
    root text COLLATE "C" NOT NULL,
    path text COLLATE "C" NOT NULL,
    reason text NOT NULL,
    PRIMARY KEY (collection, root, path)
);
CREATE TABLE IF NOT EXISTS store_units (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uid text COLLATE "C" NOT NULL UNIQUE,
    collection text COLLATE "C" NOT NULL,
    root text COLLATE "C" NOT NULL,
    path text COLLATE "C" NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    language text NOT NULL,
    start_line integer NOT NULL,
    end_line integer NOT NULL,
    code text NOT NULL,
    docstring text,
    code_hash text NOT NULL,
    summary text,
    summary_state text NOT NULL,
    scope text COLLATE "C" NOT NULL DEFAULT 'team',
    vec_code vector,
    vec_summary vector,
{_LEXICAL_COLUMNS.rstrip().rstrip(",")}
);
CREATE INDEX IF NOT EXISTS store_units_by_file ON store_units (collection, root, path);
CREATE INDEX IF NOT EXISTS store_units_by_state ON store_units (collection, summary_state);
{_LEXICAL_INDEXES}
CREATE TABLE IF NOT EXISTS store_terms (
    collection text COLLATE "C" NOT NULL,
    field text COLLATE "C" NOT NULL,
    term text COLLATE "C" NOT NULL,  -- '' : the field's totals
    df bigint NOT NULL,  -- units with the term ('' : units with any term)
    total bigint NOT NULL,  -- occurrences ('' : tokens in the field, for the average length)
    PRIMARY KEY (collection, field, term)
);
CREATE TABLE IF NOT EXISTS store_summary_cache (
    code_hash text PRIMARY KEY,
    summary text NOT NULL,
    model text NOT NULL,
    created_at double precision NOT NULL
);
"""

# Version 2: the shared summary queue (store/claims.py). A unit carries its lease (owner and
# expiry, the database's clock), its failed attempts and when it may be retried, and when its
# summary was written (throughput); `store_workers` holds the runners' heartbeats. ADD COLUMN
# with no default or a constant one rewrites nothing: instant even on millions of units.
_MIGRATE_1_TO_2 = f"""
ALTER TABLE store_units ADD COLUMN IF NOT EXISTS lease_owner text COLLATE "C";
ALTER TABLE store_units ADD COLUMN IF NOT EXISTS lease_until double precision;
ALTER TABLE store_units ADD COLUMN IF NOT EXISTS summary_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE store_units ADD COLUMN IF NOT EXISTS retry_at double precision;
ALTER TABLE store_units ADD COLUMN IF NOT EXISTS summarized_at double precision;
CREATE INDEX IF NOT EXISTS store_units_queued ON store_units (collection, root, path, start_line)
    WHERE summary_state IN {QUEUED_STATES_SQL};
CREATE INDEX IF NOT EXISTS store_units_leased ON store_units (lease_owner)
    WHERE lease_owner IS NOT NULL;
CREATE INDEX IF NOT EXISTS store_units_summarized ON store_units (collection, summarized_at)
    WHERE summarized_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS store_workers (
    id text COLLATE "C" PRIMARY KEY,
    collection text COLLATE "C" NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL,
    started double precision NOT NULL,
    last_seen double precision NOT NULL,
    lease_s double precision NOT NULL,
    done bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    stopped boolean NOT NULL DEFAULT false
);
UPDATE store_meta SET value = '2' WHERE key = 'schema_version';
"""
# Version 3: records carry metadata. The `docstring` column (a code unit's docstring, a FAQ
# record's category) becomes a jsonb object; ADD COLUMN with a constant default and DROP COLUMN
# rewrite nothing, only the rows that had a docstring are updated. Each updated row is a new row
# version in every index: the HNSW graphs are dropped first and built again after the update,
# once (row by row, half a million documented units would hold the table for most of an hour).
_MIGRATE_2_TO_3 = f"""
ALTER TABLE store_units ADD COLUMN IF NOT EXISTS metadata jsonb NOT NULL DEFAULT '{{}}'::jsonb;
CREATE TEMPORARY TABLE ragcode_hnsw_v2 ON COMMIT DROP AS
    SELECT indexname, indexdef FROM pg_indexes
    WHERE schemaname = current_schema() AND tablename = 'store_units'
      AND indexname LIKE 'store_units_hnsw_%';
DO $$
DECLARE found record;
BEGIN
    FOR found IN SELECT indexname FROM ragcode_hnsw_v2 LOOP
        EXECUTE format('DROP INDEX %I', found.indexname);
    END LOOP;
END $$;
UPDATE store_units SET metadata = jsonb_build_object({LEGACY_KEY_SQL}, docstring)
    WHERE docstring IS NOT NULL AND docstring <> '';
ALTER TABLE store_units DROP COLUMN docstring;
DO $$
DECLARE found record;
BEGIN
    FOR found IN SELECT indexdef FROM ragcode_hnsw_v2 LOOP
        EXECUTE found.indexdef;
    END LOOP;
END $$;
UPDATE store_meta SET value = '3' WHERE key = 'schema_version';
"""
# Version 4: a cached summary is reused only for the same code, prompt version and model. The
# rows so far came from an unknown prompt (and, once reused, carry the model "cache"): they
# move under the legacy prompt version, which no lookup asks for (kept, exported, not reused).
# The constant default fills them without rewriting the table; the new rows always name theirs.
_MIGRATE_3_TO_4 = f"""
ALTER TABLE store_summary_cache ADD COLUMN IF NOT EXISTS prompt text COLLATE "C" NOT NULL
    DEFAULT '{LEGACY_PROMPT}';
ALTER TABLE store_summary_cache ALTER COLUMN prompt DROP DEFAULT;
ALTER TABLE store_summary_cache DROP CONSTRAINT IF EXISTS store_summary_cache_pkey;
ALTER TABLE store_summary_cache ADD CONSTRAINT store_summary_cache_pkey
    PRIMARY KEY (code_hash, prompt, model);
UPDATE store_meta SET value = '4' WHERE key = 'schema_version';
"""
# Version 5: units found by their file path alone (MCP `get_unit` looks one up by location
# in any root); without it every look-up read the whole collection.
_MIGRATE_4_TO_5 = """
CREATE INDEX IF NOT EXISTS store_units_by_path ON store_units (collection, path);
UPDATE store_meta SET value = '5' WHERE key = 'schema_version';
"""
# Each step takes a database from the version in the key to the next one.
_MIGRATIONS = {1: _MIGRATE_1_TO_2, 2: _MIGRATE_2_TO_3, 3: _MIGRATE_3_TO_4, 4: _MIGRATE_4_TO_5}

# Serializes schema changes between processes (first start, migrations, vector indexes).
DDL_LOCK = "ragcode.store.ddl"


def create_schema(conn: Connection) -> None:
    """Create, migrate or check the tables, in one transaction under an advisory lock: the
    processes starting together on an old database wait while the first migrates it, then
    find it migrated."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (DDL_LOCK,))
        _ensure_vector_extension(conn)
        conn.execute("CREATE TABLE IF NOT EXISTS store_meta (key text PRIMARY KEY, value text)")
        version = _version(conn)
        if version is None:
            conn.execute(TABLES_V1.encode())
            conn.execute("INSERT INTO store_meta (key, value) VALUES ('schema_version', '1')")
            version = 1
        if version != SCHEMA_VERSION and version not in _MIGRATIONS:
            raise StoreError(
                f"PostgreSQL 색인 형식 버전 {version} 은(는) 이 ragcode(버전 {SCHEMA_VERSION})와 "
                "맞지 않습니다. 맞는 버전의 ragcode 를 쓰거나, 데이터베이스의 store_* 테이블을 "
                "지우고 다시 색인하세요 (요약 캐시도 함께 지워집니다)"
            )
        while version in _MIGRATIONS:
            conn.execute(_MIGRATIONS[version].encode())
            version = _version(conn)


def _version(conn: Connection) -> int | None:
    row = conn.execute("SELECT value FROM store_meta WHERE key = 'schema_version'").fetchone()
    return None if row is None else int(str(row[0]))


def _ensure_vector_extension(conn: Connection) -> None:
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone():
        return
    try:
        with conn.transaction():  # a savepoint: the failure below must not abort the rest
            conn.execute("CREATE EXTENSION vector")
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StoreError(
            "PostgreSQL 에 pgvector 확장이 없습니다. 데이터베이스 관리자가 이 데이터베이스에서 "
            "`CREATE EXTENSION vector;` 를 한 번 실행해야 합니다"
        ) from exc
    except psycopg.errors.FeatureNotSupported as exc:
        raise StoreError(
            f"이 PostgreSQL 서버에는 pgvector 가 설치되어 있지 않습니다: {exc}"
        ) from exc


def vector_index_name(collection: str, fld: VectorField, dim: int) -> str:
    digest = hashlib.sha1(collection.encode()).hexdigest()[:12]
    return f"store_units_hnsw_{fld}_{dim}_{digest}"


def vector_index(collection: str, fld: VectorField, dim: int) -> sql.Composed:
    """The partial HNSW index over one collection's vectors of one field and size.

    Collections may hold vectors of different models (code: 512, documents: 384), so the
    column is an untyped `vector` and each (collection, field, size) gets its own index on
    the typed expression; `vector_search` repeats the same expression and predicate."""
    return sql.SQL(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON store_units USING hnsw"
        " (({column}::vector({dim})) vector_ip_ops) WHERE {predicate}"
    ).format(
        name=sql.Identifier(vector_index_name(collection, fld, dim)),
        column=vector_column(fld),
        dim=sql.Literal(dim),
        predicate=vector_predicate(collection, fld, dim),
    )


def vector_column(fld: VectorField) -> sql.Identifier:
    return sql.Identifier(f"vec_{fld}")


def vector_predicate(collection: str, fld: VectorField, dim: int) -> sql.Composed:
    return sql.SQL("collection = {c} AND vector_dims({column}) = {dim}").format(
        c=sql.Literal(collection), column=vector_column(fld), dim=sql.Literal(dim)
    )


def ensure_vector_index(conn: Connection, collection: str, fld: VectorField, dim: int) -> bool:
    """Build the HNSW index of one (collection, field, size) unless a valid one exists; returns
    whether one does now.

    CREATE INDEX CONCURRENTLY: writers (other files, summaries, every replica and worker) go on
    while the graph is built, which matters when it is built over rows already written (the end
    of a first index, `ragcode migrate`). One builder at a time holds a session advisory lock of
    that index; the others do not wait for it (a concurrent build waits for every open
    transaction, a waiting one included: that would deadlock) but return False and write on:
    the build takes in rows written meanwhile, and they ask again at their next write. A build
    cut short (a crash, a lost connection) leaves an invalid index behind, which the next
    builder drops and builds again. `conn` must be in autocommit, outside any transaction."""
    name = vector_index_name(collection, fld, dim)
    if dim > HNSW_MAX_DIM or _index_valid(conn, name):
        return True  # larger vectors are always searched exactly
    key = (f"{DDL_LOCK}:{name}",)
    locked = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", key).fetchone()
    if locked is None or not locked[0]:
        return False
    try:
        valid = _index_valid(conn, name)
        if valid:  # another process built it before we took the lock
            return True
        if valid is False:
            drop = sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(name))
            conn.execute(drop)
        conn.execute(vector_index(collection, fld, dim))
        return True
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", key)


def _index_valid(conn: Connection, name: str) -> bool | None:
    """None: no such index; False: one whose build did not finish (unusable, still kept up)."""
    row = conn.execute(
        "SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid"
        " WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace",
        (name,),
    ).fetchone()
    return None if row is None else bool(row[0])


def vector_search_query(
    collection: str, fld: VectorField, dim: int, *, exact: bool = False, by_language: bool = False
) -> sql.Composed:
    """Nearest units by inner product (`<#>` is its negation; the vectors are unit length, so
    this is the cosine, as in the embedded store). Approximate: in the HNSW index's expression
    and predicate, so that the planner uses it. Exact: on the untyped column, which no index
    serves (every visible vector is compared). Parameters: q (the vector), scopes, limit, and
    with `by_language` languages (a filter, like the scopes', that the iterative scan keeps
    applying until `limit` rows pass)."""
    size = sql.Literal(dim)
    typed = sql.SQL("{column}::vector({dim})").format(column=vector_column(fld), dim=size)
    ordered = vector_column(fld) if exact else typed
    return sql.SQL(
        "SELECT uid, -({typed} <#> %(q)s::vector({dim})) FROM store_units"
        " WHERE {predicate} AND scope = ANY(%(scopes)s){language}"
        " ORDER BY {ordered} <#> %(q)s::vector LIMIT %(limit)s"
    ).format(
        typed=typed, dim=size, ordered=ordered, predicate=vector_predicate(collection, fld, dim),
        language=sql.SQL(" AND language = ANY(%(languages)s)" if by_language else ""),
    )  # fmt: skip


def configure(conn: Connection) -> None:
    """Per connection: numpy arrays as `vector`, and HNSW scans that keep going until the
    owner-scope filter has let `limit` rows through (pgvector 0.8 iterative scans)."""
    register_vector(conn)
    conn.execute(sql.SQL("SET hnsw.ef_search = {}").format(sql.Literal(EF_SEARCH)))
    # pgvector < 0.8 has no iterative scans (the setting is then unknown, or merely ignored).
    with contextlib.suppress(psycopg.errors.UndefinedObject, psycopg.errors.InvalidName):
        conn.execute("SET hnsw.iterative_scan = strict_order")
