"""History on PostgreSQL, shared by every server replica (the same behaviour as
`history.sqlite`): a user's conversation continues whichever replica answers."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any

from ragcode.db.pg import PgDatabase, pg_text
from ragcode.history import postgres_copy
from ragcode.history.postgres_schema import SCHEMA as SCHEMA  # re-exported: pg_migrations
from ragcode.history.postgres_schema import TURN_COLUMNS as _COLUMNS
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
from ragcode.store.pg_pool import Connection

# References stay JSON text, as in SQLite: jsonb would reorder their keys and refuse "\u0000".
# Ids come from an identity sequence: increasing, the `before` cursor of `list`.
_CONVERSATION = (
    "SELECT c.id, c.user_id, c.title, c.created_at, c.updated_at, c.memory_after,"
    " (SELECT count(*) FROM history_turns t WHERE t.conversation_id = c.id),"
    " (SELECT count(*) FROM history_turns t"
    " WHERE t.conversation_id = c.id AND t.id <= c.memory_after)"
    " FROM history_conversations c"
)
# Conversations after the cursor conversation in the newest-first order (same user only).
_BEFORE = (
    " AND (c.updated_at, c.id) < (SELECT b.updated_at, b.id FROM history_conversations b"
    " WHERE b.id = %s AND b.user_id = c.user_id)"
)
_NEWEST_FIRST = " ORDER BY c.updated_at DESC, c.id DESC"
_MISSING = "대화 {} 이(가) 없습니다"


def _row_to_turn(row: Sequence[Any]) -> StoredTurn:
    references = json.loads(str(row[7]))
    return StoredTurn(
        id=int(str(row[0])),
        user_id=int(str(row[1])),
        request_id=str(row[2]),
        created_at=row[3].astimezone(UTC),  # timestamptz: a datetime
        mode=str(row[4]),
        question=str(row[5]),
        answer=str(row[6]),
        references=references if isinstance(references, list) else [],
        standalone_question=None if row[8] is None else str(row[8]),
        conversation_id=int(str(row[9])),
        stopped=bool(row[10]),
        sentences=stored_sentences(None if row[11] is None else str(row[11])),
    )


def _row_to_conversation(row: Sequence[Any]) -> Conversation:
    return Conversation(
        id=int(str(row[0])), user_id=int(str(row[1])),
        title=None if row[2] is None else str(row[2]),
        created_at=row[3].astimezone(UTC), updated_at=row[4].astimezone(UTC),
        memory_after=int(str(row[5])), turns=int(str(row[6])), forgotten=int(str(row[7])),
    )  # fmt: skip


def _find(conn: Connection, user_id: int, conversation_id: int) -> Conversation | None:
    row = conn.execute(
        f"{_CONVERSATION} WHERE c.id = %s AND c.user_id = %s", (conversation_id, user_id)
    ).fetchone()
    return None if row is None else _row_to_conversation(row)


def _fetch(conn: Connection, user_id: int, conversation_id: int) -> Conversation:
    found = _find(conn, user_id, conversation_id)
    if found is None:  # created or chosen in this very transaction
        raise ConversationNotFoundError(_MISSING.format(conversation_id))
    return found


def _insert(conn: Connection, user_id: int, title: str | None) -> int:
    row = conn.execute(
        "INSERT INTO history_conversations (user_id, title) VALUES (%s, %s) RETURNING id",
        (user_id, None if title is None else pg_text(title)),
    ).fetchone()
    assert row is not None  # INSERT ... RETURNING gives its row
    return int(row[0])


def _lock_user(conn: Connection, user_id: int) -> None:
    """Conversations are created one at a time per user (until the transaction ends)."""
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
        (f"ragcode.conversations.{user_id}",),
    )


def _default_id(conn: Connection, user_id: int) -> int:
    """The most recent conversation, or a new one; one at a time per user, so that two
    replicas answering a new user's first questions together create one conversation."""
    _lock_user(conn, user_id)
    row = conn.execute(
        f"SELECT c.id FROM history_conversations c WHERE c.user_id = %s{_NEWEST_FIRST} LIMIT 1",
        (user_id,),
    ).fetchone()
    return int(row[0]) if row is not None else _insert(conn, user_id, None)


def _turn_values(turn: NewTurn) -> tuple[object, ...]:
    """user_id, request_id, mode, question, answer, references_json, standalone_question,
    sentences_json."""
    references = json.dumps(turn.references, ensure_ascii=False, default=str)
    sentences = json.dumps(turn.sentences, ensure_ascii=False, default=str)
    standalone = turn.standalone_question
    return (
        turn.user_id, pg_text(turn.request_id), pg_text(turn.mode), pg_text(turn.question),
        pg_text(turn.answer), references, None if standalone is None else pg_text(standalone),
        sentences,
    )  # fmt: skip


def _locked_conversation(conn: Connection, turn: NewTurn) -> int:
    """The turn's conversation (None: the user's most recent), locked until commit: a delete
    running now either finished first (the row is gone: not found) or waits for this turn
    (and deletes it with its conversation)."""
    conversation = turn.conversation_id
    if conversation is None:
        conversation = _default_id(conn, turn.user_id)
    locked = conn.execute(
        "SELECT id FROM history_conversations WHERE id = %s AND user_id = %s FOR KEY SHARE",
        (conversation, turn.user_id),
    ).fetchone()
    if locked is None:
        raise ConversationNotFoundError(_MISSING.format(conversation))
    return conversation


def _insert_turn(conn: Connection, turn: NewTurn, conversation: int) -> Any:
    row = conn.execute(
        "INSERT INTO history_turns (user_id, request_id, mode, question, answer,"
        " references_json, standalone_question, sentences_json, conversation_id, stopped)"
        f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
        (*_turn_values(turn), conversation, turn.stopped),
    ).fetchone()
    assert row is not None  # INSERT ... RETURNING gives its row
    return row


def _touched(conn: Connection, turn: NewTurn, conversation: int, row: Any) -> Any:
    """The conversation becomes the most recent as of the turn (named by its question when
    untitled); the turn's row, handed on."""
    title = default_title(pg_text(turn.question)) or None
    conn.execute(
        "UPDATE history_conversations SET updated_at = %s, title = COALESCE(title, %s)"
        " WHERE id = %s AND user_id = %s",
        (row[3], title, conversation, turn.user_id),
    )
    return row


class PostgresHistory:
    def __init__(self, url: str) -> None:
        self._db = PgDatabase(url, SCHEMA, HistoryError)

    def add(self, turn: NewTurn) -> StoredTurn:
        def insert(conn: Connection) -> Any:
            conversation = _locked_conversation(conn, turn)
            return _touched(conn, turn, conversation, _insert_turn(conn, turn, conversation))

        return _row_to_turn(self._db.write("대화 기록 저장", insert))

    def replace_last(self, turn: NewTurn, expected_id: int | None = None) -> StoredTurn:
        def replace(conn: Connection) -> Any:
            conversation = _locked_conversation(conn, turn)
            # The conversation's row is locked (FOR KEY SHARE does not stop another replace):
            # the last turn is locked too, so two replacements of it run one after the other.
            last = conn.execute(
                "SELECT id FROM history_turns WHERE conversation_id = %s AND user_id = %s"
                " ORDER BY id DESC LIMIT 1 FOR UPDATE",
                (conversation, turn.user_id),
            ).fetchone()
            if expected_id is not None and (last is None or last[0] != expected_id):
                raise HistoryConflictError(f"last turn {last and last[0]}, not {expected_id}")
            if last is None:
                row = _insert_turn(conn, turn, conversation)
            else:
                row = conn.execute(
                    "UPDATE history_turns SET request_id = %s, mode = %s, question = %s,"
                    " answer = %s, references_json = %s, standalone_question = %s,"
                    " sentences_json = %s, stopped = %s, created_at = clock_timestamp()"
                    " WHERE id = %s"
                    f" RETURNING {_COLUMNS}",
                    (*_turn_values(turn)[1:], turn.stopped, last[0]),
                ).fetchone()
            return _touched(conn, turn, conversation, row)

        return _row_to_turn(self._db.write("대화 기록 바꾸기", replace))

    def list(
        self,
        user_id: int,
        limit: int,
        before: int | None = None,
        conversation_id: int | None = None,
    ) -> builtins.list[StoredTurn]:
        cursor_id = before if before is not None else 2**62
        where, params = "user_id = %s AND id < %s", [user_id, cursor_id]
        if conversation_id is not None:
            where, params = where + " AND conversation_id = %s", [*params, conversation_id]
        rows = self._db.read("대화 기록 읽기", lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM history_turns WHERE {where} ORDER BY id DESC LIMIT %s",
            (*params, max(0, limit)),
        ).fetchall())  # fmt: skip
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
        where = "user_id = %s AND mode = ANY(%s)"
        params: builtins.list[object] = [user_id, [pg_text(mode) for mode in modes]]
        if conversation_id is not None:
            where += (
                " AND conversation_id = %s AND id > (SELECT memory_after"
                " FROM history_conversations WHERE id = %s AND user_id = %s)"
            )
            params += [conversation_id, conversation_id, user_id]
        rows = self._db.read("대화 기록 읽기", lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM history_turns WHERE {where} ORDER BY id DESC LIMIT %s",
            (*params, limit),
        ).fetchall())  # fmt: skip
        return [_row_to_turn(row) for row in reversed(rows)]

    def delete_all(self, user_id: int) -> int:
        def delete(conn: Connection) -> int:
            deleted = conn.execute("DELETE FROM history_turns WHERE user_id = %s", (user_id,))
            conn.execute("DELETE FROM history_conversations WHERE user_id = %s", (user_id,))
            return deleted.rowcount

        return self._db.write("대화 기록 삭제", delete)

    # --- conversations -----------------------------------------------------------------
    def create_conversation(
        self, user_id: int, title: str | None = None, limit: int = MAX_CONVERSATIONS
    ) -> Conversation:
        def create(conn: Connection) -> Conversation:
            _lock_user(conn, user_id)  # the count and the insert: one request at a time
            count = conn.execute(
                "SELECT count(*) FROM history_conversations WHERE user_id = %s", (user_id,)
            ).fetchone()
            if count is not None and int(count[0]) >= limit:
                raise TooManyConversationsError(limit)
            return _fetch(conn, user_id, _insert(conn, user_id, title))

        return self._db.write("대화 만들기", create)

    def conversations(
        self, user_id: int, limit: int | None = None, before: int | None = None
    ) -> builtins.list[Conversation]:
        where, params = "c.user_id = %s", [user_id]
        if before is not None:
            where, params = where + _BEFORE, [*params, before]
        rows = self._db.read("대화 목록 읽기", lambda conn: conn.execute(
            f"{_CONVERSATION} WHERE {where}{_NEWEST_FIRST} LIMIT %s", (*params, limit)
        ).fetchall())  # fmt: skip
        return [_row_to_conversation(row) for row in rows]

    def conversation(self, user_id: int, conversation_id: int) -> Conversation | None:
        return self._db.read("대화 읽기", lambda conn: _find(conn, user_id, conversation_id))

    def default_conversation(self, user_id: int) -> Conversation:
        return self._db.write(
            "대화 고르기", lambda conn: _fetch(conn, user_id, _default_id(conn, user_id))
        )

    def rename_conversation(
        self, user_id: int, conversation_id: int, title: str
    ) -> Conversation | None:
        def rename(conn: Connection) -> Conversation | None:
            conn.execute(
                "UPDATE history_conversations SET title = %s WHERE id = %s AND user_id = %s",
                (pg_text(title), conversation_id, user_id),
            )
            return _find(conn, user_id, conversation_id)

        return self._db.write("대화 이름 바꾸기", rename)

    def delete_conversation(self, user_id: int, conversation_id: int) -> int | None:
        def delete(conn: Connection) -> int | None:
            if _find(conn, user_id, conversation_id) is None:
                return None
            turns = conn.execute(
                "DELETE FROM history_turns WHERE conversation_id = %s AND user_id = %s",
                (conversation_id, user_id),
            ).rowcount
            conn.execute(
                "DELETE FROM history_conversations WHERE id = %s AND user_id = %s",
                (conversation_id, user_id),
            )
            return turns

        return self._db.write("대화 삭제", delete)

    def forget(self, user_id: int, conversation_id: int) -> Conversation | None:
        def forget(conn: Connection) -> Conversation | None:
            conn.execute(
                "UPDATE history_conversations c SET memory_after = (SELECT coalesce(max(t.id), 0)"
                " FROM history_turns t WHERE t.conversation_id = c.id)"
                " WHERE id = %s AND user_id = %s",
                (conversation_id, user_id),
            )
            return _find(conn, user_id, conversation_id)

        return self._db.write("대화 기억 지우기", forget)

    # --- moving history between databases (`ragcode migrate`) ---------------------------
    def export_turns(self, after: int, limit: int) -> builtins.list[StoredTurn]:
        rows = self._db.read("대화 기록 읽기", lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM history_turns WHERE id > %s ORDER BY id LIMIT %s",
            (after, limit),
        ).fetchall())  # fmt: skip
        return [_row_to_turn(row) for row in rows]

    def count_turns(self) -> int:
        return self._count("history_turns")

    def export_conversations(self) -> builtins.list[Conversation]:
        rows = self._db.read("대화 목록 읽기", lambda conn: conn.execute(
            f"{_CONVERSATION} ORDER BY c.id"
        ).fetchall())  # fmt: skip
        return [_row_to_conversation(row) for row in rows]

    def count_conversations(self) -> int:
        return self._count("history_conversations")

    def _count(self, table: str) -> int:
        rows = self._db.read("대화 기록 읽기", lambda conn: conn.execute(
            f"SELECT count(*) FROM {table}"
        ).fetchall())  # fmt: skip
        return int(rows[0][0])

    def last_ids(self) -> tuple[int, int]:
        return self._db.read("대화 기록 읽기", postgres_copy.last_ids)

    def import_conversations(self, conversations: Iterable[Conversation], last_id: int = 0) -> int:
        rows = [postgres_copy.conversation_row(c) for c in conversations]
        return self._db.write(
            "대화 목록 가져오기", lambda conn: postgres_copy.add_conversations(conn, rows, last_id)
        )

    def import_turns(self, turns: Iterable[StoredTurn], last_id: int = 0) -> int:
        return self._db.write(
            "대화 기록 가져오기", lambda conn: postgres_copy.add_turns(conn, turns, last_id)
        )

    def close(self) -> None:
        self._db.close()
