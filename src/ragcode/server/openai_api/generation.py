"""One answer of a chat mode for the API: generated on the fair worker threads (as the web
chat's are), streamed as server-sent events or collected whole, stopped when the client leaves.

A stream is sent by `SlotStream`, which closes its generator and gives the user's slot back on
the event loop however the response ends (finished, failed, client gone, cancelled); a whole
answer is raced against the client's disconnect here. Either way the cancellation reaches the
worker thread (`iterate_in_thread`), which closes the model's stream: no tokens for nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping
from concurrent.futures import Executor
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ragcode.chat.code_answer import AnswerDelta
from ragcode.chat.modes import ChatModes, ModeEvent, ModeRequest, ModeResult
from ragcode.server.chat_service import GenerationTimeoutError
from ragcode.server.openai_api.conversation import Conversation
from ragcode.server.openai_api.errors import generation_failed
from ragcode.server.openai_api.schema import (
    AnswerMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    Delta,
    FinishReason,
    Usage,
)
from ragcode.server.openai_api.sources import source_list
from ragcode.server.openai_api.usage import estimate_usage
from ragcode.server.threads import iterate_in_thread

log = logging.getLogger(__name__)
DONE = "data: [DONE]\n\n"


@dataclass(frozen=True, slots=True)
class Job:
    """What one request runs: a mode of `modes` on the user's share of the worker threads."""

    modes: ChatModes
    mode: str
    talk: Conversation
    scopes: tuple[str, ...]  # whose code and documents the mode may retrieve
    threads: Executor
    idle_timeout_s: float
    model: str  # the API model name the client asked for
    include_usage: bool = False  # a stream's usage chunk (`stream_options.include_usage`)
    code_language: str | None = None  # `ragcode-code`: the language chosen (None: auto)
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def request(self) -> ModeRequest:
        return ModeRequest(
            self.talk.question, self.talk.turns, scopes=self.scopes,
            code_language=self.code_language,
        )  # fmt: skip

    async def events(self) -> AsyncGenerator[ModeEvent, None]:
        request = self.request
        events = iterate_in_thread(lambda: self.modes.run(self.mode, request), self.threads)
        async with aclosing(events):
            while True:
                try:
                    # A hung model must not hold the request forever (the web chat's rule).
                    event = await asyncio.wait_for(anext(events), self.idle_timeout_s)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise GenerationTimeoutError(self.idle_timeout_s) from None
                yield event

    def usage(self, result: ModeResult) -> Usage:
        return estimate_usage(self.talk, result.references, result.answer)

    def chunk(
        self, delta: Delta | None, *, finished: FinishReason | None = None,
        references: list[dict[str, Any]] | None = None, usage: Usage | None = None,
    ) -> str:  # fmt: skip
        """One event: a delta (`finish_reason` null until `finished`), or the usage alone."""
        choices = [] if delta is None else [ChunkChoice(delta=delta, finish_reason=finished)]
        chunk = ChatCompletionChunk(
            id=self.id, created=self.created, model=self.model, choices=choices,
            usage=usage, ragcode_references=references,
        )  # fmt: skip
        # `usage` is a field of every chunk only when the client asked for it (as OpenAI's).
        excluded = None if self.include_usage else {"usage"}
        return f"data: {chunk.model_dump_json(exclude=excluded)}\n\n"


def finish_reason(result: ModeResult) -> FinishReason:
    return "length" if result.truncated else "stop"


async def stream(job: Job) -> AsyncGenerator[str, None]:
    """Server-sent events: a role chunk, text chunks, the source list, the chunk that finishes
    with `ragcode_references`, the usage chunk when asked for, then `[DONE]`; a failure after
    the start is an `error` event. Sent by `SlotStream`, which closes it however it ends."""
    yield job.chunk(Delta(role="assistant", content=""))
    result: ModeResult | None = None
    try:
        async with aclosing(job.events()) as events:  # closed at once if we are closed
            async for event in events:
                if isinstance(event, AnswerDelta) and event.text:
                    yield job.chunk(Delta(content=event.text))
                elif isinstance(event, ModeResult):
                    result = event
        if result is None:
            raise RuntimeError("the mode ended without a result")
    except Exception as exc:
        yield f"data: {generation_failed(exc).body().model_dump_json()}\n\n"
        return
    sources = source_list(job.mode, result.references)
    if sources:
        yield job.chunk(Delta(content=sources))
    yield job.chunk(Delta(), finished=finish_reason(result), references=result.references)
    if job.include_usage:
        yield job.chunk(None, usage=job.usage(result))
    yield DONE


class SlotStream(StreamingResponse):
    """A stream holding one of the user's requests in flight: when the response ends, however
    it ends, its generator is closed (the model stops) and the slot is given back, once, here
    on the event loop (the `Hub` counts are loop-only). Starlette's own ways do not cover
    every end: a generator cancelled before its first step never runs its `finally`, and a
    background task is skipped when the client disconnects (ASGI 2.4) and runs on a thread."""

    def __init__(
        self, content: AsyncGenerator[str, None], release: Callable[[], None], *,
        headers: Mapping[str, str] | None = None, media_type: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(content, headers=headers, media_type=media_type)
        self._events = content
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            try:
                # Shielded: a cancelled request (server shutdown) still closes the generator.
                with anyio.CancelScope(shield=True):
                    await self._events.aclose()
            finally:
                self._release()


async def complete(job: Job, request: Request) -> ChatCompletion | None:
    """The whole answer; None when the client left first (its generation is stopped)."""
    work = asyncio.ensure_future(_result(job))
    gone = asyncio.ensure_future(_client_gone(request))
    try:
        await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (work, gone):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gone
    if work.cancelled() or not work.done():
        with contextlib.suppress(asyncio.CancelledError):
            await work
        log.info("api client left, answer stopped id=%s", job.id)
        return None
    result = work.result()  # raises the mode's failure
    text = result.answer + source_list(job.mode, result.references)
    return ChatCompletion(
        id=job.id, created=job.created, model=job.model,
        choices=[Choice(message=AnswerMessage(content=text), finish_reason=finish_reason(result))],
        usage=job.usage(result), ragcode_references=result.references,
    )  # fmt: skip


async def _result(job: Job) -> ModeResult:
    result: ModeResult | None = None
    async with aclosing(job.events()) as events:
        async for event in events:
            if isinstance(event, ModeResult):
                result = event
    if result is None:
        raise RuntimeError("the mode ended without a result")
    return result


async def _client_gone(request: Request) -> None:
    """Returns when the client disconnects (the body has been read: nothing else arrives)."""
    while (await request.receive())["type"] != "http.disconnect":
        await asyncio.sleep(0.05)  # never a busy loop, whatever a middleware replays
