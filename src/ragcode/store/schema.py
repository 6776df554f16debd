"""SQLite schema of the embedded store: the single source of truth in the data directory.

Units, their summaries, vectors and lexical postings all live in one database file, so one
transaction replaces a file's units everywhere: a process killed mid-ingestion leaves either
the old or the new version of each file, never a mix, and never an orphan posting.
"""

from __future__ import annotations

import sqlite3

from ragcode.store.protocol import LEXICAL_FIELDS

SCHEMA_VERSION = 1

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    file_hash TEXT NOT NULL,
    language TEXT NOT NULL,
    indexed_at REAL NOT NULL,
    PRIMARY KEY (root, path)
);
CREATE TABLE IF NOT EXISTS skipped (
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (root, path)
);
CREATE TABLE IF NOT EXISTS units (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
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
    vec_summary BLOB
);
CREATE INDEX IF NOT EXISTS units_by_file ON units (root, path);
CREATE INDEX IF NOT EXISTS units_by_state ON units (summary_state);
CREATE TABLE IF NOT EXISTS summary_cache (
    code_hash TEXT PRIMARY KEY,
    summary TEXT NOT NULL,
    model TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


def fts_table(field: str) -> str:
    return f"fts_{field}"


def create_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(_TABLES)
    for field in LEXICAL_FIELDS:
        # Text arrives pre-analysed (Nori-like morphemes, split identifiers) and space-joined;
        # FTS5 only has to split on spaces, keeping "_" inside identifiers.
        conn.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts_table(field)} USING fts5("
            "tokens, tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\")"
        )
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
        (str(SCHEMA_VERSION),),
    )
