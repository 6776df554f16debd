"""The tantivy index is built in the store's own thread, never inside a search (issue 13):
FTS5 answers with the same lists until the index is ready, writes made during the build are
in it once it serves, close() stops a build without leaving an index that looks valid, and
another process searching and writing meanwhile neither waits for the build nor breaks it.

The build is held with the store's `lexicon_pause` hook (called by the build thread between
batches of documents), standing for a build of a large index (6-7 s at 100k units)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ragcode.store import tantivy_background
from ragcode.store.sqlite_store import SqliteStore, lexicon_dir
from ragcode.store.tantivy_lexicon import STATE_FILE
from ragcode.store.vectors import log_position
from tests.integration.test_store_contract import put, record, uids
from tests.integration.test_store_tantivy import QUERIES, random_entries

pytestmark = pytest.mark.integration

HELD_S = 60.0  # a held build waits this long at most for the test to let it go


class Gate:
    """A pause hook that holds the build (of the given fields) until opened."""

    def __init__(self, fields: tuple[str, ...] = ("summary", "doc", "code", "identifiers")):
        self.fields = fields
        self.entered = threading.Event()
        self.opened = threading.Event()

    def __call__(self, fld: str) -> None:
        if fld in self.fields:
            self.entered.set()
            self.opened.wait(HELD_S)


def wait_serving(store: SqliteStore, timeout: float = 30.0) -> float:
    start = time.monotonic()
    while store.lexical_engine_serving() != "tantivy":
        assert time.monotonic() - start < timeout, "the tantivy index was never served"
        time.sleep(0.01)
    return time.monotonic() - start


def same_as_fts5(store: SqliteStore, fts5: SqliteStore) -> None:
    for query in QUERIES:
        found = store.lexical_search("code", query, 10)
        expected = fts5.lexical_search("code", query, 10)
        assert uids(found) == uids(expected), query
        assert [h.score for h in found] == pytest.approx([h.score for h in expected], rel=1e-9)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Path, SqliteStore]]:
    path = tmp_path / "index.sqlite3"
    fts5 = SqliteStore(path)
    fts5.replace_file(record("a.py"), random_entries(300, (5, 60), 3))
    try:
        yield path, fts5
    finally:
        fts5.close()


def open_held(path: Path, gate: Callable[[str], None]) -> SqliteStore:
    return SqliteStore(path, lexical_engine="tantivy", lexicon_pause=gate)


def test_the_first_search_does_not_wait_for_the_build(
    database: tuple[Path, SqliteStore],
) -> None:
    """The build is held for up to a minute: the first search still answers at once, with
    FTS5's list and scores; a file written during the build is found by FTS5 then, and by
    tantivy once the build has taken it in and the store switched."""
    path, fts5 = database
    gate = Gate()
    store = open_held(path, gate)
    try:
        start = time.monotonic()
        first = store.lexical_search("code", ["t1", "t30"], 10)
        assert time.monotonic() - start < 5.0  # a build inside the request: HELD_S
        assert uids(first) == uids(fts5.lexical_search("code", ["t1", "t30"], 10))
        assert gate.entered.wait(10), "no build was started"
        assert store.lexical_engine_serving() == "fts5"
        same_as_fts5(store, fts5)

        put(store, "/r", "new.py", "during", "t1 t1 t1 t1 t59", 7, "team")  # mid-build
        assert "new.py:during" in uids(store.lexical_search("code", ["t1"], 5))
        assert store.lexical_engine_serving() == "fts5"

        gate.opened.set()
        wait_serving(store)
        assert "new.py:during" in uids(store.lexical_search("code", ["t1"], 5))
        same_as_fts5(store, fts5)
        assert store.lexical_engine_serving() == "tantivy"
        state = json.loads((lexicon_dir(path) / STATE_FILE).read_text(encoding="utf-8"))
        with sqlite3.connect(path) as conn:
            assert state["seq"] == log_position(conn)
    finally:
        gate.opened.set()
        store.close()


def test_close_during_a_build_leaves_no_index_that_counts_as_built(
    database: tuple[Path, SqliteStore],
) -> None:
    """The summary field is held while the others commit; close() stops the build and
    returns, no record says the directory is built, and the next store object builds it
    again (FTS5 answering meanwhile) instead of serving the half of it."""
    path, fts5 = database
    gate = Gate(fields=("summary",))
    store = open_held(path, gate)
    closer = threading.Thread(target=store.close)
    try:
        store.lexical_search("code", ["t1"], 5)
        assert gate.entered.wait(10), "no build was started"
        closer.start()
        time.sleep(0.3)
        assert closer.is_alive()  # close() waits for the build thread to stop
        gate.opened.set()
        closer.join(20)
        assert not closer.is_alive()
        time.sleep(0.3)  # a thread left running would record its build by now
        assert not (lexicon_dir(path) / STATE_FILE).exists()
    finally:
        gate.opened.set()
        if not closer.is_alive() and closer.ident is None:
            store.close()
    again = SqliteStore(path, lexical_engine="tantivy")
    try:
        same_as_fts5(again, fts5)
        assert again.lexical_engine_serving() == "fts5"  # the half index is not served
        wait_serving(again)
        same_as_fts5(again, fts5)
        assert (lexicon_dir(path) / STATE_FILE).exists()
    finally:
        again.close()


OTHER_PROCESS = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.integration.test_store_contract import put, uids
from ragcode.store.sqlite_store import SqliteStore
path = Path({path!r})
store = SqliteStore(path, lexical_engine="tantivy")
fts5 = SqliteStore(path)
put(store, "/r", "other.py", "written", "omega t2", 9, "team")
start = time.monotonic()
found = {{q: uids(store.lexical_search("code", q.split(), 10)) for q in ("omega", "t1 t30", "t2")}}
elapsed = time.monotonic() - start
expected = {{q: uids(fts5.lexical_search("code", q.split(), 10)) for q in found}}
serving = store.lexical_engine_serving()
store.close()
fts5.close()
print(json.dumps({{"found": found, "expected": expected, "serving": serving, "s": elapsed}}))
"""


def test_another_process_during_the_build_neither_waits_nor_breaks_it(
    database: tuple[Path, SqliteStore],
) -> None:
    """While this process's build holds the directory's lock, another process writes a
    unit, searches (answered by FTS5, without waiting for the lock), and closes (its own
    build thread, waiting for the lock, stops). This build then finishes, takes the other
    process's write in, and a third store object serves it from its first search."""
    path, fts5 = database
    gate = Gate()
    store = open_held(path, gate)
    try:
        store.lexical_search("code", ["t1"], 5)
        assert gate.entered.wait(10), "no build was started"
        root = str(Path(__file__).resolve().parents[2])
        script = textwrap.dedent(OTHER_PROCESS).format(root=root, path=str(path))
        done = subprocess.run(
            [sys.executable, "-c", script], check=True, timeout=HELD_S / 2, capture_output=True
        )
        other = json.loads(done.stdout.decode().strip().splitlines()[-1])
        assert other["found"] == other["expected"]
        assert other["found"]["omega"] == ["other.py:written"]
        assert other["serving"] == "fts5" and other["s"] < 5.0
        assert not gate.opened.is_set()  # all of it while this build was held

        gate.opened.set()
        wait_serving(store)
        assert uids(store.lexical_search("code", ["omega"], 5)) == ["other.py:written"]
        same_as_fts5(store, fts5)
    finally:
        gate.opened.set()
        store.close()
    third = SqliteStore(path, lexical_engine="tantivy")
    try:
        assert uids(third.lexical_search("code", ["omega"], 5)) == ["other.py:written"]
        assert third.lexical_engine_serving() == "tantivy"  # a valid index, no rebuild
        same_as_fts5(third, fts5)
    finally:
        third.close()


def test_an_unwritable_directory_leaves_fts5_answering_without_a_build_thread(
    database: tuple[Path, SqliteStore], caplog: pytest.LogCaptureFixture
) -> None:
    """A file where the index directory goes: every search answers from FTS5 (a warning),
    the lexicon's thread never starts, and bulk_writes returns."""
    path, fts5 = database
    lexicon_dir(path).write_text("not a directory", encoding="utf-8")
    gate = Gate()
    store = open_held(path, gate)
    try:
        with store.bulk_writes():
            put(store, "/r", "b.py", "g", "t1 t2", 2, "team")
        same_as_fts5(store, fts5)
        assert not gate.entered.is_set()
        assert store.lexical_engine_serving() == "fts5"
        assert "FTS5" in caplog.text
    finally:
        gate.opened.set()
        store.close()


def test_an_upload_does_not_wait_for_the_build(database: tuple[Path, SqliteStore]) -> None:
    """bulk_writes() without wait_for_lexicon (a server's upload job): the block ends while
    the build it started is still held, FTS5 answering; the index serves once it is built.
    (`ragcode index` waits: test_store_tantivy.py::test_an_indexing_run_leaves_...)"""
    path, _fts5 = database
    gate = Gate()
    store = open_held(path, gate)
    try:

        def upload() -> None:
            with store.bulk_writes():
                put(store, "/r", "up.py", "written", "omega", 2, "team")

        job = threading.Thread(target=upload)
        job.start()
        job.join(10.0)
        assert not job.is_alive(), "the upload waited for the held build"
        assert gate.entered.wait(10.0)  # the build was started, in the lexicon's thread
        assert store.lexical_engine_serving() == "fts5"
        assert uids(store.lexical_search("code", ["omega"], 5)) == ["up.py:written"]
        gate.opened.set()
        wait_serving(store)
        assert uids(store.lexical_search("code", ["omega"], 5)) == ["up.py:written"]
    finally:
        gate.opened.set()
        store.close()


def test_a_failed_build_is_not_started_again_by_each_indexing_run(
    database: tuple[Path, SqliteStore],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a build failed in the thread (here: the pause hook raises, standing for a full
    disk), the indexing runs and searches of the next RETRY_S start no build (each upload
    used to start one and wait for it); after it, the next one does."""
    monkeypatch.setattr(tantivy_background, "RETRY_S", 3.0)
    path, fts5 = database

    def disk_full(fld: str) -> None:
        raise OSError(28, "No space left on device")

    store = SqliteStore(path, lexical_engine="tantivy", lexicon_pause=disk_full)

    def failed_builds() -> int:
        return sum("만들지 못해" in r.getMessage() for r in caplog.records)

    try:
        with store.bulk_writes(wait_for_lexicon=True):
            put(store, "/r", "b.py", "g", "t1 t2", 2, "team")
        assert failed_builds() == 1
        started = time.monotonic()
        for name in ("c.py", "d.py"):
            with store.bulk_writes(wait_for_lexicon=True):
                put(store, "/r", name, "g", "t1 t3", 2, "team")
            with store.bulk_writes():
                put(store, "/r", f"x{name}", "g", "t2 t3", 2, "team")
            same_as_fts5(store, fts5)
        assert time.monotonic() - started < 3.0  # all of it within the pause
        assert failed_builds() == 1
        time.sleep(3.1)
        with store.bulk_writes(wait_for_lexicon=True):
            put(store, "/r", "e.py", "g", "t1", 2, "team")
        assert failed_builds() == 2  # tried again once the pause is over
        assert store.lexical_engine_serving() == "fts5"
    finally:
        store.close()
