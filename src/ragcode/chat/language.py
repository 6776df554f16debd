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


def requested_code_language(question: str, hits: Sequence[Hit]) -> str:
    """The language the question names, else the most common language of the context."""
    for language, pattern in _LANGUAGE_HINTS:
        if pattern.search(question):
            return language
    if hits:
        counts = Counter(
            "typescript" if h.record.language == "tsx" else h.record.language for h in hits
        )
        return counts.most_common(1)[0][0]
    return "python"
