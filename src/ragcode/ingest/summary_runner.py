"""The slow phase: summarize pending units one by one, each saved as soon as it is written.

Search works before this runs (code, identifiers and docstrings are indexed at once); every
finished summary is committed immediately, so an interrupted run keeps what it did and the
next run picks up the rest. A failed unit stays searchable and is retried next time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ragcode.domain import SummaryState
from ragcode.embeddings.protocol import EmbeddingError
from ragcode.ingest.entries import EntryBuilder
from ragcode.ingest.progress import IndexProgress, SilentProgress, SummaryEvent
from ragcode.ingest.summarize import Summarizer
from ragcode.store.protocol import CodeStore, StoredUnitRef

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SummaryReport:
    written: int = 0
    from_cache: int = 0
    failed: int = 0


class SummaryRunner:
    def __init__(
        self,
        store: CodeStore,
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
        for done, ref in enumerate(todo, start=1):
            summary = self._summarize_one(ref, report)
            event = SummaryEvent(ref.unit, summary, done, len(todo), failed=summary is None)
            progress.summary_done(event)
        return report

    def _summarize_one(self, ref: StoredUnitRef, report: SummaryReport) -> str | None:
        cached = self._store.cached_summary(ref.unit.code_hash)
        model = "cache"
        try:
            if cached:
                summary = cached
                report.from_cache += 1
            else:
                summarizer = self._get_summarizer()
                model = summarizer.model_name
                summary = summarizer.summarize(ref.unit)
        except Exception as exc:  # any backend failure: keep the unit, retry next run
            log.warning(
                "summary failed name=%s path=%s error=%s", ref.unit.name, ref.unit.path, exc
            )
            self._mark_failed(ref, report)
            return None
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
        report.written += 0 if cached else 1
        return summary

    def _mark_failed(self, ref: StoredUnitRef, report: SummaryReport) -> None:
        report.failed += 1
        self._store.set_summary(
            ref.uid, summary=None, state=SummaryState.FAILED, tokens=[], vector=None, model=""
        )
