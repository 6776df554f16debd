"""The summary stage of code uploads, on a thread of its own beside the ingest loop.

Indexing takes seconds and makes an upload searchable; its summaries take minutes to hours.
So the ingest loop leaves an indexed code upload in `summarizing` and goes on to the next
upload, and this thread (one per process) takes such uploads one at a time, oldest first,
with a lease (`UploadRegistry.claim_summarizing`): among replicas on one database each upload
is followed by one of them, and an upload left `summarizing` by a stopped or crashed process
is continued here (at start, or once its lease ran out). Following an upload runs the shared
summary queue with that upload's units first and publishes each unit to its owner
(`UploadSummaries`); the upload is `ready` when its units are settled.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ragcode.app import App
from ragcode.server.hub import Hub
from ragcode.server.upload_jobs import IdleSignal, announce_state, leased, next_claimed
from ragcode.server.upload_summaries import UploadSummaries
from ragcode.store.protocol import StoreError
from ragcode.uploads.protocol import SUMMARIZING, Document, RegistryError, UploadRegistry

log = logging.getLogger(__name__)

POLL_S = 2.0  # with no wake-up (an upload indexed by another replica), look this often
RETRY_S = 10.0  # after the database failed under an upload


class SummaryStage:
    def __init__(
        self,
        app: App,
        registry: UploadRegistry,
        hub: Hub,
        name: str,
        reindex: Callable[[], None],
    ) -> None:
        self._app = app
        self._registry = registry
        self._hub = hub
        self._name = f"{name}:summaries"  # its own lease owner beside the ingest loop's
        self._lease_s = app.settings.server.upload_lease_s
        self._reindex = reindex
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._idle = IdleSignal(looked=False)
        self._halt: threading.Event | None = None  # the upload being followed: stop or lost
        self._halt_guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self._summaries = UploadSummaries(
            app.store, app.summaries, hub.publish_threadsafe,
            patience_s=2 * app.settings.worker.lease_s, stopping=self._stopping,
        )  # fmt: skip

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="summaries", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._thread is not None:
            self._stopping.set()
            with self._halt_guard:
                if self._halt is not None:
                    self._halt.set()
            self._wake.set()
            self._thread.join(timeout_s)
            self._thread = None

    def handed(self) -> None:
        """The ingest loop left an upload in `summarizing` (and gave its lease back)."""
        self._idle.announce()
        self._wake.set()

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Tests and benches: block until the thread found nothing to follow after the latest
        upload handed to it (and looked at least once since the process started)."""
        return self._idle.wait(timeout_s)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            doc = next_claimed(
                lambda: self._registry.claim_summarizing(self._name, self._lease_s),
                self._idle, self._wake, POLL_S, "summarizing upload",
            )  # fmt: skip
            if doc is None:
                continue
            try:
                self._follow(doc)
            except (StoreError, RegistryError) as exc:
                # Not the upload's fault: it stays `summarizing`, taken again later.
                log.warning("upload summaries postponed document=%s error=%s", doc.id, exc)
                self._stopping.wait(RETRY_S)
            except Exception as exc:
                # Searchable all the same: ready, with the reason its summaries stopped
                # (the units left pending are summarized by the next run or worker).
                log.exception("upload summaries failed document=%s", doc.id)
                error = f"요약을 마치지 못했습니다: {type(exc).__name__}"
                try:
                    if self._registry.exists(doc.id):
                        announce_state(self._registry, self._hub, doc, "ready", error=error)
                except Exception:  # the registry may be what failed
                    log.warning("upload state not saved document=%s", doc.id)

    def _follow(self, doc: Document) -> None:
        halt = threading.Event()
        with self._halt_guard:
            self._halt = halt
        if self._stopping.is_set():
            halt.set()
        try:
            with leased(self._registry, doc.id, self._name, self._lease_s, lost=halt):
                self._run(doc, halt)
        finally:
            with self._halt_guard:
                self._halt = None

    def _run(self, doc: Document, halt: threading.Event) -> None:
        current = self._registry.find(doc.id)
        if current is None or current.state != SUMMARIZING:
            return  # deleted, or settled by another process meanwhile
        if not self._app.store.file_hashes(str(current.path)):
            # Nothing of it in the index (its index was lost, or it was copied without it):
            # summaries need units, so it goes back to indexing.
            self._registry.update(doc.id, state="queued")
            self._reindex()
            return
        settings = self._app.settings
        if settings.index.summaries and settings.server.summarize:
            self._summaries.run(current, stop=halt)
        if halt.is_set():  # stopping, or the lease went to another process: it continues
            log.info("upload summaries left for later document=%s", doc.id)
            return
        if self._registry.exists(doc.id):
            announce_state(self._registry, self._hub, current, "ready")
