"""The embedded SQLite store: atomic file replacement, both searches, summaries, status."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from ragcode.domain import CodeUnit, SkippedFile, SummaryState, UnitKind
from ragcode.store.protocol import EmbedderMismatchError, FileRecord, IndexEntry, StoreError
from ragcode.store.sqlite_store import SqliteStore

pytestmark = pytest.mark.integration


def vector(seed: int) -> np.ndarray:
    values = np.random.default_rng(seed).normal(size=16).astype(np.float32)
    return values / np.linalg.norm(values)


def entry(
    path: str, name: str, tokens: str, seed: int, state: SummaryState = SummaryState.PENDING
) -> IndexEntry:
    unit = CodeUnit(path, name, UnitKind.FUNCTION, "python", 1, 2, f"def {name}(): pass", None)
    return IndexEntry(
        uid=f"{path}:{name}",
        unit=unit,
        summary=None,
        summary_state=state,
        tokens={"code": tokens.split(), "identifiers": [name]},
        vectors={"code": vector(seed)},
    )


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    opened = SqliteStore(tmp_path / "index.sqlite3")
    yield opened  # type: ignore[misc]
    opened.close()


def record(path: str, file_hash: str = "h1") -> FileRecord:
    return FileRecord(root="/r", path=path, file_hash=file_hash, language="python")


def test_replace_file_is_all_or_nothing(store: SqliteStore) -> None:
    store.replace_file(record("a.py"), [entry("a.py", "old", "alpha beta", 1)])
    broken = entry("a.py", "new", "gamma", 2)
    broken.vectors["code"] = "not a vector"  # type: ignore[assignment]
    with pytest.raises(ValueError):
        store.replace_file(record("a.py", "h2"), [entry("a.py", "first", "delta", 3), broken])
    assert store.file_hashes("/r") == {"a.py": "h1"}
    assert [hit.uid for hit in store.lexical_search("code", ["alpha"], 5)] == ["a.py:old"]
    assert store.lexical_search("code", ["delta"], 5) == []


def test_lexical_and_vector_search(store: SqliteStore) -> None:
    store.replace_file(
        record("a.py"), [entry("a.py", "f", "token verify", 1), entry("a.py", "g", "file read", 2)]
    )
    lexical = store.lexical_search("code", ["verify", "missing"], 5)
    assert [hit.uid for hit in lexical] == ["a.py:f"] and lexical[0].score > 0
    nearest = store.vector_search("code", vector(2), 2)
    assert nearest[0].uid == "a.py:g" and nearest[0].score == pytest.approx(1.0, abs=1e-5)
    assert store.vector_search("summary", vector(2), 2) == []


def test_vectors_refresh_after_writes(store: SqliteStore) -> None:
    store.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])
    assert store.vector_search("code", vector(1), 1)[0].uid == "a.py:f"
    store.replace_file(record("a.py", "h2"), [entry("a.py", "g", "x", 1)])
    assert [hit.uid for hit in store.vector_search("code", vector(1), 5)] == ["a.py:g"]


def test_summary_updates_postings_and_cache(store: SqliteStore) -> None:
    store.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])
    store.set_summary(
        "a.py:f", summary="토큰 검증", state=SummaryState.DONE, tokens=["토큰", "검증"],
        vector=vector(5), model="m",
    )  # fmt: skip
    assert [hit.uid for hit in store.lexical_search("summary", ["검증"], 5)] == ["a.py:f"]
    unit = store.get_units(["a.py:f"])["a.py:f"]
    assert (unit.summary, unit.summary_state) == ("토큰 검증", SummaryState.DONE)
    code_hash = unit.unit.code_hash
    assert store.cached_summary(code_hash) == "토큰 검증"
    assert len(store.stored_vectors(["a.py:f"])["a.py:f"]) == 2
    # A summary for a unit that disappeared meanwhile is dropped, not an error.
    store.set_summary(
        "gone", summary="x", state=SummaryState.DONE, tokens=[], vector=None, model="m"
    )


def test_skipped_and_removed_files_in_status(store: SqliteStore) -> None:
    store.replace_file(
        record("a.py"),
        [entry("a.py", "f", "x", 1), entry("a.py", "g", "y", 2, SummaryState.TRIVIAL)],
    )
    store.set_skipped("/r", SkippedFile("big.py", "too large"))
    status = store.status()
    assert (status.files, status.units, status.summaries_pending, status.summaries_trivial) == (
        1,
        2,
        1,
        1,
    )
    assert status.skipped == [SkippedFile("big.py", "too large")]
    assert store.remove_files("/r", ["a.py", "big.py"]) == 2
    status = store.status()
    assert (status.files, status.units, status.skipped) == (0, 0, [])
    assert store.lexical_search("code", ["x"], 5) == []


def test_unopenable_database_is_a_store_error(tmp_path: Path) -> None:
    bad = tmp_path / "index.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="열 수 없습니다"):
        SqliteStore(bad)


def test_summary_write_reloads_only_summary_vectors(store: SqliteStore) -> None:
    store.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])
    store.vector_search("code", vector(1), 1)
    store.vector_search("summary", vector(1), 1)
    code_matrix = store._matrices["code"]
    store.set_summary(
        "a.py:f", summary="요약", state=SummaryState.DONE, tokens=["요약"], vector=vector(9),
        model="m",
    )  # fmt: skip
    assert store.vector_search("summary", vector(9), 1)[0].uid == "a.py:f"  # new vector seen
    store.vector_search("code", vector(1), 1)
    assert store._matrices["code"] is code_matrix  # 100k code vectors are not reloaded


def test_collections_are_isolated(tmp_path: Path) -> None:
    code = SqliteStore(tmp_path / "index.sqlite3", collection="code")
    docs = SqliteStore(tmp_path / "index.sqlite3", collection="docs")
    try:
        code.replace_file(record("a.py"), [entry("a.py", "f", "token verify", 1)])
        docs.replace_file(record("faq.csv"), [entry("faq.csv", "q1", "token verify", 1)])
        assert [h.uid for h in code.lexical_search("code", ["token"], 5)] == ["a.py:f"]
        assert [h.uid for h in docs.lexical_search("code", ["token"], 5)] == ["faq.csv:q1"]
        assert [h.uid for h in docs.vector_search("code", vector(1), 5)] == ["faq.csv:q1"]
        assert (code.status().files, docs.status().files) == (1, 1)
        docs.remove_files("/r", ["faq.csv"])
        assert docs.status().units == 0 and code.status().units == 1
        assert code.roots() == ["/r"] and docs.roots() == []
    finally:
        code.close()
        docs.close()


def test_other_schema_version_is_a_clear_error(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "index.sqlite3").close()
    with sqlite3.connect(tmp_path / "index.sqlite3") as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="다시 색인하세요"):
        SqliteStore(tmp_path / "index.sqlite3")


def test_a_collection_keeps_to_the_embedding_model_it_was_written_with(
    store: SqliteStore,
) -> None:
    store.claim_embedder("model-a", 16)
    store.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])
    store.claim_embedder("model-a", 16)  # the same model: fine
    with pytest.raises(EmbedderMismatchError, match="model-a"):
        store.claim_embedder("model-b", 16)
    assert store.vector_search("code", vector(1), 1)[0].uid == "a.py:f", "nothing was lost"


def test_the_model_is_recorded_per_collection_and_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    code = SqliteStore(path)
    docs = SqliteStore(path, collection="docs")
    try:
        code.claim_embedder("model-a", 16)
        code.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])
        docs.claim_embedder("model-b", 16)  # another collection may use another model
    finally:
        code.close()
        docs.close()
    reopened = SqliteStore(path)
    try:
        with pytest.raises(EmbedderMismatchError):
            reopened.claim_embedder("model-b", 16)
    finally:
        reopened.close()


def test_an_emptied_collection_takes_a_new_model(store: SqliteStore) -> None:
    store.claim_embedder("model-a", 16)
    store.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])
    store.remove_files("/r", ["a.py"])
    store.claim_embedder("model-b", 16)
    store.replace_file(record("b.py"), [entry("b.py", "g", "x", 2)])
    with pytest.raises(EmbedderMismatchError):
        store.claim_embedder("model-a", 16)


def test_an_index_from_before_the_record_is_judged_by_its_vector_size(
    store: SqliteStore,
) -> None:
    store.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])  # 16-dimensional, unclaimed
    with pytest.raises(EmbedderMismatchError, match="16차원"):
        store.claim_embedder("bigger-model", 384)
    store.claim_embedder("same-size-model", 16)  # the same size: taken to be the same model
