"""Summaries of uploaded documents, streamed into their owner's chat (issue 15, item 1).

When a document upload is indexed (searchable), its files are summarised one after the other
on their own thread, on the background LLM (the embedded model's batch, which yields to every
chat answer). Each summary streams to the owner's sockets as `doc_summary` messages, is kept
as a turn of the owner's most recent conversation, and is written beside the document as
`<file>.ragcode-summary.md` and indexed with the upload (same owner scope, shared and deleted
with it), so that document Q&A finds it.

A summary is a courtesy: a failure (or a restart before it ends) leaves the upload as it is,
searchable; nothing is retried.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Literal

from ragcode.app import App
from ragcode.documents.read import SUMMARY_SUFFIX
from ragcode.documents.summary import DocumentSummary, PartSummary, SummaryDelta
from ragcode.domain import Record
from ragcode.history.protocol import HistoryError, HistoryStore, NewTurn
from ragcode.llm.protocol import LLMError
from ragcode.server.hub import Hub
from ragcode.server.protocol import DocumentSummaryMessage
from ragcode.store.protocol import StoreError
from ragcode.uploads.protocol import Document, RegistryError, UploadBusyError, UploadRegistry

log = logging.getLogger(__name__)

FLUSH_S = 0.25  # streamed pieces are sent at most this often (one bus message each)
CHANGE_WAIT_S = 20.0  # for the upload's hold before indexing the summary file


@dataclass(frozen=True, slots=True)
class _Stream:
    """Where one file's summary goes: the owner's sockets, under a stable key."""

    hub: Hub
    doc: Document
    file: str
    title: str

    def send(
        self,
        phase: Literal["start", "part", "delta", "done", "failed"],
        text: str = "",
        conversation_id: int | None = None,
    ) -> None:
        message = DocumentSummaryMessage(
            document_id=self.doc.id, file=self.file, title=self.title, phase=phase, text=text,
            conversation_id=conversation_id,
        )  # fmt: skip
        self.hub.publish_threadsafe(self.doc.user_id, message)


class DocumentSummaryStage:
    def __init__(self, app: App, registry: UploadRegistry, history: HistoryStore, hub: Hub):
        self._app = app
        self._registry = registry
        self._history = history
        self._hub = hub
        self._queue: queue.Queue[Document | None] = queue.Queue()
        self._stopping = threading.Event()
        self._busy = threading.Condition()
        self._pending = 0  # submitted and not finished (tests wait for 0)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="doc-summaries", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._thread is not None:
            self._stopping.set()
            self._queue.put(None)
            self._thread.join(timeout_s)
            self._thread = None

    def submit(self, doc: Document) -> None:
        """An upload of documents was just indexed here: summarise it (in the background)."""
        with self._busy:
            self._pending += 1
        self._queue.put(doc)

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Tests: block until every submitted upload is summarised (or given up)."""
        with self._busy:
            return self._busy.wait_for(lambda: self._pending == 0, timeout_s)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            doc = self._queue.get()
            if doc is None:
                continue
            try:
                self._summarize(doc)
            except Exception:  # one upload's trouble must not end the thread
                log.exception("document summary failed document=%s", doc.id)
            finally:
                with self._busy:
                    self._pending -= 1
                    self._busy.notify_all()

    def _summarize(self, doc: Document) -> None:
        limit = self._app.settings.documents.summary_max_files
        for path, records in islice(self._app.docs.read(doc.path), limit):
            if self._stopping.is_set() or not self._registry.exists(doc.id):
                return
            if (doc.path / f"{path}{SUMMARY_SUFFIX}").exists():
                continue  # summarised before (the upload was indexed again after a restart)
            self._summarize_file(doc, path, records)

    def _summarize_file(self, doc: Document, path: str, records: list[Record]) -> None:
        name = Path(path).name
        stream = _Stream(self._hub, doc, path, f"문서 요약: {name}")
        stream.send("start")
        summary: DocumentSummary | None = None
        pieces: list[str] = []
        flushed = time.monotonic()
        try:
            for event in self._app.document_summarizer().summarize(name, records):
                if isinstance(event, PartSummary):
                    stream.send("part", f"{event.index}/{event.total}. {event.title}: {event.text}")
                elif isinstance(event, SummaryDelta):
                    pieces.append(event.text)
                    if time.monotonic() - flushed >= FLUSH_S:
                        stream.send("delta", "".join(pieces))
                        pieces, flushed = [], time.monotonic()
                else:
                    summary = event
        except Exception as exc:  # the card must not wait forever, whatever went wrong
            level = logging.WARNING if isinstance(exc, LLMError) else logging.ERROR
            log.log(
                level, "document summary failed document=%s file=%s error=%r", doc.id, path, exc
            )
            stream.send("failed", "요약을 만들지 못했습니다. 문서는 그대로 검색할 수 있습니다.")
            return
        if summary is None:
            return
        if pieces:
            stream.send("delta", "".join(pieces))
        markdown = summary.as_markdown()
        if not self._index_beside(doc, path, markdown):  # deleted meanwhile: keep nothing
            stream.send("failed", "문서가 삭제되어 요약을 저장하지 않았습니다.")
            return
        conversation_id = self._remember(doc, path, summary.title, markdown)
        stream.send("done", markdown, conversation_id)

    def _index_beside(self, doc: Document, path: str, markdown: str) -> bool:
        """Write the summary next to the document and index it with the upload, under the
        upload's hold (sharing or deleting it meanwhile waits, then sees the summary).
        False when the upload is gone; a failure to index is logged (the summary is still
        kept in history: only its search is lost)."""
        try:
            with self._registry.exclusive(doc.id, wait_s=CHANGE_WAIT_S):
                current = self._registry.find(doc.id)
                if current is None:
                    return False
                target = current.path / f"{path}{SUMMARY_SUFFIX}"
                if not target.resolve().is_relative_to(current.path.resolve()):
                    return True
                partial = target.with_name(target.name + ".part")
                partial.write_text(markdown, encoding="utf-8")
                partial.replace(target)
                indexer = self._app.docs.indexer
                report = indexer.index(current.path, owner=current.scope, own_root=True)
                self._app.docs.store.set_scope(report.root, current.scope)
        except (UploadBusyError, RegistryError, StoreError, OSError) as exc:
            log.warning("document summary not indexed document=%s error=%s", doc.id, exc)
        return True

    def _remember(self, doc: Document, path: str, title: str, markdown: str) -> int | None:
        """The summary as a turn of the owner's most recent conversation."""
        turn = NewTurn(
            user_id=doc.user_id, request_id=f"doc-summary:{doc.id}:{path}"[:200], mode="qa",
            question=title, answer=markdown,
        )  # fmt: skip
        with contextlib.suppress(HistoryError):
            return self._history.add(turn).conversation_id
        log.warning("document summary not kept in history document=%s", doc.id)
        return None
