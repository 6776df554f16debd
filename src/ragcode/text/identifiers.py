"""Identifier splitting and extraction for lexical search over source code."""

from __future__ import annotations

import re

# Keywords and keyword-like literals of Python, JavaScript, TypeScript, Java and Go, plus the
# conventional receivers ``self``/``cls``: they occur everywhere and carry no meaning for search.
# Contextual words that are also common names (get, set, of, match, module, error, ...) are
# deliberately absent. Matching is case-sensitive (``True`` and ``true`` are both listed).
_PYTHON_KEYWORDS = (
    "False None True and as assert async await break class continue def del elif else except "
    "finally for from global if import in is lambda nonlocal not or pass raise return try while "
    "with yield self cls"
)
_JAVASCRIPT_KEYWORDS = (
    "case catch const debugger default delete do export extends false function instanceof let "
    "new null static super switch this throw true typeof undefined var void enum implements "
    "interface package private protected public"
)
_TYPESCRIPT_KEYWORDS = (
    "abstract any boolean declare keyof namespace never number readonly satisfies string type "
    "unknown override"
)
_JAVA_KEYWORDS = (
    "byte char double final float goto int long native short strictfp synchronized throws "
    "transient volatile record sealed permits"
)
_GO_KEYWORDS = "chan defer fallthrough func go map range select struct nil"
CODE_KEYWORDS: frozenset[str] = frozenset(
    " ".join(
        (_PYTHON_KEYWORDS, _JAVASCRIPT_KEYWORDS, _TYPESCRIPT_KEYWORDS, _JAVA_KEYWORDS, _GO_KEYWORDS)
    ).split()
)

# Words inside an identifier: acronyms before a capitalized word (HTTP|Server), capitalized or
# lowercase words, remaining upper-case runs (JSON), digit runs (2). Everything else separates.
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
# An identifier not glued to a preceding letter/digit (so ``0xFF`` yields nothing).
_IDENTIFIER = re.compile(r"(?<![0-9A-Za-z_])[A-Za-z_][A-Za-z0-9_]*")


def split_identifier(name: str) -> list[str]:
    """Lowercased words of an identifier.

    Splits on ``_``, ``.``, ``-`` and any other non-alphanumeric character, on camelCase and
    acronym boundaries, and around digit runs, which become words of their own:
    ``parseJSON2Dict`` -> ``["parse", "json", "2", "dict"]``. Non-ASCII characters are ignored.
    """
    return [match.group().lower() for match in _WORD.finditer(name)]


def extract_identifiers(code: str) -> list[str]:
    """Identifiers occurring in ``code``, in order and with repetitions (term frequency matters).

    Language keywords (:data:`CODE_KEYWORDS`) and one-character names are left out.
    """
    return [
        name for name in _IDENTIFIER.findall(code) if len(name) > 1 and name not in CODE_KEYWORDS
    ]
