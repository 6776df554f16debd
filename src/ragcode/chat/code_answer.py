"""RAG code generation: rewrite -> retrieve -> pack -> stream the answer -> check -> references."""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from ragcode.chat.code_blocks import CodeBlock, extract_code_blocks, python_syntax_error
from ragcode.chat.grounding import check_blocks, repair_defect
from ragcode.chat.language import (
    Lang,
    question_language,
    record_languages,
    requested_code_language,
)
from ragcode.chat.prompts import code as prompts
from ragcode.chat.rewrite import rewrite_question
from ragcode.config import GenerationSettings
from ragcode.domain import TEAM_ONLY, ChatTurn, Hit
from ragcode.llm.protocol import LLM, ChatMessage
from ragcode.retrieve.context import PackedContext, pack_context
from ragcode.retrieve.fusion import merge_hit_lists
from ragcode.retrieve.protocol import Searcher
from ragcode.store.protocol import StoreError, SymbolLookup

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
    # What the round repairs: "syntax" or "symbols" (chat/grounding.py); "kept": the repaired
    # answer came out worse (its code broke), so the first answer streams again.
    kind: str = "syntax"

    @property
    def notice(self) -> str:
        """The Korean line shown where the replaced answer was."""
        if self.kind == "kept":
            return f"\n\n[고친 코드에 문제가 있어 처음 답을 유지합니다: {self.reason}]\n\n"
        if self.kind == "symbols":
            return f"\n\n[색인에 없는 이름을 고칩니다: {self.reason}]\n\n"
        return f"\n\n[생성된 코드의 문법 오류를 고칩니다: {self.reason}]\n\n"


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
    # Names the code uses that exist nowhere (chat/grounding.py), left after the repair round.
    unknown_symbols: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "answer": self.answer,
            "code_blocks": [block.as_dict() for block in self.code_blocks],
            "references": [hit.as_dict() for hit in self.references],
            "rewritten_question": self.rewritten_question,
            "code_language": self.code_language,
            "repaired": self.repaired,
            "syntax_error": self.syntax_error,
            "unknown_symbols": self.unknown_symbols,
        }


AnswerEvent = AnswerDelta | AnswerRestart | CodeAnswer


class CodeAssistant:
    def __init__(
        self,
        llm: LLM,
        searcher: Searcher,
        settings: GenerationSettings,
        top_k: int = 8,
        symbols: SymbolLookup | None = None,
    ) -> None:
        """`symbols`: the index's names, for the check of generated code (None: no check)."""
        self._symbols = symbols
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
        code_language: str | None = None,
    ) -> Iterator[AnswerEvent]:
        """`scopes`: whose code may be retrieved (see `domain.visible_scopes`).
        `code_language`: the language the user chose (chat/language.py CODE_LANGUAGES): only
        its code is retrieved and the answer is asked in it; None or "auto": as the question
        and the context say. An unknown one raises UnknownCodeLanguageError before any work."""
        languages = record_languages(code_language)
        turns = list(history)[-self._settings.history_turns :]
        standalone = rewrite_question(self._llm, question, turns)
        hits = self._retrieve(standalone, turns, top_k or self._top_k, scopes, languages)
        context = pack_context(hits, max_tokens=self._settings.context_tokens)
        lang = question_language(question)
        code_language = requested_code_language(question, context.hits, code_language)
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
        unknown: list[str] = []
        if self._symbols is not None and self._settings.check_symbols:
            fixed, unknown = yield from self._ground(
                self._symbols, answer, messages, lang, code_language, scopes
            )
            if fixed is not None:  # the repair round ran and its answer stands
                answer, repaired = fixed, True
                blocks = extract_code_blocks(answer)
                error = self._syntax_error(blocks, code_language)
        notes: list[str] = []
        if unknown:
            note = prompts.UNKNOWN_NOTE_KO if lang == "ko" else prompts.UNKNOWN_NOTE_EN
            note = note.format(names=prompts.quoted(unknown))
            yield AnswerDelta(note)
            answer += note
            notes.append(note.strip())
        yield CodeAnswer(
            answer=answer,
            code_blocks=blocks,
            references=context.hits,
            question=question,
            rewritten_question=standalone if turns else None,
            code_language=code_language,
            repaired=repaired,
            syntax_error=error,
            notes=notes,
            unknown_symbols=unknown,
        )

    def _retrieve(
        self,
        standalone: str,
        turns: list[ChatTurn],
        top_k: int,
        scopes: Sequence[str],
        languages: Sequence[str] | None = None,
    ) -> list[Hit]:
        hits = self._searcher.search(standalone, top_k=top_k, scopes=scopes, languages=languages)
        if not turns:
            return hits
        # A follow-up usually refers to the code of the previous turn: keep it in the running
        # even when the rewrite came out vague (weighted below the new question's hits).
        last = turns[-1]
        previous = self._searcher.search(
            last.standalone_question or last.question,
            top_k=top_k,
            scopes=scopes,
            languages=languages,
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

    def _ground(
        self,
        lookup: SymbolLookup,
        answer: str,
        messages: list[ChatMessage],
        lang: Lang,
        code_language: str,
        scopes: Sequence[str],
    ) -> Generator[AnswerEvent, None, tuple[str | None, list[str]]]:
        """At most one repair round for names the answer's code uses that exist nowhere
        (chat/grounding.py): the repaired answer (None: no round, or its code came out
        broken and the first answer is kept) and the names still unknown."""

        def check(answer: str) -> list[str]:
            return check_blocks(
                extract_code_blocks(answer),
                code_language,
                lambda names: lookup.defined_names(names, scopes),
                lambda names: lookup.indexed_modules(names, scopes),
            ).unknown

        try:  # the answer has streamed already: a store that fails now only skips the check
            unknown = check(answer)
            closest = []
            if unknown:
                closest = lookup.closest_symbols(unknown, prompts.CLOSEST_SYMBOLS, scopes)
        except StoreError as exc:
            log.warning("symbol check skipped error=%s", exc)
            return None, []
        if not unknown:
            return None, []
        log.info("symbol repair round unknown=%s closest=%d", ",".join(unknown), len(closest))
        yield AnswerRestart(reason=prompts.quoted(unknown), kind="symbols")
        request = prompts.symbol_repair_prompt(lang, code_language, unknown, closest)
        repair = [*messages, ChatMessage("assistant", answer), ChatMessage("user", request)]
        fixed = yield from self._stream(repair)
        first = extract_code_blocks(answer)
        if broken := repair_defect(extract_code_blocks(fixed), code_language, first):
            # A working answer with a note beats a broken one: the client has shown the
            # repair, so it sees the first answer again after a notice.
            log.info("symbol repair discarded reason=%s", broken)
            yield AnswerRestart(reason=broken, kind="kept")
            yield AnswerDelta(answer)
            return None, unknown
        try:
            return fixed, check(fixed)
        except StoreError as exc:
            log.warning("symbol check after the repair skipped error=%s", exc)
            return fixed, []

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
