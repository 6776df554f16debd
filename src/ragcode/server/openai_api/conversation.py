"""From an OpenAI messages list to a chat mode's question and conversation memory.

The API is stateless: the client sends the whole conversation every time. The run of user
messages at its end is the question (clients such as Open WebUI send context and question as
separate user messages); the user/assistant exchanges before it are the conversation memory,
held to what the web chat's memory could hold: every question within `max_message_chars`,
answers no longer than the server's own, and only the most recent turns within a window and a
character budget. System messages are not passed on: every model runs ragcode's own prompts,
which the retrieval and citation checks depend on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ragcode.config import Settings
from ragcode.domain import ChatTurn
from ragcode.server.openai_api.errors import (
    earlier_question_too_long,
    invalid_body,
    question_too_long,
)
from ragcode.server.openai_api.schema import MessageIn
from ragcode.server.openai_api.sources import without_sources

# A stored answer is at most the model's answer budget; ~3 characters a token for code and
# one for Hangul, so 4 a token is a generous bound on what the server itself could write.
ANSWER_CHARS_PER_TOKEN = 4
JOIN = "\n\n"  # between consecutive user messages of one question
CUT = "…"  # ends an answer cut short


@dataclass(frozen=True, slots=True)
class Limits:
    question_chars: int  # a question: a run of user messages joined (the web's message cap)
    answer_chars: int  # an earlier answer is cut to this
    turns: int  # the most recent turns kept (the web's memory window)
    history_chars: int  # the kept turns' questions and answers together

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """From the server's settings: the same bounds the web chat's memory has."""
        tokens = max(
            settings.generation.max_answer_tokens,
            settings.documents.max_answer_tokens,
            settings.server.chat_max_tokens,
        )
        question = settings.server.max_message_chars
        answer = ANSWER_CHARS_PER_TOKEN * tokens
        # One exchange of the largest question and answer fits; shorter ones fit several.
        return cls(question, answer, settings.generation.history_turns, question + answer)


@dataclass(frozen=True, slots=True)
class Conversation:
    question: str
    turns: list[ChatTurn]  # oldest first

    def text(self) -> str:
        """Everything of the conversation that reaches the model (usage estimates)."""
        earlier = (part for turn in self.turns for part in (turn.question, turn.answer))
        return "\n".join((*earlier, self.question))


def conversation(messages: Sequence[MessageIn], limits: Limits) -> Conversation:
    """The question and the earlier turns; ApiError when there is nothing to answer or a
    question is too long."""
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last is None:
        raise invalid_body("messages 에 user 메시지가 하나도 없습니다.", param="messages")
    start = last
    while start > 0 and messages[start - 1].role != "assistant":
        start -= 1  # system and tool messages between user messages do not end the run
    question = _joined(messages[start : last + 1])
    if not question:
        raise invalid_body("마지막 user 메시지가 비어 있습니다.", param="messages")
    if len(question) > limits.question_chars:
        raise question_too_long(limits.question_chars)
    return Conversation(question, _window(_turns(messages[:start], limits), limits))


def _joined(messages: Sequence[MessageIn]) -> str:
    texts = (m.text().strip() for m in messages if m.role == "user")
    return JOIN.join(text for text in texts if text)


def _turns(messages: Sequence[MessageIn], limits: Limits) -> list[ChatTurn]:
    """User messages followed by an answer; consecutive user messages are one question, and
    an answer to nothing (or with no text: a tool call) is left out."""
    turns: list[ChatTurn] = []
    asked: list[MessageIn] = []
    for message in messages:
        if message.role == "user":
            asked.append(message)
            continue
        answer = message.text().strip() if message.role == "assistant" else ""
        question = _joined(asked)
        if not answer or not question:
            continue
        if len(question) > limits.question_chars:
            raise earlier_question_too_long(limits.question_chars)
        turns.append(ChatTurn(question, _cut(without_sources(answer).strip(), limits)))
        asked = []
    return turns


def _cut(answer: str, limits: Limits) -> str:
    if len(answer) <= limits.answer_chars:
        return answer
    return answer[: limits.answer_chars - len(CUT)] + CUT


def _window(turns: list[ChatTurn], limits: Limits) -> list[ChatTurn]:
    """The most recent turns that fit the window and the budget (the older ones are what a
    long conversation forgets first, as in the web chat)."""
    kept: list[ChatTurn] = []
    used = 0
    for turn in reversed(turns):
        size = len(turn.question) + len(turn.answer)
        if len(kept) >= limits.turns or used + size > limits.history_chars:
            break
        kept.append(turn)
        used += size
    return kept[::-1]
