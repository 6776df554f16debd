"""The slow phase: summarize pending units, each saved as soon as it is written.

Search works before this runs (code, identifiers and docstrings are indexed at once); every
finished summary is committed immediately, so an interrupted run keeps what it did and the
next run picks up the rest. A failed unit stays searchable and is retried (store/claims.py).

Units come from the store's shared queue (summary_queue.py): any number of runners (`ragcode
index`, each web server's ingest thread, `ragcode worker` processes on other machines) claim
batches of units under a lease, so each unit is summarized by one of them, and the units of a
runner that dies are taken over once its lease runs out. A result whose lease was lost
meanwhile is refused by the store and counted as `lost`, never written over another's.

A remote LLM's calls run on as many threads as it can serve at once (`max_concurrency`: an
endpoint's bound, or the sum of them for a pool), while this thread alone embeds the finished
summaries and writes them; progress events arrive in completion order. The embedded llama.cpp
declares no concurrency and runs inline, one unit after the other, as it always did.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from ragcode.ingest.entries import EntryBuilder
from ragcode.ingest.progress import IndexProgress, SilentProgress
from ragcode.ingest.summarize import Summarizer
from ragcode.ingest.summary_pass import SummaryPass, SummaryReport
from ragcode.ingest.summary_queue import (
    ClaimFeed,
    ClaimPolicy,
    LeaseKeeper,
    WorkerIdentity,
    process_alive,
)
from ragcode.store.protocol import RecordRef, SummaryWork

log = logging.getLogger(__name__)

__all__ = [
    "ClaimPolicy",
    "SummarizerUnavailableError",
    "SummaryReport",
    "SummaryRunner",
    "summarizer_concurrency",
]


class SummarizerUnavailableError(RuntimeError):
    """The LLM cannot be built (a model that does not load): a worker stops, it does not
    mark the whole queue failed."""


def summarizer_concurrency(summarizer: Summarizer) -> int | None:
    """How many summaries to request at once: what the summarizer's LLM says it can serve.
    None for a backend that declares nothing (the in-process llama.cpp, which shares this
    CPU): its calls run inline, one after the other."""
    declared = summarizer.max_concurrency
    return None if declared is None else max(1, declared)


@dataclass(slots=True)
class _Totals:
    """Since this runner was made: what its heartbeat reports."""

    done: int = 0
    failed: int = 0


class SummaryRunner:
    def __init__(
        self,
        store: SummaryWork,
        builder: EntryBuilder,
        summarizer_factory: Callable[[], Summarizer],
        policy: ClaimPolicy | None = None,
    ) -> None:
        self._store = store
        self._builder = builder
        self._summarizer_factory = summarizer_factory
        self._summarizer: Summarizer | None = None
        self._building = threading.Lock()  # the indexer may ask for it from another thread
        self.policy = policy or ClaimPolicy()
        self.identity = WorkerIdentity.new()
        self._totals = _Totals()
        # One run at a time: two runs under one worker id would release each other's leases.
        self._running = threading.Lock()

    def for_queue(
        self, store: SummaryWork, builder: EntryBuilder, policy: ClaimPolicy
    ) -> SummaryRunner:
        """A runner of another collection or lease policy on the same LLM (`ragcode worker`)."""
        runner = SummaryRunner(store, builder, self._summarizer_factory, policy)
        runner._summarizer = self._summarizer
        return runner

    def _get_summarizer(self) -> Summarizer:
        """Built once (an LLM object: its model loads only when a unit reaches it)."""
        with self._building:
            if self._summarizer is None:
                self._summarizer = self._summarizer_factory()
            return self._summarizer

    def run(
        self,
        progress: IndexProgress | None = None,
        limit: int = 1_000_000,
        *,
        explicit: bool = True,
        stop: threading.Event | None = None,
        resident: bool = False,
        first_root: str | None = None,
    ) -> SummaryReport:
        """Summarize what the queue holds now (at most `limit` units), then return.

        `explicit`: someone asked for summaries now (`ragcode index`, an upload, `worker
        --retry-failed`): failed units are tried again at once whatever their attempts, and
        the units held by dead processes of this machine (a `kill -9`-ed index) are taken
        back at once instead of one lease later; a worker's own polling is not explicit.
        `stop`: once set, no new unit is started; the ones at the LLM are finished and
        written. `resident`: a long-lived worker, which stays registered between runs, stops
        after a streak of failures (a broken endpoint) and raises SummarizerUnavailableError
        rather than failing every unit when its model cannot be built. `first_root`: its
        units are claimed before any other (an upload whose owner is waiting)."""
        if limit <= 0:
            return SummaryReport()
        with self._running:
            return self._run(
                progress or SilentProgress(), limit, explicit, stop, resident, first_root
            )

    def _run(
        self,
        progress: IndexProgress,
        limit: int,
        explicit: bool,
        stop: threading.Event | None,
        resident: bool,
        first_root: str | None = None,
    ) -> SummaryReport:
        if explicit:
            self._store.retry_failed()
            self._reclaim_from_dead_neighbours()
        ready = self._store.queue_status().ready
        if ready == 0:
            return SummaryReport()
        summarizer = self._summarizer_or_error(resident)
        progress.summaries_started(min(limit, ready))
        keeper = LeaseKeeper(self._store, self.identity, self.policy.lease_s, self._counts)
        origin = summarizer.origin if isinstance(summarizer, Summarizer) else None
        state = SummaryPass(self._store, self._builder, keeper, self.identity.id, progress, origin)
        state.total = min(limit, ready)
        stop = stop or threading.Event()

        def stopping() -> bool:
            return stop.is_set() or (resident and state.failing())

        feed = ClaimFeed(
            self._store, keeper, self.identity.id, self.policy.lease_s, limit, stopping,
            first_root,
        )  # fmt: skip
        keeper.start()
        try:
            self._work(state, feed, summarizer)
        finally:
            keeper.stop()
            self._totals.done += state.report.written + state.report.from_cache
            self._totals.failed += state.report.failed
            state.report.claimed = feed.claimed
            # Claimed but never started (stopped, interrupted): free for the others at once.
            self._store.release_leases(self.identity.id)
            if resident:
                self.heartbeat()
            else:
                self._store.worker_stopped(self.identity.id)
        return state.report

    def _reclaim_from_dead_neighbours(self) -> None:
        """Workers listed as alive, on this host, whose process is gone: their leases are
        given back. (A worker elsewhere can only be judged by its lease running out.)"""
        me = self.identity
        for worker in self._store.queue_status().workers:
            if worker.host == me.host and worker.pid != me.pid and not process_alive(worker.pid):
                released = self._store.release_leases(worker.id)
                self._store.worker_stopped(worker.id)
                log.info("reclaimed units of a dead worker=%s units=%d", worker.id, released)

    def heartbeat(self) -> None:
        """A resident worker between runs: still alive, with its totals."""
        beat = self.identity.beat(self.policy.lease_s, *self._counts())
        self._store.worker_heartbeat(beat)

    def retire(self) -> None:
        """A worker's clean exit: nothing held, no longer listed as alive."""
        self._store.release_leases(self.identity.id)
        self._store.worker_stopped(self.identity.id)

    def _counts(self) -> tuple[int, int]:
        return self._totals.done, self._totals.failed

    def _summarizer_or_error(self, resident: bool) -> Summarizer | Exception:
        """The summarizer, or why it cannot be built (a model that does not load): a
        resident worker stops on it, any other run fails its units visibly."""
        try:
            return self._get_summarizer()
        except Exception as exc:
            if resident:
                raise SummarizerUnavailableError(str(exc)) from exc
            log.warning(
                "요약 모델을 준비할 수 없습니다 (%s): 이번에 가져온 단위는 실패로 남아 다음 "
                "실행에서 다시 시도되고, 어느 모델이 썼는지 보증할 수 없으므로 캐시된 요약도 "
                "재사용하지 않습니다",
                exc,
            )
            return exc

    def _work(
        self, state: SummaryPass, feed: ClaimFeed, summarizer: Summarizer | Exception
    ) -> None:
        first = state.next_leader(feed)
        if first is None:
            return
        if isinstance(summarizer, Exception):
            ref: RecordRef | None = first
            while ref is not None:  # every unit fails, visibly (retried by the next run)
                state.settle(ref, summarizer)
                ref = state.next_leader(feed)
            return
        workers = summarizer_concurrency(summarizer)
        feed.batch = self.policy.batch_for(workers)
        if workers is None:  # the embedded default: no threads, same behaviour as ever
            ref = first
            while ref is not None:
                state.settle(ref, self._attempt(summarizer, ref))
                ref = state.next_leader(feed)
            return
        self._run_parallel(state, feed, first, summarizer, workers)

    def _run_parallel(
        self,
        state: SummaryPass,
        feed: ClaimFeed,
        first: RecordRef,
        summarizer: Summarizer,
        workers: int,
    ) -> None:
        """A sliding window of 2 x workers requests, so no endpoint slot waits for this
        thread's embedding and store writes; an interrupt cancels what has not started."""
        log.info("summarizing workers=%d batch=%d", workers, feed.batch)
        in_flight: dict[Future[str | Exception], RecordRef] = {}
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="summary")
        # Set when this run ends abnormally (Ctrl+C, an error): what is at the LLM is given
        # up (its units stay pending) instead of holding the exit for a whole batch.
        halt = threading.Event()

        def fill(ref: RecordRef | None) -> None:
            while ref is not None:
                in_flight[executor.submit(self._attempt, summarizer, ref, halt)] = ref
                if len(in_flight) >= 2 * workers:
                    return
                ref = state.next_leader(feed)

        try:
            fill(first)
            while in_flight:
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    ref = in_flight.pop(future)
                    state.settle(ref, future.result())
                if feed.stopping():  # requests not sent yet stay unsent (leases given back)
                    for future in [f for f in in_flight if f.cancel()]:
                        state.abandon(in_flight.pop(future))
                elif len(in_flight) < 2 * workers:
                    fill(state.next_leader(feed))
        except BaseException:
            halt.set()
            raise
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _attempt(
        summarizer: Summarizer, ref: RecordRef, halt: threading.Event | None = None
    ) -> str | Exception:
        """The LLM call (runs on a worker thread): the summary, or the error it raised."""
        try:
            return summarizer.summarize(ref.record, halt)
        except Exception as exc:  # any backend failure: keep the unit, retry later
            return exc
