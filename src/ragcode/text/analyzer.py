"""Analyzers turning summaries, code, names and queries into BM25 tokens.

The index and the query go through the same functions, so a Korean word inflected differently
on each side, or an identifier written in prose, still meets its counterpart. Every token matches
:data:`TOKEN_PATTERN` (lowercase ASCII letters, digits, ``_``, Hangul, Hangul jamo, CJK), so the
lists can be joined with spaces and fed to a whitespace tokenizer or a query parser safely.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from ragcode.text.identifiers import extract_identifiers, split_identifier
from ragcode.text.korean import NoriTokenizer

TOKEN_PATTERN = re.compile(r"[0-9a-z가-힣ㄱ-ㅎㅏ-ㅣ_一-龥]+")

# A Latin identifier or word, possibly dotted (``os.path.join``), not glued to a letter/digit
# on its left. Hangul may follow directly (``get_netrc_auth를``).
_LATIN_RUN = re.compile(r"(?<![0-9A-Za-z_])[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_ASCII_TOKEN = re.compile(r"[0-9a-z_]+")
_POSSESSIVE = re.compile(r"(?<=[A-Za-z])['’]s\b")
_FULLWIDTH_ASCII = re.compile("[\uff01-\uff5e]")
# Korean (or hanja) words separated by blanks only: the prose inside comments and strings.
_KOREAN_RUN = re.compile(r"[가-힣ㄱ-ㅎㅏ-ㅣ一-龥]+(?:[ \t]+[가-힣ㄱ-ㅎㅏ-ㅣ一-龥]+)*")
_FULLWIDTH_OFFSET = 0xFEE0
_MAX_CACHED_NAMES = 100_000
_MAX_CACHED_NAME_CHARS = 64


def _stem(word: str) -> str:
    """Tiny English s-stemmer: ``tokens``/``returns`` -> ``token``/``return``; ``class`` kept."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and word.isalpha():
        return word[:-1]
    return word


def identifier_tokens(name: str) -> list[str]:
    """Tokens of one undotted identifier: the whole (if compound) then its stemmed words.

    ``get_tokens`` -> ``["get_tokens", "get", "token"]``; ``Tokens`` -> ``["token"]``.
    """
    words = split_identifier(name)
    if not words:
        return []
    whole = name.lower()
    tokens = [whole] if len(words) > 1 or whole != words[0] else []
    tokens.extend(_stem(word) for word in words)
    return tokens


def _latin_run_tokens(run: str) -> list[str]:
    """Tokens of a possibly dotted run; one-character segments (``e.g``, ``x``) are dropped."""
    tokens: list[str] = []
    for segment in run.split("."):
        if len(segment) > 1:
            tokens.extend(identifier_tokens(segment))
    return tokens


def _prepare(text: str) -> str:
    """Offset-preserving normalization: NFC, full-width ASCII to ASCII, possessive ``'s`` out."""
    text = unicodedata.normalize("NFC", text)
    text = _FULLWIDTH_ASCII.sub(lambda m: chr(ord(m.group()) - _FULLWIDTH_OFFSET), text)
    return _POSSESSIVE.sub("  ", text)


def _clean(tokens: Iterable[str]) -> list[str]:
    return [token for token in tokens if TOKEN_PATTERN.fullmatch(token)]


class TextAnalyzer:
    """Index- and query-side analysis; thread-safe, deterministic."""

    def __init__(self, tokenizer: NoriTokenizer | None = None) -> None:
        self._nori = tokenizer if tokenizer is not None else NoriTokenizer()
        # Code repeats its names (a file of 20 units: ~500 names, a few dozen distinct), and
        # splitting one costs a regex pass and a stem per word. Bounded; a dict's get and set
        # are atomic, so threads sharing the analyzer at worst split a name twice.
        self._names: dict[str, list[str]] = {}

    def _identifier_tokens(self, name: str) -> list[str]:
        tokens = self._names.get(name)
        if tokens is None:
            tokens = identifier_tokens(name)
            if len(name) > _MAX_CACHED_NAME_CHARS:
                return tokens  # minified or generated names: not worth a cache entry
            if len(self._names) >= _MAX_CACHED_NAMES:
                self._names.clear()
            self._names[name] = tokens
        return tokens

    def analyze_text(self, text: str) -> list[str]:
        """Tokens of natural-language text (summaries, docstrings, queries), in text order.

        Korean goes through Nori; Latin words and identifiers are lowercased, identifiers yield
        their whole form and their words, English words lose a plural/possessive ``s``.
        """
        text = _prepare(text)
        runs = [(m.start(), m.end(), m.group()) for m in _LATIN_RUN.finditer(text)]
        positioned = [(start, token) for start, _, run in runs for token in _latin_run_tokens(run)]
        run_index = 0
        for offset, token in self._nori.tokens_with_offsets(text):
            while run_index < len(runs) and runs[run_index][1] <= offset:
                run_index += 1
            inside_run = run_index < len(runs) and runs[run_index][0] <= offset
            if inside_run and _ASCII_TOKEN.fullmatch(token):
                continue  # already covered by the identifier tokens of that run
            positioned.append((offset, token))
        positioned.sort(key=lambda item: item[0])
        return _clean(token for _, token in positioned)

    def analyze_code(self, code: str) -> list[str]:
        """Tokens of source code: identifiers (whole + words, keywords and 1-char names
        dropped) followed by the Nori tokens of Korean comments and string literals."""
        tokens: list[str] = []
        for name in extract_identifiers(code):
            tokens.extend(self._identifier_tokens(name))
        korean = "\n".join(m.group() for m in _KOREAN_RUN.finditer(code))
        if korean:
            tokens.extend(self._nori.tokens(korean))
        return _clean(tokens)

    def analyze_identifiers(self, names: Iterable[str]) -> list[str]:
        """Tokens of unit names such as ``pkg.auth.TokenStore.get_netrc_auth``: each dotted
        segment whole (if compound) and its words; keywords are kept, since they are names."""
        tokens: list[str] = []
        for name in names:
            prepared = _prepare(name)
            for match in _LATIN_RUN.finditer(prepared):
                tokens.extend(_latin_run_tokens(match.group()))
            korean = "\n".join(m.group() for m in _KOREAN_RUN.finditer(prepared))
            if korean:
                tokens.extend(self._nori.tokens(korean))
        return _clean(tokens)

    def analyze_query(self, query: str) -> list[str]:
        """Query tokens: exactly :meth:`analyze_text`, so queries meet summaries, and their
        identifier words meet :meth:`analyze_code` and :meth:`analyze_identifiers` tokens."""
        return self.analyze_text(query)
