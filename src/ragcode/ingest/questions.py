"""Doc2query: the Korean questions a developer would ask to find a unit, added to its summary."""

from __future__ import annotations

import re

# Tokens for the questions line, on top of the description's budget.
QUESTIONS_MAX_TOKENS = 90
MAX_QUESTIONS = 3
QUESTIONS_LABEL = "예상 질문: "
_NUMBERING = re.compile(r"^\s*(?:[-*•]|\d+[.)]|질문\s*\d*\s*[:：])\s*")


def clean_questions(raw: str) -> list[str]:
    """Distinct one-line questions without numbering or code; at most three. The model writes
    them on one line separated by " / " (or, now and then, one per line)."""
    questions: list[str] = []
    for line in re.split(r"\n|\s/\s", raw):
        text = _NUMBERING.sub("", line).strip().strip("\"'“”")
        if 4 <= len(text) <= 120 and "```" not in text and text not in questions:
            questions.append(text)
    return questions[:MAX_QUESTIONS]


def with_questions(summary: str, questions: list[str]) -> str:
    return f"{summary}\n{QUESTIONS_LABEL}{' / '.join(questions)}" if questions else summary
