"""Document Q&A: retrieve -> (nothing relevant: fixed answer, no LLM) -> stream -> citations."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from ragcode.chat.code_answer import AnswerDelta
from ragcode.chat.language import Lang, question_language
from ragcode.chat.prompts import qa as prompts
from ragcode.config import DocumentSettings
from ragcode.documents.citations import (
    DocumentContext,
    cited_numbers,
    pack_documents,
    reference,
)
from ragcode.domain import Hit
from ragcode.llm.protocol import LLM, ChatMessage

log = logging.getLogger(__name__)


class Searcher(Protocol):
    def search(self, query: str, top_k: int | None = None) -> list[Hit]: ...


@dataclass(frozen=True, slots=True)
class DocAnswer:
    question: str
    answer: str
    references: list[Hit]  # the numbered documents given to the LLM: [1] is references[0]
    # False: nothing passed the relevance cut-off (the LLM was not called), or the LLM said
    # the documents do not answer; either way `references` is empty.
    answered: bool
    cited: list[int]  # the [n] the answer actually cites

    def as_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "answer": self.answer,
            "answered": self.answered,
            "cited": self.cited,
            "references": [reference(n, hit) for n, hit in enumerate(self.references, 1)],
        }


DocEvent = AnswerDelta | DocAnswer


class DocumentAssistant:
    """`llm` is a factory: the model loads only when some document is relevant."""

    def __init__(
        self, llm: Callable[[], LLM], searcher: Searcher, settings: DocumentSettings
    ) -> None:
        self._llm = llm
        self._searcher = searcher
        self._settings = settings

    def ask(self, question: str, top_k: int | None = None) -> Iterator[DocEvent]:
        hits = self._searcher.search(question, top_k=top_k or self._settings.top_k)
        context = pack_documents(hits, max_tokens=self._settings.context_tokens)
        lang = question_language(question)
        if not context.hits:
            log.info("no answer question=%r", question)
            message = prompts.NO_ANSWER_KO if lang == "ko" else prompts.NO_ANSWER_EN
            yield AnswerDelta(message)
            yield DocAnswer(question, message, [], answered=False, cited=[])
            return
        parts: list[str] = []
        for delta in self._llm().stream(
            build_messages(question, context, lang),
            max_tokens=self._settings.max_answer_tokens,
            temperature=self._settings.temperature,
        ):
            parts.append(delta)
            yield AnswerDelta(delta)
        answer = "".join(parts)
        cited = cited_numbers(answer, len(context.hits))
        if not cited and is_refusal(answer):
            log.info("llm found no answer question=%r", question)
            yield DocAnswer(question, answer, [], answered=False, cited=[])
            return
        yield DocAnswer(question, answer, context.hits, answered=True, cited=cited)


def is_refusal(answer: str) -> bool:
    """The LLM wrote the prompt's fixed "no answer" sentence (either language)."""
    flat = " ".join(answer.split()).casefold()
    return any(marker.casefold() in flat for marker in (prompts.REFUSAL_KO, prompts.REFUSAL_EN))


def build_messages(question: str, context: DocumentContext, lang: Lang) -> list[ChatMessage]:
    system = prompts.SYSTEM_KO if lang == "ko" else prompts.SYSTEM_EN
    user = prompts.USER_KO if lang == "ko" else prompts.USER_EN
    return [
        ChatMessage("system", system),
        ChatMessage("user", user.format(context=context.text, question=question)),
    ]
