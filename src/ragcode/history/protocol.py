"""The history port: every chat turn of every user, kept for the web client and for memory.

Turns belong to conversations: a user has several named conversations, each with its own
history and memory. Every method that names a conversation also names its user, and treats a
conversation of another user as missing (None, or no rows): the server answers 404 for both,
so ids of other users' conversations are never confirmed.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

TITLE_CHARS = 40  # a default title: the start of the first question


class HistoryError(RuntimeError):
    """The history store cannot be read or written."""


class ConversationNotFoundError(HistoryError):
    """No conversation of this user has that id (deleted, or another user's)."""


def default_title(question: str) -> str:
    """A conversation's title from its first question: one line, its first characters."""
    return " ".join(question.split())[:TITLE_CHARS]


@dataclass(frozen=True, slots=True)
class NewTurn:
    """A finished turn to record; `question` is what may be kept (pii mode: masked).
    `conversation_id` None: the user's most recently active conversation (one is created
    when the user has none)."""

    user_id: int
    request_id: str
    mode: str
    question: str
    answer: str
    references: list[dict[str, object]] = field(default_factory=list)
    standalone_question: str | None = None
    conversation_id: int | None = None


@dataclass(frozen=True, slots=True)
class StoredTurn:
    id: int  # increasing; the `before` cursor of `list`
    user_id: int
    request_id: str
    created_at: datetime  # UTC, microsecond precision
    mode: str
    question: str
    answer: str
    references: list[dict[str, object]]
    standalone_question: str | None = None
    conversation_id: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "request_id": self.request_id,
            "time": self.created_at.isoformat(timespec="microseconds"),
            "mode": self.mode,
            "question": self.question,
            "answer": self.answer,
            "references": self.references,
            "conversation_id": self.conversation_id,
        }


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    user_id: int
    title: str | None  # None until the first question names it (or a rename does)
    created_at: datetime  # UTC
    updated_at: datetime  # last activity: creation, then each turn recorded
    turns: int = 0
    # "Forget": memory reads only turns with larger ids; the history keeps showing them all.
    memory_after: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "created": self.created_at.isoformat(timespec="microseconds"),
            "last_activity": self.updated_at.isoformat(timespec="microseconds"),
            "turns": self.turns,
            "memory_after": self.memory_after,
        }


class HistoryStore(Protocol):
    def add(self, turn: NewTurn) -> StoredTurn:
        """Record the turn in its conversation (ConversationNotFoundError when that is not
        the user's), which it names when still untitled and makes the most recent."""
        ...

    def list(
        self,
        user_id: int,
        limit: int,
        before: int | None = None,
        conversation_id: int | None = None,
    ) -> list[StoredTurn]:
        """Up to `limit` turns older than the turn id `before`, oldest first (newest last):
        of one conversation, or of all the user's conversations (None)."""
        ...

    def recent(
        self,
        user_id: int,
        modes: Sequence[str],
        limit: int,
        conversation_id: int | None = None,
    ) -> builtins.list[StoredTurn]:
        """The last `limit` turns of the given modes, oldest first (conversation memory):
        of one conversation, after its `memory_after`, or of all conversations (None)."""
        ...

    def delete_all(self, user_id: int) -> int:
        """Every turn and conversation of the user; the turns deleted."""
        ...

    # --- conversations -----------------------------------------------------------------
    def create_conversation(self, user_id: int, title: str | None = None) -> Conversation: ...

    def conversations(self, user_id: int) -> builtins.list[Conversation]:
        """The user's conversations, most recently active first."""
        ...

    def conversation(self, user_id: int, conversation_id: int) -> Conversation | None: ...

    def default_conversation(self, user_id: int) -> Conversation:
        """The most recently active conversation; a new one when the user has none."""
        ...

    def rename_conversation(
        self, user_id: int, conversation_id: int, title: str
    ) -> Conversation | None: ...

    def delete_conversation(self, user_id: int, conversation_id: int) -> int | None:
        """Delete it with its turns: the turns deleted, None when there is no such one."""
        ...

    def forget(self, user_id: int, conversation_id: int) -> Conversation | None:
        """Memory starts fresh after the turns recorded so far; the history stays."""
        ...

    def close(self) -> None: ...


# --- moving history to another database (`ragcode migrate`): conversations and turns
# travel as `Conversation`s and `StoredTurn`s, ids and times kept (turn ids are the `before`
# cursor of `list` and give the turns' order; conversation ids are in the clients' hands).
class HistoryExport(Protocol):
    def export_turns(self, after: int, limit: int) -> builtins.list[StoredTurn]:
        """Up to `limit` turns of every user with ids above `after`, by id (one page)."""
        ...

    def count_turns(self) -> int: ...

    def export_conversations(self) -> builtins.list[Conversation]:
        """Every conversation of every user, by id (turn counts included)."""
        ...

    def count_conversations(self) -> int: ...


class HistoryImport(HistoryExport, Protocol):
    def import_conversations(self, conversations: Iterable[Conversation]) -> int:
        """Add the conversations whose ids are not there yet, in one transaction; before
        their turns. The conversations added."""
        ...

    def import_turns(self, turns: Iterable[StoredTurn]) -> int:
        """Add the turns whose ids are not there yet, all in one transaction (a failure
        adds none); new turns recorded afterwards get higher ids. The turns added."""
        ...
