"""Background ingestion of uploads, one at a time, pushing per-unit progress to the uploader.

One thread: indexing and summaries share the store and the (single) local model, so uploads
queue behind each other instead of competing; chat keeps working meanwhile. The queue itself
is the registry (an upload's state), so a restart resumes what was queued or running.
Every upload is indexed in its owner's scope until the owner shares it with the team.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import shutil
import threading
from dataclasses import replace
from pathlib import Path

from ragcode.app import App
from ragcode.domain import SkippedFile
from ragcode.ingest.entries import unit_uid
from ragcode.ingest.indexer import IndexInputError
from ragcode.ingest.progress import SilentProgress, SummaryEvent
from ragcode.server.hub import Hub
from ragcode.server.protocol import DocumentState, Progress
from ragcode.server.registry import UPLOADS_DIR, Document, DocumentRegistry
from ragcode.store.protocol import IndexWriter
from ragcode.store.sqlite_store import DEFAULT_COLLECTION

log = logging.getLogger(__name__)

_STOP = None


def unit_payload(event: SummaryEvent) -> dict[str, object]:
    unit = event.unit
    return {
        "path": unit.path, "name": unit.name, "kind": str(unit.kind),
        "start_line": unit.start_line, "end_line": unit.end_line,
    }  # fmt: skip


class DocumentProgress(SilentProgress):
    """Forwards the summary events of one document's units (the runner does all pending)."""

    def __init__(self, doc: Document, uids: set[str], hub: Hub) -> None:
        self._doc = doc
        self._uids = uids
        self._hub = hub
        self._done = 0

    def opened(self) -> None:
        message = Progress(
            document_id=self._doc.id, done=0, total=len(self._uids), unit=None, summary=None
        )
        self._hub.publish_threadsafe(self._doc.user_id, message)

    def summary_done(self, event: SummaryEvent) -> None:
        uid = unit_uid(DEFAULT_COLLECTION, str(self._doc.path), event.unit)
        if uid not in self._uids:
            return
        self._done += 1
        message = Progress(
            document_id=self._doc.id, done=self._done, total=len(self._uids),
            unit=unit_payload(event), summary=event.summary,
        )  # fmt: skip
        self._hub.publish_threadsafe(self._doc.user_id, message)


class IngestWorker:
    def __init__(self, app: App, registry: DocumentRegistry, hub: Hub) -> None:
        self._app = app
        self._registry = registry
        self._hub = hub
        self._jobs: queue.Queue[Document | None] = queue.Queue()
        # One lock per upload: sharing or deleting an upload waits for its own indexing
        # step, never for another user's.
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the worker: first align every upload's index scope with the registry (also
        narrows uploads indexed before scopes existed), then resume unfinished uploads."""
        if self._thread is None:
            self.reconcile()
            for doc in self._registry.unfinished():
                self._jobs.put(doc)
                log.info("resuming upload document=%s state=%s", doc.id, doc.state)
            self._thread = threading.Thread(target=self._loop, name="ingest", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._thread is not None:
            self._jobs.put(_STOP)
            self._thread.join(timeout_s)
            self._thread = None

    def _lock(self, doc_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(doc_id, threading.Lock())

    def reconcile(self) -> int:
        """Give every upload's index entries the scope the registry says, and drop index
        entries and folders of uploads the registry no longer knows (a crash mid-delete);
        returns how many units changed scope. Blocking: runs before requests are served."""
        docs = self._registry.all()
        moved = 0
        for doc in docs:
            moved += self._store_of(doc).set_scope(str(doc.path), doc.scope)
        if moved:
            log.warning("upload scopes corrected units=%d", moved)
        known = {str(doc.path) for doc in docs}
        uploads = (self._app.settings.data_dir / UPLOADS_DIR).resolve()
        for store in (self._app.store, self._app.docs.store):
            for root in store.roots():
                if root not in known and uploads in Path(root).parents:
                    store.remove_files(root, store.file_hashes(root).keys())
                    store.remove_files(root, store.skipped_paths(root))
                    log.warning("orphan upload removed from the index root=%s", root)
        for folder in uploads.glob("*/*/files"):
            if str(folder) not in known:
                shutil.rmtree(folder.parent, ignore_errors=True)
        return moved

    def share(self, doc: Document, shared: bool) -> Document | None:
        """Share an upload with the team or take it back (blocking: call off-loop). Waits for
        the upload's own indexing step; the index changes before the registry, so a failure
        between the two never leaves a taken-back upload visible (the registry wins on the
        next start)."""
        with self._lock(doc.id):
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
        self.start()
        self._jobs.put(doc)

    def wait_idle(self) -> None:
        """Tests and benches: block until every submitted upload is processed."""
        self._jobs.join()

    def _loop(self) -> None:
        while True:
            doc = self._jobs.get()
            try:
                if doc is _STOP:
                    return
                self._process(doc)
            except Exception as exc:
                log.exception("ingestion failed document=%s", doc.id if doc else None)
                if doc is not None and self._registry.exists(doc.id):
                    self._finish(doc, "failed", error=f"색인에 실패했습니다: {type(exc).__name__}")
            finally:
                self._jobs.task_done()

    def _process(self, doc: Document) -> None:
        with self._lock(doc.id):
            current = self._registry.find(doc.id)
            if current is None:
                return  # deleted while queued
            doc = current  # shared meanwhile? index in the scope it has now
            if not doc.path.is_dir():
                self._finish(doc, "failed", error="업로드한 파일을 찾을 수 없습니다")
                return
            self._registry.update(doc.id, state="indexing")
            indexer = self._app.indexer if doc.kind == "code" else self._app.docs.indexer
            report = indexer.index(doc.path, owner=doc.scope, own_root=True)
            # Files unchanged since an earlier run keep their rows: align them too.
            self._store_of(doc).set_scope(report.root, doc.scope)
        skipped = [s for s in report.skipped if isinstance(s, SkippedFile)]
        if report.units_written == 0 and not report.files_unchanged:
            reason = skipped[0].reason if skipped else "색인할 함수나 문단을 찾지 못했습니다"
            self._finish(doc, "failed", units=0, error=reason)
            return
        if doc.kind == "code" and self._app.settings.index.summaries:
            units = report.units_written or None  # a resumed upload keeps its count
            self._registry.update(doc.id, state="summarizing", units=units)
            self._summarize(doc)
        if self._registry.exists(doc.id):
            self._finish(doc, "ready", units=report.units_written or None)

    def _summarize(self, doc: Document) -> None:
        root = str(doc.path)
        pending = self._app.store.units_needing_summary(include_failed=True, limit=1_000_000)
        uids = {
            ref.uid for ref in pending if ref.uid == unit_uid(DEFAULT_COLLECTION, root, ref.unit)
        }
        progress = DocumentProgress(doc, uids, self._hub)
        progress.opened()
        if uids:
            self._app.summaries.run(progress)

    def _finish(
        self, doc: Document, state: str, units: int | None = None, error: str | None = None
    ) -> None:
        self._registry.update(doc.id, state=state, units=units, error=error)
        current = self._registry.get(doc.user_id, doc.id)
        if current is not None:
            self._hub.publish_threadsafe(doc.user_id, DocumentState(document=current.as_dict()))

    def remove(self, doc: Document) -> None:
        """Remove the upload's files and every index entry of it (blocking: call off-loop).
        The index goes first: a crash midway leaves a listed upload, never a hidden one."""
        with self._lock(doc.id):
            indexer = self._app.indexer if doc.kind == "code" else self._app.docs.indexer
            with contextlib.suppress(IndexInputError):  # nothing of it was indexed yet
                indexer.remove(doc.path)
            self._registry.delete(doc.id)
            shutil.rmtree(doc.path.parent, ignore_errors=True)  # uploads/<user>/<id>/
        with self._locks_guard:
            self._locks.pop(doc.id, None)
