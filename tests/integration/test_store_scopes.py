"""Owner scopes in the embedded store: an index from before them (schema version 2) is
migrated in place. The scope contract itself (private uploads never reach another user's
results, the filter applies before the ranking cut; issue 11, defect 1) runs against every
backend in tests/integration/test_store_contract.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from ragcode.domain import user_scope
from ragcode.store.schema import SCHEMA_VERSION
from ragcode.store.sqlite_store import SqliteStore
from tests.integration.test_store_contract import uids, vector
from tests.old_stores import open_at_once

pytestmark = pytest.mark.integration

ALICE = 1

V2_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '2');
CREATE TABLE files (collection TEXT NOT NULL, root TEXT NOT NULL, path TEXT NOT NULL,
    file_hash TEXT NOT NULL, language TEXT NOT NULL, indexed_at REAL NOT NULL,
    PRIMARY KEY (collection, root, path));
CREATE TABLE skipped (collection TEXT NOT NULL, root TEXT NOT NULL, path TEXT NOT NULL,
    reason TEXT NOT NULL, PRIMARY KEY (collection, root, path));
CREATE TABLE units (id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, collection TEXT NOT NULL,
    root TEXT NOT NULL, path TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
    language TEXT NOT NULL, start_line INTEGER NOT NULL, end_line INTEGER NOT NULL,
    code TEXT NOT NULL, docstring TEXT, code_hash TEXT NOT NULL, summary TEXT,
    summary_state TEXT NOT NULL, vec_code BLOB, vec_summary BLOB);
CREATE TABLE summary_cache (code_hash TEXT PRIMARY KEY, summary TEXT NOT NULL,
    model TEXT NOT NULL, created_at REAL NOT NULL);
"""


def test_a_version_2_index_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(V2_SCHEMA)
    for field in ("summary", "doc", "code", "identifiers"):
        conn.execute(
            f"CREATE VIRTUAL TABLE fts_{field} USING fts5(tokens, collection UNINDEXED,"
            " tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\")"
        )
    conn.execute(
        "INSERT INTO units VALUES (1, 'u1', 'code', '/r', 'a.py', 'old_fn', 'function', 'python',"
        " 1, 2, 'def old_fn(): pass', NULL, 'hash', NULL, 'pending', ?, NULL)",
        (np.asarray(vector(5), dtype=np.float32).tobytes(),),
    )
    conn.execute("INSERT INTO fts_code (rowid, tokens, collection) VALUES (1, 'legacy', 'code')")
    conn.commit()
    conn.close()
    store = SqliteStore(path)
    try:
        assert uids(store.lexical_search("code", ["legacy"], 5)) == ["u1"]
        assert uids(store.vector_search("code", vector(5), 5)) == ["u1"]
        assert store.set_scope("/r", user_scope(ALICE)) == 1
        assert store.lexical_search("code", ["legacy"], 5) == []
        version = store._conn.execute("SELECT value FROM meta WHERE key='schema_version'")
        assert int(version.fetchone()[0]) == SCHEMA_VERSION
    finally:
        store.close()


def test_two_processes_opening_a_version_2_index_at_once_both_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`scripts/start.sh` starts the server and a background index together: both may read
    version 2 before either migrates; the second must see the first's migration."""
    path = tmp_path / "index.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(V2_SCHEMA)
    for field in ("summary", "doc", "code", "identifiers"):
        conn.execute(f"CREATE VIRTUAL TABLE fts_{field} USING fts5(tokens, collection UNINDEXED)")
    conn.commit()
    conn.close()
    errors = open_at_once(path, monkeypatch, "_migrate_2_to_3")
    assert errors == []
