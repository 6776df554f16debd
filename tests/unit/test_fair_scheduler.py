"""FairExecutor: the next free thread goes to the waiting user running fewest, not to FIFO."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future

import pytest

from ragcode.server.fair_executor import FairExecutor
from ragcode.server.threads import iterate_in_thread

pytestmark = pytest.mark.unit


@pytest.fixture
def pool() -> Iterator[Callable[[int], FairExecutor]]:
    made: list[FairExecutor] = []

    def make(workers: int) -> FairExecutor:
        made.append(FairExecutor(workers, name="test"))
        return made[-1]

    yield make
    for executor in made:
        executor.shutdown(wait=True, cancel_futures=True)


def blocker(executor: FairExecutor, key: str) -> tuple[threading.Event, Future[None]]:
    """A job of `key` that holds its thread until the event is set (started on return)."""
    started, release = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(10)

    future = executor.submit(key, hold)
    assert started.wait(5)
    return release, future


def test_a_light_users_job_overtakes_a_queue_of_another(pool) -> None:  # type: ignore[no-untyped-def]
    executor = pool(1)
    order: list[str] = []
    release, first = blocker(executor, "heavy")
    futures = [executor.submit("heavy", order.append, f"h{n}") for n in range(1, 6)]
    futures.append(executor.submit("light", order.append, "l1"))
    release.set()
    for future in [first, *futures]:
        future.result(5)
    assert order == ["l1", "h1", "h2", "h3", "h4", "h5"]  # FIFO would run l1 last


def test_users_take_turns(pool) -> None:  # type: ignore[no-untyped-def]
    executor = pool(1)
    order: list[str] = []
    release, first = blocker(executor, "x")
    futures = [
        executor.submit(user, order.append, f"{user}{n}") for user in "abc" for n in range(3)
    ]
    release.set()
    for future in [first, *futures]:
        future.result(5)
    assert order == ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]


def test_the_user_running_fewest_gets_the_free_thread(pool) -> None:  # type: ignore[no-untyped-def]
    executor = pool(2)
    release_a, first_a = blocker(executor, "heavy")
    release_b, first_b = blocker(executor, "heavy")
    order: list[str] = []
    queued = [executor.submit("heavy", order.append, f"h{n}") for n in range(3)]
    queued.append(executor.submit("light", order.append, "l0"))
    release_a.set()  # heavy still runs one job: the free thread goes to light
    first_a.result(5)
    deadline = time.monotonic() + 5
    while not order and time.monotonic() < deadline:
        time.sleep(0.01)
    assert order[0] == "l0"
    release_b.set()
    for future in [first_b, *queued]:
        future.result(5)
    assert order == ["l0", "h0", "h1", "h2"]


def test_never_more_jobs_at_once_than_workers(pool) -> None:  # type: ignore[no-untyped-def]
    executor = pool(3)
    lock = threading.Lock()
    running = [0, 0]  # now, most

    def job() -> None:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1

    futures = [executor.submit(f"u{n % 4}", job) for n in range(30)]
    for future in futures:
        future.result(10)
    assert running[1] == 3


def test_cancelled_queued_job_never_runs_and_errors_reach_the_caller(pool) -> None:  # type: ignore[no-untyped-def]
    executor = pool(1)
    ran: list[str] = []
    release, first = blocker(executor, "a")
    queued = executor.submit("a", ran.append, "cancelled")
    assert queued.cancel()

    def fail() -> None:
        raise ValueError("boom")

    failing = executor.submit("b", fail)
    release.set()
    first.result(5)
    with pytest.raises(ValueError, match="boom"):
        failing.result(5)
    assert ran == [] and queued.cancelled()


def test_shutdown_cancels_queued_jobs(pool) -> None:  # type: ignore[no-untyped-def]
    executor = pool(1)
    release, first = blocker(executor, "a")
    queued = executor.submit("a", lambda: None)
    executor.shutdown(wait=False, cancel_futures=True)
    release.set()
    first.result(5)
    with pytest.raises(CancelledError):
        queued.result(5)
    with pytest.raises(RuntimeError):
        executor.submit("a", lambda: None)


def test_a_consumer_that_leaves_while_queued_never_starts_its_generator(pool) -> None:  # type: ignore[no-untyped-def]
    executor = pool(1)
    release, first = blocker(executor, "other")
    started: list[int] = []

    def numbers() -> Iterator[int]:
        started.append(1)
        yield 1

    async def consume() -> None:
        events = iterate_in_thread(numbers, executor.for_key("me"))
        task = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await events.aclose()

    asyncio.run(consume())
    assert executor.queued("me") == 0  # cancelled before it reached a thread
    release.set()
    first.result(5)
    time.sleep(0.05)
    assert started == []


def test_jobs_submitted_together_run_on_separate_threads(pool) -> None:  # type: ignore[no-untyped-def]
    executor = pool(4)
    executor.submit("warm", lambda: None).result(5)  # one idle thread exists now
    barrier = threading.Barrier(4, timeout=5)
    futures = [executor.submit(f"u{n}", barrier.wait) for n in range(4)]
    for future in futures:
        future.result(5)  # a BrokenBarrierError if fewer than 4 ran at once


def test_a_consumer_whose_job_is_dropped_at_shutdown_does_not_wait_forever(pool) -> None:  # type: ignore[no-untyped-def]
    executor = pool(1)
    release, first = blocker(executor, "other")

    async def consume() -> list[int]:
        events = iterate_in_thread(lambda: iter([1, 2]), executor.for_key("me"))
        waiting = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(0.05)
        executor.shutdown(wait=False, cancel_futures=True)  # the server is stopping
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(waiting, 2)
        return []

    try:
        assert asyncio.run(consume()) == []
    finally:
        release.set()
        first.result(5)
