"""Worker threads shared fairly between users: the next free thread goes to the waiting user
who has the fewest jobs running (ties: the one served least recently), not to the oldest job.

A FIFO pool lets one account with many queued answers delay everyone else's first answer by
its whole queue; here another user's job waits for at most one thread to come free.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(slots=True, eq=False)
class _Job:
    future: Future[Any]
    call: Callable[[], Any]


class FairExecutor:
    def __init__(self, workers: int, name: str = "fair") -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self._workers = workers
        self._name = name
        self._cond = threading.Condition()
        self._queues: dict[Hashable, deque[_Job]] = {}  # only users with queued jobs
        self._running: dict[Hashable, int] = {}
        self._served: dict[Hashable, int] = {}  # when each user last got a thread
        self._turn = 0
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._shutdown = False

    def submit(
        self, key: Hashable, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> Future[T]:
        future: Future[T] = Future()
        job = _Job(future, lambda: fn(*args, **kwargs))
        with self._cond:
            if self._shutdown:
                raise RuntimeError("cannot submit after shutdown")
            self._queues.setdefault(key, deque()).append(job)
            # Idle threads may not have woken for earlier jobs yet: compare with all queued.
            queued = sum(len(queue) for queue in self._queues.values())
            if queued > self._idle and len(self._threads) < self._workers:
                self._start_thread()
            self._cond.notify()
        future.add_done_callback(lambda _: self._forget(key, job))
        return future

    def for_key(self, key: Hashable) -> Executor:
        """An `Executor` view whose jobs are queued as `key`'s (for `loop.run_in_executor`)."""
        return _KeyedExecutor(self, key)

    def queued(self, key: Hashable) -> int:
        with self._cond:
            return len(self._queues.get(key, ()))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._cond:
            self._shutdown = True
            queued = [job for queue in self._queues.values() for job in queue]
            if cancel_futures:
                self._queues.clear()
            self._cond.notify_all()
            threads = list(self._threads)
        if cancel_futures:
            for job in queued:
                job.future.cancel()
        if wait:
            for thread in threads:
                thread.join()

    def _start_thread(self) -> None:
        name = f"{self._name}_{len(self._threads)}"
        thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _pick(self) -> tuple[Hashable, _Job]:
        """Called with the lock held and at least one job queued."""
        key = min(self._queues, key=self._rank)
        queue = self._queues[key]
        job = queue.popleft()
        if not queue:
            del self._queues[key]
        self._running[key] = self._running.get(key, 0) + 1
        self._turn += 1
        self._served[key] = self._turn  # to the back of the rotation
        return key, job

    def _rank(self, key: Hashable) -> tuple[int, int]:
        # Fewest running first; among equals, whoever was served longest ago (new users: 0).
        return self._running.get(key, 0), self._served.get(key, 0)

    def _work(self) -> None:
        while True:
            with self._cond:
                self._idle += 1
                while not self._queues and not self._shutdown:
                    self._cond.wait()
                self._idle -= 1
                if not self._queues:  # shut down and nothing left to run
                    return
                key, job = self._pick()
            try:
                if job.future.set_running_or_notify_cancel():
                    try:
                        job.future.set_result(job.call())
                    except BaseException as exc:  # handed to whoever waits on the future
                        job.future.set_exception(exc)
            finally:
                with self._cond:
                    self._finished(key)

    def _forget(self, key: Hashable, job: _Job) -> None:
        """A job cancelled while queued leaves the queue now, so that an abandoned queue
        does not count as waiting work."""
        if not job.future.cancelled():
            return
        with self._cond:
            queue = self._queues.get(key)
            if queue is None or job not in queue:
                return
            queue.remove(job)
            if not queue:
                del self._queues[key]
                if key not in self._running:
                    self._served.pop(key, None)

    def _finished(self, key: Hashable) -> None:
        left = self._running.get(key, 1) - 1
        if left:
            self._running[key] = left
        else:
            self._running.pop(key, None)
            if key not in self._queues:
                self._served.pop(key, None)  # nothing left of this user: forget them


class _KeyedExecutor(Executor):
    def __init__(self, owner: FairExecutor, key: Hashable) -> None:
        self._owner = owner
        self._key = key

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        return self._owner.submit(self._key, fn, *args, **kwargs)
