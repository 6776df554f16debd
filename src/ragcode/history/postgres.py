"""History on PostgreSQL, shared by every server replica (the same behaviour as
`history.sqlite`): a user's conversation continues whichever replica answers."""

from __future__ import annotations

import builtins
import itertools
import json
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any

from ragcode.db.pg import PgDatabase, continue_identity, pg_text
from ragcode.db.pg_migrations import Component, Migration
from ragcode.history.protocol import HistoryError, NewTurn, StoredTurn
from ragcode.store.pg_pool import Connection

# References stay JSON text, as in SQLite: jsonb would reorder their keys and refuse "\u0000".
# Ids come from an identity sequence: increasing, the `before` cursor of `list`.
SCHEMA = Component("history", (
    Migration(1, "turns", """
CREATE TABLE history_turns (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL,
    request_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    mode text NOT NULL,
    question text NOT NULL,
    answer text NOT NULL,
    references_json text NOT NULL,
    standalone_question text
);
CREATE INDEX history_turns_user ON history_turns (user_id, id);
CREATE INDEX history_turns_user_mode ON history_turns (user_id, mode, id);
"""),
))  # fmt: skip
_COLUMNS = (
    "id, user_id, request_id, created_at, mode, question, answer, references_json,"
    " standalone_question"
)


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
    )


class PostgresHistory:
    def __init__(self, url: str) -> None:
        self._db = PgDatabase(url, SCHEMA, HistoryError)

    def add(self, turn: NewTurn) -> StoredTurn:
        references = json.dumps(turn.references, ensure_ascii=False, default=str)
        standalone = turn.standalone_question
        params = (
            turn.user_id, pg_text(turn.request_id), pg_text(turn.mode), pg_text(turn.question),
            pg_text(turn.answer), references, None if standalone is None else pg_text(standalone),
        )  # fmt: skip
        row = self._db.write("대화 기록 저장", lambda conn: conn.execute(
            "INSERT INTO history_turns (user_id, request_id, mode, question, answer,"
            " references_json, standalone_question) VALUES (%s,%s,%s,%s,%s,%s,%s)"
            f" RETURNING {_COLUMNS}",
            params,
        ).fetchone())  # fmt: skip
        assert row is not None  # INSERT ... RETURNING gives its row
        return _row_to_turn(row)

    def list(self, user_id: int, limit: int, before: int | None = None) -> list[StoredTurn]:
        cursor_id = before if before is not None else 2**62
        rows = self._db.read("대화 기록 읽기", lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM history_turns WHERE user_id = %s AND id < %s"
            " ORDER BY id DESC LIMIT %s",
            (user_id, cursor_id, max(0, limit)),
        ).fetchall())  # fmt: skip
        return [_row_to_turn(row) for row in reversed(rows)]

    def recent(self, user_id: int, modes: Sequence[str], limit: int) -> builtins.list[StoredTurn]:
        if not modes or limit <= 0:
            return []
        rows = self._db.read("대화 기록 읽기", lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM history_turns WHERE user_id = %s AND mode = ANY(%s)"
            " ORDER BY id DESC LIMIT %s",
            (user_id, [pg_text(mode) for mode in modes], limit),
        ).fetchall())  # fmt: skip
        return [_row_to_turn(row) for row in reversed(rows)]

    def delete_all(self, user_id: int) -> int:
        return self._db.write("대화 기록 삭제", lambda conn: conn.execute(
            "DELETE FROM history_turns WHERE user_id = %s", (user_id,)
        ).rowcount)  # fmt: skip

    # --- moving history between databases (`ragcode migrate`) ---------------------------
    def export_turns(self, after: int, limit: int) -> builtins.list[StoredTurn]:
        rows = self._db.read("대화 기록 읽기", lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM history_turns WHERE id > %s ORDER BY id LIMIT %s",
            (after, limit),
        ).fetchall())  # fmt: skip
        return [_row_to_turn(row) for row in rows]

    def count_turns(self) -> int:
        rows = self._db.read("대화 기록 읽기", lambda conn: conn.execute(
            "SELECT count(*) FROM history_turns"
        ).fetchall())  # fmt: skip
        return int(rows[0][0])

    def import_turns(self, turns: Iterable[StoredTurn]) -> int:
        def insert(conn: Connection) -> int:
            added = 0
            pending = iter(turns)
            with conn.cursor() as cursor:
                while batch := [_import_row(t) for t in itertools.islice(pending, _IMPORT_BATCH)]:
                    cursor.executemany(_IMPORT_TURN, batch)
                    added += max(cursor.rowcount, 0)
            continue_identity(conn, "history_turns")
            return added

        return self._db.write("대화 기록 가져오기", insert)

    def close(self) -> None:
        self._db.close()


_IMPORT_BATCH = 1000
# Turns already there (a copy run again) are kept as they are.
_IMPORT_TURN = (
    f"INSERT INTO history_turns ({_COLUMNS}) OVERRIDING SYSTEM VALUE"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
)


def _import_row(turn: StoredTurn) -> tuple[object, ...]:
    """As `add` writes a turn (references as JSON text, NUL made storable), id and time kept."""
    standalone = turn.standalone_question
    return (
        turn.id, turn.user_id, pg_text(turn.request_id), turn.created_at, pg_text(turn.mode),
        pg_text(turn.question), pg_text(turn.answer),
        json.dumps(turn.references, ensure_ascii=False, default=str),
        None if standalone is None else pg_text(standalone),
    )  # fmt: skip
