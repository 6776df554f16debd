"""One chat request: memory from the history, the mode on a worker thread, the turn saved.

Generation runs on the `FairExecutor` (threads handed out fairly per user); history reads and
writes run on their own small executor, so a finished answer is never saved behind a queue
of other users' generations.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from contextlib import aclosing

from pydantic import BaseModel

from ragcode.accounts.protocol import User
from ragcode.chat.code_answer import AnswerDelta
from ragcode.chat.modes import (
    MEMORY_MODES,
    ChatModes,
    ModeRequest,
    ModeResult,
    ModeUnavailableError,
)
from ragcode.domain import ChatTurn, visible_scopes
from ragcode.embeddings.protocol import EmbeddingError
from ragcode.history.protocol import HistoryStore, NewTurn
from ragcode.llm.protocol import LLMError
from ragcode.server.fair_executor import FairExecutor
from ragcode.server.protocol import Completed, Failed, Proceeding, Typing, failure
from ragcode.server.threads import iterate_in_thread
from ragcode.store.protocol import EmbedderMismatchError, StoreError

log = logging.getLogger(__name__)

Send = Callable[[BaseModel], Awaitable[None]]


class GenerationTimeoutError(Exception):
    """The mode produced nothing for the idle timeout (a hung model or endpoint)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no output for {seconds} s")
        self.seconds = seconds


class ChatService:
    def __init__(
        self,
        modes: ChatModes,
        history: HistoryStore,
        generation: FairExecutor,
        history_io: Executor,
        history_turns: int,
        idle_timeout_s: float = 300.0,
    ) -> None:
        self._modes = modes
        self._idle_timeout_s = idle_timeout_s
        self._history = history
        self._generation = generation
        self._history_io = history_io
        self._history_turns = history_turns

    async def _memory(self, user: User, mode: str) -> list[ChatTurn]:
        if mode not in MEMORY_MODES:
            return []
        loop = asyncio.get_running_loop()
        turns = await loop.run_in_executor(
            self._history_io, self._history.recent, user.id, [mode], self._history_turns
        )
        return [ChatTurn(t.question, t.answer, t.standalone_question) for t in turns]

    async def answer(self, user: User, request_id: str, mode: str, body: str, send: Send) -> None:
        """Stream one answer to `send`; errors become an `error` message, never a traceback."""
        await send(Typing(request_id=request_id))
        try:
            result = await self._generate(user, request_id, mode, body, send)
            if result is None:
                raise RuntimeError("the mode ended without a result")
            turn = NewTurn(
                user.id, request_id, mode, result.stored_question, result.answer,
                result.references, result.standalone_question,
            )  # fmt: skip
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._history_io, self._history.add, turn)
        except asyncio.CancelledError:
            log.info("chat cancelled user=%s request=%s", user.id, request_id)
            raise
        except Exception as exc:
            await send(self._failure(request_id, mode, exc))
            return
        await send(
            Completed(
                request_id=request_id, msg=result.answer, references=result.references, mode=mode
            )
        )

    async def _generate(
        self, user: User, request_id: str, mode: str, body: str, send: Send
    ) -> ModeResult | None:
        memory = await self._memory(user, mode)
        request = ModeRequest(body, memory, scopes=visible_scopes(user.id))
        result: ModeResult | None = None
        threads = self._generation.for_key(user.id)
        events = iterate_in_thread(lambda: self._modes.run(mode, request), threads)
        async with aclosing(events):
            while True:
                try:
                    # A hung model must not hold the request (and the user's in-flight slot)
                    # forever: cancelling the wait stops the worker at its next item and
                    # closes the model's stream there.
                    event = await asyncio.wait_for(anext(events), self._idle_timeout_s)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise GenerationTimeoutError(self._idle_timeout_s) from None
                if isinstance(event, AnswerDelta):
                    if event.text:
                        await send(Proceeding(request_id=request_id, delta=event.text))
                elif isinstance(event, ModeResult):
                    result = event
        return result

    @staticmethod
    def _failure(request_id: str, mode: str, exc: Exception) -> Failed:
        if isinstance(exc, GenerationTimeoutError):
            log.warning("generation timed out request=%s mode=%s", request_id, mode)
            return failure(request_id, "llm_timeout", seconds=f"{exc.seconds:g}")
        if isinstance(exc, ModeUnavailableError):
            return failure(request_id, "unavailable", reason=str(exc))
        if isinstance(exc, LLMError):
            log.warning("llm failed request=%s mode=%s error=%s", request_id, mode, exc)
            return failure(request_id, "llm_error")
        if isinstance(exc, EmbedderMismatchError):  # retrying cannot help: say what to do
            log.warning("index/model mismatch request=%s mode=%s error=%s", request_id, mode, exc)
            return failure(request_id, "index_mismatch", reason=str(exc))
        if isinstance(exc, (StoreError, EmbeddingError)):
            log.warning("search failed request=%s mode=%s error=%s", request_id, mode, exc)
            return failure(request_id, "search_error")
        log.exception("chat failed request=%s mode=%s", request_id, mode)
        return failure(request_id, "internal")
