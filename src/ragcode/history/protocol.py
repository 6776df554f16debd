"""The history port: every chat turn of every user, kept for the web client and for memory."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class HistoryError(RuntimeError):
    """The history store cannot be read or written."""


@dataclass(frozen=True, slots=True)
class NewTurn:
    """A finished turn to record; `question` is what may be kept (pii mode: masked)."""

    user_id: int
    request_id: str
    mode: str
    question: str
    answer: str
    references: list[dict[str, object]] = field(default_factory=list)
    standalone_question: str | None = None


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

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "request_id": self.request_id,
            "time": self.created_at.isoformat(timespec="microseconds"),
            "mode": self.mode,
            "question": self.question,
            "answer": self.answer,
            "references": self.references,
        }


class HistoryStore(Protocol):
    def add(self, turn: NewTurn) -> StoredTurn: ...

    def list(self, user_id: int, limit: int, before: int | None = None) -> list[StoredTurn]:
        """Up to `limit` turns older than the turn id `before`, oldest first (newest last)."""
        ...

    def recent(self, user_id: int, modes: Sequence[str], limit: int) -> builtins.list[StoredTurn]:
        """The last `limit` turns of the given modes, oldest first (conversation memory)."""
        ...

    def delete_all(self, user_id: int) -> int: ...

    def close(self) -> None: ...


# --- moving history to another database (`ragcode migrate`): turns travel as `StoredTurn`s,
# ids and times kept (ids are the `before` cursor of `list`, and give the turns' order).
class HistoryExport(Protocol):
    def export_turns(self, after: int, limit: int) -> builtins.list[StoredTurn]:
        """Up to `limit` turns of every user with ids above `after`, by id (one page)."""
        ...

    def count_turns(self) -> int: ...


class HistoryImport(HistoryExport, Protocol):
    def import_turns(self, turns: Iterable[StoredTurn]) -> int:
        """Add the turns whose ids are not there yet, all in one transaction (a failure
        adds none); new turns recorded afterwards get higher ids. The turns added."""
        ...
