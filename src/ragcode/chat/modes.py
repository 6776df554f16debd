"""Chat modes (`conv_type`): each one a prompt module and a small generator of answer events.

Every mode yields `AnswerDelta`s (new text only) and ends with one `ModeResult`, which says
what the history may keep: for `pii` only the masked text, never the original question.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Literal, get_args

from ragcode.chat.code_answer import AnswerDelta, AnswerRestart, CodeAnswer, CodeAssistant
from ragcode.chat.doc_answer import DocAnswer, DocumentAssistant
from ragcode.chat.language import Lang, question_language
from ragcode.chat.prompts import (
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
from ragcode.chat.timestamps import extract_timestamps
from ragcode.domain import TEAM_ONLY, ChatTurn
from ragcode.llm.protocol import LLM, ChatMessage

log = logging.getLogger(__name__)

Mode = Literal[
    "normal", "translation", "grammar", "sentiment", "extraction", "pii", "step-by-step",
    "timestamp-extraction", "code", "qa",
]  # fmt: skip
MODES: tuple[str, ...] = get_args(Mode)
# Modes whose conversation memory is rebuilt from the history (the last turns of that mode).
MEMORY_MODES: frozenset[str] = frozenset({"normal", "code"})
_PROMPTED: dict[str, ModuleType] = {
    "normal": normal, "translation": translation, "grammar": grammar, "sentiment": sentiment,
    "extraction": extraction, "step-by-step": step_by_step,
}  # fmt: skip
_WEEKDAYS_KO = "월화수목금토일"

QA_NOT_READY = "문서 Q&A가 아직 준비되지 않았습니다."


class ModeUnavailableError(RuntimeError):
    """The mode cannot run on this installation; the message is for the user."""


@dataclass(frozen=True, slots=True)
class ModeRequest:
    question: str
    history: Sequence[ChatTurn] = ()  # earlier turns of this mode, oldest first
    now: datetime = field(default_factory=datetime.now)  # the message's date (timestamps)
    # Whose code and documents `code`/`qa` may retrieve: the asking user's visible scopes.
    scopes: Sequence[str] = TEAM_ONLY


@dataclass(frozen=True, slots=True)
class ModeResult:
    answer: str
    references: list[dict[str, object]]
    stored_question: str  # what the history keeps of the question
    standalone_question: str | None = None


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
        temperature: float = 0.2,
        history_turns: int = 10,
    ) -> None:
        self._llm = llm
        self._code = code
        self._docs = docs
        self._max_tokens = max_tokens
        self._temperature = temperature
        self._history_turns = history_turns

    def run(self, mode: str, request: ModeRequest) -> Iterator[ModeEvent]:
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

    def _stream(self, messages: list[ChatMessage]) -> Iterator[str]:
        return self._llm().stream(
            messages, max_tokens=self._max_tokens, temperature=self._temperature
        )

    def _prompted(self, mode: str, request: ModeRequest) -> Iterator[ModeEvent]:
        lang = question_language(request.question)
        messages = [ChatMessage("system", system_prompt(_PROMPTED[mode], lang))]
        if mode in MEMORY_MODES:
            for turn in list(request.history)[-self._history_turns :]:
                messages += [ChatMessage("user", turn.question)]
                messages += [ChatMessage("assistant", turn.answer)]
        messages.append(ChatMessage("user", request.question))
        parts: list[str] = []
        for delta in self._stream(messages):
            parts.append(delta)
            yield AnswerDelta(delta)
        yield ModeResult("".join(parts), [], request.question)

    def _pii(self, request: ModeRequest) -> Iterator[ModeEvent]:
        lang = question_language(request.question)
        premasked = mask_patterns(request.question, lang)
        messages = [
            ChatMessage("system", system_prompt(pii, lang)),
            ChatMessage("user", premasked),
        ]
        parts: list[str] = []
        for delta in self._stream(messages):
            parts.append(delta)
            yield AnswerDelta(delta)
        masked = mask_patterns("".join(parts).strip(), lang) or premasked
        yield ModeResult(masked, [], stored_question=masked)

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
        for delta in self._stream(messages):
            parts.append(delta)
            yield AnswerDelta(delta)
        found = extract_timestamps(request.question, now)
        if found:
            ko = lang == "ko"
            header = timestamp.NORMALIZED_HEADER_KO if ko else timestamp.NORMALIZED_HEADER_EN
            section = header + "".join(f"\n- {item.text} → {item.iso}" for item in found)
            parts.append(section)
            yield AnswerDelta(section)
        references: list[dict[str, object]] = [
            {"kind": "timestamp", "text": item.text, "iso": item.iso} for item in found
        ]
        yield ModeResult("".join(parts), references, request.question)

    def _code_answer(self, request: ModeRequest) -> Iterator[ModeEvent]:
        assistant = self._code()
        for event in assistant.ask(request.question, request.history, scopes=request.scopes):
            if isinstance(event, AnswerDelta):
                yield event
            elif isinstance(event, AnswerRestart):
                yield AnswerDelta(f"\n\n[생성된 코드의 문법 오류를 고칩니다: {event.reason}]\n\n")
            elif isinstance(event, CodeAnswer):
                yield ModeResult(
                    event.answer,
                    [hit.as_dict() for hit in event.references],
                    request.question,
                    standalone_question=event.rewritten_question,
                )

    def _doc_answer(self, request: ModeRequest) -> Iterator[ModeEvent]:
        if self._docs is None:
            raise ModeUnavailableError(QA_NOT_READY)
        for event in self._docs().ask(request.question, scopes=request.scopes):
            if isinstance(event, AnswerDelta):
                yield event
            elif isinstance(event, DocAnswer):
                references = event.as_dict()["references"]
                yield ModeResult(
                    event.answer,
                    list(references) if isinstance(references, list) else [],
                    request.question,
                )
