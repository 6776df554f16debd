"""Background ingestion of uploads, one at a time, pushing per-unit progress to the uploader.

One thread: indexing and summaries share the store and the (single) local model, so uploads
queue behind each other instead of competing; chat keeps working meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import shutil
import threading

from ragcode.app import App
from ragcode.domain import SkippedFile
from ragcode.ingest.entries import unit_uid
from ragcode.ingest.indexer import IndexInputError
from ragcode.ingest.progress import SilentProgress, SummaryEvent
from ragcode.server.hub import Hub
from ragcode.server.protocol import DocumentState, Progress
from ragcode.server.registry import Document, DocumentRegistry
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
        self._index_lock = threading.Lock()  # deletion waits for a running indexing step
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="ingest", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._thread is not None:
            self._jobs.put(_STOP)
            self._thread.join(timeout_s)
            self._thread = None

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
        with self._index_lock:
            if not self._registry.exists(doc.id):
                return  # deleted while queued
            self._registry.update(doc.id, state="indexing")
            indexer = self._app.indexer if doc.kind == "code" else self._app.docs.indexer
            report = indexer.index(doc.path)
        skipped = [s for s in report.skipped if isinstance(s, SkippedFile)]
        if report.units_written == 0 and not report.files_unchanged:
            reason = skipped[0].reason if skipped else "색인할 함수나 문단을 찾지 못했습니다"
            self._finish(doc, "failed", units=0, error=reason)
            return
        if doc.kind == "code" and self._app.settings.index.summaries:
            self._registry.update(doc.id, state="summarizing", units=report.units_written)
            self._summarize(doc)
        if self._registry.exists(doc.id):
            self._finish(doc, "ready", units=report.units_written)

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
        """Remove the upload's files and every index entry of it (blocking: call off-loop)."""
        with self._index_lock:
            self._registry.delete(doc.id)
            indexer = self._app.indexer if doc.kind == "code" else self._app.docs.indexer
            with contextlib.suppress(IndexInputError):  # nothing of it was indexed yet
                indexer.remove(doc.path)
            shutil.rmtree(doc.path.parent, ignore_errors=True)  # uploads/<user>/<id>/
