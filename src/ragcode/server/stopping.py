"""Stopping an answer mid-stream (the web's stop button, a `stop` frame): the mode's next
event or the user's stop, whichever comes first, and what the history keeps of the answer.

A stop cancels the wait for the next event; that closes the worker's generator at its next
item (server/threads.py), which closes the model's stream: the embedded model and the batch
engine stop decoding, a remote endpoint's connection is closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from ragcode.chat.language import question_language
from ragcode.chat.prompts import continuation
from ragcode.chat.redact import mask_patterns

T = TypeVar("T")


class Stopped:
    """What `next_event` returns when the user stopped the answer first."""


STOPPED = Stopped()


class StopSignal:
    """One answer's stop: `stop()` (the `stop` frame) cancels the wait for its next event."""

    def __init__(self) -> None:
        self.stopped = False
        self._step: asyncio.Future[Any] | None = None

    def stop(self) -> None:
        self.stopped = True
        if self._step is not None:
            self._step.cancel()


async def next_event(
    events: AsyncIterator[T], stop: StopSignal | None, timeout_s: float
) -> T | Stopped:
    """The next event (StopAsyncIteration at the end), STOPPED once `stop` was called, and
    TimeoutError after `timeout_s` without either."""
    if stop is None:
        return await asyncio.wait_for(anext(events), timeout_s)
    if stop.stopped:
        return STOPPED
    # `wait_for` on one task, as without a stop: a stop cancels that task, which ends the
    # generator's wait; a cancellation of the whole answer (the socket closed) propagates.
    step: asyncio.Future[T] = asyncio.ensure_future(anext(events))
    stop._step = step
    try:
        return await asyncio.wait_for(step, timeout_s)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if stop.stopped and (task is None or task.cancelling() == 0):
            return STOPPED
        raise
    finally:
        stop._step = None


def stopped_question(mode: str, question: str, continue_from: str | None) -> str:
    """What the history keeps as a stopped turn's question, as the mode would have: a
    continuation says so; pii mode never keeps the unmasked text."""
    if continue_from is not None:
        return continuation.STORED_QUESTION
    if mode == "pii":
        return mask_patterns(question, question_language(question))
    return question


def stopped_answer(mode: str, text: str) -> str:
    """What the history keeps of the text streamed before the stop (pii: masked again, as the
    mode masks its whole answer)."""
    if mode == "pii":
        return mask_patterns(text, question_language(text))
    return text
