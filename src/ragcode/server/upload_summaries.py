"""The summary phase of one code upload, with its per-unit progress for the uploader.

The summary queue is shared: this process's runner claims what nobody holds (this upload's
units and any other pending ones), while `ragcode worker` processes and other replicas may
hold some of this upload's units. So the phase runs the local runner, then looks at the
upload's units in the store, forwards the ones others finished, and goes on until none is
pending. It gives up waiting (the upload is ready; summaries continue in the background)
when others hold units and nothing moves for `patience_s`, so a stalled worker elsewhere
never holds this process's summary thread. Each progress message carries the estimated time
left, from the rate this upload's units have settled at (or, before the first one, the
queue's recent throughput).

Counts are of all the upload's units, as the registry counts them (`units`, what indexing
wrote): a unit too trivial to summarize is settled from the start. Counting only the units
that need the LLM made the card say "/56" beside a sidebar saying "69 단위".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ragcode.chat.references import display_summary
from ragcode.domain import SummaryState
from ragcode.ingest.progress import SilentProgress, SummaryEvent
from ragcode.ingest.summary_runner import SummaryRunner
from ragcode.server.eta import RateMeter, remaining_s
from ragcode.server.protocol import Progress
from ragcode.store.protocol import CodeStore
from ragcode.uploads.protocol import Document

log = logging.getLogger(__name__)

_SETTLED = (SummaryState.DONE, SummaryState.TRIVIAL, SummaryState.FAILED)
CHECK_S = 1.0  # how often the store is looked at while others hold units


def unit_payload(event: SummaryEvent) -> dict[str, object]:
    unit = event.record
    return {
        "path": unit.path, "name": unit.title, "kind": str(unit.kind),
        "start_line": unit.start_line, "end_line": unit.end_line,
    }  # fmt: skip


class DocumentProgress(SilentProgress):
    """Forwards the summaries of one upload's units to its owner, each once, whoever wrote
    them (the runner reports all pending units, of every upload)."""

    def __init__(
        self,
        doc: Document,
        uids: set[str],
        publish: Callable[[Progress], None],
        queue_rate: float | None = None,
        trivial: int = 0,
    ) -> None:
        self._doc = doc
        self._uids = uids  # the units that need a summary
        self._trivial = trivial  # the units that need none: settled from the start
        self._publish = publish
        self._reported: set[str] = set()
        self._meter = RateMeter()
        self._queue_rate = queue_rate  # until this upload's own rate is measured

    @property
    def reported(self) -> int:
        return len(self._reported)

    def unreported(self, uids: set[str]) -> set[str]:
        return uids - self._reported

    def opened(self) -> None:
        self._publish(self._message(None))

    def summary_done(self, event: SummaryEvent) -> None:
        self._report(event, measured=True)

    def settled_before(self, event: SummaryEvent) -> None:
        """A unit settled before this phase began (a resumed upload): reported, but not
        counted in the rate, which would otherwise start with a burst."""
        self._report(event, measured=False)

    def _report(self, event: SummaryEvent, measured: bool) -> None:
        if event.uid not in self._uids or event.uid in self._reported:
            return
        self._reported.add(event.uid)
        if measured:
            self._meter.settled()
        self._publish(self._message(event))

    def _message(self, event: SummaryEvent | None) -> Progress:
        done = self._trivial + len(self._reported)
        total = self._trivial + len(self._uids)
        rate = self._meter.per_minute() or self._queue_rate
        return Progress(
            document_id=self._doc.id, done=done, total=total,
            unit=unit_payload(event) if event else None,
            summary=display_summary(event.summary) if event else None,
            remaining_s=remaining_s(total - done, rate),
        )  # fmt: skip


class UploadSummaries:
    def __init__(
        self,
        store: CodeStore,
        runner: SummaryRunner,
        publish: Callable[[int, Progress], None],
        *,
        patience_s: float,
        stopping: threading.Event,
    ) -> None:
        self._store = store
        self._runner = runner
        self._publish = publish
        self._patience_s = patience_s
        self._stopping = stopping

    def run(self, doc: Document, stop: threading.Event | None = None) -> None:
        """Until the upload's units are settled, `stop` (default: the server's) is set, or
        others hold its units without progress for `patience_s`."""
        stop = stop or self._stopping
        root = str(doc.path)
        states = self._store.summary_states(root)
        waiting = {uid for uid, state in states.items() if state is not SummaryState.TRIVIAL}
        progress = DocumentProgress(
            doc, waiting, lambda message: self._publish(doc.user_id, message), self._queue_rate(),
            trivial=len(states) - len(waiting),
        )  # fmt: skip
        progress.opened()
        self._catch_up(progress, {u for u in waiting if states[u] in _SETTLED}, measured=False)
        waiting = {uid for uid in waiting if states[uid] is SummaryState.PENDING}
        moved_at = time.monotonic()
        while waiting and not stop.is_set():
            before = progress.reported
            # At most about this upload's size per round, not the whole backlog; no retry of
            # every failed unit (that is for explicit runs); stops with the server.
            self._runner.run(
                progress, limit=len(waiting), explicit=False, stop=stop, first_root=root
            )
            states = self._store.summary_states(root)
            self._catch_up(progress, {u for u in waiting if states.get(u) in _SETTLED})
            waiting = {uid for uid in waiting if states.get(uid) is SummaryState.PENDING}
            if progress.reported > before:
                moved_at = time.monotonic()
            elif time.monotonic() - moved_at > self._patience_s:
                log.warning("upload summaries left to others document=%s units=%d", doc.id,
                            len(waiting))  # fmt: skip
                return
            if waiting:
                stop.wait(CHECK_S)

    def _queue_rate(self) -> float | None:
        """The whole queue's recent throughput (any upload, any worker), if there was any."""
        try:
            queue = self._store.queue_status()
        except Exception as exc:  # only an estimate: the summaries go on without it
            log.warning("summary queue status unavailable error=%s", exc)
            return None
        return queue.per_minute if queue.recent else None

    def _catch_up(
        self, progress: DocumentProgress, settled: set[str], measured: bool = True
    ) -> None:
        """Report the units another process summarized (the local runner never saw them)."""
        missing = progress.unreported(settled)
        if not missing:
            return
        for uid, stored in self._store.get_units(sorted(missing)).items():
            failed = stored.summary_state is SummaryState.FAILED
            event = SummaryEvent(stored.record, stored.summary, 0, 0, failed=failed, uid=uid)
            (progress.summary_done if measured else progress.settled_before)(event)
