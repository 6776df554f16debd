"""The SQLite history's tables and their versions (`history_meta.schema_version`).

1. `turns` only (every release before conversations; no meta table).
2. `conversations`; each turn names its conversation. Opening a version-1 file gives every
   user who has turns one conversation holding all of them (titled from the first question,
   active as of the last turn), so the history and memory users had stay theirs.
   Turns an older release writes after the upgrade (a downgrade and back: it names no
   conversation) are adopted on every open, by the user's most recent conversation.
3. `turns.stopped`: the user stopped the answer (its text is what came before the stop).
4. `turns.sentences_json`: a document answer's sentences and the [n] each cites (JSON text,
   as `references_json`); older turns get "[]" (their markers still link, without it).
A file written by a newer ragcode is refused rather than written with an older idea of it.
"""

from __future__ import annotations

import sqlite3

from ragcode.history.protocol import HistoryError, default_title

SCHEMA_VERSION = 4
SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    mode TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    references_json TEXT NOT NULL,
    standalone_question TEXT
);
CREATE INDEX IF NOT EXISTS turns_user ON turns (user_id, id);
CREATE TABLE IF NOT EXISTS history_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_CONVERSATIONS = """
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    title TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    memory_after INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS conversations_user ON conversations (user_id, updated_at);
"""


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM history_meta WHERE key = 'schema_version'").fetchone()
    return 1 if row is None else int(row[0])


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring the tables to SCHEMA_VERSION; the caller holds the write transaction."""
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"대화 기록 저장소의 형식 버전({version})이 이 ragcode가 아는 버전"
            f"({SCHEMA_VERSION})보다 새롭습니다. ragcode를 새 버전으로 올리세요"
        )
    if version < 2:
        _add_conversations(conn)
    if version < 3:
        _add_stopped(conn)
    if version < 4:
        _add_sentences(conn)
    _adopt_orphans(conn)  # every open: cheap (indexed) when there are none
    conn.execute(
        "INSERT OR REPLACE INTO history_meta (key, value) VALUES ('schema_version', ?)",
        (str(SCHEMA_VERSION),),
    )


def _add_conversations(conn: sqlite3.Connection) -> None:
    _run_script(conn, _CONVERSATIONS)
    columns = {str(row[1]) for row in conn.execute("PRAGMA table_info(turns)")}
    if "conversation_id" not in columns:
        conn.execute("ALTER TABLE turns ADD COLUMN conversation_id INTEGER")
    conn.execute("CREATE INDEX IF NOT EXISTS turns_conversation ON turns (conversation_id, id)")


def _add_stopped(conn: sqlite3.Connection) -> None:
    columns = {str(row[1]) for row in conn.execute("PRAGMA table_info(turns)")}
    if "stopped" not in columns:  # a downgrade and back leaves it there
        conn.execute("ALTER TABLE turns ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0")


def _add_sentences(conn: sqlite3.Connection) -> None:
    columns = {str(row[1]) for row in conn.execute("PRAGMA table_info(turns)")}
    if "sentences_json" not in columns:  # a downgrade and back leaves it there
        conn.execute("ALTER TABLE turns ADD COLUMN sentences_json TEXT NOT NULL DEFAULT '[]'")


def _adopt_orphans(conn: sqlite3.Connection) -> None:
    """Turns without a conversation (the whole history of version 1, or what an older
    release wrote since) join their user's most recent conversation, or a new one named
    by the first of them; its last activity becomes theirs when later."""
    users = conn.execute(
        "SELECT user_id, MIN(id), MIN(created_at), MAX(created_at) FROM turns"
        " WHERE conversation_id IS NULL GROUP BY user_id ORDER BY user_id"
    ).fetchall()
    for user_id, first_id, created, updated in users:
        question = conn.execute("SELECT question FROM turns WHERE id = ?", (first_id,)).fetchone()
        title = default_title(str(question[0])) or None
        newest = conn.execute(
            "SELECT id FROM conversations WHERE user_id = ?"
            " ORDER BY updated_at DESC, id DESC LIMIT 1",
            (user_id,),
        ).fetchone()
        if newest is None:
            conversation = conn.execute(
                "INSERT INTO conversations (user_id, title, created_at, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (user_id, title, created, updated),
            ).lastrowid
        else:
            conversation = newest[0]
            conn.execute(
                "UPDATE conversations SET updated_at = MAX(updated_at, ?),"
                " title = COALESCE(title, ?) WHERE id = ?",
                (updated, title, conversation),
            )
        conn.execute(
            "UPDATE turns SET conversation_id = ? WHERE user_id = ? AND conversation_id IS NULL",
            (conversation, user_id),
        )


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Statement by statement: `executescript` would commit the open transaction."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)
