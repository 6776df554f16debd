"""Chat modes (`conv_type`): each one a prompt module and a small generator of answer events.

Every mode yields `AnswerDelta`s (new text only) and ends with one `ModeResult`, which says
what the history may keep: for `pii` only the masked text, never the original question.
Modes other than `code`/`qa` answer within a budget of their own (`max_tokens(mode)`), say
when an answer stopped at it (`truncated`, from the backend's finish reason) and can continue
such an answer (`ModeRequest.continue_from`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Literal, get_args

from ragcode.chat.code_answer import AnswerDelta, AnswerRestart, CodeAnswer, CodeAssistant
from ragcode.chat.doc_answer import DocAnswer, DocumentAssistant
from ragcode.chat.language import Lang, question_language
from ragcode.chat.memory import MEMORY_MODES
from ragcode.chat.pii.rewrite import faithful_rewrite
from ragcode.chat.prompts import (
    continuation,
    extraction,
    grammar,
    normal,
    pii,
    sentiment,
    step_by_step,
    timestamp,
    translation,
)
from ragcode.chat.redact import mask_patterns
from ragcode.chat.references import code_reference
from ragcode.chat.timestamps import extract_timestamps
from ragcode.domain import TEAM_ONLY, ChatTurn
from ragcode.llm.protocol import LLM, ChatMessage, close_stream, continues_answers, finish_reason

log = logging.getLogger(__name__)

Mode = Literal[
    "normal", "translation", "grammar", "sentiment", "extraction", "pii", "step-by-step",
    "timestamp-extraction", "code", "qa",
]  # fmt: skip
MODES: tuple[str, ...] = get_args(Mode)
_PROMPTED: dict[str, ModuleType] = {
    "normal": normal, "translation": translation, "grammar": grammar, "sentiment": sentiment,
    "extraction": extraction, "step-by-step": step_by_step,
}  # fmt: skip
_WEEKDAYS_KO = "월화수목금토일"

QA_NOT_READY = "문서 Q&A가 아직 준비되지 않았습니다."
NO_CONTINUATION = "이 모드의 답은 이어 쓸 수 없습니다. 질문을 나누어 다시 보내 주세요."


class ModeUnavailableError(RuntimeError):
    """The mode cannot run on this installation; the message is for the user."""


@dataclass(frozen=True, slots=True)
class ModeRequest:
    question: str
    history: Sequence[ChatTurn] = ()  # the conversation's memory, oldest first (chat/memory.py)
    now: datetime = field(default_factory=datetime.now)  # the message's date (timestamps)
    # Whose code and documents `code`/`qa` may retrieve: the asking user's visible scopes.
    scopes: Sequence[str] = TEAM_ONLY
    # The answer so far of a turn of this mode that stopped at its budget: the model goes on
    # from its end (`question` is that turn's question).
    continue_from: str | None = None
    # `code`: the code language the user chose (chat/language.py; None: auto, issue 15.2).
    code_language: str | None = None


@dataclass(frozen=True, slots=True)
class ModeResult:
    answer: str
    references: list[dict[str, object]]
    stored_question: str  # what the history keeps of the question
    standalone_question: str | None = None
    truncated: bool = False  # the answer stopped at the mode's token budget


ModeEvent = AnswerDelta | ModeResult


def system_prompt(module: ModuleType, lang: Lang) -> str:
    return str(module.SYSTEM_KO if lang == "ko" else module.SYSTEM_EN)


class ChatModes:
    """Runs one request of a mode; `code`/`docs` build their assistants on demand."""

    def __init__(
        self,
        llm: Callable[[], LLM],
        code: Callable[[], CodeAssistant],
        docs: Callable[[], DocumentAssistant] | None,
        *,
        max_tokens: int,
        mode_max_tokens: Mapping[str, int] | None = None,
        temperature: float = 0.2,
        history_turns: int = 10,
    ) -> None:
        self._llm = llm
        self._code = code
        self._docs = docs
        self._max_tokens = max_tokens  # the ceiling of every mode's budget
        self._mode_max_tokens = dict(mode_max_tokens or {})
        self._temperature = temperature
        self._history_turns = history_turns

    def max_tokens(self, mode: str) -> int:
        """The mode's answer budget: its own, within the ceiling."""
        return min(self._mode_max_tokens.get(mode, self._max_tokens), self._max_tokens)

    def run(self, mode: str, request: ModeRequest) -> Iterator[ModeEvent]:
        if request.continue_from is not None and mode in ("code", "qa"):
            raise ModeUnavailableError(NO_CONTINUATION)
        if mode == "code":
            return self._code_answer(request)
        if mode == "qa":
            return self._doc_answer(request)
        if mode == "pii":
            return self._pii(request)
        if mode == "timestamp-extraction":
            return self._timestamps(request)
        if mode in _PROMPTED:
            return self._prompted(mode, request)
        raise ValueError(f"unknown mode: {mode}")

    def _generate(
        self, mode: str, messages: list[ChatMessage], parts: list[str]
    ) -> Generator[AnswerDelta, None, bool]:
        """Stream the model's answer within the mode's budget, collecting it in `parts`;
        True when the backend says it stopped at the budget (unknown: False)."""
        stream = iter(  # a generator stays itself: its return value is the finish reason
            self._llm().stream(
                messages, max_tokens=self.max_tokens(mode), temperature=self._temperature
            )
        )
        try:
            while True:
                try:
                    delta = next(stream)
                except StopIteration as end:
                    return finish_reason(end.value) == "length"
                parts.append(delta)
                yield AnswerDelta(delta)
        finally:
            close_stream(stream)  # a cancelled answer stops the model now

    def _continued(
        self, messages: list[ChatMessage], request: ModeRequest, lang: Lang, cut: str | None = None
    ) -> list[ChatMessage]:
        """The messages, followed (for a continuation) by the cut answer, which a backend that
        can continues where it ends; others are asked in words to go on from its end (small
        models then often start over). `cut`: the answer as the model may see it (pii)."""
        if request.continue_from is None:
            return messages
        answer = ChatMessage("assistant", request.continue_from if cut is None else cut)
        if continues_answers(self._llm()):
            return [*messages, answer]
        ask = continuation.CONTINUE_KO if lang == "ko" else continuation.CONTINUE_EN
        return [*messages, answer, ChatMessage("user", ask)]

    @staticmethod
    def _stored(request: ModeRequest, question: str) -> str:
        """What the history keeps as the question: a continuation says so."""
        return continuation.STORED_QUESTION if request.continue_from is not None else question

    def _prompted(self, mode: str, request: ModeRequest) -> Iterator[ModeEvent]:
        lang = question_language(request.question)
        messages = [ChatMessage("system", system_prompt(_PROMPTED[mode], lang))]
        if mode in MEMORY_MODES and request.continue_from is None:
            for turn in list(request.history)[-self._history_turns :]:
                messages += [ChatMessage("user", turn.question)]
                messages += [ChatMessage("assistant", turn.answer)]
        messages.append(ChatMessage("user", request.question))
        parts: list[str] = []
        cut = yield from self._generate(mode, self._continued(messages, request, lang), parts)
        stored = self._stored(request, request.question)
        yield ModeResult("".join(parts), [], stored, truncated=cut)

    def _pii(self, request: ModeRequest) -> Iterator[ModeEvent]:
        lang = question_language(request.question)
        premasked = mask_patterns(request.question, lang)
        messages = [
            ChatMessage("system", system_prompt(pii, lang)),
            ChatMessage("user", premasked),
        ]
        if request.continue_from is not None:
            earlier = mask_patterns(request.continue_from, lang)
            messages = self._continued(messages, request, lang, earlier)
        parts: list[str] = []
        cut = yield from self._generate("pii", messages, parts)
        text = "".join(parts)
        if request.continue_from is None:  # a continuation keeps its leading space
            # The small model often summarises, answers or loops instead of copying (37 of 71
            # sentences of eval/pii_ko_spans.jsonl): keep its text only when it is the given
            # one with more names or addresses masked, else the deterministic masking.
            written = mask_patterns(text.strip(), lang) or premasked
            masked = faithful_rewrite(premasked, written)
            cut = cut and masked == written  # the fallback is the whole text: nothing to continue
        else:
            masked = mask_patterns(text, lang)
        yield ModeResult(masked, [], self._stored(request, masked), truncated=cut)

    def _timestamps(self, request: ModeRequest) -> Iterator[ModeEvent]:
        lang = question_language(request.question)
        now = request.now
        weekday = _WEEKDAYS_KO[now.weekday()] + "요일" if lang == "ko" else now.strftime("%A")
        template = system_prompt(timestamp, lang)
        messages = [
            ChatMessage("system", template.format(today=now.date().isoformat(), weekday=weekday)),
            ChatMessage("user", request.question),
        ]
        parts: list[str] = []
        mode = "timestamp-extraction"
        cut = yield from self._generate(mode, self._continued(messages, request, lang), parts)
        # The normalized list goes with the first part of an answer only.
        first = request.continue_from is None
        found = extract_timestamps(request.question, now) if first else []
        if found:
            ko = lang == "ko"
            header = timestamp.NORMALIZED_HEADER_KO if ko else timestamp.NORMALIZED_HEADER_EN
            section = header + "".join(f"\n- {item.text} → {item.iso}" for item in found)
            parts.append(section)
            yield AnswerDelta(section)
        references: list[dict[str, object]] = [
            {"kind": "timestamp", "text": item.text, "iso": item.iso} for item in found
        ]
        stored = self._stored(request, request.question)
        yield ModeResult("".join(parts), references, stored, truncated=cut)

    def _code_answer(self, request: ModeRequest) -> Iterator[ModeEvent]:
        assistant = self._code()
        events = assistant.ask(
            request.question,
            request.history,
            scopes=request.scopes,
            code_language=request.code_language,
        )
        for event in events:
            if isinstance(event, AnswerDelta):
                yield event
            elif isinstance(event, AnswerRestart):
                yield AnswerDelta(event.notice)
            elif isinstance(event, CodeAnswer):
                yield ModeResult(
                    event.answer,
                    [code_reference(hit) for hit in event.references],
                    request.question,
                    standalone_question=event.rewritten_question,
                )

    def _doc_answer(self, request: ModeRequest) -> Iterator[ModeEvent]:
        if self._docs is None:
            raise ModeUnavailableError(QA_NOT_READY)
        docs = self._docs()
        for event in docs.ask(request.question, scopes=request.scopes, history=request.history):
            if isinstance(event, AnswerDelta):
                yield event
            elif isinstance(event, DocAnswer):
                references = event.as_dict()["references"]
                yield ModeResult(
                    event.answer,
                    list(references) if isinstance(references, list) else [],
                    request.question,
                    standalone_question=event.rewritten_question,
                )
