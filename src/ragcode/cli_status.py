"""The summary queue part of `ragcode status`: the queue, live workers, throughput and the
time the pending summaries still take at that throughput."""

from __future__ import annotations

import time

from ragcode.server.eta import remaining_s, remaining_text
from ragcode.store.claims import MAX_ATTEMPTS
from ragcode.store.protocol import QueueStatus


def queue_remaining_s(queue: QueueStatus) -> float | None:
    """Seconds until the units waiting now (and those being summarized) are done at the
    recent throughput; None when nothing was summarized within the window (no rate yet).
    Failed units waiting for their retry are left out: they may fail again."""
    rate = queue.per_minute if queue.recent else None
    return remaining_s(queue.pending + queue.leased, rate)


def queue_payload(queue: QueueStatus) -> dict[str, object]:
    """The keys `status --json` adds beside its older ones."""
    return {
        "queue": {
            "pending": queue.pending, "leased": queue.leased, "failed": queue.failed,
            "retrying": queue.retrying, "gave_up": queue.gave_up, "ready": queue.ready,
        },
        "workers": [
            {
                "id": w.id, "host": w.host, "pid": w.pid, "started": w.started,
                "last_seen": w.last_seen, "done": w.done, "failed": w.failed,
            }
            for w in queue.workers
        ],
        "throughput": {
            "window_s": queue.window_s, "summaries": queue.recent,
            "per_minute": round(queue.per_minute, 2),
        },
        "remaining_s": None if (left := queue_remaining_s(queue)) is None else round(left),
    }  # fmt: skip


def print_queue(queue: QueueStatus) -> None:
    print(
        f"요약 대기열: 대기 {queue.pending}, 진행 중 {queue.leased}, 실패 {queue.failed} "
        f"(자동 재시도 예정 {queue.retrying}, {MAX_ATTEMPTS}번 실패해 멈춤 {queue.gave_up})"
    )
    if queue.gave_up:
        print(
            "  멈춘 단위는 다음 `ragcode index` 나 `ragcode worker --retry-failed` 때 "
            "다시 시도합니다."
        )
    minutes = queue.window_s / 60
    print(f"처리량: 최근 {minutes:g}분 동안 {queue.recent}개 (분당 {queue.per_minute:.1f}개)")
    if queue.pending + queue.leased:
        print(f"대기 중인 요약 {queue.pending + queue.leased}개: {_eta(queue)}")
    if not queue.workers:
        print("요약 중인 작업자: 없음")
        return
    print(f"요약 중인 작업자 {len(queue.workers)}명:")
    now = time.time()
    for worker in queue.workers:
        ago = max(0.0, now - worker.last_seen)
        print(
            f"  {worker.id}  완료 {worker.done}, 실패 {worker.failed}, 마지막 신호 {ago:.0f}초 전"
        )


def _eta(queue: QueueStatus) -> str:
    left = queue_remaining_s(queue)
    if left is None:
        return "남은 시간 측정 중 (최근 처리량이 아직 없음)"
    return f"{remaining_text(left)} (최근 처리량 기준)"
