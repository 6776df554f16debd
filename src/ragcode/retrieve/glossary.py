"""No-model query expansion: Korean question words -> the English words code identifiers use.

A Korean question shares no tokens with English code, so the lexical retriever alone finds
little. A shipped glossary of general programming vocabulary (``data/ko_en_code_terms.tsv``)
maps the question's morphemes to English identifier words (정렬 -> sort sorted order) in
microseconds and without a model, so it works wherever search runs: CLI, server, MCP, eval.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

from ragcode.text.analyzer import TextAnalyzer

GLOSSARY_FILE = "ko_en_code_terms.tsv"
_ASCII_WORD = re.compile(r"[a-z][a-z0-9_]*")
_HANGUL = re.compile(r"[가-힣]")


class TermExpander(Protocol):
    """A question in, words to search for beside it out (None: nothing to add)."""

    def expand(self, question: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class GlossaryEntry:
    key: str  # as written in the file ("깊은 복사")
    terms: tuple[str, ...]  # English words ("deep", "clone", "copy")


def read_entries(text: str) -> list[GlossaryEntry]:
    """Entries of a glossary file: `Korean<TAB>english words`; `#` lines are comments."""
    entries: list[GlossaryEntry] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, terms = line.partition("\t")
        words = tuple(terms.split())
        if not sep or not key.strip() or not words:
            raise ValueError(f"glossary line {number}: expected 'Korean<TAB>english words'")
        entries.append(GlossaryEntry(key.strip(), words))
    return entries


def shipped_entries() -> list[GlossaryEntry]:
    """The glossary shipped in the wheel (``ragcode/retrieve/data``)."""
    data = resources.files("ragcode.retrieve").joinpath("data", GLOSSARY_FILE)
    return read_entries(data.read_text(encoding="utf-8"))


class Glossary:
    """Keys analysed once with the query analyzer, so a conjugated or compound question
    word meets its entry (정렬된 -> 정렬; 문자열 -> 문자 + 열 matches "문자열" first)."""

    def __init__(self, analyzer: TextAnalyzer, entries: Iterable[GlossaryEntry]) -> None:
        self._by_tokens: dict[tuple[str, ...], tuple[str, ...]] = {}
        # Keys the analyzer drops whole (determiners such as 첫): matched on the raw text.
        self._by_surface: dict[str, tuple[str, ...]] = {}
        for entry in entries:
            tokens = _key_tokens(analyzer, entry.key)
            if tokens:
                self._by_tokens[tokens] = _merge(self._by_tokens.get(tokens, ()), entry.terms)
            else:
                surface = self._by_surface.get(entry.key, ())
                self._by_surface[entry.key] = _merge(surface, entry.terms)
        self._longest = max((len(key) for key in self._by_tokens), default=1)

    def __len__(self) -> int:
        return len(self._by_tokens) + len(self._by_surface)

    def terms_for_tokens(self, tokens: Sequence[str]) -> list[str]:
        """English terms of analysed question tokens; the longest key wins at each place."""
        found: list[str] = []
        position = 0
        while position < len(tokens):
            for length in range(min(self._longest, len(tokens) - position), 0, -1):
                terms = self._by_tokens.get(tuple(tokens[position : position + length]))
                if terms is not None:
                    found.extend(terms)
                    position += length
                    break
            else:
                position += 1
        return found

    def terms_for_surface(self, text: str) -> list[str]:
        """Terms of keys found as words of the raw text (those the analyzer drops)."""
        found: list[str] = []
        for key, terms in self._by_surface.items():
            if re.search(rf"(?<![가-힣]){re.escape(key)}", text):
                found.extend(terms)
        return found


class GlossaryExpander:
    """`expand(question)` -> English words for the question's Korean words, or None."""

    def __init__(self, glossary: Glossary, analyzer: TextAnalyzer, max_terms: int = 32) -> None:
        self._glossary = glossary
        self._analyzer = analyzer
        self._max_terms = max_terms

    def expand(self, question: str) -> str | None:
        if not _HANGUL.search(question):
            return None  # an English question already speaks the code's words
        tokens = self._analyzer.analyze_query(question)
        terms = self._glossary.terms_for_surface(question) + self._glossary.terms_for_tokens(tokens)
        # The question's own English words (identifiers it names) stay in the expansion.
        terms += [token for token in tokens if _ASCII_WORD.fullmatch(token)]
        unique = list(dict.fromkeys(terms))[: self._max_terms]
        return " ".join(unique) if unique else None


def build_glossary_expander(analyzer: TextAnalyzer, path: Path | None = None) -> GlossaryExpander:
    """The shipped glossary, or a team's own file (same format) when `path` is given."""
    if path is not None and not path.is_file():
        raise FileNotFoundError(f"search.glossary_file 파일을 찾을 수 없습니다: {path}")
    entries = read_entries(path.read_text(encoding="utf-8")) if path else shipped_entries()
    return GlossaryExpander(Glossary(analyzer, entries), analyzer)


def _key_tokens(analyzer: TextAnalyzer, key: str) -> tuple[str, ...]:
    if key.startswith("="):  # given as tokens already
        return tuple(key[1:].split())
    return tuple(analyzer.analyze_query(key))


def _merge(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(first + second))
