"""Choosing the code language (issue 15.2), on every store backend: a search for one language
returns that language only, and the filter sits inside the query before the top-k cut, so
the list is filled from that language even when units of others would have outranked it;
the languages a caller's scopes hold, with unit counts; and a tantivy index written before
it had a language field is built again (and then filters inside tantivy itself)."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import tantivy

from ragcode.domain import Record, SummaryState, UnitKind, user_scope, visible_scopes
from ragcode.store.fts import fts_table
from ragcode.store.protocol import LEXICAL_FIELDS, CodeStore, FileRecord, IndexEntry
from ragcode.store.sqlite_store import LexicalEngine, SqliteStore, lexicon_dir
from ragcode.store.tantivy_lexicon import TantivyLexicon
from tests.integration.test_store_contract import BACKENDS, uids, vector

pytestmark = pytest.mark.integration

ALICE, BOB = 1, 2


def unit(path: str, name: str, language: str, tokens: str, seed: int) -> IndexEntry:
    code = Record(path, name, UnitKind.FUNCTION, language, 1, 2, f"{name}()")
    return IndexEntry(
        uid=f"{path}:{name}",
        record=code,
        summary=None,
        summary_state=SummaryState.PENDING,
        tokens={"code": tokens.split(), "identifiers": [name]},
        vectors={"code": vector(seed)},
    )


def put(
    store: CodeStore, path: str, language: str, name: str, tokens: str, seed: int, scope: str
) -> None:
    record = FileRecord(root="/r", path=path, file_hash="h", language=language, scope=scope)
    store.replace_file(record, [unit(path, name, language, tokens, seed)])


def nearby(seed: int, noise: float, salt: int) -> np.ndarray:
    """A unit vector close to vector(seed): its cosine falls as `noise` grows."""
    jitter = np.random.default_rng(salt).normal(size=16).astype(np.float32)
    values: npt.NDArray[np.float32] = vector(seed) + noise * jitter / np.linalg.norm(jitter)
    return (values / np.linalg.norm(values)).astype(np.float32)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CodeStore]:
    opened: CodeStore
    if request.param.startswith("sqlite"):
        engine: LexicalEngine = "tantivy" if request.param == "sqlite-tantivy" else "fts5"
        opened = SqliteStore(tmp_path / "index.sqlite3", lexical_engine=engine)
    else:
        from ragcode.store.postgres import PostgresStore

        opened = PostgresStore(request.getfixturevalue("pg_database"))
    yield opened
    opened.close()


def mixed(store: CodeStore) -> None:
    """Twenty Python units that match "token" better (and lie nearer vector 7) than any of
    the three JavaScript ones, a TSX one, and a private JavaScript unit of Alice's."""
    for i in range(20):
        put(store, f"p{i}.py", "python", f"p{i}", "token token token", 7, "team")
    for i in range(3):
        js = unit(f"j{i}.js", f"j{i}", "javascript", f"token other{i} filler words", 0)
        js.vectors = {"code": nearby(7, 0.6 + 0.2 * i, i)}
        record = FileRecord("/r", f"j{i}.js", "h", "javascript", "team")
        store.replace_file(record, [js])
    put(store, "c.tsx", "tsx", "comp", "token", 8, "team")
    put(store, "secret.js", "javascript", "secret", "token token", 7, user_scope(ALICE))


def serve(store: CodeStore) -> None:
    """The tantivy engine: built (in its thread) and answering, as after `ragcode index`;
    until then FTS5 answers for it, which would hide a broken tantivy filter."""
    if isinstance(store, SqliteStore) and store.lexical_engine_serving() != "tantivy":
        with store.bulk_writes(wait_for_lexicon=True):
            pass


def test_a_filtered_search_fills_the_top_k_from_that_language(store: CodeStore) -> None:
    mixed(store)
    serve(store)
    bob = visible_scopes(BOB)
    # Unfiltered, Python takes every place: the filter cannot be a cut of this list.
    assert all(u.startswith("p") for u in uids(store.lexical_search("code", ["token"], 3, bob)))
    assert all(u.startswith("p") for u in uids(store.vector_search("code", vector(7), 3, bob)))
    js = ["javascript"]
    lexical = uids(store.lexical_search("code", ["token"], 3, bob, js))
    assert sorted(lexical) == ["j0.js:j0", "j1.js:j1", "j2.js:j2"]
    vectors = uids(store.vector_search("code", vector(7), 3, bob, js))
    assert vectors == ["j0.js:j0", "j1.js:j1", "j2.js:j2"]  # nearest first
    # Several languages at once (TypeScript is "typescript" and "tsx"); scopes still apply.
    ts = ["typescript", "tsx"]
    assert uids(store.lexical_search("code", ["token"], 5, bob, ts)) == ["c.tsx:comp"]
    assert uids(store.vector_search("code", vector(7), 5, bob, ts)) == ["c.tsx:comp"]
    alice = uids(store.lexical_search("code", ["token"], 1, visible_scopes(ALICE), js))
    assert alice == ["secret.js:secret"]
    # A language nobody wrote in, or none at all: nothing.
    assert store.lexical_search("code", ["token"], 3, bob, ["go"]) == []
    assert store.vector_search("code", vector(7), 3, bob, []) == []


def test_languages_counts_what_the_scopes_may_see(store: CodeStore) -> None:
    mixed(store)
    assert store.languages(visible_scopes(BOB)) == {"python": 20, "javascript": 3, "tsx": 1}
    assert store.languages(visible_scopes(ALICE))["javascript"] == 4
    assert store.languages([]) == {}


def test_the_vector_filter_follows_writes(store: CodeStore) -> None:
    """The embedded store's matrix keeps a language per slot: a slot freed by one unit and
    taken by another of another language must not keep the old one."""
    put(store, "a.py", "python", "a", "token", 1, "team")
    assert uids(store.vector_search("code", vector(1), 5, languages=["python"])) == ["a.py:a"]
    store.remove_files("/r", ["a.py"])
    put(store, "b.go", "go", "b", "token", 1, "team")
    assert store.vector_search("code", vector(1), 5, languages=["python"]) == []
    assert uids(store.vector_search("code", vector(1), 5, languages=["go"])) == ["b.go:b"]


def _old_schema() -> tantivy.Schema:
    """The tantivy schema before issue 15.2: no language field."""
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", indexed=True, fast=True)
    builder.add_integer_field("digest", fast=True)
    builder.add_text_field("collection", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("scope", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("tokens", tokenizer_name="whitespace", index_option="freq")
    return builder.build()


def _write_old_indexes(path: Path) -> None:
    """Replace the tantivy indexes by ones of the old schema holding the same postings (the
    record of applied changes stays: only the schema tells them apart)."""
    conn = sqlite3.connect(path)
    schema = _old_schema()
    for fld in LEXICAL_FIELDS:
        directory = lexicon_dir(path) / fld
        for file in directory.iterdir():
            file.unlink()
        index = tantivy.Index(schema, path=str(directory))
        writer = index.writer(15_000_000, 1)
        query = f"SELECT rowid, collection, scope, tokens FROM {fts_table(fld)}"
        for rowid, collection, scope, tokens in conn.execute(query):
            doc = tantivy.Document()
            doc.add_integer("id", rowid)
            doc.add_integer("digest", 0)
            doc.add_text("collection", collection)
            doc.add_text("scope", scope)
            doc.add_text("tokens", tokens)
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
    conn.close()


def _fields(path: Path, fld: str) -> set[str]:
    meta = json.loads((lexicon_dir(path) / fld / "meta.json").read_text(encoding="utf-8"))
    return {entry["name"] for entry in meta["schema"]}


def test_an_index_built_before_the_language_field_is_built_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "index.sqlite3"
    store = SqliteStore(path, lexical_engine="tantivy")
    mixed(store)
    serve(store)
    assert store.lexical_engine_serving() == "tantivy"
    store.close()
    _write_old_indexes(path)
    assert "language" not in _fields(path, "code")
    store = SqliteStore(path, lexical_engine="tantivy")
    try:
        # FTS5 answers while the old index is found wanting and built again.
        found = uids(store.lexical_search("code", ["token"], 3, languages=["javascript"]))
        assert sorted(found) == ["j0.js:j0", "j1.js:j1", "j2.js:j2"]
        serve(store)
        assert store.lexical_engine_serving() == "tantivy"
        assert "language" in _fields(path, "code")
        with caplog.at_level(logging.WARNING, logger="ragcode.store.sqlite_store"):
            found = uids(store.lexical_search("code", ["token"], 3, languages=["javascript"]))
        assert sorted(found) == ["j0.js:j0", "j1.js:j1", "j2.js:j2"]
        assert not caplog.records  # tantivy answered, not the FTS5 fallback
    finally:
        store.close()
    # The rebuilt index itself filters by language (not only the rescoring in SQLite).
    conn = sqlite3.connect(path)
    try:
        lexicon = TantivyLexicon(lexicon_dir(path))
        hits = lexicon.search(conn, "code", ["token"], 3, "code", ["team"], ["javascript"])
        assert hits is not None  # caught up already: the store built it
        rows = conn.execute(
            f"SELECT DISTINCT language FROM units WHERE id IN ({','.join('?' * len(hits))})",
            [unit_id for unit_id, _score in hits],
        ).fetchall()
        assert len(hits) == 3 and rows == [("javascript",)]
    finally:
        conn.close()
