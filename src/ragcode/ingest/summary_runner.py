"""The slow phase: summarize pending units, each saved as soon as it is written.

Search works before this runs (code, identifiers and docstrings are indexed at once); every
finished summary is committed immediately, so an interrupted run keeps what it did and the
next run picks up the rest. A failed unit stays searchable and is retried next time.

A remote LLM's calls run on as many threads as it can serve at once (`max_concurrency`: an
endpoint's bound, or the sum of them for a pool), while this thread alone embeds the finished
summaries and writes them; progress events arrive in completion order. The embedded llama.cpp
declares no concurrency and runs inline, one unit after the other, as it always did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from ragcode.domain import SummaryState
from ragcode.embeddings.protocol import EmbeddingError
from ragcode.ingest.entries import EntryBuilder
from ragcode.ingest.progress import IndexProgress, SilentProgress, SummaryEvent
from ragcode.ingest.summarize import Summarizer
from ragcode.store.protocol import StoredUnitRef, SummaryQueue

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SummaryReport:
    written: int = 0
    from_cache: int = 0
    failed: int = 0


def summarizer_concurrency(summarizer: Summarizer) -> int | None:
    """How many summaries to request at once: what the summarizer's LLM says it can serve.
    None for a backend that declares nothing (the in-process llama.cpp, which shares this
    CPU): its calls run inline, one after the other."""
    declared = summarizer.max_concurrency
    return None if declared is None else max(1, declared)


class SummaryRunner:
    def __init__(
        self,
        store: SummaryQueue,
        builder: EntryBuilder,
        summarizer_factory: Callable[[], Summarizer],
    ) -> None:
        self._store = store
        self._builder = builder
        self._summarizer_factory = summarizer_factory
        self._summarizer: Summarizer | None = None

    def _get_summarizer(self) -> Summarizer:
        if self._summarizer is None:  # the model loads only when there is work for it
            self._summarizer = self._summarizer_factory()
        return self._summarizer

    def run(self, progress: IndexProgress | None = None, limit: int = 1_000_000) -> SummaryReport:
        progress = progress or SilentProgress()
        todo = self._store.units_needing_summary(include_failed=True, limit=limit)
        progress.summaries_started(len(todo))
        report = SummaryReport()
        done = 0

        def finish(ref: StoredUnitRef, summary: str | None) -> None:
            nonlocal done
            done += 1
            event = SummaryEvent(ref.unit, summary, done, len(todo), failed=summary is None)
            progress.summary_done(event)

        # One LLM call per distinct code; units with the same code share its summary.
        leaders: dict[str, StoredUnitRef] = {}
        followers: dict[str, list[StoredUnitRef]] = {}
        for ref in todo:
            code_hash = ref.unit.code_hash
            cached = self._store.cached_summary(code_hash)
            if cached:
                report.from_cache += 1
                finish(ref, self._save(ref, cached, "cache", report))
            elif code_hash in leaders:
                followers.setdefault(code_hash, []).append(ref)
            else:
                leaders[code_hash] = ref

        def settle(ref: StoredUnitRef, summary: str | None) -> None:
            finish(ref, summary)
            for follower in followers.pop(ref.unit.code_hash, []):
                if summary is None:
                    self._mark_failed(follower, report)
                    finish(follower, None)
                else:
                    report.from_cache += 1
                    finish(follower, self._save(follower, summary, "cache", report))

        if leaders:
            self._summarize_all(list(leaders.values()), report, settle)
        return report

    def _summarize_all(
        self,
        refs: list[StoredUnitRef],
        report: SummaryReport,
        finish: Callable[[StoredUnitRef, str | None], None],
    ) -> None:
        try:
            summarizer = self._get_summarizer()
        except Exception as exc:  # the model cannot load: every unit fails, visibly
            log.warning("summarizer unavailable units=%d error=%s", len(refs), exc)
            for ref in refs:
                self._mark_failed(ref, report)
                finish(ref, None)
            return
        workers = summarizer_concurrency(summarizer)
        if workers is None:  # the embedded default: no threads, same behaviour as ever
            for ref in refs:
                finish(ref, self._complete(ref, summarizer, self._attempt(summarizer, ref), report))
            return
        self._run_parallel(refs, summarizer, workers, report, finish)

    def _run_parallel(
        self,
        refs: list[StoredUnitRef],
        summarizer: Summarizer,
        workers: int,
        report: SummaryReport,
        finish: Callable[[StoredUnitRef, str | None], None],
    ) -> None:
        """A sliding window of 2 x workers requests, so no endpoint slot waits for this
        thread's embedding and store writes; an interrupt cancels what has not started."""
        log.info("summarizing units=%d workers=%d", len(refs), workers)
        queue = iter(refs)
        in_flight: dict[Future[str | Exception], StoredUnitRef] = {}
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="summary")

        def submit(ref: StoredUnitRef) -> None:
            in_flight[executor.submit(self._attempt, summarizer, ref)] = ref

        try:
            for ref in queue:
                submit(ref)
                if len(in_flight) >= 2 * workers:
                    break
            while in_flight:
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    ref = in_flight.pop(future)
                    finish(ref, self._complete(ref, summarizer, future.result(), report))
                    following = next(queue, None)
                    if following is not None:
                        submit(following)
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _attempt(summarizer: Summarizer, ref: StoredUnitRef) -> str | Exception:
        """The LLM call (runs on a worker thread): the summary, or the error it raised."""
        try:
            return summarizer.summarize(ref.unit)
        except Exception as exc:  # any backend failure: keep the unit, retry next run
            return exc

    def _complete(
        self,
        ref: StoredUnitRef,
        summarizer: Summarizer,
        result: str | Exception,
        report: SummaryReport,
    ) -> str | None:
        if isinstance(result, Exception):
            log.warning(
                "summary failed name=%s path=%s error=%s", ref.unit.name, ref.unit.path, result
            )
            self._mark_failed(ref, report)
            return None
        saved = self._save(ref, result, summarizer.model_name, report)
        if saved is not None:
            report.written += 1
        return saved

    def _save(
        self, ref: StoredUnitRef, summary: str, model: str, report: SummaryReport
    ) -> str | None:
        if not summary:
            self._mark_failed(ref, report)
            return None
        try:
            tokens, vector = self._builder.summary_fields(ref.unit, summary)
        except EmbeddingError as exc:
            log.warning("summary embedding failed name=%s error=%s", ref.unit.name, exc)
            self._mark_failed(ref, report)
            return None
        self._store.set_summary(
            ref.uid, summary=summary, state=SummaryState.DONE, tokens=tokens, vector=vector,
            model=model,
        )  # fmt: skip
        return summary

    def _mark_failed(self, ref: StoredUnitRef, report: SummaryReport) -> None:
        report.failed += 1
        self._store.set_summary(
            ref.uid, summary=None, state=SummaryState.FAILED, tokens=[], vector=None, model=""
        )
