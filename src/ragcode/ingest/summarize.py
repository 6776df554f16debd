"""Korean summaries of code units through the LLM port, with trivial units skipped."""

from __future__ import annotations

import re

from ragcode.domain import CodeUnit, UnitKind
from ragcode.ingest.summary_prompt import SUMMARY_SYSTEM, SUMMARY_USER
from ragcode.llm.protocol import LLM, ChatMessage

# Boilerplate dunder methods that read the same everywhere; an LLM call adds nothing.
_TRIVIAL_DUNDERS = frozenset(
    {
        "__repr__", "__str__", "__eq__", "__ne__", "__hash__", "__len__", "__iter__",
        "__bool__", "__lt__", "__le__", "__gt__", "__ge__", "__contains__", "__getitem__",
        "__enter__", "__exit__", "__reduce__", "__getstate__", "__setstate__", "__format__",
    }
)  # fmt: skip
_PREFIXES = re.compile(r"^(?:요약|설명|summary|description)\s*[:：]\s*", re.IGNORECASE)
_FENCE = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+|(?<=다\.)")


def body_lines(unit: CodeUnit) -> int:
    return sum(1 for line in unit.code.splitlines() if line.strip())


def is_trivial(unit: CodeUnit) -> bool:
    """One-line getters, pass-through dunders and empty class headers need no LLM call."""
    bare_name = unit.name.rsplit(".", 1)[-1]
    lines = body_lines(unit)
    if bare_name in _TRIVIAL_DUNDERS and lines <= 6:
        return True
    if unit.kind == UnitKind.CLASS:
        return lines <= 1
    return lines <= 2 and not unit.docstring


def build_messages(unit: CodeUnit, max_code_chars: int) -> list[ChatMessage]:
    code = unit.code
    if len(code) > max_code_chars:
        code = code[:max_code_chars] + "\n# ... (생략)"
    user = SUMMARY_USER.format(
        language=unit.language, kind=unit.kind, name=unit.name, path=unit.path, code=code
    )
    return [ChatMessage("system", SUMMARY_SYSTEM), ChatMessage("user", user)]


def clean_summary(raw: str, max_chars: int) -> str:
    """Strip prompt artefacts (fences, labels, quotes) and bound the length at a sentence end."""
    text = _FENCE.sub(" ", raw)
    text = " ".join(text.split())
    text = _PREFIXES.sub("", text).strip().strip("\"'“”")
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    ends = [match.end() for match in re.finditer(r"[.!?。]", cut)]
    return cut[: ends[-1]] if ends and ends[-1] > max_chars // 3 else cut.rstrip() + "…"


class Summarizer:
    def __init__(self, llm: LLM, *, max_tokens: int, max_chars: int, max_code_chars: int):
        self._llm = llm
        self._max_tokens = max_tokens
        self._max_chars = max_chars
        self._max_code_chars = max_code_chars

    @property
    def model_name(self) -> str:
        return self._llm.name

    def summarize(self, unit: CodeUnit) -> str:
        messages = build_messages(unit, self._max_code_chars)
        raw = "".join(self._llm.stream(messages, max_tokens=self._max_tokens, temperature=0.1))
        return clean_summary(raw, self._max_chars)
