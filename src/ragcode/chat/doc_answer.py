"""Document Q&A: retrieve -> (nothing relevant: fixed answer, no LLM) -> stream -> citations."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ragcode.chat.code_answer import AnswerDelta
from ragcode.chat.language import Lang, question_language
from ragcode.chat.prompts import qa as prompts
from ragcode.chat.refusal import is_refusal, stream_unless_refusal
from ragcode.chat.rewrite import rewrite_question
from ragcode.config import DocumentSettings
from ragcode.documents.attribution import Attributed, SentenceSources, markers, split_sentences
from ragcode.documents.citations import (
    DocumentContext,
    cited_numbers,
    pack_documents,
    reference,
)
from ragcode.domain import TEAM_ONLY, ChatTurn, Hit
from ragcode.llm.protocol import LLM, ChatMessage
from ragcode.retrieve.protocol import Searcher

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DocAnswer:
    question: str
    answer: str
    references: list[Hit]  # the numbered documents given to the LLM: [1] is references[0]
    # False: nothing passed the relevance cut-off (the LLM was not called; no references),
    # or the LLM said the documents it read (`references`) do not answer.
    answered: bool
    cited: list[int]  # the [n] the answer actually cites
    rewritten_question: str | None = None  # a follow-up made standalone with the memory
    # Each sentence of `answer` (offsets) and the [n] it cites: the model's own markers, or
    # those attached after generation (documents/attribution.py). Empty when not answered.
    sentences: list[SentenceSources] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "answer": self.answer,
            "answered": self.answered,
            "cited": self.cited,
            "sentences": [sentence.as_dict() for sentence in self.sentences],
            "references": [reference(n, hit) for n, hit in enumerate(self.references, 1)],
        }


DocEvent = AnswerDelta | DocAnswer

# Said instead of (or after) "no answer" while the asker's uploads are still being indexed:
# the answer may be in them, and the user should ask again rather than give up.
PROCESSING_KO = (
    "{names} 처리 중입니다. 처리가 끝나면 그 내용으로 답할 수 있으니 잠시 뒤 다시 물어봐 주세요."
)
PROCESSING_EN = "{names} is still being processed. Ask again in a moment to get an answer from it."


class PendingDocuments(Protocol):
    def processing(self, scopes: Sequence[str]) -> list[str]:
        """Names of uploaded documents a search of `scopes` cannot find yet (queued or
        being indexed)."""
        ...


class Attributor(Protocol):
    def attribute(self, answer: str, chunks: Sequence[str]) -> Attributed:
        """`answer` with a valid [n] on each sentence drawn from chunk n (`chunks`: the
        texts numbered [1], [2] ... as the LLM read them)."""
        ...


def cited_sentences(answer: str) -> list[SentenceSources]:
    """The sentences of a final document answer that cite something, read back from its
    [n] (the attributor wrote its own into the text): what the history and the final ws frame
    keep, so a reload links each sentence to its card as the live answer did, also for a
    model's own markers when no attributor ran. [] when nothing is cited."""
    found = (
        SentenceSources(i, s.start, s.end, list(dict.fromkeys(markers(s.text(answer)))))
        for i, s in enumerate(split_sentences(answer))
    )
    return [sentence for sentence in found if sentence.sources]


def processing_notice(names: Sequence[str], lang: Lang) -> str:
    """The notice naming the uploads still processed (three at most, then how many more)."""
    more = len(names) - 3
    shown = ", ".join(names[:3])
    if lang == "ko":
        return PROCESSING_KO.format(names=shown + (f" 외 {more}개" if more > 0 else ""))
    return PROCESSING_EN.format(names=shown + (f" and {more} more" if more > 0 else ""))


class DocumentAssistant:
    """`llm` is a factory: the model loads only when some document is relevant.

    `retry_relevance`: when the LLM refuses although the best document scores at least this,
    it is asked once more, told to answer from the documents (None: never). The refusal is
    held back while it streams, so the user sees only the second answer.

    `pending`: the uploads not searchable yet; a question left without an answer names them
    (None: no uploads, as on the CLI).

    `attributor`: attaches the [n] the model left out to the sentences of an answer (None:
    only the model's own markers count).
    """

    def __init__(
        self,
        llm: Callable[[], LLM],
        searcher: Searcher,
        settings: DocumentSettings,
        retry_relevance: float | None = None,
        pending: PendingDocuments | None = None,
        attributor: Attributor | None = None,
    ) -> None:
        self._llm = llm
        self._searcher = searcher
        self._settings = settings
        self._retry_relevance = retry_relevance
        self._pending = pending
        self._attributor = attributor

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        scopes: Sequence[str] = TEAM_ONLY,
        history: Sequence[ChatTurn] = (),
    ) -> Iterator[DocEvent]:
        """`scopes`: whose documents may be read (see `domain.visible_scopes`). `history`:
        the conversation's memory; a follow-up ("그럼 수수료는?") is rewritten with it into a
        standalone question, which is searched for and answered."""
        rewritten = rewrite_question(self._llm(), question, history) if history else None
        asked = rewritten or question
        hits = self._searcher.search(asked, top_k=top_k or self._settings.top_k, scopes=scopes)
        context = pack_documents(hits, max_tokens=self._settings.context_tokens)
        lang = question_language(question)
        if not context.hits:
            log.info("no answer question=%r", question)
            pending = self._processing(scopes)
            if pending:
                message = processing_notice(pending, lang)
            else:
                message = prompts.NO_ANSWER_KO if lang == "ko" else prompts.NO_ANSWER_EN
            yield AnswerDelta(message)
            yield DocAnswer(question, message, [], False, [], rewritten)
            return
        answer, shown = yield from self._generate(build_messages(asked, context, lang))
        cited = cited_numbers(answer, len(context.hits))
        if _refused(answer, cited) and self._should_retry(context):
            log.info("llm refused a confident context, asking again question=%r", question)
            retry = build_messages(asked, context, lang, must_answer=True)
            answer, shown = yield from self._generate(retry)
            cited = cited_numbers(answer, len(context.hits))
        # On a refusal the documents stay in the result: the small model also refuses some
        # questions they do answer (eval/README.md), and then the user can still read them.
        answered = not _refused(answer, cited)
        sentences: list[SentenceSources] = []
        if answered and self._attributor is not None:
            # The streamed text had the model's markers only; the final frame replaces it.
            chunks = [f"{hit.record.title}\n{hit.record.body}" for hit in context.hits]
            attributed = self._attributor.attribute(answer, chunks)
            answer, cited, sentences = attributed.answer, attributed.cited, attributed.sentences
        pending = [] if answered else self._processing(scopes)
        if pending:
            notice = f"\n\n{processing_notice(pending, lang)}"
            if shown:
                yield AnswerDelta(notice)
            answer += notice
        if not shown:
            yield AnswerDelta(answer)
        yield DocAnswer(question, answer, context.hits, answered, cited, rewritten, sentences)

    def _generate(
        self, messages: list[ChatMessage]
    ) -> Generator[AnswerDelta, None, tuple[str, bool]]:
        deltas = self._llm().stream(
            messages,
            max_tokens=self._settings.max_answer_tokens,
            temperature=self._settings.temperature,
        )
        return (yield from stream_unless_refusal(deltas))

    def _processing(self, scopes: Sequence[str]) -> list[str]:
        return self._pending.processing(scopes) if self._pending is not None else []

    def _should_retry(self, context: DocumentContext) -> bool:
        if self._retry_relevance is None:
            return False
        return max(hit.scores.rerank for hit in context.hits) >= self._retry_relevance


def _refused(answer: str, cited: list[int]) -> bool:
    """The fixed no-answer sentence and no citation (a cited answer that is unsure about one
    detail still answers)."""
    return not cited and is_refusal(answer)


def build_messages(
    question: str, context: DocumentContext, lang: Lang, *, must_answer: bool = False
) -> list[ChatMessage]:
    if must_answer:
        system = prompts.RETRY_SYSTEM_KO if lang == "ko" else prompts.RETRY_SYSTEM_EN
    else:
        system = prompts.SYSTEM_KO if lang == "ko" else prompts.SYSTEM_EN
    user = prompts.USER_KO if lang == "ko" else prompts.USER_EN
    return [
        ChatMessage("system", system),
        ChatMessage("user", user.format(context=context.text, question=question)),
    ]
