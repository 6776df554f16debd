"""History in one SQLite file of the data directory (WAL; one connection behind a lock)."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from ragcode.db.sqlite import LockedDatabase, immediate
from ragcode.history import sqlite_schema
from ragcode.history.protocol import (
    MAX_CONVERSATIONS,
    Conversation,
    ConversationNotFoundError,
    HistoryConflictError,
    HistoryError,
    NewTurn,
    StoredTurn,
    TooManyConversationsError,
    default_title,
    stored_sentences,
)

_COLUMNS = (
    "id, user_id, request_id, created_at, mode, question, answer, references_json,"
    " standalone_question, conversation_id, stopped, sentences_json"
)
_CONVERSATION = (
    "SELECT c.id, c.user_id, c.title, c.created_at, c.updated_at, c.memory_after,"
    " (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id),"
    " (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id AND t.id <= c.memory_after)"
    " FROM conversations c"
)
# Conversations after the cursor conversation in the newest-first order (same user only).
_BEFORE = (
    " AND (c.updated_at, c.id) < (SELECT b.updated_at, b.id FROM conversations b"
    " WHERE b.id = ? AND b.user_id = c.user_id)"
)
_NEWEST_FIRST = " ORDER BY c.updated_at DESC, c.id DESC"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _row_to_turn(row: Sequence[object]) -> StoredTurn:
    references = json.loads(str(row[7]))
    return StoredTurn(
        id=int(str(row[0])),
        user_id=int(str(row[1])),
        request_id=str(row[2]),
        created_at=datetime.fromisoformat(str(row[3])),
        mode=str(row[4]),
        question=str(row[5]),
        answer=str(row[6]),
        references=references if isinstance(references, list) else [],
        standalone_question=None if row[8] is None else str(row[8]),
        conversation_id=int(str(row[9] or 0)),
        stopped=bool(row[10]),
        sentences=stored_sentences(None if row[11] is None else str(row[11])),
    )


def _row_to_conversation(row: Sequence[object]) -> Conversation:
    return Conversation(
        id=int(str(row[0])), user_id=int(str(row[1])),
        title=None if row[2] is None else str(row[2]),
        created_at=datetime.fromisoformat(str(row[3])),
        updated_at=datetime.fromisoformat(str(row[4])),
        memory_after=int(str(row[5])), turns=int(str(row[6])), forgotten=int(str(row[7])),
    )  # fmt: skip


def _references(turn: NewTurn) -> str:
    return json.dumps(turn.references, ensure_ascii=False, default=str)


def _sentences(turn: NewTurn) -> str:
    return json.dumps(turn.sentences, ensure_ascii=False, default=str)


def _stored(turn_id: int, turn: NewTurn, created: datetime, conversation: int) -> StoredTurn:
    return StoredTurn(
        turn_id, turn.user_id, turn.request_id, created, turn.mode, turn.question,
        turn.answer, list(turn.references), turn.standalone_question, conversation,
        turn.stopped, list(turn.sentences),
    )  # fmt: skip


class SqliteHistory(LockedDatabase):
    error = HistoryError
    failure = "대화 기록 저장소 오류"

    def __init__(self, path: Path) -> None:
        super().__init__(path, sqlite_schema.SCHEMA)
        # Inside the write lock: the CLI and the server may open the file together.
        with self._guard() as conn, immediate(conn):
            sqlite_schema.upgrade(conn)

    def add(self, turn: NewTurn) -> StoredTurn:
        return self._record(turn, self._insert_turn)

    def replace_last(self, turn: NewTurn, expected_id: int | None = None) -> StoredTurn:
        def replace(conn: sqlite3.Connection, turn: NewTurn, conversation: int, at: str) -> int:
            last = conn.execute(
                "SELECT MAX(id) FROM turns WHERE conversation_id = ? AND user_id = ?",
                (conversation, turn.user_id),
            ).fetchone()
            last_id = None if last is None or last[0] is None else int(last[0])
            if expected_id is not None and last_id != expected_id:
                raise HistoryConflictError(f"last turn {last_id}, not {expected_id}")
            if last_id is None:
                return self._insert_turn(conn, turn, conversation, at)
            conn.execute(
                "UPDATE turns SET request_id = ?, created_at = ?, mode = ?, question = ?,"
                " answer = ?, references_json = ?, standalone_question = ?, stopped = ?,"
                " sentences_json = ? WHERE id = ?",
                (
                    turn.request_id, at, turn.mode, turn.question, turn.answer,
                    _references(turn), turn.standalone_question, int(turn.stopped),
                    _sentences(turn), last_id,
                ),
            )  # fmt: skip
            return last_id

        return self._record(turn, replace)

    def _record(
        self, turn: NewTurn, write: Callable[[sqlite3.Connection, NewTurn, int, str], int]
    ) -> StoredTurn:
        """One write transaction: the turn's conversation (the most recent one when it names
        none) becomes the most recent, then `write` stores the turn and returns its id."""
        created = datetime.now(UTC)
        at = created.isoformat(timespec="microseconds")
        with self._guard() as conn, immediate(conn):
            conversation = turn.conversation_id
            if conversation is None:
                conversation = self._default_id(conn, turn.user_id)
            self._touch(conn, turn, conversation, at)
            turn_id = write(conn, turn, conversation, at)
        return _stored(turn_id, turn, created, conversation)

    @staticmethod
    def _insert_turn(conn: sqlite3.Connection, turn: NewTurn, conversation: int, at: str) -> int:
        cursor = conn.execute(
            f"INSERT INTO turns ({_COLUMNS.split(', ', 1)[1]}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                turn.user_id, turn.request_id, at, turn.mode, turn.question, turn.answer,
                _references(turn), turn.standalone_question, conversation, int(turn.stopped),
                _sentences(turn),
            ),
        )  # fmt: skip
        return int(cursor.lastrowid or 0)

    @staticmethod
    def _touch(conn: sqlite3.Connection, turn: NewTurn, conversation: int, at: str) -> None:
        """The conversation becomes the most recent (named by the question when untitled);
        ConversationNotFoundError when it is not the user's."""
        named = conn.execute(
            "UPDATE conversations SET updated_at = ?, title = COALESCE(title, ?)"
            " WHERE id = ? AND user_id = ?",
            (at, default_title(turn.question) or None, conversation, turn.user_id),
        )
        if named.rowcount == 0:
            raise ConversationNotFoundError(f"대화 {conversation} 이(가) 없습니다")

    def list(
        self,
        user_id: int,
        limit: int,
        before: int | None = None,
        conversation_id: int | None = None,
    ) -> builtins.list[StoredTurn]:
        cursor_id = before if before is not None else 2**62
        where, params = "user_id = ? AND id < ?", [user_id, cursor_id]
        if conversation_id is not None:
            where, params = where + " AND conversation_id = ?", [*params, conversation_id]
        with self._guard() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM turns WHERE {where} ORDER BY id DESC LIMIT ?",
                (*params, max(0, limit)),
            ).fetchall()
        return [_row_to_turn(row) for row in reversed(rows)]

    def recent(
        self,
        user_id: int,
        modes: Sequence[str],
        limit: int,
        conversation_id: int | None = None,
    ) -> builtins.list[StoredTurn]:
        if not modes or limit <= 0:
            return []
        where = f"user_id = ? AND mode IN ({','.join('?' * len(modes))})"
        params: builtins.list[object] = [user_id, *modes]
        if conversation_id is not None:
            where += (
                " AND conversation_id = ? AND id > (SELECT memory_after FROM conversations"
                " WHERE id = ? AND user_id = ?)"
            )
            params += [conversation_id, conversation_id, user_id]
        with self._guard() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM turns WHERE {where} ORDER BY id DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [_row_to_turn(row) for row in reversed(rows)]

    def delete_all(self, user_id: int) -> int:
        with self._guard() as conn, immediate(conn):
            deleted = conn.execute("DELETE FROM turns WHERE user_id = ?", (user_id,)).rowcount
            conn.execute("DELETE FROM conversations WHERE user_id = ?", (user_id,))
            return int(deleted)

    # --- conversations -----------------------------------------------------------------
    def create_conversation(
        self, user_id: int, title: str | None = None, limit: int = MAX_CONVERSATIONS
    ) -> Conversation:
        with self._guard() as conn, immediate(conn):  # the count and the insert: one writer
            count = conn.execute(
                "SELECT COUNT(*) FROM conversations WHERE user_id = ?", (user_id,)
            ).fetchone()
            if int(count[0]) >= limit:
                raise TooManyConversationsError(limit)
            return self._fetch(conn, user_id, self._insert(conn, user_id, title))

    def conversations(
        self, user_id: int, limit: int | None = None, before: int | None = None
    ) -> builtins.list[Conversation]:
        where, params = "c.user_id = ?", [user_id]
        if before is not None:
            where, params = where + _BEFORE, [*params, before]
        with self._guard() as conn:
            rows = conn.execute(
                f"{_CONVERSATION} WHERE {where}{_NEWEST_FIRST} LIMIT ?",
                (*params, -1 if limit is None else max(0, limit)),
            ).fetchall()
        return [_row_to_conversation(row) for row in rows]

    def conversation(self, user_id: int, conversation_id: int) -> Conversation | None:
        with self._guard() as conn:
            return self._find(conn, user_id, conversation_id)

    def default_conversation(self, user_id: int) -> Conversation:
        with self._guard() as conn, immediate(conn):
            return self._fetch(conn, user_id, self._default_id(conn, user_id))

    def rename_conversation(
        self, user_id: int, conversation_id: int, title: str
    ) -> Conversation | None:
        with self._guard() as conn, immediate(conn):
            conn.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND user_id = ?",
                (title, conversation_id, user_id),
            )
            return self._find(conn, user_id, conversation_id)

    def delete_conversation(self, user_id: int, conversation_id: int) -> int | None:
        with self._guard() as conn, immediate(conn):
            gone = conn.execute(
                "DELETE FROM conversations WHERE id = ? AND user_id = ?",
                (conversation_id, user_id),
            )
            if gone.rowcount == 0:
                return None
            return int(
                conn.execute(
                    "DELETE FROM turns WHERE conversation_id = ? AND user_id = ?",
                    (conversation_id, user_id),
                ).rowcount
            )

    def forget(self, user_id: int, conversation_id: int) -> Conversation | None:
        with self._guard() as conn, immediate(conn):
            conn.execute(
                "UPDATE conversations SET memory_after = (SELECT COALESCE(MAX(t.id), 0)"
                " FROM turns t WHERE t.conversation_id = conversations.id)"
                " WHERE id = ? AND user_id = ?",
                (conversation_id, user_id),
            )
            return self._find(conn, user_id, conversation_id)

    @staticmethod
    def _insert(conn: sqlite3.Connection, user_id: int, title: str | None) -> int:
        now = _now()
        cursor = conn.execute(
            "INSERT INTO conversations (user_id, title, created_at, updated_at)"
            " VALUES (?, ?, ?, ?)",
            (user_id, title, now, now),
        )
        return int(cursor.lastrowid or 0)

    def _default_id(self, conn: sqlite3.Connection, user_id: int) -> int:
        row = conn.execute(
            f"SELECT c.id FROM conversations c WHERE c.user_id = ?{_NEWEST_FIRST} LIMIT 1",
            (user_id,),
        ).fetchone()
        return int(row[0]) if row is not None else self._insert(conn, user_id, None)

    @staticmethod
    def _find(conn: sqlite3.Connection, user_id: int, conversation_id: int) -> Conversation | None:
        row = conn.execute(
            f"{_CONVERSATION} WHERE c.id = ? AND c.user_id = ?", (conversation_id, user_id)
        ).fetchone()
        return None if row is None else _row_to_conversation(row)

    def _fetch(self, conn: sqlite3.Connection, user_id: int, conversation_id: int) -> Conversation:
        found = self._find(conn, user_id, conversation_id)
        if found is None:  # created in this very transaction
            raise ConversationNotFoundError(f"대화 {conversation_id} 이(가) 없습니다")
        return found

    # --- export (`ragcode migrate`) ---------------------------------------------------
    def export_turns(self, after: int, limit: int) -> builtins.list[StoredTurn]:
        with self._guard() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM turns WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
            ).fetchall()
        return [_row_to_turn(row) for row in rows]

    def count_turns(self) -> int:
        with self._guard() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM turns").fetchone()[0])

    def export_conversations(self) -> builtins.list[Conversation]:
        with self._guard() as conn:
            rows = conn.execute(f"{_CONVERSATION} ORDER BY c.id").fetchall()
        return [_row_to_conversation(row) for row in rows]

    def count_conversations(self) -> int:
        with self._guard() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM conversations").fetchone()[0])

    def last_ids(self) -> tuple[int, int]:
        """AUTOINCREMENT's counters (sqlite_sequence): deleted rows' ids are never reused."""
        with self._guard() as conn:
            rows = dict(conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
        return int(rows.get("conversations", 0)), int(rows.get("turns", 0))
