"""RAG code generation: rewrite -> retrieve -> pack -> stream the answer -> check -> references."""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from ragcode.chat.code_blocks import CodeBlock, extract_code_blocks, python_syntax_error
from ragcode.chat.language import Lang, question_language, requested_code_language
from ragcode.chat.prompts import code as prompts
from ragcode.chat.rewrite import rewrite_question
from ragcode.config import GenerationSettings
from ragcode.domain import TEAM_ONLY, ChatTurn, Hit
from ragcode.llm.protocol import LLM, ChatMessage
from ragcode.retrieve.context import PackedContext, pack_context
from ragcode.retrieve.fusion import merge_hit_lists
from ragcode.retrieve.protocol import Searcher

log = logging.getLogger(__name__)

# Labels of the context's summaries ("설명: ...") and of the lines kept for search ("예상 질문:",
# "검색어:"): a small model sometimes opens its answer with one, copied from the context.
_LABEL = re.compile(r"(?:(예상\s*질문|검색어|키워드)|설명)\s*[:：]\s*")
_LABEL_FORMS = ("예상질문:", "검색어:", "키워드:", "설명:")  # without spaces, to see a prefix


@dataclass(frozen=True, slots=True)
class AnswerDelta:
    text: str  # only the new text


@dataclass(frozen=True, slots=True)
class AnswerRestart:
    """The answer so far is replaced: a repair round follows (the reason says why)."""

    reason: str


@dataclass(frozen=True, slots=True)
class CodeAnswer:
    answer: str
    code_blocks: list[CodeBlock]
    references: list[Hit]
    question: str
    rewritten_question: str | None
    code_language: str
    repaired: bool = False
    syntax_error: str | None = None  # left after the repair round, if any
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "answer": self.answer,
            "code_blocks": [block.as_dict() for block in self.code_blocks],
            "references": [hit.as_dict() for hit in self.references],
            "rewritten_question": self.rewritten_question,
            "code_language": self.code_language,
            "repaired": self.repaired,
            "syntax_error": self.syntax_error,
        }


AnswerEvent = AnswerDelta | AnswerRestart | CodeAnswer


class CodeAssistant:
    def __init__(
        self,
        llm: LLM,
        searcher: Searcher,
        settings: GenerationSettings,
        top_k: int = 8,
    ) -> None:
        self._llm = llm
        self._searcher = searcher
        self._settings = settings
        self._top_k = top_k

    def ask(
        self,
        question: str,
        history: Sequence[ChatTurn] = (),
        top_k: int | None = None,
        scopes: Sequence[str] = TEAM_ONLY,
    ) -> Iterator[AnswerEvent]:
        """`scopes`: whose code may be retrieved (see `domain.visible_scopes`)."""
        turns = list(history)[-self._settings.history_turns :]
        standalone = rewrite_question(self._llm, question, turns)
        hits = self._retrieve(standalone, turns, top_k or self._top_k, scopes)
        context = pack_context(hits, max_tokens=self._settings.context_tokens)
        lang = question_language(question)
        code_language = requested_code_language(question, context.hits)
        messages = build_messages(question, standalone, context, lang, code_language, turns)
        notice = ""
        if not context.hits:
            notice = prompts.NO_CONTEXT_NOTICE_KO if lang == "ko" else prompts.NO_CONTEXT_NOTICE_EN
            yield AnswerDelta(notice)
        answer = notice + (yield from self._stream(messages))
        blocks = extract_code_blocks(answer)
        error = self._syntax_error(blocks, code_language)
        repaired = False
        if error:
            log.info("repair round language=%s error=%s", code_language, error)
            yield AnswerRestart(reason=error)
            template = prompts.REPAIR_KO if lang == "ko" else prompts.REPAIR_EN
            repair = [
                *messages,
                ChatMessage("assistant", answer),
                ChatMessage("user", template.format(language=code_language, error=error)),
            ]
            answer = yield from self._stream(repair)
            blocks = extract_code_blocks(answer)
            error = self._syntax_error(blocks, code_language)
            repaired = True
        yield CodeAnswer(
            answer=answer,
            code_blocks=blocks,
            references=context.hits,
            question=question,
            rewritten_question=standalone if turns else None,
            code_language=code_language,
            repaired=repaired,
            syntax_error=error,
        )

    def _retrieve(
        self, standalone: str, turns: list[ChatTurn], top_k: int, scopes: Sequence[str]
    ) -> list[Hit]:
        hits = self._searcher.search(standalone, top_k=top_k, scopes=scopes)
        if not turns:
            return hits
        # A follow-up usually refers to the code of the previous turn: keep it in the running
        # even when the rewrite came out vague (weighted below the new question's hits).
        last = turns[-1]
        previous = self._searcher.search(
            last.standalone_question or last.question, top_k=top_k, scopes=scopes
        )
        return merge_hit_lists([hits, previous], weights=[1.0, 0.6])[:top_k]

    def _stream(self, messages: list[ChatMessage]) -> Generator[AnswerDelta, None, str]:
        parts: list[str] = []
        stream = self._llm.stream(
            messages,
            max_tokens=self._settings.max_answer_tokens,
            temperature=self._settings.temperature,
        )
        for delta in strip_leading_labels(stream):
            parts.append(delta)
            yield AnswerDelta(delta)
        return "".join(parts)

    def _syntax_error(self, blocks: list[CodeBlock], code_language: str) -> str | None:
        if not self._settings.check_python or code_language != "python":
            return None
        return python_syntax_error(blocks, code_language)


def strip_leading_labels(deltas: Iterable[str]) -> Iterator[str]:
    """The stream without a leading label: a search-only line ("예상 질문: ...", "검색어: ...")
    is dropped whole, a "설명:" label leaves the text after it. Only the first line is held
    back, and only while it may still turn out to be a label; the rest streams untouched."""
    start = _AnswerStart()
    for delta in deltas:
        if start.decided:
            yield delta
        elif shown := start.feed(delta, final=False):
            yield shown
    if not start.decided and (shown := start.feed("", final=True)):
        yield shown


class _AnswerStart:
    """The undecided start of an answer (`strip_leading_labels`)."""

    def __init__(self) -> None:
        self.decided = False
        self._held = ""
        self._dropped = False  # a line was dropped: the whitespace after it goes too

    def feed(self, delta: str, *, final: bool) -> str:
        """What may be shown now ("" while the start is undecided). `final`: nothing more
        will come."""
        text = self._held + delta
        while True:
            body = text.lstrip()
            line, newline, rest = body.partition("\n")
            found = _LABEL.match(line)
            if found and found.group(1):  # a search-only line: drop it once it is whole
                if not newline and not final:
                    break
                text, self._dropped = rest, True
                continue
            if found:  # "설명:": the description follows on the same line
                if found.end() == len(line) and not newline and not final:
                    break  # its first word has not come yet
                return self._decide(body[found.end() :].lstrip())
            squeezed = re.sub(r"\s", "", line).replace("：", ":")
            maybe = any(form.startswith(squeezed) for form in _LABEL_FORMS)
            if (not body or (maybe and not newline)) and not final:
                break
            return self._decide(body if self._dropped else text)
        self._held = text
        return ""

    def _decide(self, shown: str) -> str:
        self.decided, self._held = True, ""
        return shown


def build_messages(
    question: str,
    standalone: str,
    context: PackedContext,
    lang: Lang,
    code_language: str,
    turns: Sequence[ChatTurn],
) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    if context.hits:
        system = prompts.SYSTEM_KO if lang == "ko" else prompts.SYSTEM_EN
        user = prompts.USER_KO if lang == "ko" else prompts.USER_EN
        messages.append(ChatMessage("system", system.format(language=code_language)))
        for turn in turns[-4:]:  # the model sees recent turns; retrieval used all of them
            messages += [ChatMessage("user", turn.question), ChatMessage("assistant", turn.answer)]
        asked = standalone if standalone != question else question
        messages.append(ChatMessage("user", user.format(context=context.text, question=asked)))
        return messages
    system = prompts.NO_CONTEXT_SYSTEM_KO if lang == "ko" else prompts.NO_CONTEXT_SYSTEM_EN
    messages.append(ChatMessage("system", system.format(language=code_language)))
    for turn in turns[-4:]:
        messages += [ChatMessage("user", turn.question), ChatMessage("assistant", turn.answer)]
    messages.append(ChatMessage("user", question))
    return messages
