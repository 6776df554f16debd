"""Language of a question and of the code it asks for."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Literal

from ragcode.domain import Hit

Lang = Literal["ko", "en"]

_HANGUL = re.compile(r"[가-힣ㄱ-ㅎㅏ-ㅣ]")
_LATIN = re.compile(r"[A-Za-z]")

# Words a user writes to ask for a given programming language, in Korean or English.
_LANGUAGE_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("typescript", re.compile(r"타입스크립트|typescript|\bts\b|\btsx\b", re.IGNORECASE)),
    ("javascript", re.compile(r"자바스크립트|javascript|\bjs\b|node\.?js|노드", re.IGNORECASE)),
    ("java", re.compile(r"자바(?!스크립트)|\bjava\b", re.IGNORECASE)),
    ("go", re.compile(r"고랭|golang|\bgo\s*(?:언어|코드|로|lang)|\bin go\b", re.IGNORECASE)),
    ("python", re.compile(r"파이썬|python|\bpy\b", re.IGNORECASE)),
)


def question_language(text: str) -> Lang:
    """Korean when the text has Hangul in any real proportion, English otherwise."""
    hangul = len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    return "ko" if hangul and hangul * 3 >= latin * 0.5 else "en"


# The code languages a user may choose for code generation (issue 15.2), and the record
# languages each one searches: a .tsx file is TypeScript to a person.
AUTO = "auto"
CODE_LANGUAGES: dict[str, tuple[str, ...]] = {
    "python": ("python",),
    "javascript": ("javascript",),
    "typescript": ("typescript", "tsx"),
    "java": ("java",),
    "go": ("go",),
}


class UnknownCodeLanguageError(ValueError):
    """A code language nobody can choose (not "auto", nor one of CODE_LANGUAGES)."""


def chosen_code_language(choice: str | None) -> str | None:
    """The code language a user chose; None for "auto" (or nothing chosen). Raises
    UnknownCodeLanguageError for anything else."""
    if choice is None or choice == AUTO:
        return None
    if choice not in CODE_LANGUAGES:
        raise UnknownCodeLanguageError(choice)
    return choice


def is_code_language_choice(choice: str | None) -> bool:
    """Whether a client's choice names "auto" (or nothing) or one of CODE_LANGUAGES."""
    return choice is None or choice == AUTO or choice in CODE_LANGUAGES


def record_languages(choice: str | None) -> tuple[str, ...] | None:
    """The record languages retrieval keeps for a choice (None: every language)."""
    chosen = chosen_code_language(choice)
    return None if chosen is None else CODE_LANGUAGES[chosen]


def code_language_counts(counts: dict[str, int]) -> dict[str, int]:
    """Record counts per language of a store, folded into the choosable code languages
    (tsx into typescript; documents' formats left out), in CODE_LANGUAGES order."""
    folded = {
        choice: sum(counts.get(language, 0) for language in languages)
        for choice, languages in CODE_LANGUAGES.items()
    }
    return {choice: count for choice, count in folded.items() if count}


def requested_code_language(question: str, hits: Sequence[Hit], chosen: str | None = None) -> str:
    """The language the user chose (`chosen`, not "auto"), else the one the question names,
    else the most common language of the context."""
    picked = chosen_code_language(chosen)
    if picked is not None:
        return picked
    for language, pattern in _LANGUAGE_HINTS:
        if pattern.search(question):
            return language
    if hits:
        counts = Counter(
            "typescript" if h.record.language == "tsx" else h.record.language for h in hits
        )
        return counts.most_common(1)[0][0]
    return "python"
