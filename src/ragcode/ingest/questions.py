"""Doc2query: the Korean questions a developer would ask to find a unit, added to its summary."""

from __future__ import annotations

import re

from ragcode.domain import Record
from ragcode.ingest.summary_prompt import (
    QUESTIONS_EXAMPLE_ANSWER,
    QUESTIONS_EXAMPLE_USER,
    QUESTIONS_SYSTEM,
    QUESTIONS_USER,
)
from ragcode.llm.protocol import ChatMessage

QUESTIONS_CODE_CHARS = 4000
QUESTIONS_MAX_TOKENS = 90
MAX_QUESTIONS = 3
QUESTIONS_LABEL = "예상 질문: "
_NUMBERING = re.compile(r"^\s*(?:[-*•]|\d+[.)]|질문\s*\d*\s*[:：])\s*")


def build_question_messages(unit: Record) -> list[ChatMessage]:
    code = unit.body[:QUESTIONS_CODE_CHARS]
    return [
        ChatMessage("system", QUESTIONS_SYSTEM),
        ChatMessage("user", QUESTIONS_EXAMPLE_USER),
        ChatMessage("assistant", QUESTIONS_EXAMPLE_ANSWER),
        ChatMessage("user", QUESTIONS_USER.format(language=unit.language, code=code)),
    ]


def clean_questions(raw: str) -> list[str]:
    """Distinct one-line questions without numbering or code; at most three."""
    questions: list[str] = []
    for line in raw.splitlines():
        text = _NUMBERING.sub("", line).strip().strip("\"'“”")
        if 4 <= len(text) <= 120 and "```" not in text and text not in questions:
            questions.append(text)
    return questions[:MAX_QUESTIONS]


def with_questions(summary: str, questions: list[str]) -> str:
    return f"{summary}\n{QUESTIONS_LABEL}{' / '.join(questions)}" if questions else summary
