"""Korean summaries of code units (as the store's records) through the LLM port, with trivial
units skipped."""

from __future__ import annotations

import logging
import re
import threading

from ragcode.domain import DOCSTRING, Record, UnitKind
from ragcode.ingest.questions import QUESTIONS_MAX_TOKENS, clean_questions, with_questions
from ragcode.ingest.summary_prompt import (
    DESCRIPTION_EXAMPLE,
    DESCRIPTION_PROMPT_VERSION,
    DESCRIPTION_SYSTEM,
    EXAMPLE_USER,
    QUESTIONS_ASK,
    QUESTIONS_START,
    SUMMARY_EXAMPLE,
    SUMMARY_PROMPT_VERSION,
    SUMMARY_SYSTEM,
    SUMMARY_USER,
    prompt_version,
)
from ragcode.llm.protocol import LLM, ChatMessage, LLMStopped, close_stream, continues_answers
from ragcode.store.protocol import SummaryOrigin

log = logging.getLogger(__name__)

# Boilerplate dunder methods that read the same everywhere; an LLM call adds nothing.
_TRIVIAL_DUNDERS = frozenset(
    {
        "__repr__", "__str__", "__eq__", "__ne__", "__hash__", "__len__", "__iter__",
        "__bool__", "__lt__", "__le__", "__gt__", "__ge__", "__contains__", "__getitem__",
        "__enter__", "__exit__", "__reduce__", "__getstate__", "__setstate__", "__format__",
    }
)  # fmt: skip
# A body that only returns a name or attribute (a getter), or a stub (`pass`, `...`,
# `raise NotImplementedError`), possibly on the `def`/`{` line itself.
_PLAIN_STATEMENT = re.compile(
    r"(?:^|[:{]\s*)(?:(?:return\s+)?(?:[A-Za-z_]\w*\.)?[A-Za-z_]\w*|pass|\.\.\.|"
    r"raise\s+NotImplementedError(?:\(\))?);?\s*\}?\s*$"
)
_PREFIXES = re.compile(r"^(?:요약|설명|summary|description)\s*[:：]\s*", re.IGNORECASE)
_DETAIL_LABEL = re.compile(r"\s*(?:특징|detail)\s*[:：]\s*", re.IGNORECASE)
_FENCE = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_TERMS = re.compile(r"(?:검색어|키워드)\s*[:：]\s*(.*)", re.DOTALL)
_QUESTIONS = re.compile(r"^\s*(?:예상\s*)?질문\s*[:：]\s*(.*)", re.DOTALL | re.MULTILINE)
# A questions line asked for again may come back with the other lines' labels: cut there.
_OTHER_LABEL = re.compile(r"^\s*(?:요약|설명|특징|검색어|키워드)\s*[:：]", re.MULTILINE)
MAX_SEARCH_TERMS = 8
# How a summary is asked for besides the prompt's texts: they change the output too.
_TEMPERATURE = 0.1
_STOP = ("\n\n", "\n설명")
# The version of the post-processing (`clean_summary` and what it calls: `_described`,
# `_bounded`, `_search_terms`, the patterns above, `clean_questions`, `with_questions`).
# Bump it with any change of what they make of the same raw text: it enters the prompt
# version every summary is cached under, so summaries cleaned the old way are not reused.
# tests/unit/test_summary_origin.py pins their source and fails until it is bumped.
POSTPROCESS_VERSION = 1
# 1: an answer that ends before its questions line is continued once for it (Summarizer).
QUESTIONS_FOLLOW_UP = 1
_FOLLOW_UP = (f"follow_up={QUESTIONS_FOLLOW_UP}", QUESTIONS_START, QUESTIONS_ASK)


def body_lines(unit: Record) -> int:
    return sum(1 for line in unit.body.splitlines() if line.strip())


def is_trivial(unit: Record) -> bool:
    """One-line getters, stubs, pass-through dunders and empty class headers need no LLM call.

    A one-line body that calls something (`return type(self)(self, *args)`) is not trivial:
    it is short, but what it does is not in its name.
    """
    bare_name = unit.title.rsplit(".", 1)[-1]
    lines = body_lines(unit)
    if bare_name in _TRIVIAL_DUNDERS and lines <= 6:
        return True
    if unit.kind == UnitKind.CLASS:
        return lines <= 1
    if lines > 2 or unit.metadata.get(DOCSTRING):
        return False
    last_line = unit.body.strip().splitlines()[-1].strip() if unit.body.strip() else ""
    return _PLAIN_STATEMENT.search(last_line) is not None


def build_messages(
    unit: Record, max_code_chars: int, *, questions: bool = True
) -> list[ChatMessage]:
    code = unit.body
    if len(code) > max_code_chars:
        code = code[:max_code_chars] + "\n# ... (생략)"
    user = SUMMARY_USER.format(language=unit.language, kind=unit.kind, name=unit.title, code=code)
    return [
        ChatMessage("system", SUMMARY_SYSTEM if questions else DESCRIPTION_SYSTEM),
        ChatMessage("user", EXAMPLE_USER),
        ChatMessage("assistant", SUMMARY_EXAMPLE if questions else DESCRIPTION_EXAMPLE),
        ChatMessage("user", user),
    ]


def _bounded(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    ends = [match.end() for match in re.finditer(r"[.!?。]", cut)]
    return cut[: ends[-1]] if ends and ends[-1] > max_chars // 3 else cut.rstrip() + "…"


def _search_terms(line: str) -> list[str]:
    """Unique, short terms: small models tend to repeat the same term until the token limit."""
    terms: list[str] = []
    for raw in re.split(r"[,，、]", line):
        term = raw.strip().strip("\"'“”.")
        if term and len(term) <= 30 and term not in terms:
            terms.append(term)
    return terms[:MAX_SEARCH_TERMS]


def clean_summary(raw: str, max_chars: int) -> str:
    """Strip prompt artefacts (fences, labels, quotes), bound the length at a sentence end and
    keep at most a few distinct search terms on a second line and the questions on a third.

    Any change of its output: bump POSTPROCESS_VERSION (cached summaries are keyed by it)."""
    text = _FENCE.sub(" ", raw)
    asked = _QUESTIONS.search(text)
    questions = clean_questions(asked.group(1)) if asked else []
    if asked:
        text = text[: asked.start()]
    description = _described(text, max_chars)
    return with_questions(description, questions) if description else ""


def _described(text: str, max_chars: int) -> str:
    match = _TERMS.search(text)
    terms = _search_terms(match.group(1)) if match else []
    if match:
        text = text[: match.start()]
    text = " ".join(text.split())
    text = _PREFIXES.sub("", text).strip().strip("\"'“”")
    text = _DETAIL_LABEL.sub(" ", text).strip()  # the detail line continues the description
    description = _bounded(text, max_chars)
    if terms:
        return f"{description}\n검색어: {', '.join(terms)}" if description else ", ".join(terms)
    return description


def summary_prompt_version(
    *, questions: bool, max_tokens: int, max_chars: int, max_code_chars: int
) -> str:
    """What a summarizer with these settings caches its summaries under, with the code hash
    and the model: the version of the prompt's texts (with or without the questions) and
    everything else that changes the summary of the same code by the same model: where long
    code is cut (the prompt's text), the token budget, the sampling and the post-processing.
    The same function for the summarizer and for the indexer's cache lookups (app.py), which
    must not build the LLM to know it."""
    kind, texts = (
        ("summary", SUMMARY_PROMPT_VERSION)
        if questions
        else ("description", DESCRIPTION_PROMPT_VERSION)
    )
    tokens = max_tokens + (QUESTIONS_MAX_TOKENS if questions else 0)
    return prompt_version(
        kind, texts, f"code_chars={max_code_chars}", f"max_tokens={tokens}",
        f"max_chars={max_chars}", f"temperature={_TEMPERATURE}", f"stop={_STOP!r}",
        f"post={POSTPROCESS_VERSION}",
        *(_FOLLOW_UP if questions else ()),
    )  # fmt: skip


def _stopped_after_terms(raw: str) -> bool:
    """The answer wrote its search terms line and ended there, without the questions line
    (the three-line format of the prompt without questions): 53 of the 54 toolz and
    govalidator summaries without questions of the 1.5B model (eval/*_summaries.jsonl)."""
    text = _FENCE.sub(" ", raw)
    return _TERMS.search(text) is not None and _QUESTIONS.search(text) is None


class Summarizer:
    """One LLM call per unit writes the description, search terms and (doc2query) questions."""

    def __init__(
        self,
        llm: LLM,
        *,
        max_tokens: int,
        max_chars: int,
        max_code_chars: int,
        questions: bool = True,
    ) -> None:
        self._llm = llm
        self._prompt = summary_prompt_version(
            questions=questions, max_tokens=max_tokens, max_chars=max_chars,
            max_code_chars=max_code_chars,
        )  # fmt: skip
        self._max_tokens = max_tokens + (QUESTIONS_MAX_TOKENS if questions else 0)
        self._max_chars = max_chars
        self._max_code_chars = max_code_chars
        self._questions = questions

    @property
    def model_name(self) -> str:
        return self._llm.name

    @property
    def origin(self) -> SummaryOrigin:
        """What its summaries are cached under (with the code hash): the version of the
        prompt it sends and of how (summary_prompt_version), and the name of its LLM's
        model (an empty name: nothing is cached, SummaryPass)."""
        return SummaryOrigin(prompt=self._prompt, model=self._llm.name)

    @property
    def max_concurrency(self) -> int | None:
        """How many summaries the backend takes at once (None: one, on the caller's thread)."""
        value = getattr(self._llm, "max_concurrency", None)
        return value if isinstance(value, int) else None

    def summarize(self, unit: Record, cancel: threading.Event | None = None) -> str:
        """`cancel`: once set, the generation is given up between two pieces (LLMStopped) and
        the backend stops spending on it."""
        messages = build_messages(unit, self._max_code_chars, questions=self._questions)
        raw = self._generate(messages, self._max_tokens, cancel)
        if self._questions and _stopped_after_terms(raw):
            raw = self._questions_asked_again(messages, raw, cancel)
        return clean_summary(raw, self._max_chars)

    def _questions_asked_again(
        self, messages: list[ChatMessage], raw: str, cancel: threading.Event | None
    ) -> str:
        """`raw` with the questions line the model left out: the 1.5B model ended after the
        search terms in 43 of toolz's 148 summaries, and those units lost the doc2query
        questions that match Korean questions best. A backend that continues
        answers (llama.cpp) goes on from "질문:" after them (the batch starts from the finished
        answer's kept KV cells, so the unit's code is not computed again); others are asked
        in words."""
        written = raw.rstrip()
        if continues_answers(self._llm):
            asked = [*messages, ChatMessage("assistant", f"{written}\n{QUESTIONS_START}")]
        else:
            asked = [
                *messages,
                ChatMessage("assistant", written),
                ChatMessage("user", QUESTIONS_ASK),
            ]
        more = self._generate(asked, QUESTIONS_MAX_TOKENS, cancel)
        labelled = _QUESTIONS.match(more)  # "질문: ..." written again: its text only
        more = labelled.group(1) if labelled else more
        label = _OTHER_LABEL.search(more)  # the lines above written again: not questions
        more = (more[: label.start()] if label else more).strip()
        return f"{written}\n{QUESTIONS_START} {more}" if more else raw

    def _generate(
        self, messages: list[ChatMessage], max_tokens: int, cancel: threading.Event | None
    ) -> str:
        stream = self._llm.stream(
            messages, max_tokens=max_tokens, temperature=_TEMPERATURE, stop=_STOP
        )
        pieces: list[str] = []
        try:
            for piece in stream:
                if cancel is not None and cancel.is_set():
                    raise LLMStopped("요약을 멈췄습니다")
                pieces.append(piece)
        finally:
            close_stream(stream)  # a generator given up early: the backend frees its sequence
        return "".join(pieces)
