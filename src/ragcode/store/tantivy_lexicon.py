"""The tantivy indexes of an embedded store, kept in step with SQLite (the source of truth).

SQLite keeps everything a lexical index needs: the FTS5 tables still receive every posting
(the analysed tokens, collection and scope of each unit and field), and the `vector_changes`
log (schema.py) records, through triggers on `units`, every unit inserted, deleted, or whose
summary or scope changed: exactly the units whose postings change. The tantivy directory
beside the database file (`index.sqlite3-tantivy`) is derived data: deleted, damaged, or
built from another database, it is built again from the FTS5 tables.

Several processes share a data directory (server, `ragcode worker`, CLI, search daemon), and
tantivy allows one writer per index. Writers of SQLite never touch tantivy: whichever process
searches next catches the indexes up with the log, under an exclusive file lock, and records
in `applied.json` the log position they reflect. A process that finds the file ahead of its
own readers only reloads them.

A search catches up only what is quick (`catch_up`: at most REQUEST_CHANGES units, the lock
waited for LOCK_WAIT_S at most); a whole build or a long catch-up is `refresh`, run by the
store's background thread (tantivy_background.py) on an object of its own, which a `stop`
event interrupts between batches of documents (nothing is recorded then).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import tantivy

from ragcode.store import tantivy_index
from ragcode.store.fts import fts_table
from ragcode.store.protocol import LEXICAL_FIELDS, LexicalField
from ragcode.store.tantivy_index import Posting
from ragcode.store.vectors import log_floor, log_position

STATE_FILE = "applied.json"
LOCK_FILE = "writer.lock"
# Above this share of changed units one rebuild is cheaper than deletes and additions.
REBUILD_SHARE = 0.3
WRITER_HEAP = 32_000_000  # bytes; one indexing thread (2 cores are shared with the rest)
# A search applies at most this many changed units itself (a 200-unit file: ~100 ms, mostly
# fsyncs); more, or a rebuild (6-7 s at 100k units, 76 s at 1M), go to the background.
REQUEST_CHANGES = 1000
# How long a search waits for another writer's lock before FTS5 answers it instead.
LOCK_WAIT_S = 0.25
LOCK_POLL_S = 0.02
CHECK_EVERY = 2000  # documents added between two looks at the stop event

# Called by a background build with the field it writes, between batches of documents.
Pause = Callable[[LexicalField], None]


class Stopped(Exception):
    """The store closed during a background build: it gave up without a record."""


@dataclass(frozen=True, slots=True)
class AppliedState:
    store_id: str  # meta.store_id of the database the indexes were built from
    seq: int  # the last vector_changes entry they reflect


def store_id(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
    return "" if row is None else str(row[0])


class TantivyLexicon:
    """The four field indexes of one database file, as one store object sees them. The
    caller serialises calls (the store's lock): catching up opens a read transaction on the
    store's connection."""

    def __init__(
        self,
        directory: Path,
        stop: threading.Event | None = None,
        pause: Pause | None = None,
    ) -> None:
        """`stop` given: a background object, which waits for the lock as long as it takes
        and gives up (Stopped) when the event is set; `pause`: a test's hook (see Pause)."""
        self._dir = directory
        self._schema = tantivy_index.schema()
        self._indexes: dict[LexicalField, tantivy.Index] = {}
        self._seq = -1  # the log position the open readers reflect; -1: never checked
        self._store_id: str | None = None
        self._stop = stop
        self._pause = pause
        self.damaged = False  # a search failed on the files: only a rebuild repairs them

    def search(
        self,
        conn: sqlite3.Connection,
        fld: LexicalField,
        terms: Sequence[str],
        limit: int,
        collection: str,
        scopes: Sequence[str],
        languages: Sequence[str] | None = None,
    ) -> list[tuple[int, float]] | None:
        """(units.id, BM25 score) best first, the indexes first caught up with the log.
        None: not without a build or a long catch-up (`refresh`, in the background)."""
        if not self.catch_up(conn):
            return None
        args = (terms, limit, collection, scopes, languages)
        try:
            return tantivy_index.search(self._indexes[fld], self._schema, *args)
        except (ValueError, OSError):  # a damaged segment file: to be built again
            self.damaged = True
            self._seq = -1
            return None

    @property
    def checked(self) -> bool:
        """The readers reflect a position of the log (they were caught up at least once)."""
        return self._seq >= 0

    def doc_freqs(self, fld: LexicalField, terms: Sequence[str]) -> dict[str, int]:
        """Documents holding each term (deleted ones too until a merge drops them)."""
        searcher = self._indexes[fld].searcher()
        return {term: searcher.doc_freq("tokens", term) for term in dict.fromkeys(terms)}

    def catch_up(self, conn: sqlite3.Connection) -> bool:
        """What a search may do itself. False: the readers are not current, and catching
        them up needs a rebuild, more than REQUEST_CHANGES units, or a lock another writer
        holds (FTS5 answers meanwhile). Raises OSError where the directory is unwritable."""
        position = log_position(conn)
        if self._seq >= 0:
            if self._seq >= position:
                return True
            # Another process may have applied the changes already: read its record first,
            # then reload, so that the readers hold at least what the record says.
            state = self._read_state()
            if state is not None and state.store_id == self._id(conn) and state.seq >= position:
                with contextlib.suppress(ValueError, OSError):
                    self._reload()
                    self._seq = state.seq
                    return True
        # The first look of this object always takes the lock and checks everything.
        return self._sync(conn, rebuild=False, budget=REQUEST_CHANGES)

    def refresh(self, conn: sqlite3.Connection, *, rebuild: bool = False) -> None:
        """Everything, however long it takes: the background thread's work."""
        self._sync(conn, rebuild=rebuild, budget=None)

    # --- under the file lock -------------------------------------------------------
    def _sync(self, conn: sqlite3.Connection, *, rebuild: bool, budget: int | None) -> bool:
        """`budget`: the most changed units applied here; None: no limit, rebuilds too."""
        with self._writer_lock() as held:
            if not held:
                return False
            conn.execute("BEGIN")  # one snapshot: the postings read and the position agree
            try:
                position = log_position(conn)
                state = self._read_state()
                rebuild = rebuild or (
                    state is None
                    or state.store_id != self._id(conn)
                    or state.seq > position  # the database went back (restored from a copy)
                    or log_floor(conn) > state.seq  # the log no longer reaches back
                )
                if not rebuild:
                    # Compare with what is on disk now (another process's commits).
                    rebuild = not self._reloaded()
                if not rebuild and state is not None and state.seq < position:
                    changed = _changed_units(conn, state.seq)
                    if len(changed) > max(1000, REBUILD_SHARE * self._size()):
                        rebuild = True
                    elif budget is not None and len(changed) > budget:
                        return False
                    else:
                        self._apply(conn, changed)
                        self._write_state(AppliedState(self._id(conn), position))
                if rebuild:
                    if budget is not None:
                        return False
                    self._rebuild(conn)
                    self._write_state(AppliedState(self._id(conn), position))
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
            self._reload()
            self._seq = position
            self.damaged = False
            return True

    def _open_all(self) -> bool:
        """False when a field's index cannot be opened (missing files are created empty,
        which the state record then contradicts only if it was built: see _rebuild)."""
        try:
            for fld in LEXICAL_FIELDS:
                if fld not in self._indexes:
                    if not (self._dir / fld / "meta.json").exists():
                        return False
                    self._indexes[fld] = tantivy_index.open_index(self._dir / fld, self._schema)
        except (ValueError, OSError):
            return False
        return True

    def _rebuild(self, conn: sqlite3.Connection) -> None:
        """Every field from its FTS5 table, in one commit per field; a reader keeps the old
        segments until it reloads. A directory that cannot be opened is removed first."""
        self._remove_state()  # a crash from here on leaves no record: the next look rebuilds
        self._indexes.clear()
        for fld in LEXICAL_FIELDS:
            path = self._dir / fld
            try:
                self._indexes[fld] = tantivy_index.open_index(path, self._schema)
            except (ValueError, OSError):
                shutil.rmtree(path, ignore_errors=True)
                self._indexes[fld] = tantivy_index.open_index(path, self._schema)
        postings: dict[LexicalField, list[Posting]] = {}
        for fld in LEXICAL_FIELDS:
            self._check_stop()  # reading a field's table takes seconds at 1M units
            postings[fld] = list(_postings(conn, fld, None))
        self._write_fields(postings, None)

    def _apply(self, conn: sqlite3.Connection, changed: list[int]) -> None:
        """Idempotent: a unit's documents are deleted and its current postings added, so a
        crash between two fields' commits is repaired by applying the same changes again."""
        if not changed:
            return
        postings: dict[LexicalField, list[Posting]] = {}
        for fld in LEXICAL_FIELDS:
            now = list(_postings(conn, fld, changed))
            held = tantivy_index.digests(self._indexes[fld], self._schema, changed)
            if held != {posting.unit_id: posting.digest for posting in now}:
                postings[fld] = now
        self._write_fields(postings, changed)

    def _write_fields(
        self, postings: dict[LexicalField, list[Posting]], changed: list[int] | None
    ) -> None:
        """The fields' commits at once: each waits mostly on fsync (12-20 ms here), and
        tantivy releases the GIL while it writes. `changed` None: replace everything."""

        def write(fld: LexicalField) -> None:
            writer = self._indexes[fld].writer(WRITER_HEAP, 1)
            try:
                if changed is None:
                    writer.delete_all_documents()
                else:
                    gone = tantivy.Query.term_set_query(self._schema, "id", changed)
                    writer.delete_documents_by_query(gone)
                for i, posting in enumerate(postings[fld]):
                    if i % CHECK_EVERY == 0:
                        self._checkpoint(fld)
                    writer.add_document(tantivy_index.document(posting))
                self._checkpoint(fld)
                writer.commit()
            except Stopped:
                writer.rollback()  # the field keeps its last commit; no record says it is done
                raise
            finally:
                writer.wait_merging_threads()  # also releases tantivy's own writer lock

        if not postings:
            return
        with ThreadPoolExecutor(max_workers=len(postings)) as pool:
            for done in [pool.submit(write, fld) for fld in postings]:
                done.result()

    def _checkpoint(self, fld: LexicalField) -> None:
        if self._pause is not None:
            self._pause(fld)
        self._check_stop()

    def _check_stop(self) -> None:
        if self._stop is not None and self._stop.is_set():
            raise Stopped

    def _size(self) -> int:
        return max((index.searcher().num_docs for index in self._indexes.values()), default=0)

    def _reloaded(self) -> bool:
        try:
            self._reload()
        except (ValueError, OSError):
            return False
        return True

    def _reload(self) -> None:
        if not self._open_all():
            raise ValueError("tantivy index missing")
        for index in self._indexes.values():
            index.reload()

    def _id(self, conn: sqlite3.Connection) -> str:
        if self._store_id is None:
            self._store_id = store_id(conn)
        return self._store_id

    # --- files ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _writer_lock(self) -> Iterator[bool]:
        """flock, not fcntl's record locks: it also excludes other store objects of this
        process (one per collection), which share the directory. False: a search's object
        gave up after LOCK_WAIT_S (a build elsewhere may hold it for a minute)."""
        self._dir.mkdir(parents=True, exist_ok=True)
        with open(self._dir / LOCK_FILE, "a+b") as handle:
            if not self._acquire(handle.fileno()):
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _acquire(self, fd: int) -> bool:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                pass
            if self._stop is not None:  # a background object waits until the store closes
                if self._stop.wait(LOCK_POLL_S):
                    raise Stopped
            elif time.monotonic() >= deadline:
                return False
            else:
                time.sleep(LOCK_POLL_S)

    def _read_state(self) -> AppliedState | None:
        try:
            data = json.loads((self._dir / STATE_FILE).read_text(encoding="utf-8"))
            return AppliedState(str(data["store_id"]), int(data["seq"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write_state(self, state: AppliedState) -> None:
        temporary = self._dir / f"{STATE_FILE}.tmp"
        temporary.write_text(
            json.dumps({"store_id": state.store_id, "seq": state.seq}), encoding="utf-8"
        )
        os.replace(temporary, self._dir / STATE_FILE)

    def _remove_state(self) -> None:
        (self._dir / STATE_FILE).unlink(missing_ok=True)


def _changed_units(conn: sqlite3.Connection, after: int) -> list[int]:
    """Units of every collection: the indexes hold them all, as the FTS5 tables do."""
    rows = conn.execute("SELECT DISTINCT unit_id FROM vector_changes WHERE seq > ?", (after,))
    return [int(row[0]) for row in rows]


def _postings(
    conn: sqlite3.Connection, fld: LexicalField, ids: list[int] | None
) -> Iterator[Posting]:
    # The language is the unit's (a unit never changes language: another file is another id).
    table = fts_table(fld)
    query = (
        f"SELECT {table}.rowid, {table}.collection, {table}.scope, {table}.tokens,"
        f" COALESCE(units.language, '') FROM {table} LEFT JOIN units ON units.id = {table}.rowid"
    )
    if ids is None:
        for row in conn.execute(query):
            yield Posting(int(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]))
        return
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"{query} WHERE {table}.rowid IN ({marks})", chunk):
            yield Posting(int(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]))
