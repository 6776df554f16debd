"""What only the embedded SQLite store has: a file that may be unreadable, its schema version,
and in-memory vector matrices reloaded per field. The contract shared with PostgreSQL (atomic
file replacement, both searches, summaries, status, collections, the embedding model) is in
tests/integration/test_store_contract.py."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragcode.domain import DOCSTRING, SummaryState
from ragcode.store import schema
from ragcode.store.protocol import StoreError
from ragcode.store.sqlite_store import SqliteStore
from tests.integration.test_store_contract import entry, record, vector
from tests.old_stores import OLD_UNITS, open_at_once, sqlite_schema, write_sqlite_v4

pytestmark = pytest.mark.integration


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "index.sqlite3")
    yield opened
    opened.close()


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


def test_other_schema_version_is_a_clear_error(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "index.sqlite3").close()
    with sqlite3.connect(tmp_path / "index.sqlite3") as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="다시 색인하세요"):
        SqliteStore(tmp_path / "index.sqlite3")


def test_two_processes_opening_a_version_4_index_at_once_both_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both read version 4 before either migrates; the second must find the metadata moved
    (not move it twice, nor fail on the dropped column)."""
    path = tmp_path / "index.sqlite3"
    write_sqlite_v4(path, {unit.uid: vector(unit.seed) for unit in OLD_UNITS})
    errors = open_at_once(path, monkeypatch, "_migrate_4_to_5")
    assert errors == []
    version, columns = sqlite_schema(path)
    assert version == schema.SCHEMA_VERSION and "docstring" not in columns
    store = SqliteStore(path)
    try:
        assert store.get_units(["u1"])["u1"].record.metadata == {DOCSTRING: "Loads the file."}
    finally:
        store.close()


class _Abort(Exception):
    pass


def test_reads_of_the_search_wait_for_another_threads_write(store: SqliteStore) -> None:
    """The search's last reads (the fused candidates' records and stored vectors) share the
    store's one connection with writers: they wait for a write transaction another thread
    holds open instead of reading its rows half done (here a unit that is rolled back)."""
    store.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])
    seen: dict[str, object] = {}

    def read() -> None:
        seen["units"] = store.get_units(["b.py:g"])
        seen["vectors"] = store.stored_vectors(["b.py:g"])

    reader = threading.Thread(target=read)
    with pytest.raises(_Abort), store._transaction() as conn:
        conn.execute("UPDATE units SET uid = 'b.py:g' WHERE uid = 'a.py:f'")  # not committed
        reader.start()
        reader.join(0.5)
        assert reader.is_alive()  # waiting for the lock
        raise _Abort
    reader.join(10)
    assert seen == {"units": {}, "vectors": {}}
    assert list(store.get_units(["a.py:f"])) == ["a.py:f"]
