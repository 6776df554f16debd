"""Background ingestion of uploads, one at a time, pushing progress to the uploader.

Two threads per process: this ingest loop indexes uploads (parse, embed, store: seconds), one
after the other, and the summary stage (`summary_stage.SummaryStage`) follows the summaries
of indexed code uploads (minutes to hours) on its own thread. So an upload is searchable as
soon as it is indexed, and a document uploaded while a large repository is being summarized
waits for indexing only, never for those summaries. The queue itself is the registry: the
loop takes the oldest upload waiting to be indexed with a lease (`UploadRegistry.claim`) and
renews it while it works, so among several server replicas on one database each upload is
indexed by one of them, and a restart (or another replica, once the lease runs out) resumes
what was queued or running. Every upload is indexed in its owner's scope until the owner
shares it with the team.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

from ragcode.app import App, uploads_dir
from ragcode.domain import SkippedFile
from ragcode.history.protocol import HistoryStore
from ragcode.ingest.indexer import IndexInputError
from ragcode.server.doc_summaries import DocumentSummaryStage
from ragcode.server.hub import Hub
from ragcode.server.summary_stage import SummaryStage
from ragcode.server.upload_jobs import IdleSignal, announce_state, leased, next_claimed
from ragcode.store.protocol import IndexWriter, StoreError
from ragcode.uploads.protocol import Document, RegistryError, UploadBusyError, UploadRegistry

log = logging.getLogger(__name__)

# With no wake-up (an upload received by another replica), look for work this often.
POLL_S = 2.0
RETRY_S = 10.0  # after the database failed under an upload
# Sharing, taking back and deleting wait this long for an upload's indexing step (another
# request or replica may hold it), then answer "busy" rather than hold a thread for minutes.
CHANGE_WAIT_S = 20.0
# Upload folders the registry does not know are deleted at start only when older than this:
# another replica may be writing a new upload's files before its registry row exists.
ORPHAN_AGE_S = 600.0


def worker_name() -> str:
    """This process in lease columns and logs: host, pid and a random part (pids repeat)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class IngestWorker:
    def __init__(
        self, app: App, registry: UploadRegistry, hub: Hub, history: HistoryStore | None = None
    ) -> None:
        """`history`: where document summaries are kept (none: documents are not summarised,
        as with `documents.summarize_uploads = false`)."""
        self._app = app
        self._registry = registry
        self._hub = hub
        self._name = worker_name()
        self._lease_s = app.settings.server.upload_lease_s
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._idle = IdleSignal()  # wait_idle(): nothing to claim after the latest submit
        self._thread: threading.Thread | None = None
        self._summaries = SummaryStage(app, registry, hub, self._name, reindex=self._wake.set)
        summarize_docs = app.settings.documents.summarize_uploads and app.settings.server.summarize
        self._doc_summaries = (
            DocumentSummaryStage(app, registry, history, hub)
            if history is not None and summarize_docs
            else None
        )

    def start(self) -> None:
        """Start both threads: first align every upload's index scope with the registry (also
        narrows uploads indexed before scopes existed), then take unfinished uploads."""
        if self._thread is None:
            self.reconcile()
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="ingest", daemon=True)
            self._thread.start()
            self._summaries.start()
            if self._doc_summaries is not None:
                self._doc_summaries.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._thread is not None:
            self._stopping.set()
            self._wake.set()
            self._summaries.stop(timeout_s)
            if self._doc_summaries is not None:
                self._doc_summaries.stop(timeout_s)
            self._thread.join(timeout_s)
            self._thread = None

    def reconcile(self) -> int:
        """Give every upload's index entries the scope the registry says, and drop index
        entries and folders of uploads the registry no longer knows (a crash mid-delete);
        returns how many units changed scope. Blocking: runs before requests are served.

        Other replicas keep serving meanwhile: each upload is re-read under its exclusive hold
        (an owner taking it back elsewhere must not be undone by a stale read here), and the
        index roots are listed before the registry (an upload registered and indexed between
        the two reads would otherwise look like an orphan)."""
        roots = {store: store.roots() for store in (self._app.store, self._app.docs.store)}
        docs = self._registry.all()
        moved = 0
        for listed in docs:
            try:
                with self._registry.exclusive(listed.id, wait_s=1.0):
                    doc = self._registry.find(listed.id)
                    if doc is not None:
                        moved += self._store_of(doc).set_scope(str(doc.path), doc.scope)
            except UploadBusyError:  # being indexed elsewhere: that step aligns the scope
                continue
        if moved:
            log.warning("upload scopes corrected units=%d", moved)
        known = {str(doc.path) for doc in docs}
        uploads = uploads_dir(self._app.settings).resolve()
        for store, store_roots in roots.items():
            for root in store_roots:
                if root not in known and uploads in Path(root).parents:
                    store.remove_files(root, store.file_hashes(root).keys())
                    store.remove_files(root, store.skipped_paths(root))
                    log.warning("orphan upload removed from the index root=%s", root)
        old = time.time() - ORPHAN_AGE_S
        for folder in uploads.glob("*/*/files"):
            if str(folder) not in known and _modified(folder.parent) < old:
                shutil.rmtree(folder.parent, ignore_errors=True)
        return moved

    def share(self, doc: Document, shared: bool) -> Document | None:
        """Share an upload with the team or take it back (blocking: call off-loop). Waits for
        the upload's own indexing step; the index changes before the registry, so a failure
        between the two never leaves a taken-back upload visible (the registry wins on the
        next start)."""
        with self._registry.exclusive(doc.id, wait_s=CHANGE_WAIT_S):
            current = self._registry.find(doc.id)
            if current is None:
                return None
            wanted = replace(current, shared=shared)
            self._store_of(wanted).set_scope(str(wanted.path), wanted.scope)
            self._registry.set_shared(doc.id, shared)
        return wanted

    def _store_of(self, doc: Document) -> IndexWriter:
        return self._app.store if doc.kind == "code" else self._app.docs.store

    def submit(self, doc: Document) -> None:
        """A new upload is in the registry: look now (any replica may take it)."""
        self.start()
        self._idle.announce()
        self._wake.set()

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Tests and benches: block until the loop found nothing to index after the latest
        submit. Uploads are then searchable; code uploads may still be `summarizing`."""
        return self._idle.wait(timeout_s)

    def wait_summaries(self, timeout_s: float | None = None) -> bool:
        """Tests and benches: `wait_idle`, then until the summary stage found nothing to
        follow: every upload is then `ready` or `failed` (or its summaries were left to other
        processes, as `UploadSummaries` does when they stall)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        return self.wait_idle(left()) and self._summaries.wait_idle(left())

    def wait_document_summaries(self, timeout_s: float | None = None) -> bool:
        """Tests: `wait_idle`, then until every indexed document upload is summarised."""
        if not self.wait_idle(timeout_s):
            return False
        return self._doc_summaries is None or self._doc_summaries.wait_idle(timeout_s)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            doc = next_claimed(
                lambda: self._registry.claim(self._name, self._lease_s),
                self._idle, self._wake, POLL_S, "upload",
            )  # fmt: skip
            if doc is None:
                continue
            try:
                with leased(self._registry, doc.id, self._name, self._lease_s) as lost:
                    handed = self._process(doc, lost)
                if handed:  # its lease is given back: the summary stage may take it now
                    self._summaries.handed()
            except (StoreError, RegistryError) as exc:
                # The database (or the index file) is away: the upload is not at fault. It
                # stays unfinished and is taken again (here or by another replica) later.
                log.warning("upload postponed document=%s error=%s", doc.id, exc)
                self._stopping.wait(RETRY_S)
            except Exception as exc:
                log.exception("ingestion failed document=%s", doc.id)
                error = f"색인에 실패했습니다: {type(exc).__name__}"
                with contextlib.suppress(Exception):  # the registry may be what failed
                    if self._registry.exists(doc.id):
                        self._finish(doc, "failed", error=error)

    def _process(self, doc: Document, lost: threading.Event) -> bool:
        """Index the upload; True when it was left `summarizing` for the summary stage."""
        with self._registry.exclusive(doc.id):
            current = self._registry.find(doc.id)
            if current is None:
                return False  # deleted while queued
            doc = current  # shared meanwhile? index in the scope it has now
            if not doc.path.is_dir():
                self._finish(doc, "failed", error="업로드한 파일을 찾을 수 없습니다")
                return False
            self._registry.update(doc.id, state="indexing")
            indexer = self._app.indexer if doc.kind == "code" else self._app.docs.indexer
            report = indexer.index(doc.path, owner=doc.scope, own_root=True)
            # Files unchanged since an earlier run keep their rows: align them too, to the
            # scope the registry says now (should the hold have lapsed in a database restart,
            # an owner's change meanwhile wins over the scope read at the start).
            now = self._registry.find(doc.id)
            if now is None:
                return False  # deleted meanwhile (its remover cleans the index)
            self._store_of(now).set_scope(report.root, now.scope)
        if lost.is_set():
            log.warning("upload left to the process that took it over document=%s", doc.id)
            return False
        skipped = [s for s in report.skipped if isinstance(s, SkippedFile)]
        if report.units_written == 0 and not report.files_unchanged:
            reason = skipped[0].reason if skipped else "색인할 함수나 문단을 찾지 못했습니다"
            self._finish(doc, "failed", units=0, error=reason)
            return False
        settings = self._app.settings
        units = report.units_written or None  # a resumed upload keeps its count
        if not self._registry.exists(doc.id):
            return False
        if doc.kind == "code" and settings.index.summaries and settings.server.summarize:
            # Searchable from now on; the summary stage settles it to `ready`.
            self._finish(doc, "summarizing", units=units)
            return True
        self._finish(doc, "ready", units=units)
        if doc.kind == "document" and self._doc_summaries is not None:
            self._doc_summaries.submit(doc)
        return False

    def _finish(
        self, doc: Document, state: str, units: int | None = None, error: str | None = None
    ) -> None:
        announce_state(self._registry, self._hub, doc, state, units, error)

    def remove(self, doc: Document) -> None:
        """Remove the upload's files and every index entry of it (blocking: call off-loop).
        The index goes first: a crash midway leaves a listed upload, never a hidden one."""
        with self._registry.exclusive(doc.id, wait_s=CHANGE_WAIT_S):
            indexer = self._app.indexer if doc.kind == "code" else self._app.docs.indexer
            with contextlib.suppress(IndexInputError):  # nothing of it was indexed yet
                indexer.remove(doc.path)
            self._registry.delete(doc.id)
            shutil.rmtree(doc.path.parent, ignore_errors=True)  # uploads/<user>/<id>/


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
