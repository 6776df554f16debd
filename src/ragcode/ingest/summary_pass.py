"""One run of the summary runner: what happens to each claimed unit between its claim and its
write. A summary cached for the same code, prompt version and model is written at once (under
the model that wrote it); units with the same code as one at the LLM wait for its summary
(one call per distinct code); every write goes through the unit's lease and ends with a
progress event."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ragcode.domain import SummaryState
from ragcode.embeddings.protocol import EmbeddingError
from ragcode.ingest.entries import EntryBuilder
from ragcode.ingest.progress import IndexProgress, SummaryEvent
from ragcode.ingest.summary_queue import ClaimFeed, LeaseKeeper
from ragcode.llm.protocol import LLMStopped
from ragcode.store.protocol import RecordRef, SummaryOrigin, SummaryWork

log = logging.getLogger(__name__)

# A resident worker whose LLM failed this many units in a row stops claiming and backs off
# (an endpoint that is down would otherwise use up every unit's attempts in minutes).
FAILURE_STREAK = 8


@dataclass(slots=True)
class SummaryReport:
    written: int = 0  # new summaries from the LLM
    from_cache: int = 0  # the same code was summarized before (same prompt and model)
    failed: int = 0
    lost: int = 0  # results refused: the unit's lease had passed to another worker
    claimed: int = 0  # units this run took from the queue


class SummaryPass:
    """`origin`: what this run's summaries are written with (the summarizer's prompt version
    and model), their key in the cache; None when the summarizer cannot be built: nothing is
    reused then, and every unit fails. An origin without a model name (an endpoint configured
    with model = ""): summaries are written, but none is looked up in the cache or kept there
    (what another such model wrote could not be told apart)."""

    def __init__(
        self,
        store: SummaryWork,
        builder: EntryBuilder,
        keeper: LeaseKeeper,
        worker: str,
        progress: IndexProgress,
        origin: SummaryOrigin | None,
    ) -> None:
        self.report = SummaryReport()
        self._origin = origin
        self._cache = origin if origin is not None and origin.model else None
        self.total = 0
        self._store = store
        self._builder = builder
        self._keeper = keeper
        self._worker = worker
        self._progress = progress
        self._done = 0
        self._streak = 0  # failures since the last success
        self._followers: dict[str, list[RecordRef]] = {}  # code hash at the LLM -> copies

    def failing(self) -> bool:
        return self._streak >= FAILURE_STREAK

    def next_leader(self, feed: ClaimFeed) -> RecordRef | None:
        """The next claimed unit that needs the LLM; the others are settled on the way."""
        while (ref := feed.next()) is not None:
            code_hash = ref.record.code_hash
            if self._keeper.is_lost(ref.uid):  # another worker has it now
                self._lost(ref)
                continue
            if code_hash in self._followers:  # the same code is at the LLM already
                self._followers[code_hash].append(ref)
                continue
            cached = self._cached(code_hash)
            if cached:
                self._write(ref, cached, from_cache=True)
                continue
            self._followers[code_hash] = []
            return ref
        return None

    def _cached(self, code_hash: str) -> str | None:
        cache = self._cache
        return None if cache is None else self._store.cached_summary(code_hash, cache)

    def settle(self, ref: RecordRef, result: str | Exception) -> None:
        """A leader's LLM result, written for it and for the copies of its code."""
        if isinstance(result, LLMStopped):  # shutdown or cancel: pending, not failed
            self.abandon(ref)
            return
        followers = self._followers.pop(ref.record.code_hash, [])
        if isinstance(result, Exception):
            log.warning(
                "summary failed name=%s path=%s error=%s", ref.record.title, ref.record.path, result
            )
            summary = None
        else:
            summary = result or None
        for unit_ref in [ref, *followers]:
            if summary is None:
                self._fail(unit_ref)
            else:
                self._write(unit_ref, summary, from_cache=unit_ref is not ref)

    def abandon(self, ref: RecordRef) -> None:
        """A leader never sent to the LLM (stopping): it and its copies stay pending, their
        leases given back by the run."""
        self._followers.pop(ref.record.code_hash, None)

    def _write(self, ref: RecordRef, summary: str, *, from_cache: bool) -> None:
        try:
            tokens, vector = self._builder.summary_fields(ref.record, summary)
        except EmbeddingError as exc:
            log.warning("summary embedding failed name=%s error=%s", ref.record.title, exc)
            self._fail(ref)
            return
        origin = self._origin
        written = self._store.set_summary(
            ref.uid, summary=summary, state=SummaryState.DONE, tokens=tokens, vector=vector,
            model=origin.model if origin else "",
            prompt=self._cache.prompt if self._cache else None,
            worker=self._worker,
        )  # fmt: skip
        self._keeper.settled(ref.uid)
        if not written:
            self._lost(ref)
            return
        if from_cache:
            self.report.from_cache += 1
        else:
            self.report.written += 1
        self._streak = 0
        self._finish(ref, summary, failed=False)

    def _fail(self, ref: RecordRef) -> None:
        written = self._store.set_summary(
            ref.uid, summary=None, state=SummaryState.FAILED, tokens=[], vector=None, model="",
            worker=self._worker,
        )  # fmt: skip
        self._keeper.settled(ref.uid)
        if not written:
            self._lost(ref)
            return
        self.report.failed += 1
        self._streak += 1
        self._finish(ref, None, failed=True)

    def _lost(self, ref: RecordRef) -> None:
        """The lease went to another worker (this one stalled past it), or the unit was
        re-indexed or removed meanwhile: its result is not ours to write."""
        log.warning("summary lease lost name=%s path=%s", ref.record.title, ref.record.path)
        self._keeper.settled(ref.uid)
        self.report.lost += 1
        self._finish(ref, None, failed=False)

    def _finish(self, ref: RecordRef, summary: str | None, *, failed: bool) -> None:
        self._done += 1
        self.total = max(self.total, self._done)
        event = SummaryEvent(
            ref.record, summary, self._done, self.total, failed=failed, uid=ref.uid
        )
        self._progress.summary_done(event)
