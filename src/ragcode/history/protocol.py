"""The history port: every chat turn of every user, kept for the web client and for memory.

Turns belong to conversations: a user has several named conversations, each with its own
history and memory. Every method that names a conversation also names its user, and treats a
conversation of another user as missing (None, or no rows): the server answers 404 for both,
so ids of other users' conversations are never confirmed.
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

TITLE_CHARS = 40  # a default title: the start of the first question
MAX_CONVERSATIONS = 500  # per user, unless the caller gives its own cap (server setting)

# Title cleaning. The patterns are shared with the SQL of PostgreSQL migration history 2,
# which names the conversations of older history (so both spell characters as \uXXXX, which
# Python's `re` and PostgreSQL's regular expressions read alike): terminal escape sequences
# go, then invisible characters (C0/C1 controls, bidi overrides and isolates, zero-width and
# other format characters), and whitespace of every kind (NBSP, ideographic space, line
# separators) becomes one space between words. Python alone also drops NUL and lone
# surrogates, which PostgreSQL text cannot hold.
ANSI_ESCAPE = r"\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[@-Z\\-_])?"
INVISIBLE = (
    r"[\u0001-\u0008\u000e-\u001b\u007f-\u0084\u0086-\u009f\u00ad\u061c\u180e"
    r"\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
WHITESPACE = (
    r"[\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f"
    r"\u205f\u3000]+"
)
_ANSI = re.compile(ANSI_ESCAPE)
_INVISIBLE = re.compile(INVISIBLE[:-1] + r"\u0000\ud800-\udfff]")
_WHITESPACE = re.compile(WHITESPACE)


class HistoryError(RuntimeError):
    """The history store cannot be read or written."""


class ConversationNotFoundError(HistoryError):
    """No conversation of this user has that id (deleted, or another user's)."""


class HistoryConflictError(HistoryError):
    """The conversation's last turn is not the one a replacement was asked for (another
    turn was added since the client chose it): nothing was written."""


class TooManyConversationsError(HistoryError):
    """The user has as many conversations as allowed; one must be deleted first."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"대화는 사용자당 {limit}개까지 만들 수 있습니다. "
            "쓰지 않는 대화를 지운 뒤 다시 만들어 주세요."
        )
        self.limit = limit


def clean_title(value: str) -> str:
    """One line of visible text: no terminal escapes, control, bidi or zero-width
    characters; whitespace of any kind squeezed to single spaces, trimmed."""
    kept = _INVISIBLE.sub("", _ANSI.sub("", value))
    return _WHITESPACE.sub(" ", kept).strip(" ")


def default_title(question: str) -> str:
    """A conversation's title from its first question: cleaned, its first characters."""
    return clean_title(question)[:TITLE_CHARS]


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
    stopped: bool = False  # the user stopped it: `answer` is what came before the stop
    # A document answer's sentences and the [n] each cites ({"index", "start", "end",
    # "sources"}: offsets into `answer`, chat/doc_answer.py), so that a reload links every
    # sentence to its reference card as the live answer did. Empty for other answers.
    sentences: list[dict[str, object]] = field(default_factory=list)


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
    stopped: bool = False
    sentences: list[dict[str, object]] = field(default_factory=list)  # as NewTurn's

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
            "stopped": self.stopped,
            "sentences": self.sentences,
        }


def stored_sentences(text: str | None) -> list[dict[str, object]]:
    """The sentences of a turn as kept (JSON text): only well-formed entries, [] for none.
    Rows written before the column existed, or damaged by hand, must still load."""
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    user_id: int
    title: str | None  # None until the first question names it (or a rename does)
    created_at: datetime  # UTC
    updated_at: datetime  # last activity: creation, then each turn recorded
    turns: int = 0
    # "Forget": memory reads only turns with larger ids; the history keeps showing them all.
    # A turn id, kept server-side: clients see `forgotten_turns`, a count of this one's own.
    memory_after: int = 0
    forgotten: int = 0  # the conversation's turns memory no longer reads

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "created": self.created_at.isoformat(timespec="microseconds"),
            "last_activity": self.updated_at.isoformat(timespec="microseconds"),
            "turns": self.turns,
            "forgotten_turns": self.forgotten,
        }


class HistoryStore(Protocol):
    def add(self, turn: NewTurn) -> StoredTurn:
        """Record the turn in its conversation (ConversationNotFoundError when that is not
        the user's), which it names when still untitled and makes the most recent."""
        ...

    def replace_last(self, turn: NewTurn, expected_id: int | None = None) -> StoredTurn:
        """Put the turn in place of the last turn of its conversation (regenerate, edit and
        resend): that turn's id and place, everything else the new turn's, the time now; the
        conversation becomes the most recent. Added as `add` does when the conversation has
        no turn yet; ConversationNotFoundError when it is not the user's. With
        `expected_id` (the turn the client chose), HistoryConflictError unless that is the
        last turn, checked in the writing transaction."""
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
    def create_conversation(
        self, user_id: int, title: str | None = None, limit: int = MAX_CONVERSATIONS
    ) -> Conversation:
        """A new conversation; TooManyConversationsError when the user has `limit` already
        (counted in the transaction that inserts, so concurrent requests cannot pass it)."""
        ...

    def conversations(
        self, user_id: int, limit: int | None = None, before: int | None = None
    ) -> builtins.list[Conversation]:
        """The user's conversations, most recently active first: up to `limit` (None: all),
        after the conversation `before` in that order (none when it is not the user's)."""
        ...

    def conversation(self, user_id: int, conversation_id: int) -> Conversation | None: ...

    def default_conversation(self, user_id: int) -> Conversation:
        """The most recently active conversation; a new one when the user has none (so
        never past any cap on conversations)."""
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

    def last_ids(self) -> tuple[int, int]:
        """The largest conversation and turn ids ever given (deleted rows included): the
        target's counters must go past them, or an id could be reused."""
        ...


class HistoryImport(HistoryExport, Protocol):
    def import_conversations(self, conversations: Iterable[Conversation], last_id: int = 0) -> int:
        """Add the conversations whose ids are not there yet, in one transaction; before
        their turns. An id there already with another user aborts it all (HistoryError).
        New conversations get ids above `last_id` and the copied ones. The ones added."""
        ...

    def import_turns(self, turns: Iterable[StoredTurn], last_id: int = 0) -> int:
        """Add the turns whose ids are not there yet, all in one transaction (a failure
        adds none); a turn whose id or conversation is there with another user aborts it
        all (HistoryError). New turns get ids above `last_id`, the copied ones and every
        "forget" mark. The turns added."""
        ...
