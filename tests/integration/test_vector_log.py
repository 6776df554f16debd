"""The embedded store's vector matrices follow the database through its change log: a search
after a write reads only the changed rows, whichever connection or process wrote them."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import tracemalloc
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from ragcode.domain import SummaryState
from ragcode.store import vectors
from ragcode.store.sqlite_store import DEFAULT_COLLECTION, SqliteStore
from tests.integration.test_store_contract import entry, record, uids, vector
from tests.old_stores import OLD_UNITS, write_sqlite_v4

pytestmark = pytest.mark.integration


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "index.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(path)
    yield opened
    opened.close()


class RowReads:
    """Counts the unit rows the matrices read (the whole collection or changed ids)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rows = 0
        original = vectors.VectorMatrix._read

        def counted(
            matrix: vectors.VectorMatrix, conn: sqlite3.Connection, ids: Sequence[int]
        ) -> list[tuple[int, str, bytes, str, str]]:
            found = original(matrix, conn, ids)
            self.rows += len(found)
            return found

        monkeypatch.setattr(vectors.VectorMatrix, "_read", counted)


def fill(store: SqliteStore, files: int, per_file: int = 10) -> None:
    for f in range(files):
        entries = [entry(f"f{f}.py", f"g{i}", "x", 1000 * f + i) for i in range(per_file)]
        store.replace_file(record(f"f{f}.py"), entries)


def top(store: SqliteStore, seed: int) -> str:
    return store.vector_search("code", vector(seed), 1)[0].uid


def test_a_write_after_the_first_search_reads_only_its_own_rows(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(store, files=20)
    assert top(store, 1003) == "f1.py:g3"
    reads = RowReads(monkeypatch)
    store.replace_file(record("new.py"), [entry("new.py", "h", "x", 77)])
    assert top(store, 77) == "new.py:h"
    assert reads.rows == 1  # not the 200 rows already in memory
    store.replace_file(record("f1.py", "h2"), [entry("f1.py", "g3", "x", 88)])  # changed file
    assert top(store, 88) == "f1.py:g3"
    assert store.vector_search("code", vector(1003), 1)[0].uid != "f1.py:g3"  # old vector gone
    assert "f1.py:g4" not in uids(store.vector_search("code", vector(1004), 300))  # unit gone


def test_deleted_files_leave_the_results(store: SqliteStore) -> None:
    fill(store, files=3)
    top(store, 1)
    assert store.remove_files("/r", ["f0.py"]) == 1
    found = uids(store.vector_search("code", vector(1), 100))
    assert len(found) == 20 and not any(uid.startswith("f0.py") for uid in found)


def test_a_summary_vector_is_seen_and_only_that_row_is_read(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(store, files=5)
    assert store.vector_search("summary", vector(1), 5) == []
    top(store, 1)  # both matrices are in memory
    reads = RowReads(monkeypatch)
    store.set_summary(
        "f2.py:g1", summary="요약", state=SummaryState.DONE, tokens=["요약"], vector=vector(9),
        model="m",
    )  # fmt: skip
    assert uids(store.vector_search("summary", vector(9), 5)) == ["f2.py:g1"]
    top(store, 2001)
    assert reads.rows == 2  # the one changed row, once per field


def test_another_connection_writes_are_seen(path: Path, store: SqliteStore) -> None:
    fill(store, files=2)
    top(store, 1)
    other = SqliteStore(path)  # as another process (`ragcode index` beside `serve`) would
    try:
        other.replace_file(record("other.py"), [entry("other.py", "k", "x", 55)])
        other.remove_files("/r", ["f0.py"])
    finally:
        other.close()
    assert top(store, 55) == "other.py:k"
    assert not any(u.startswith("f0.py") for u in uids(store.vector_search("code", vector(1), 50)))


def test_a_shared_scope_change_is_seen(store: SqliteStore) -> None:
    store.replace_file(record("mine.py", scope="user:1"), [entry("mine.py", "p", "x", 5)])
    assert store.vector_search("code", vector(5), 5, scopes=["team"]) == []
    store.set_scope("/r", "team")
    assert uids(store.vector_search("code", vector(5), 5, scopes=["team"])) == ["mine.py:p"]


def test_a_reader_behind_a_trimmed_log_reads_everything(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vectors, "LOG_KEEP", 5)
    fill(store, files=1)
    top(store, 1)
    fill(store, files=3, per_file=6)  # 18 more changes: the log is trimmed past the reader
    floor = vectors.log_floor(store._conn)
    assert floor > 0 and store._matrices["code"].seq < floor
    assert top(store, 2003) == "f2.py:g3"
    assert store._matrices["code"].rows == 3 * 6  # f0 now 6 units, f1 and f2 new
    count = store._conn.execute("SELECT COUNT(*) FROM vector_changes").fetchone()[0]
    assert count < 2 * 5 + 16  # trimmed; one transaction (f0: 10 deleted, 6 new) may add 16


def test_freed_slots_are_reused(store: SqliteStore) -> None:
    fill(store, files=1)
    top(store, 1)
    for round_ in range(5):  # the same file changed again and again
        store.replace_file(
            record("f0.py", f"r{round_}"),
            [entry("f0.py", f"g{i}", "x", 500 + 10 * round_ + i) for i in range(10)],
        )
        assert top(store, 500 + 10 * round_ + 3) == "f0.py:g3"
    matrix = store._matrices["code"]
    assert matrix.rows == 10 and matrix.used <= 20
    assert np.isfinite(matrix.matrix[: matrix.used]).all()


def test_a_write_after_a_whole_read_lands_in_place(store: SqliteStore) -> None:
    """A matrix read whole keeps free slots after its rows: the first file written after a
    store opens (an upload after a server start) is added in place, not by copying every
    row into a larger matrix (~280 ms per field at 100k units); a write larger than the
    room grows it."""
    fill(store, files=20)
    assert top(store, 1003) == "f1.py:g3"  # the first search reads the matrix whole
    matrix = store._matrices["code"]
    assert matrix.used == 200 and matrix.matrix.shape[0] >= 200 + vectors.RELOAD_HEADROOM_MIN
    assert (matrix.scopes[200:] == vectors.FREE).all()
    before = matrix.matrix
    store.replace_file(record("new.py"), [entry("new.py", f"h{i}", "x", 70 + i) for i in range(50)])
    assert top(store, 77) == "new.py:h7"
    assert store._matrices["code"].matrix is before  # the same array: nothing copied
    # More than the 974 slots left, fewer than the 1,000 changes that read the matrix whole.
    big = [entry("big.py", f"b{i}", "x", 5000 + i) for i in range(990)]
    store.replace_file(record("big.py"), big)
    assert top(store, 5000 + 989) == "big.py:b989"
    grown = store._matrices["code"]
    assert grown.matrix is not before and grown.matrix.shape[0] > 200 + vectors.RELOAD_HEADROOM_MIN
    assert grown.used == 250 + 990
    assert top(store, 1003) == "f1.py:g3" and top(store, 77) == "new.py:h7"


def test_a_whole_read_holds_little_more_than_its_matrix(
    path: Path, store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A field read whole is copied into its matrix batch by batch, as SQLite returns the
    rows: holding every row's bytes, then their join, then the matrix took three times the
    matrix's memory (656 against 249 MB peak per field at 100k units). The same slots,
    vectors, uids, scopes and languages as the rows say."""
    monkeypatch.setattr(vectors, "_RELOAD_BATCH", 64)
    rng = np.random.default_rng(5)
    for f in range(10):  # 2,000 units of 512 dimensions, every second file another owner's
        entries = [
            dataclasses.replace(
                entry(f"w{f}.py", f"g{i}", "x", i),
                vectors={"code": rng.standard_normal(512).astype(np.float32)},
            )
            for i in range(200)
        ]
        store.replace_file(record(f"w{f}.py", scope="team" if f % 2 else "user:7"), entries)
    reader = sqlite3.connect(path)
    try:
        tracemalloc.start()
        try:
            matrix = vectors.VectorMatrix.load(reader, "code", DEFAULT_COLLECTION)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        rows = reader.execute("SELECT id, uid, vec_code, scope FROM units").fetchall()
    finally:
        reader.close()
    assert matrix.rows == matrix.used == 2000
    # Beyond the matrix itself (its free slots included): a quarter of the rows' own bytes
    # at most (the batch, the uids, the slot map). Before: about 2.2x them.
    extra = peak - matrix.matrix.nbytes
    assert extra < 0.25 * 2000 * 512 * 4, (peak, matrix.matrix.nbytes)
    assert matrix.language_names == ["python"] and (matrix.languages[:2000] == 0).all()
    assert (matrix.scopes[2000:] == vectors.FREE).all()
    for unit_id, uid, blob, scope in rows:
        slot = matrix.slot_of[unit_id]
        assert matrix.uids[slot] == uid and matrix.scope_names[matrix.scopes[slot]] == scope
        assert matrix.matrix[slot].tobytes() == blob


@pytest.mark.parametrize("damage", [b"\0" * 8, b"\0" * 9])  # another size; not float32
def test_a_damaged_vector_fails_the_read_and_leaves_the_connection_usable(
    path: Path, store: SqliteStore, monkeypatch: pytest.MonkeyPatch, damage: bytes
) -> None:
    """A row whose vector has another size stops a whole read with an error (the old read
    failed or misaligned rows), and the statement does not outlive it: a statement left
    open (here the error is kept, as a future or a log record keeps it) held its snapshot,
    so the connection could neither see other connections' writes nor write itself."""
    monkeypatch.setattr(vectors, "_RELOAD_BATCH", 4)
    fill(store, files=2)  # 20 units
    conn = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        first = "(SELECT min(id) FROM units)"  # in the first batch: rows are left to read
        other.execute(f"UPDATE units SET vec_code = ? WHERE id = {first}", (damage,))
        with pytest.raises(ValueError) as kept:
            vectors.VectorMatrix.load(conn, "code", DEFAULT_COLLECTION)
        other.execute(f"UPDATE units SET vec_code = NULL WHERE id = {first}")
        conn.execute("BEGIN IMMEDIATE")  # the write lock, from the newest snapshot
        conn.execute("UPDATE units SET summary = 'x' WHERE id = 1")
        conn.execute("COMMIT")
        assert vectors.VectorMatrix.load(conn, "code", DEFAULT_COLLECTION).rows == 19
        assert kept.value is not None
    finally:
        conn.close()
        other.close()


def test_an_index_from_before_the_log_is_migrated_and_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "index.sqlite3"
    write_sqlite_v4(path, {unit.uid: vector(unit.seed) for unit in OLD_UNITS})
    store = SqliteStore(path)
    try:
        code_units = [unit for unit in OLD_UNITS if unit.collection == "code"]
        assert len(store.vector_search("code", vector(1), 50)) == len(code_units)
        reads = RowReads(monkeypatch)
        store.replace_file(record("late.py"), [entry("late.py", "n", "x", 66)])
        assert top(store, 66) == "late.py:n" and reads.rows == 1
    finally:
        store.close()


def test_searches_during_writes_see_only_their_scopes(store: SqliteStore) -> None:
    """Searches on other threads while private files come and go (refreshes reuse freed
    slots in place) never return a unit the searcher may not see."""
    fill(store, files=4)
    stop = threading.Event()
    errors: list[BaseException] = []

    def churn() -> None:
        try:
            for round_ in range(60):
                entries = [entry("p.py", f"s{i}", "x", 7000 + 50 * round_ + i) for i in range(20)]
                store.replace_file(record("p.py", f"r{round_}", "/private", "user:2"), entries)
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            stop.set()

    writer = threading.Thread(target=churn)
    writer.start()
    seen: set[str] = set()
    while not stop.is_set():
        for seed in (7003, 7503, 1):
            seen |= set(uids(store.vector_search("code", vector(seed), 30, scopes=["team"])))
    writer.join()
    assert not errors
    assert seen and all(uid.startswith("f") for uid in seen)
    store.vector_search("code", vector(1), 1)  # caught up with the last write
    assert store._matrices["code"].rows == 4 * 10 + 20
