"""Moving PostgreSQL history in and out (`ragcode migrate`): conversations and turns added
with their ids, refused when an id there already belongs to another user, and the identity
counters moved past every id the source ever gave."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

from ragcode.db.pg import continue_identity, pg_text
from ragcode.history.postgres_schema import TURN_COLUMNS
from ragcode.history.protocol import Conversation, HistoryError, StoredTurn
from ragcode.store.pg_pool import Connection


def last_ids(conn: Connection) -> tuple[int, int]:
    """The identity counters of conversations and turns (0: never used)."""
    row = conn.execute(
        "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence("
        "'history_conversations', 'id')::regclass), 0), coalesce(pg_sequence_last_value("
        "pg_get_serial_sequence('history_turns', 'id')::regclass), 0)"
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def add_conversations(conn: Connection, rows: list[tuple[Any, ...]], last_id: int) -> int:
    ids = [[row[0] for row in rows], [row[1] for row in rows]]  # id, user
    _refuse_other_users(conn, _OTHER_USERS_CONVERSATIONS, ids, "대화")
    with conn.cursor() as cursor:
        cursor.executemany(_IMPORT_CONVERSATION, rows)
        added = max(cursor.rowcount, 0)
    continue_identity(conn, "history_conversations", last_id)
    return added


def add_turns(conn: Connection, turns: Iterable[StoredTurn], last_id: int) -> int:
    added = 0
    pending = iter(turns)
    with conn.cursor() as cursor:
        while batch := [_import_row(t) for t in itertools.islice(pending, _IMPORT_BATCH)]:
            ids = [[row[i] for row in batch] for i in (0, 1, 9)]  # id, user, conversation
            _refuse_other_users(conn, _OTHER_USERS_TURNS, ids, "대화 기록")
            cursor.executemany(_IMPORT_TURN, batch)
            added += max(cursor.rowcount, 0)
    # "Forget" marks are turn ids: a new turn below one would never be memory.
    marks = conn.execute("SELECT coalesce(max(memory_after), 0) FROM history_conversations")
    mark = marks.fetchone()
    continue_identity(conn, "history_turns", max(last_id, int(mark[0]) if mark else 0))
    return added


_IMPORT_BATCH = 1000
# Rows already there (a copy run again) are kept as they are.
_IMPORT_TURN = (
    f"INSERT INTO history_turns ({TURN_COLUMNS}) OVERRIDING SYSTEM VALUE"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
)
_IMPORT_CONVERSATION = (
    "INSERT INTO history_conversations (id, user_id, title, created_at, updated_at,"
    " memory_after) OVERRIDING SYSTEM VALUE VALUES (%s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (id) DO NOTHING"
)


# Copied rows whose id (or, for a turn, whose conversation) is here with another user: "DO
# NOTHING" would leave one user's turns in another user's conversation.
_OTHER_USERS_CONVERSATIONS = (
    "SELECT n.id FROM unnest(%s::bigint[], %s::bigint[]) AS n(id, user_id)"
    " JOIN history_conversations c ON c.id = n.id WHERE c.user_id <> n.user_id LIMIT 1"
)
_OTHER_USERS_TURNS = (
    "SELECT n.id FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS n(id, user_id, cid)"
    " LEFT JOIN history_turns t ON t.id = n.id"
    " LEFT JOIN history_conversations c ON c.id = n.cid"
    " WHERE t.user_id <> n.user_id OR c.user_id <> n.user_id LIMIT 1"
)


def _refuse_other_users(conn: Connection, query: str, ids: list[list[Any]], what: str) -> None:
    """HistoryError (the whole copy rolls back) when a row would land with another user."""
    clash = conn.execute(query, ids).fetchone()
    if clash is not None:
        raise HistoryError(
            f"{what} {clash[0]} 이(가) 대상 데이터베이스에 이미 다른 사용자의 것으로 있습니다. "
            "다른 서버의 기록이 섞이지 않도록 복사를 멈췄습니다: 비어 있는 데이터베이스로 "
            "다시 옮기세요"
        )


def conversation_row(c: Conversation) -> tuple[object, ...]:
    title = None if c.title is None else pg_text(c.title)
    return (c.id, c.user_id, title, c.created_at, c.updated_at, c.memory_after)


def _import_row(turn: StoredTurn) -> tuple[object, ...]:
    """As `add` writes a turn (references and sentences as JSON text, NUL made storable),
    id and time kept."""
    standalone = turn.standalone_question
    return (
        turn.id, turn.user_id, pg_text(turn.request_id), turn.created_at, pg_text(turn.mode),
        pg_text(turn.question), pg_text(turn.answer),
        json.dumps(turn.references, ensure_ascii=False, default=str),
        None if standalone is None else pg_text(standalone), turn.conversation_id, turn.stopped,
        json.dumps(turn.sentences, ensure_ascii=False, default=str),
    )  # fmt: skip
