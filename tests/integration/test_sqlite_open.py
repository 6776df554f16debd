"""Opening an embedded SQLite file while another connection writes it in rollback-journal mode
(a file another process is creating; two processes started together by scripts/start.sh):
the switch to WAL waits for the writer instead of failing with "database is locked" (SQLite
does not call the busy handler there; a CI run failed this way)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ragcode.db.sqlite import open_database, switch_to_wal
from ragcode.store.sqlite_store import SqliteStore

pytestmark = pytest.mark.integration

HELD = 0.6  # seconds the other connection keeps its write lock


def opened_store(path: Path) -> None:
    SqliteStore(path).close()


def opened_database(path: Path) -> None:
    open_database(path).close()


@pytest.mark.parametrize("open_file", [opened_store, opened_database], ids=["index", "database"])
def test_opening_waits_for_a_writer_of_a_rollback_journal_file(
    tmp_path: Path, open_file: Callable[[Path], None]
) -> None:
    path = tmp_path / "data.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE other (x INTEGER)")
    assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO other VALUES (1)")
    release = threading.Timer(HELD, lambda: writer.execute("COMMIT"))
    started = time.monotonic()
    release.start()
    try:
        open_file(path)
    finally:
        release.join()
        writer.close()
    assert time.monotonic() - started >= HELD  # it waited for the writer
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert check.execute("SELECT x FROM other").fetchall() == [(1,)]  # nothing lost
    finally:
        check.close()


def test_a_lock_that_is_not_released_still_fails_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "data.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE other (x INTEGER)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO other VALUES (1)")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            switch_to_wal(conn, timeout=0.3)
    finally:
        conn.close()
        writer.execute("ROLLBACK")
        writer.close()
