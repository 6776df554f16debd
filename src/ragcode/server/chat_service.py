"""One chat request: its conversation (the user's own, or their most recent one), memory
from that conversation's history, the mode on a worker thread, the turn saved there.

Generation runs on the `FairExecutor` (threads handed out fairly per user); history reads and
writes run on their own small executor, so a finished answer is never saved behind a queue
of other users' generations.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from contextlib import aclosing
from dataclasses import dataclass
from functools import partial

from pydantic import BaseModel

from ragcode.accounts.protocol import User
from ragcode.chat.code_answer import AnswerDelta
from ragcode.chat.doc_answer import cited_sentences
from ragcode.chat.memory import MEMORY_MODES, memory_turns
from ragcode.chat.modes import (
    ChatModes,
    ModeRequest,
    ModeResult,
    ModeUnavailableError,
)
from ragcode.domain import ChatTurn, visible_scopes
from ragcode.embeddings.protocol import EmbeddingError
from ragcode.history.protocol import (
    Conversation,
    ConversationNotFoundError,
    HistoryConflictError,
    HistoryStore,
    NewTurn,
    StoredTurn,
)
from ragcode.llm.protocol import LLMError
from ragcode.server.fair_executor import FairExecutor
from ragcode.server.protocol import Completed, Failed, Proceeding, Typing, failure
from ragcode.server.resend import RequestLedger, answered
from ragcode.server.stopping import (
    Stopped,
    StopSignal,
    next_event,
    stopped_answer,
    stopped_question,
)
from ragcode.server.threads import iterate_in_thread
from ragcode.store.protocol import EmbedderMismatchError, StoreError

log = logging.getLogger(__name__)

Send = Callable[[BaseModel], Awaitable[None]]


class GenerationTimeoutError(Exception):
    """The mode produced nothing for the idle timeout (a hung model or endpoint)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no output for {seconds} s")
        self.seconds = seconds


@dataclass(slots=True)
class Generated:
    """How a mode's run ended: its result, or (stopped by the user) the text streamed."""

    result: ModeResult | None = None
    text: str = ""
    stopped: bool = False
    truncated: bool = False


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
        self._ledger = RequestLedger()

    async def answer_once(
        self, user: User, request_id: str, send: Send, answer: Callable[[], Awaitable[None]],
        *, resend: bool,
    ) -> None:  # fmt: skip
        """Run `answer` (`answer` with its arguments) unless the request was answered already:
        a copy sent again after a reconnect, or running here on another socket, replays the
        recorded turn instead of generating it twice (server/resend.py)."""
        async with self._ledger.hold(user.id, request_id) as again:
            turn = None
            if again or resend:
                loop = asyncio.get_running_loop()
                find = partial(answered, self._history, user.id, request_id)
                turn = await loop.run_in_executor(self._history_io, find)
            if turn is None:
                await answer()
                return
            log.info("request answered already, replayed user=%s request=%s", user.id, request_id)
            await send(
                Completed(
                    request_id=request_id, msg=turn.answer, references=turn.references,
                    mode=turn.mode, conversation_id=turn.conversation_id, turn_id=turn.id,
                    stopped=turn.stopped, sentences=turn.sentences,
                )
            )  # fmt: skip

    async def _conversation(self, user: User, conversation_id: int | None) -> Conversation:
        """The one asked for (ConversationNotFoundError unless it is the user's), or the
        user's most recent one (created for a new user): today's clients send no id."""
        loop = asyncio.get_running_loop()
        if conversation_id is None:
            return await loop.run_in_executor(
                self._history_io, self._history.default_conversation, user.id
            )
        found = await loop.run_in_executor(
            self._history_io, self._history.conversation, user.id, conversation_id
        )
        if found is None:
            raise ConversationNotFoundError(f"no conversation {conversation_id}")
        return found

    async def _memory(
        self, user: User, mode: str, conversation_id: int, *, replacing: int | None = None
    ) -> list[ChatTurn]:
        """The conversation's memory, shared by the memory modes (chat/memory.py); without
        the turn `replacing` when the answer replaces it (regenerate, edit and resend)."""
        if mode not in MEMORY_MODES:
            return []
        loop = asyncio.get_running_loop()
        extra = 1 if replacing is not None else 0
        turns = await loop.run_in_executor(
            self._history_io, self._history.recent, user.id, sorted(MEMORY_MODES),
            self._history_turns + extra, conversation_id,
        )  # fmt: skip
        turns = [turn for turn in turns if turn.id != replacing]
        return memory_turns(turns[-self._history_turns :] if self._history_turns else [])

    async def answer(
        self,
        user: User,
        request_id: str,
        mode: str,
        body: str,
        send: Send,
        conversation_id: int | None = None,
        *,
        continue_from: str | None = None,
        replace_turn_id: int | None = None,
        stop: StopSignal | None = None,
        code_language: str | None = None,
    ) -> None:
        """Stream one answer to `send`; errors become an `error` message, never a traceback.
        The turn goes to `conversation_id` (None: the user's most recent conversation), in
        place of the turn `replace_turn_id` (a `conflict` error unless that is still the
        conversation's last turn when the answer is saved). Once `stop` is called the model
        stops and the text so far is the answer, kept and sent marked stopped."""
        await send(Typing(request_id=request_id))
        try:
            conversation = await self._conversation(user, conversation_id)
            memory = await self._memory(user, mode, conversation.id, replacing=replace_turn_id)
            scopes = visible_scopes(user.id)
            ask = ModeRequest(
                body, memory, scopes=scopes, continue_from=continue_from,
                code_language=code_language,
            )  # fmt: skip
            out = await self._generate(user, request_id, mode, ask, send, stop)
            turn = self._turn(user, request_id, mode, ask, out, conversation.id)
            named = conversation_id is not None
            saved = await self._save(turn, named=named, replace=replace_turn_id)
        except asyncio.CancelledError:
            log.info("chat cancelled user=%s request=%s", user.id, request_id)
            raise
        except Exception as exc:
            await send(self._failure(request_id, mode, exc))
            return
        await send(
            Completed(
                request_id=request_id, msg=saved.answer, references=saved.references, mode=mode,
                conversation_id=saved.conversation_id, turn_id=saved.id, truncated=out.truncated,
                stopped=saved.stopped, sentences=saved.sentences,
            )
        )  # fmt: skip

    @staticmethod
    def _turn(
        user: User, request_id: str, mode: str, ask: ModeRequest, out: Generated, conversation: int
    ) -> NewTurn:
        result = out.result
        if result is not None:
            # A document answer's sentence -> [n] map is kept with it (a reload links them).
            cited = cited_sentences(result.answer) if mode == "qa" else []
            return NewTurn(
                user.id, request_id, mode, result.stored_question, result.answer,
                result.references, result.standalone_question, conversation,
                sentences=[sentence.as_dict() for sentence in cited],
            )  # fmt: skip
        if not out.stopped:
            raise RuntimeError("the mode ended without a result")
        log.info("chat stopped user=%s request=%s chars=%d", user.id, request_id, len(out.text))
        question = stopped_question(mode, ask.question, ask.continue_from)
        answer = stopped_answer(mode, out.text)
        return NewTurn(
            user.id, request_id, mode, question, answer, conversation_id=conversation,
            stopped=True,
        )  # fmt: skip

    async def _save(self, turn: NewTurn, *, named: bool, replace: int | None = None) -> StoredTurn:
        """Record the turn (in place of the turn `replace`, which must be its conversation's
        last: HistoryConflictError otherwise). Its
        conversation deleted while it was answered: an error when the request named it; else
        the answer goes to the user's most recent conversation (a new one when none is left)
        rather than being lost."""
        loop = asyncio.get_running_loop()
        write = self._history.add
        if replace is not None:
            write = partial(self._history.replace_last, expected_id=replace)
        try:
            return await loop.run_in_executor(self._history_io, write, turn)
        except ConversationNotFoundError:
            if named or replace is not None:  # the turn to replace went with it
                raise
        log.info("default conversation deleted mid-answer user=%s", turn.user_id)
        fallback = dataclasses.replace(turn, conversation_id=None)
        return await loop.run_in_executor(self._history_io, self._history.add, fallback)

    async def _generate(
        self,
        user: User,
        request_id: str,
        mode: str,
        request: ModeRequest,
        send: Send,
        stop: StopSignal | None = None,
    ) -> Generated:
        out = Generated()
        parts: list[str] = []
        threads = self._generation.for_key(user.id)
        events = iterate_in_thread(lambda: self._modes.run(mode, request), threads)
        async with aclosing(events):
            while True:
                try:
                    # A hung model must not hold the request (and the user's in-flight slot)
                    # forever, nor a stopped answer: cancelling the wait stops the worker at
                    # its next item and closes the model's stream there.
                    event = await next_event(events, stop, self._idle_timeout_s)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise GenerationTimeoutError(self._idle_timeout_s) from None
                if isinstance(event, Stopped):
                    out.stopped = True
                    break
                if isinstance(event, AnswerDelta):
                    if event.text:
                        parts.append(event.text)
                        await send(Proceeding(request_id=request_id, delta=event.text))
                elif isinstance(event, ModeResult):
                    out.result = event
                    out.truncated = event.truncated
        out.text = "".join(parts)
        return out

    @staticmethod
    def _failure(request_id: str, mode: str, exc: Exception) -> Failed:
        if isinstance(exc, GenerationTimeoutError):
            log.warning("generation timed out request=%s mode=%s", request_id, mode)
            return failure(request_id, "llm_timeout", seconds=f"{exc.seconds:g}")
        if isinstance(exc, HistoryConflictError):  # a turn was added since the client chose
            log.info("replace conflict request=%s error=%s", request_id, exc)
            return failure(request_id, "conflict")
        if isinstance(exc, ConversationNotFoundError):  # deleted, or never the user's
            return failure(request_id, "unknown_conversation")
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
