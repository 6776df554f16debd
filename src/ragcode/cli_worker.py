"""`ragcode worker`: summarize units from the shared queue until stopped.

Any number of workers, on any machine that reaches the store (`[store] url`) and an LLM
(`[llm]`), take units a batch at a time under a lease (src/ragcode/ingest/summary_queue.py).
SIGTERM or Ctrl+C: no new unit is started, the ones at the LLM are finished and written, the
rest is given back, exit 0; a second signal abandons the units at the LLM too (their leases
are given back all the same). An idle worker looks at the queue again with a growing pause.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TextIO

from ragcode.app import build_app, build_store
from ragcode.config import Settings, load_settings
from ragcode.ingest.entries import EntryBuilder
from ragcode.ingest.progress import SilentProgress, SummaryEvent
from ragcode.ingest.summary_runner import (
    ClaimPolicy,
    SummarizerUnavailableError,
    SummaryReport,
    SummaryRunner,
)
from ragcode.store.protocol import CodeStore, StoreError

DEFAULT_COLLECTION = "code"
LOG_EVERY_S = 10.0


class WorkerLog(SilentProgress):
    """A line now and then (a worker runs for days), not a bar."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._out = stream or sys.stderr
        self._started = time.monotonic()
        self._last = 0.0
        self.done = 0
        self.failed = 0

    def summary_done(self, event: SummaryEvent) -> None:
        self.done += 1 if event.summary else 0
        self.failed += 1 if event.failed else 0
        now = time.monotonic()
        if now - self._last >= LOG_EVERY_S:
            self._last = now
            self.line(f"마지막: {event.record.path} {event.record.title}")

    def line(self, detail: str = "") -> None:
        minutes = max(time.monotonic() - self._started, 1e-9) / 60
        self._out.write(
            f"요약 {self.done}개 완료, 실패 {self.failed}개 ({self.done / minutes:.1f}/분)"
            f"{'  ' + detail if detail else ''}\n"
        )
        self._out.flush()


class Backoff:
    """Pauses of an idle worker: idle_min_s, doubling up to idle_max_s; reset by work."""

    def __init__(self, first_s: float, max_s: float) -> None:
        self._first = first_s
        self._max = max(max_s, first_s)
        self._next = first_s

    def next(self) -> float:
        pause, self._next = self._next, min(self._next * 2, self._max)
        return pause

    def reset(self) -> None:
        self._next = self._first


class StopSignals:
    """First SIGTERM/SIGINT: finish the units at the LLM, then exit. Second: abandon them."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        print("\n종료합니다: 지금 요약 중인 단위를 마치고 나머지는 돌려줍니다 "
              "(한 번 더 누르면 바로 끝냅니다).", file=sys.stderr)  # fmt: skip


def policy_of(settings: Settings, args: argparse.Namespace) -> ClaimPolicy:
    lease = args.lease_seconds if args.lease_seconds is not None else settings.worker.lease_s
    batch = args.batch if args.batch is not None else settings.worker.batch
    return ClaimPolicy(lease_s=lease, batch=batch)


def drained(store: CodeStore) -> bool:
    """`--once`: nothing claimable and nothing leased by anybody (a dead worker's units come
    back when its lease runs out, so a lease still counts as work left)."""
    queue = store.queue_status()
    return queue.ready == 0 and queue.leased == 0


def work(
    runner: SummaryRunner,
    store: CodeStore,
    settings: Settings,
    args: argparse.Namespace,
    stop: threading.Event,
    log: WorkerLog,
) -> None:
    # Pauses stay under a lease, so an idle worker's heartbeat keeps it listed as alive.
    idle = Backoff(
        settings.worker.idle_min_s, min(settings.worker.idle_max_s, runner.policy.lease_s)
    )
    explicit = bool(args.retry_failed)
    while not stop.is_set():
        try:
            report = runner.run(log, explicit=explicit, stop=stop, resident=True)
            explicit = False
            if _made_progress(report):
                idle.reset()
                continue
            if args.once and drained(store):
                return
        except StoreError as exc:  # the database is away: its units' leases run out meanwhile
            print(f"색인 저장소 오류, 잠시 뒤 다시 시도합니다: {exc}", file=sys.stderr)
        # An empty queue, an LLM that fails everything or an unreachable database: wait.
        if stop.wait(idle.next()):
            return
        with contextlib.suppress(StoreError):
            runner.heartbeat()


def _made_progress(report: SummaryReport) -> bool:
    """Anything written (here or, for a lost unit, by another worker); a run of failures only
    is no progress: the worker pauses like an idle one before it claims again."""
    return report.written + report.from_cache + report.lost > 0


def cmd_worker(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    app = build_app(settings)
    own_store = args.collection != DEFAULT_COLLECTION  # the app opens the code collection
    store = build_store(settings, args.collection) if own_store else app.store
    builder = EntryBuilder(app.analyzer, app.embedder, collection=args.collection)
    runner = app.summaries.for_queue(store, builder, policy_of(settings, args))
    signals = StopSignals()
    signals.install()
    log = WorkerLog()
    print(
        f"작업자 {runner.identity.id} 시작: 컬렉션 '{args.collection}', "
        f"임대 {runner.policy.lease_s:g}초",
        file=sys.stderr,
    )
    try:
        work(runner, store, settings, args, signals.event, log)
    except SummarizerUnavailableError as exc:
        print(f"오류: 요약 모델을 준비할 수 없습니다: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("바로 끝냅니다: 요약 중이던 단위는 다른 작업자가 이어서 합니다.", file=sys.stderr)
    finally:
        with contextlib.suppress(StoreError):  # unreachable database: the leases run out
            runner.retire()
        if own_store:
            store.close()
        app.close()
    log.line("작업자 종료")
    return 0


def _at_least(minimum: float, kind: type[int] | type[float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"숫자가 아닙니다: {text}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{minimum:g} 이상이어야 합니다: {text}")
        return value

    return parse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = sub.add_parser(
        "worker", help="공유 대기열의 단위를 요약합니다 (여러 프로세스, 여러 머신에서 함께)"
    )
    worker.add_argument("--data-dir", type=Path, default=None, help="데이터 디렉터리")
    worker.add_argument("--collection", default=DEFAULT_COLLECTION, help="요약할 컬렉션")
    worker.add_argument(
        "--batch", type=_at_least(1, int), default=None, help="한 번에 가져올 단위 수"
    )
    worker.add_argument(
        "--lease-seconds",
        type=_at_least(1, float),
        default=None,
        help="가져간 단위를 맡아 두는 시간 (초, 1 이상)",
    )
    worker.add_argument(
        "--once", action="store_true", help="대기열이 비면 끝냅니다 (스크립트, 테스트용)"
    )
    worker.add_argument(
        "--retry-failed",
        action="store_true",
        help="시작할 때 실패한 단위와, 이 머신에서 죽은 프로세스가 맡아 둔 단위를 바로 다시 시도",
    )
    worker.set_defaults(handler=cmd_worker)
