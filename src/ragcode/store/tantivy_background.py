"""The tantivy engine of one store object, with its builds in a thread of its own (issue 13).

A search never builds: at 100k units a whole build took 6-7 s (76 s at 1M) inside the first
search after a first index, holding the store's lock. Now a search answers from the readers
when they are current or a quick catch-up makes them so (TantivyLexicon.catch_up); otherwise
it returns None, FTS5 answers (the store rescores tantivy's candidates exactly as bm25(), so
the lists are the same), and this object's thread builds or catches up on a lexicon object
and SQLite connection of its own, under the directory's flock, then hands its readers over.

The thread belongs to the store object and ends with it: close() sets the stop event, which
the build looks at between batches of documents and while it waits for another process's
lock; a build given up leaves no `applied.json`, so no later look takes it for valid.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from ragcode.store.protocol import LexicalField
from ragcode.store.tantivy_lexicon import Pause, Stopped, TantivyLexicon

log = logging.getLogger(__name__)

# After a build failed (a full disk, a directory that cannot be written): FTS5 alone for a
# while, instead of a thread started by every search.
RETRY_S = 30.0


class BackgroundLexicon:
    """What the store calls, under its own lock (the searches and catch-ups use its
    connection); the build thread never takes that lock, only `_guard` to hand over."""

    def __init__(self, directory: Path, database: Path, pause: Pause | None = None) -> None:
        self._dir = directory
        self._database = database
        self._pause = pause
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._current = TantivyLexicon(directory)  # the readers searches use
        self._thread: threading.Thread | None = None
        self._running = False  # set and cleared under _guard, with the two requests below
        self._again = False  # more writes to take in: run once more before handing over
        self._rebuild = False
        self._retry_at = 0.0

    def serving(self) -> bool:
        """tantivy answers searches now (False: building, or never looked yet: FTS5)."""
        with self._guard:
            return not self._busy() and self._current.checked

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
        """None: FTS5 answers this one (a build or a long catch-up runs meanwhile)."""
        with self._guard:
            if self._busy():
                return None
            found = self._current.search(conn, fld, terms, limit, collection, scopes, languages)
            if found is None:
                self._start(rebuild=self._current.damaged)
            return found

    def doc_freqs(self, fld: LexicalField, terms: Sequence[str]) -> dict[str, int]:
        with self._guard:
            return self._current.doc_freqs(fld, terms)

    def catch_up(self, conn: sqlite3.Connection) -> bool:
        """A quick catch-up here (the store's lock held); False: started in the thread, or
        none started while the pause after a failed build lasts (every upload would else
        start a whole build again)."""
        with self._guard:
            if not self._busy() and self._current.catch_up(conn):
                return True
            self._start(rebuild=self._current.damaged)
            return False

    def wait(self) -> None:
        """Until the thread has taken in every write made so far (`ragcode index` ends so:
        the process would otherwise exit in the middle of the build, see bench/README.md)."""
        with self._guard:
            self._start(rebuild=False)
            thread = self._thread
        if thread is not None:
            thread.join()

    def close(self) -> None:
        self._stop.set()
        with self._guard:
            thread = self._thread
        if thread is not None:
            thread.join()

    # --- the thread ------------------------------------------------------------------
    def _busy(self) -> bool:
        return self._running or time.monotonic() < self._retry_at

    def _start(self, *, rebuild: bool) -> None:
        """Under _guard. A running thread takes the request in before it hands over."""
        self._again = True
        self._rebuild = self._rebuild or rebuild
        if self._running or self._stop.is_set() or time.monotonic() < self._retry_at:
            return  # a failed build is not tried again before RETRY_S (by any caller)
        self._running = True
        self._retry_at = 0.0
        self._thread = threading.Thread(target=self._run, name="tantivy-build", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._guard:
                rebuild, self._rebuild, self._again = self._rebuild, False, False
            try:
                built = self._build(rebuild)
            except Stopped:
                with self._guard:
                    self._running = False
                return
            except Exception as exc:  # the thread's last word: else searches wait on it forever
                log.warning("어휘 색인(tantivy)을 만들지 못해 FTS5로 찾습니다: %s", exc)
                with self._guard:
                    self._running = False
                    self._retry_at = time.monotonic() + RETRY_S
                return
            with self._guard:
                self._current = built  # current as of its last snapshot: searches catch up
                if not self._again or self._stop.is_set():
                    self._running = False
                    return

    def _build(self, rebuild: bool) -> TantivyLexicon:
        lexicon = TantivyLexicon(self._dir, stop=self._stop, pause=self._pause)
        # Its own connection: the build reads every posting in one snapshot while the
        # store's connection keeps serving searches and writes.
        conn = sqlite3.connect(self._database, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            lexicon.refresh(conn, rebuild=rebuild)
            lexicon.refresh(conn)  # the writes committed during a build
        finally:
            conn.close()
        return lexicon
