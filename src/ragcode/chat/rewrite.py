"""Follow-up rewriting: "그럼 그걸 비동기로 바꿔줘" -> a question retrieval can answer."""

from __future__ import annotations

from collections.abc import Sequence

from ragcode.chat.prompts.rewrite import REWRITE_SYSTEM, REWRITE_USER
from ragcode.domain import ChatTurn
from ragcode.llm.protocol import LLM, ChatMessage

_ANSWER_CHARS = 300  # enough of each answer to name what it was about


def render_history(turns: Sequence[ChatTurn]) -> str:
    lines = []
    for turn in turns:
        lines.append(f"사용자: {turn.standalone_question or turn.question}")
        answer = " ".join(turn.answer.split())
        lines.append(f"도우미: {answer[:_ANSWER_CHARS]}")
    return "\n".join(lines)


def clean_rewrite(raw: str, fallback: str) -> str:
    line = next((part.strip() for part in raw.strip().splitlines() if part.strip()), "")
    for prefix in ("독립된 질문:", "질문:", "Standalone question:", "Question:"):
        if line.startswith(prefix):
            line = line[len(prefix) :].strip()
    line = line.strip("\"'“” ")
    return line if 3 <= len(line) <= 500 else fallback


def rewrite_question(llm: LLM, question: str, turns: Sequence[ChatTurn]) -> str:
    """The standalone question; the original one when there is no history to resolve."""
    if not turns:
        return question
    messages = [
        ChatMessage("system", REWRITE_SYSTEM),
        ChatMessage("user", REWRITE_USER.format(history=render_history(turns), question=question)),
    ]
    raw = "".join(llm.stream(messages, max_tokens=96, temperature=0.0))
    return clean_rewrite(raw, fallback=question)
