"""Run a blocking generator (LLM, search) on a worker thread and consume it asynchronously.

Cancelling the consumer stops the worker at the next item and closes the generator in the
worker thread, which closes the LLM stream under it (llama.cpp stops generating). A job still
queued for a thread (a busy `FairExecutor`) is cancelled before it starts.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import Executor
from typing import TypeVar

T = TypeVar("T")
_END = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


async def iterate_in_thread(
    factory: Callable[[], Iterator[T]], executor: Executor | None = None
) -> AsyncGenerator[T, None]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    stop = threading.Event()

    def post(item: object) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            stop.set()

    def work() -> None:
        generator: Iterator[T] | None = None
        try:
            if stop.is_set():  # the consumer left while the job waited for a thread
                return
            generator = factory()
            for item in generator:
                if stop.is_set():
                    break
                post(item)
        except BaseException as exc:  # handed to the consumer, raised there
            post(_Failure(exc))
        finally:
            close = getattr(generator, "close", None)
            if close is not None:
                close()
            post(_END)

    job = loop.run_in_executor(executor, work)
    # Cancelled before it ran (the executor shut down with it queued): nothing will post the
    # end, so post it here rather than leave the consumer waiting forever.
    job.add_done_callback(lambda done: queue.put_nowait(_END) if done.cancelled() else None)
    try:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        job.cancel()  # only takes effect while the job is still queued
