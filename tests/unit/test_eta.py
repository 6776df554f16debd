"""The time summaries still take: the measured rate, the estimate, its Korean words, and the
line `ragcode status` prints for the queue (issue 13)."""

from __future__ import annotations

import pytest

from ragcode.cli_status import print_queue, queue_payload, queue_remaining_s
from ragcode.server.eta import RateMeter, remaining_s, remaining_text
from ragcode.store.protocol import QueueStatus

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_no_rate_before_anything_settled_then_the_rate_over_the_watched_time() -> None:
    clock = Clock()
    meter = RateMeter(window_s=600.0, clock=clock)
    assert meter.per_minute() is None
    clock.now += 30
    meter.settled()
    assert meter.per_minute() == pytest.approx(2.0)  # 1 unit in the 30 s watched so far
    clock.now += 30
    meter.settled(3)
    assert meter.per_minute() == pytest.approx(4.0)  # 4 units in one minute


def test_the_rate_falls_while_stalled_and_forgets_what_left_the_window() -> None:
    clock = Clock()
    meter = RateMeter(window_s=120.0, clock=clock)
    clock.now += 10
    meter.settled(5)
    clock.now += 50
    assert meter.per_minute() == pytest.approx(5.0)  # 5 units in the 60 s watched
    clock.now += 60  # nothing settles: the same 5 units over 120 s
    assert meter.per_minute() == pytest.approx(2.5)
    clock.now += 20  # they left the 120 s window: nothing measured any more
    assert meter.per_minute() is None


def test_remaining_seconds_edge_cases() -> None:
    assert remaining_s(0, None) == 0.0  # nothing pending: done, whatever the rate
    assert remaining_s(-1, 3.0) == 0.0
    assert remaining_s(5, None) is None  # no measured rate: no estimate
    assert remaining_s(5, 0.0) is None
    assert remaining_s(5, float("inf")) is None
    assert remaining_s(6, 2.0) == pytest.approx(180.0)
    assert remaining_s(69, 5.6) == pytest.approx(739.3, abs=0.1)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "남은 시간 측정 중"),
        (0.0, "남은 요약 없음"),
        (12.0, "남은 시간 1분 미만"),
        (60.0, "남은 시간 약 1분"),
        (150.0, "남은 시간 약 3분"),  # rounded up: an estimate, never too hopeful
        (3540.0, "남은 시간 약 59분"),
        (3600.0, "남은 시간 약 1시간"),
        (4801.0, "남은 시간 약 1시간 21분"),
        (47 * 3600.0, "남은 시간 약 47시간"),
        (60 * 3600.0, "남은 시간 약 3일"),  # 2.5 days rounds half up, as in the web client
    ],
)
def test_remaining_text(seconds: float | None, text: str) -> None:
    assert remaining_text(seconds) == text


def queue(pending: int, leased: int, recent: int, window_s: float = 600.0) -> QueueStatus:
    return QueueStatus(
        pending=pending, leased=leased, retrying=2, gave_up=1, ready=pending, workers=[],
        recent=recent, window_s=window_s,
    )  # fmt: skip


def test_status_estimates_the_queue_from_its_recent_throughput(
    capsys: pytest.CaptureFixture[str],
) -> None:
    busy = queue(pending=28, leased=2, recent=60)  # 6 per minute, 30 to go: 5 minutes
    assert queue_remaining_s(busy) == pytest.approx(300.0)
    assert queue_payload(busy)["remaining_s"] == 300
    print_queue(busy)
    assert "대기 중인 요약 30개: 남은 시간 약 5분 (최근 처리량 기준)" in capsys.readouterr().out


def test_status_says_it_is_measuring_without_throughput_and_nothing_when_empty(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cold = queue(pending=10, leased=0, recent=0)
    assert queue_remaining_s(cold) is None and queue_payload(cold)["remaining_s"] is None
    print_queue(cold)
    assert "대기 중인 요약 10개: 남은 시간 측정 중" in capsys.readouterr().out
    empty = queue(pending=0, leased=0, recent=12)  # failed units alone are not waited for
    assert queue_remaining_s(empty) == 0.0
    print_queue(empty)
    assert "남은 시간" not in capsys.readouterr().out
