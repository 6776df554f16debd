"""The PostgreSQL history's tables, as versioned migrations (db/pg_migrations.py)."""

from __future__ import annotations

from ragcode.db.pg_migrations import Component, Migration
from ragcode.history.protocol import ANSI_ESCAPE, INVISIBLE, TITLE_CHARS, WHITESPACE

# The turn columns as `list` and the copy read and write them.
TURN_COLUMNS = (
    "id, user_id, request_id, created_at, mode, question, answer, references_json,"
    " standalone_question, conversation_id, stopped, sentences_json"
)


def _title(question: str) -> str:
    """SQL for `protocol.default_title` of a question column: the same patterns, in order."""
    cleaned = question
    for pattern, replacement in ((ANSI_ESCAPE, ""), (INVISIBLE, ""), (WHITESPACE, " ")):
        cleaned = f"regexp_replace({cleaned}, '{pattern}', '{replacement}', 'g')"
    return f"NULLIF(left(btrim({cleaned}, ' '), {TITLE_CHARS}), '')"


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
    # Each user's turns so far become their first conversation (as history.sqlite_schema).
    Migration(2, "conversations", """
CREATE TABLE history_conversations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL,
    title text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    memory_after bigint NOT NULL DEFAULT 0
);
CREATE INDEX history_conversations_user
    ON history_conversations (user_id, updated_at DESC, id DESC);
ALTER TABLE history_turns ADD COLUMN conversation_id bigint
    REFERENCES history_conversations (id) ON DELETE CASCADE;
INSERT INTO history_conversations (user_id, title, created_at, updated_at)
SELECT s.user_id, """ + _title("f.question") + """, s.first_at, s.last_at
FROM (SELECT user_id, min(id) AS first_id, min(created_at) AS first_at,
             max(created_at) AS last_at
      FROM history_turns GROUP BY user_id) s
JOIN history_turns f ON f.id = s.first_id
ORDER BY s.user_id;
UPDATE history_turns t SET conversation_id = c.id
FROM history_conversations c WHERE c.user_id = t.user_id;
ALTER TABLE history_turns ALTER COLUMN conversation_id SET NOT NULL;
CREATE INDEX history_turns_conversation ON history_turns (conversation_id, id);
"""),
    # The user stopped the answer: its text is what came before the stop.
    Migration(3, "stopped turns", """
ALTER TABLE history_turns ADD COLUMN stopped boolean NOT NULL DEFAULT false;
"""),
    # A document answer's sentences and the [n] each cites (JSON text, as references_json).
    Migration(4, "cited sentences", """
ALTER TABLE history_turns ADD COLUMN sentences_json text NOT NULL DEFAULT '[]';
"""),
))  # fmt: skip
