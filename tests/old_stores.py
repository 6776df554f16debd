"""Stores as the ragcode before record metadata wrote them (SQLite schema version 4, PostgreSQL
version 2), holding the same few units, for the migration tests of the store contract.

The `docstring` column held a code unit's docstring, a FAQ record's category, or nothing
(document sections; an empty docstring too). Each unit also has what must survive the
migration untouched: its summary and state, its code vector, its "doc" and "code" postings,
and a summary-cache row keyed by its code hash.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
import pytest

from ragcode.domain import content_hash
from ragcode.store import pg_schema, schema
from ragcode.store.pg_lexical import Postings, TermDeltas
from ragcode.store.sqlite_store import SqliteStore


@dataclass(frozen=True, slots=True)
class OldUnit:
    uid: str
    collection: str
    path: str
    name: str
    kind: str
    language: str
    start_line: int
    end_line: int
    code: str
    docstring: str | None
    summary: str | None
    summary_state: str
    doc_tokens: tuple[str, ...] = ()
    seed: int = 0  # of the code vector (tests.integration.test_store_contract.vector)

    @property
    def code_hash(self) -> str:
        return content_hash(f"{self.language}\n{self.code}")


OLD_UNITS = (
    OldUnit("u1", "code", "app/io.py", "Repo.load", "method", "python", 3, 5,
            'def load(self):\n    """Loads the file."""\n    return 1\n', "Loads the file.",
            None, "pending", ("loads", "file"), seed=1),
    OldUnit("u2", "code", "app/io.py", "Repo.save", "method", "python", 7, 8,
            "def save(self):\n    return 2\n", "", "저장한다", "done", seed=2),
    OldUnit("u3", "docs", "faq.csv", "카드를 잃어버렸어요?", "faq", "csv", 2, 2,
            "질문: 카드를 잃어버렸어요?\n답변: 바로 신고하세요.", "카드", None, "trivial",
            seed=3),
    OldUnit("u4", "docs", "guide.md", "안내 > 가입", "section", "markdown", 4, 6,
            "안내 > 가입\n\n앱에서 가입합니다.", None, None, "trivial", seed=4),
)  # fmt: skip
ROOT = "/r"

# What `ragcode` wrote at SQLite schema version 4 (summary leases, before record metadata).
SQLITE_V4 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '4');
CREATE TABLE files (collection TEXT NOT NULL, root TEXT NOT NULL, path TEXT NOT NULL,
    file_hash TEXT NOT NULL, language TEXT NOT NULL, indexed_at REAL NOT NULL,
    PRIMARY KEY (collection, root, path));
CREATE TABLE skipped (collection TEXT NOT NULL, root TEXT NOT NULL, path TEXT NOT NULL,
    reason TEXT NOT NULL, PRIMARY KEY (collection, root, path));
CREATE TABLE units (id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, collection TEXT NOT NULL,
    root TEXT NOT NULL, path TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
    language TEXT NOT NULL, start_line INTEGER NOT NULL, end_line INTEGER NOT NULL,
    code TEXT NOT NULL, docstring TEXT, code_hash TEXT NOT NULL, summary TEXT,
    summary_state TEXT NOT NULL, vec_code BLOB, vec_summary BLOB,
    scope TEXT NOT NULL DEFAULT 'team', lease_owner TEXT, lease_until REAL,
    summary_attempts INTEGER NOT NULL DEFAULT 0, retry_at REAL, summarized_at REAL);
CREATE INDEX units_by_file ON units (collection, root, path);
CREATE INDEX units_by_state ON units (collection, summary_state);
CREATE INDEX units_by_root ON units (collection, root);
CREATE INDEX units_queued ON units (collection, root, path, start_line)
    WHERE summary_state IN ('pending', 'failed');
CREATE INDEX units_leased ON units (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX units_summarized ON units (collection, summarized_at)
    WHERE summarized_at IS NOT NULL;
CREATE TABLE summary_cache (code_hash TEXT PRIMARY KEY, summary TEXT NOT NULL,
    model TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE summary_workers (id TEXT PRIMARY KEY, collection TEXT NOT NULL, host TEXT NOT NULL,
    pid INTEGER NOT NULL, started REAL NOT NULL, last_seen REAL NOT NULL, lease_s REAL NOT NULL,
    done INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
    stopped INTEGER NOT NULL DEFAULT 0);
"""


def _tokens(unit: OldUnit) -> dict[str, list[str]]:
    return {"doc": list(unit.doc_tokens), "code": unit.name.lower().split(".")}


def write_sqlite_v4(path: Path, vectors: dict[str, np.ndarray]) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(SQLITE_V4)
    for field in ("summary", "doc", "code", "identifiers"):
        conn.execute(
            f"CREATE VIRTUAL TABLE fts_{field} USING fts5(tokens, collection UNINDEXED,"
            " scope UNINDEXED, tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\")"
        )
    for unit in OLD_UNITS:
        cursor = conn.execute(
            "INSERT INTO units (uid, collection, root, path, name, kind, language, start_line,"
            " end_line, code, docstring, code_hash, summary, summary_state, vec_code)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (unit.uid, unit.collection, ROOT, unit.path, unit.name, unit.kind, unit.language,
             unit.start_line, unit.end_line, unit.code, unit.docstring, unit.code_hash,
             unit.summary, unit.summary_state,
             np.asarray(vectors[unit.uid], dtype=np.float32).tobytes()),
        )  # fmt: skip
        for field, tokens in _tokens(unit).items():
            if tokens:
                conn.execute(
                    f"INSERT INTO fts_{field} (rowid, tokens, collection, scope)"
                    " VALUES (?, ?, ?, 'team')",
                    (cursor.lastrowid, " ".join(tokens), unit.collection),
                )
        if unit.summary:
            conn.execute(
                "INSERT INTO summary_cache VALUES (?, ?, 'm', 0)", (unit.code_hash, unit.summary)
            )
    conn.commit()
    conn.close()


def sqlite_schema(path: Path) -> tuple[int, set[str]]:
    """The schema version and the columns of `units`."""
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        columns = {str(row[1]) for row in conn.execute("PRAGMA table_info(units)")}
    return int(version[0]), columns


def write_postgres_v2(url: str, vectors: dict[str, np.ndarray]) -> None:
    """Version 1's tables and its migration to version 2: both frozen in pg_schema."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE store_meta (key text PRIMARY KEY, value text)")
        conn.execute(pg_schema.TABLES_V1.encode())
        conn.execute("INSERT INTO store_meta VALUES ('schema_version', '1')")
        conn.execute(pg_schema._MIGRATIONS[1].encode())
        deltas = TermDeltas()
        for unit in OLD_UNITS:
            tokens = _tokens(unit)
            doc, code = Postings.of(tokens["doc"]), Postings.of(tokens["code"])
            vector = "[" + ",".join(str(float(x)) for x in vectors[unit.uid]) + "]"
            conn.execute(
                "INSERT INTO store_units (uid, collection, root, path, name, kind, language,"
                " start_line, end_line, code, docstring, code_hash, summary, summary_state,"
                " vec_code, lex_doc, tf_doc, len_doc, lex_code, tf_code, len_code) VALUES"
                " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::vector,"
                " %s::tsvector, %s, %s, %s::tsvector, %s, %s)",
                (unit.uid, unit.collection, ROOT, unit.path, unit.name, unit.kind, unit.language,
                 unit.start_line, unit.end_line, unit.code, unit.docstring, unit.code_hash,
                 unit.summary, unit.summary_state, vector, doc.tsvector, doc.frequent,
                 doc.length, code.tsvector, code.frequent, code.length),
            )  # fmt: skip
            deltas.add(unit.collection, "doc", doc)
            deltas.add(unit.collection, "code", code)
            if unit.summary:
                conn.execute(
                    "INSERT INTO store_summary_cache VALUES (%s, %s, 'm', 0)",
                    (unit.code_hash, unit.summary),
                )
        deltas.write(conn)
        version = conn.execute("SELECT value FROM store_meta WHERE key = 'schema_version'")
        assert version.fetchone() == ("2",)


def postgres_schema(url: str) -> tuple[int, set[str]]:
    """The schema version and the columns of `store_units`."""
    with psycopg.connect(url) as conn:
        version = conn.execute(
            "SELECT value FROM store_meta WHERE key = 'schema_version'"
        ).fetchone()
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'store_units'"
        ).fetchall()
    assert version is not None
    return int(str(version[0])), {str(row[0]) for row in columns}


def open_at_once(path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> list[BaseException]:
    """Two threads open the SQLite index at `path` together, both having read the old version
    before either runs the migration `schema.<step>`; returns what they raised."""
    migrate = getattr(schema, step)
    both_read_the_old_version = threading.Barrier(2, timeout=10)

    def late_migration(connection: sqlite3.Connection) -> None:
        both_read_the_old_version.wait()
        migrate(connection)

    monkeypatch.setattr(schema, step, late_migration)
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            SqliteStore(path).close()
        except BaseException as exc:  # returned to the test
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "an opener hung"
    return errors
