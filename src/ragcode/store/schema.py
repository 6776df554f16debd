"""SQLite schema of the embedded store: the single source of truth in the data directory.

Records (code units and document chunks) live in named collections ("code", "docs", ...); a
row of `units` is one record, its metadata a JSON object (version 5).
Units, their summaries, vectors and lexical postings all live in one database file, so one
transaction replaces a file's units everywhere: a process killed mid-ingestion leaves either
the old or the new version of each file, never a mix, and never an orphan posting.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from ragcode.store import metadata
from ragcode.store.claims import QUEUED_STATES_SQL
from ragcode.store.fts import TOKENIZER, fts_table
from ragcode.store.protocol import LEGACY_PROMPT, LEXICAL_FIELDS

log = logging.getLogger(__name__)

# 3: owner scope per unit and posting; 4: summary leases and workers; 5: record metadata;
# 6: the summary cache keyed by (code hash, prompt version, model); 7: the vector change log
SCHEMA_VERSION = 7

# The version 3 tables, never edited: a new file is created at version 3 and then migrated
# like an old one, so every migration runs on every new index (and is tested that way).
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    collection TEXT NOT NULL,
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    file_hash TEXT NOT NULL,
    language TEXT NOT NULL,
    indexed_at REAL NOT NULL,
    PRIMARY KEY (collection, root, path)
);
CREATE TABLE IF NOT EXISTS skipped (
    collection TEXT NOT NULL,
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (collection, root, path)
);
CREATE TABLE IF NOT EXISTS units (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    collection TEXT NOT NULL,
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    language TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    code TEXT NOT NULL,
    docstring TEXT,
    code_hash TEXT NOT NULL,
    summary TEXT,
    summary_state TEXT NOT NULL,
    vec_code BLOB,
    vec_summary BLOB,
    scope TEXT NOT NULL DEFAULT 'team'
);
CREATE INDEX IF NOT EXISTS units_by_file ON units (collection, root, path);
CREATE INDEX IF NOT EXISTS units_by_state ON units (collection, summary_state);
CREATE INDEX IF NOT EXISTS units_by_root ON units (collection, root);
CREATE INDEX IF NOT EXISTS units_by_path ON units (collection, path);
CREATE TABLE IF NOT EXISTS summary_cache (
    code_hash TEXT PRIMARY KEY,
    summary TEXT NOT NULL,
    model TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


class SchemaMismatchError(sqlite3.DatabaseError):
    """The file was written by another version of ragcode's schema."""


def _fts_definition(field: str) -> str:
    """The postings table (unchanged since version 3). `scope` is filtered in the query before
    the ranking cut: a private corpus never shows up in, or pushes anything out of, another
    user's results."""
    return (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts_table(field)} USING fts5("
        f"tokens, collection UNINDEXED, scope UNINDEXED, {TOKENIZER})"
    )


def _migrate_2_to_3(conn: sqlite3.Connection) -> None:
    """Version 2 had no owner scopes: everything indexed so far becomes team content (the
    web server then narrows its uploads back to their owners, see IngestWorker.reconcile)."""

    def apply(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE units ADD COLUMN scope TEXT NOT NULL DEFAULT 'team'")
        for field in LEXICAL_FIELDS:
            table = fts_table(field)
            conn.execute(f"ALTER TABLE {table} RENAME TO {table}_v2")
            conn.execute(_fts_definition(field))
            conn.execute(
                f"INSERT INTO {table} (rowid, tokens, collection, scope)"
                f" SELECT rowid, tokens, collection, 'team' FROM {table}_v2"
            )
            conn.execute(f"DROP TABLE {table}_v2")

    _migration_step(conn, 2, apply)


# Version 4: the shared summary queue (store/claims.py). A unit carries its lease (owner and
# expiry), its failed attempts and when it may be retried, and when its summary was written
# (throughput in `ragcode status`); `summary_workers` holds the runners' heartbeats.
_V4_COLUMNS = (
    "lease_owner TEXT",
    "lease_until REAL",
    "summary_attempts INTEGER NOT NULL DEFAULT 0",
    "retry_at REAL",
    "summarized_at REAL",
)
_V4_TABLES = f"""
CREATE INDEX IF NOT EXISTS units_queued ON units (collection, root, path, start_line)
    WHERE summary_state IN {QUEUED_STATES_SQL};
CREATE INDEX IF NOT EXISTS units_leased ON units (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX IF NOT EXISTS units_summarized ON units (collection, summarized_at)
    WHERE summarized_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS summary_workers (
    id TEXT PRIMARY KEY,
    collection TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started REAL NOT NULL,
    last_seen REAL NOT NULL,
    lease_s REAL NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    stopped INTEGER NOT NULL DEFAULT 0
);
"""


def _migration_step(
    conn: sqlite3.Connection, version: int, apply: Callable[[sqlite3.Connection], None]
) -> None:
    """One schema step in one write transaction, from `version` to the next one."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if _version(conn) != version:  # another process migrated between our read and our lock
            conn.execute("COMMIT")
            return
        apply(conn)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version + 1),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _migrate_3_to_4(conn: sqlite3.Connection) -> None:
    """Add the lease columns in place: existing units start unleased with no attempts."""

    def apply(conn: sqlite3.Connection) -> None:
        for column in _V4_COLUMNS:
            conn.execute(f"ALTER TABLE units ADD COLUMN {column}")
        for statement in _V4_TABLES.split(";"):
            if statement.strip():
                conn.execute(statement)

    _migration_step(conn, 3, apply)


def _migrate_4_to_5(conn: sqlite3.Connection) -> None:
    """Records carry metadata: the `docstring` column (a code unit's docstring, a FAQ record's
    category) becomes a JSON object in `metadata`, then goes. The JSON is written here rather
    than by SQLite's json_object(), which not every SQLite build has."""

    def apply(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE units ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}'")
        rows = conn.execute(
            "SELECT id, kind, docstring FROM units WHERE docstring IS NOT NULL AND docstring != ''"
        ).fetchall()
        conn.executemany(
            "UPDATE units SET metadata = ? WHERE id = ?",
            [(metadata.to_json({metadata.legacy_key(kind): text}), i) for i, kind, text in rows],
        )
        conn.execute("ALTER TABLE units DROP COLUMN docstring")

    _migration_step(conn, 4, apply)


# Version 6: a cached summary is reused only for the same code, prompt version and model.
_V6_SUMMARY_CACHE = """
CREATE TABLE summary_cache (
    code_hash TEXT NOT NULL,
    prompt TEXT NOT NULL,
    model TEXT NOT NULL,
    summary TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (code_hash, prompt, model)
) WITHOUT ROWID
"""


def _migrate_5_to_6(conn: sqlite3.Connection) -> None:
    """The cache was keyed by code hash alone: its rows came from an unknown prompt (and,
    once reused, carry the model "cache"), so they move under the legacy prompt version,
    which no lookup asks for: kept and exported, never reused."""

    def apply(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE summary_cache RENAME TO summary_cache_v5")
        conn.execute(_V6_SUMMARY_CACHE)
        conn.execute(
            "INSERT INTO summary_cache (code_hash, prompt, model, summary, created_at)"
            " SELECT code_hash, ?, model, summary, created_at FROM summary_cache_v5",
            (LEGACY_PROMPT,),
        )
        conn.execute("DROP TABLE summary_cache_v5")

    _migration_step(conn, 5, apply)


# Version 7: every change to a unit's vectors or scope is logged, so that the in-memory vector
# matrices (store/vectors.py) of any connection catch up by reading only the changed rows.
# The tantivy lexical indexes (store/tantivy_lexicon.py) follow the same log: a unit's postings
# change only when it is inserted or deleted, or when its summary (written in the same UPDATE
# as vec_summary, SqliteStore.set_summary) or its scope changes.
_V7_VECTOR_LOG = (
    """CREATE TABLE vector_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        collection TEXT NOT NULL,
        unit_id INTEGER NOT NULL
    )""",
    """CREATE TRIGGER units_log_insert AFTER INSERT ON units BEGIN
        INSERT INTO vector_changes (collection, unit_id) VALUES (new.collection, new.id);
    END""",
    # A unit never changes collection or id in place (a changed file is deleted and inserted).
    """CREATE TRIGGER units_log_update AFTER UPDATE OF vec_code, vec_summary, scope ON units
    BEGIN
        INSERT INTO vector_changes (collection, unit_id) VALUES (new.collection, new.id);
    END""",
    """CREATE TRIGGER units_log_delete AFTER DELETE ON units BEGIN
        INSERT INTO vector_changes (collection, unit_id) VALUES (old.collection, old.id);
    END""",
)


def _migrate_6_to_7(conn: sqlite3.Connection) -> None:
    """Start the vector change log; matrices read before it existed are read whole once."""

    def apply(conn: sqlite3.Connection) -> None:
        for statement in _V7_VECTOR_LOG:
            conn.execute(statement)

    _migration_step(conn, 6, apply)


def _version(conn: sqlite3.Connection) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return None if row is None else int(row[0])


def create_schema(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    version = _version(conn)
    if version == 2:
        _migrate_2_to_3(conn)
    elif version is not None and version not in (3, 4, 5, 6, SCHEMA_VERSION):
        raise SchemaMismatchError(
            f"색인 형식 버전 {version} 은(는) 이 ragcode(버전 {SCHEMA_VERSION})와 맞지 않습니다. "
            "index.sqlite3 를 지우고 다시 색인하세요 (요약 캐시도 함께 지워집니다)"
        )
    # IF NOT EXISTS throughout: a no-op on an existing file; a new one starts at version 3
    # (a concurrent opener may already have migrated it: OR IGNORE keeps its version).
    conn.executescript(_TABLES)
    for field in LEXICAL_FIELDS:
        conn.execute(_fts_definition(field))
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '3')")
    # Names this database for the indexes derived from it (store/tantivy_lexicon.py): a
    # lexical index built from another file (deleted and indexed again) is built anew.
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', lower(hex(randomblob(16))))"
    )
    if _version(conn) == 3:
        _migrate_3_to_4(conn)
    if _version(conn) == 4:
        _migrate_4_to_5(conn)
    if _version(conn) == 5:
        _migrate_5_to_6(conn)
    if _version(conn) == 6:
        _migrate_6_to_7(conn)
    # Not a version step: an older ragcode opening the file keeps working (SQLite maintains
    # an index it does not know of), and a file without it gets it on the next open (about
    # 0.3 s at 100k units, once). Best effort: on a full disk or a file another process keeps
    # locked the store opens without it and reads the rows by rowid, as before.
    try:
        conn.execute(_VISIBLE_UNITS_INDEX)
    except sqlite3.OperationalError as exc:
        log.warning("색인 %s 을(를) 만들지 못했습니다: %s", VISIBLE_UNITS_INDEX, exc)


def has_visible_units_index(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (VISIBLE_UNITS_INDEX,)
    ).fetchone()
    return row is not None


# What a lexical search reads of each candidate (tantivy's rescoring, by units.id): a row of
# `units` spans several pages (its code, then two 2 KB vectors, then `scope`), so reading its
# scope walked the overflow chain; this index holds the few columns densely
# (bench/README.md, "The candidates' rows through a covering index").
VISIBLE_UNITS_INDEX = "units_visible"
_VISIBLE_UNITS_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {VISIBLE_UNITS_INDEX}"
    " ON units (id, collection, scope, uid, language)"
)
