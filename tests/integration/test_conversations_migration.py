"""History written before conversations existed becomes each user's first conversation, on
both backends (SQLite schema 1 -> 2, PostgreSQL migration history 2), and `ragcode migrate`
copies conversations with their ids, titles, activity times and "forget" marks."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from ragcode.db.pg_migrations import Component, migrate
from ragcode.history.protocol import (
    Conversation,
    HistoryError,
    HistoryStore,
    NewTurn,
    StoredTurn,
    default_title,
)
from ragcode.history.sqlite import SqliteHistory
from ragcode.history.sqlite_schema import SCHEMA_VERSION
from ragcode.migrate.web_copy import copy_conversations, copy_history

pytestmark = pytest.mark.integration

ALICE, BOB, CAROL = 1, 2, 3
MEMORY = ["normal", "code", "qa", "step-by-step"]
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
FIRST_QUESTION = (
    "  설정 파일은\n어디서 읽나요? 자세한 경로와 형식, 그리고 환경 변수로 덮어쓰는 방법도"
)
FIRST_TITLE = "설정 파일은 어디서 읽나요? 자세한 경로와 형식, 그리고 환경 변수로 덮"  # 40
# (user, question, mode): the turns of a release before conversations, in order.
OLD_TURNS = [
    (ALICE, FIRST_QUESTION, "code"),
    (BOB, "안녕하세요", "normal"),
    (ALICE, "그걸 비동기로 바꿔줘", "code"),
    (ALICE, "Good morning", "translation"),
    (BOB, "예금 해지 방법은?", "qa"),
]
# The first release's table, as it was (tests must not depend on today's code for it).
V1_SQLITE = """
CREATE TABLE turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, request_id TEXT NOT NULL,
    created_at TEXT NOT NULL, mode TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
    references_json TEXT NOT NULL, standalone_question TEXT
);
CREATE INDEX turns_user ON turns (user_id, id);
"""


def old_time(n: int) -> datetime:
    return START + timedelta(minutes=n)


def assert_one_conversation_each(history: HistoryStore) -> None:
    alice = history.conversations(ALICE)
    assert len(alice) == 1
    first = alice[0]
    assert first.title == FIRST_TITLE
    assert (first.turns, first.memory_after) == (3, 0)
    assert (first.created_at, first.updated_at) == (old_time(0), old_time(3))
    turns = history.list(ALICE, 10, conversation_id=first.id)
    assert [t.mode for t in turns] == ["code", "code", "translation"]
    assert [t.question for t in history.recent(ALICE, MEMORY, 10, first.id)] == [
        OLD_TURNS[0][1], "그걸 비동기로 바꿔줘",
    ]  # fmt: skip
    bob = history.conversations(BOB)
    assert [(c.title, c.turns) for c in bob] == [("안녕하세요", 2)]
    assert history.conversations(CAROL) == []
    # A request without a conversation continues the migrated one.
    assert history.default_conversation(ALICE).id == first.id
    added = history.add(NewTurn(ALICE, "new", "normal", "이어서 질문", "답"))
    assert added.conversation_id == first.id


def test_sqlite_history_of_the_first_release_becomes_one_conversation_per_user(
    tmp_path: Path,
) -> None:
    path = tmp_path / "web.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(V1_SQLITE)
    for n, (user, question, mode) in enumerate(OLD_TURNS):
        conn.execute(
            "INSERT INTO turns (user_id, request_id, created_at, mode, question, answer,"
            " references_json) VALUES (?, ?, ?, ?, ?, ?, '[]')",
            (user, f"r{n}", old_time(n).isoformat(timespec="microseconds"), mode, question, "답"),
        )
    conn.commit()
    conn.close()
    history = SqliteHistory(path)
    try:
        assert_one_conversation_each(history)
    finally:
        history.close()
    reopened = SqliteHistory(path)  # the upgrade ran once: nothing is split or added again
    try:
        assert [c.turns for c in reopened.conversations(ALICE)] == [4]
        assert reopened.count_conversations() == 2
    finally:
        reopened.close()


def test_sqlite_history_of_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "web.sqlite3"
    SqliteHistory(path).close()
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE history_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
    )
    conn.commit()
    conn.close()
    with pytest.raises(HistoryError, match="새 버전"):
        SqliteHistory(path)


def test_postgres_history_of_the_first_release_becomes_one_conversation_per_user(
    pg_database: str,
) -> None:
    from ragcode.history.postgres import PostgresHistory
    from ragcode.history.postgres_schema import SCHEMA

    with psycopg.connect(pg_database, autocommit=True) as conn:
        migrate(conn, Component("history", SCHEMA.migrations[:1]))  # the first release
        for n, (user, question, mode) in enumerate(OLD_TURNS):
            conn.execute(
                "INSERT INTO history_turns (user_id, request_id, created_at, mode, question,"
                " answer, references_json) VALUES (%s, %s, %s, %s, %s, %s, '[]')",
                (user, f"r{n}", old_time(n), mode, question, "답"),
            )
    history = PostgresHistory(pg_database)  # opening applies migration 2
    try:
        assert_one_conversation_each(history)
    finally:
        history.close()


def test_migrate_copies_conversations_with_their_turns(tmp_path: Path, pg_database: str) -> None:
    from ragcode.history.postgres import PostgresHistory

    source = SqliteHistory(tmp_path / "web.sqlite3")
    target = PostgresHistory(pg_database)
    try:
        work = source.create_conversation(ALICE, "업무")
        source.add(NewTurn(ALICE, "a1", "normal", "잊힐 질문", "답", [], None, work.id))
        source.forget(ALICE, work.id)
        source.add(NewTurn(ALICE, "a2", "code", "기억될 질문", "답", [], "독립 질문", work.id))
        source.create_conversation(ALICE)  # empty and untitled: copied too
        source.add(NewTurn(BOB, "b1", "qa", "밥의 질문", "답"))
        assert copy_conversations(source, target).added == 3
        assert copy_history(source, target).added == 3
        for user in (ALICE, BOB):
            assert target.conversations(user) == source.conversations(user)
            for conversation in source.conversations(user):
                args = (user, 10, None, conversation.id)
                assert target.list(*args) == source.list(*args)
                memory = (user, MEMORY, 10, conversation.id)
                assert target.recent(*memory) == source.recent(*memory)
        assert [t.question for t in target.recent(ALICE, MEMORY, 10, work.id)] == ["기억될 질문"]
        again = copy_conversations(source, target), copy_history(source, target)
        assert [c.added for c in again] == [0, 0]  # a copy run again adds nothing twice
        newer = target.create_conversation(BOB, "복사 뒤")
        assert newer.id > max(c.id for c in source.export_conversations())
    finally:
        source.close()
        target.close()


def test_turns_an_older_release_writes_after_the_upgrade_join_a_conversation(
    tmp_path: Path, pg_database: str
) -> None:
    from ragcode.history.postgres import PostgresHistory

    path = tmp_path / "web.sqlite3"
    history = SqliteHistory(path)
    before = history.add(NewTurn(ALICE, "r1", "normal", "업그레이드 전", "답"))
    history.close()
    conn = sqlite3.connect(path)  # the previous release's INSERT: it names no conversation
    for user, question in [(ALICE, "예전 버전이 쓴 질문"), (BOB, "\u202e밥도 예전 버전으로")]:
        conn.execute(
            "INSERT INTO turns (user_id, request_id, created_at, mode, question, answer,"
            " references_json) VALUES (?, 'old', ?, 'normal', ?, '답', '[]')",
            (user, old_time(60 * 24 * 60).isoformat(timespec="microseconds"), question),
        )
    conn.commit()
    conn.close()
    history = SqliteHistory(path)  # upgraded again: the schema version is already 2
    target = PostgresHistory(pg_database)
    try:
        alice = history.conversations(ALICE)
        assert [(c.id, c.turns) for c in alice] == [(before.conversation_id, 2)]
        assert alice[0].updated_at == old_time(60 * 24 * 60)  # the later activity
        in_it = history.list(ALICE, 10, conversation_id=before.conversation_id)
        assert [t.question for t in in_it] == ["업그레이드 전", "예전 버전이 쓴 질문"]
        assert [t.question for t in history.recent(ALICE, MEMORY, 10, alice[0].id)] == [
            "업그레이드 전", "예전 버전이 쓴 질문",
        ]  # fmt: skip
        assert [(c.title, c.turns) for c in history.conversations(BOB)] == [
            ("밥도 예전 버전으로", 1),
        ]  # fmt: skip
        assert history.delete_conversation(ALICE, alice[0].id) == 2
        assert history.list(ALICE, 10) == []
        copy_conversations(history, target)
        assert copy_history(history, target).added == 1
    finally:
        history.close()
        target.close()


def test_migrate_refuses_ids_that_belong_to_another_user_on_the_target(
    pg_database: str,
) -> None:
    from ragcode.history.postgres import PostgresHistory

    target = PostgresHistory(pg_database)
    try:
        bobs = target.create_conversation(BOB, "밥의 대화")
        say_bob = target.add(NewTurn(BOB, "b", "normal", "밥의 질문", "답", [], None, bobs.id))
        alices = Conversation(bobs.id, ALICE, "앨리스 원본", START, START)
        with pytest.raises(HistoryError, match="다른 사용자"):
            target.import_conversations([alices])
        into_bobs = StoredTurn(10_000, ALICE, "a", START, "normal", "비밀", "답", [], None, bobs.id)
        same_id = StoredTurn(say_bob.id, ALICE, "a", START, "normal", "비밀", "답", [], None, 1)
        for turn in (into_bobs, same_id):
            with pytest.raises(HistoryError, match="다른 사용자"):
                target.import_turns([turn])
        assert target.list(ALICE, 10) == [] and target.conversations(ALICE) == []
        assert [(c.title, c.turns) for c in target.conversations(BOB)] == [("밥의 대화", 1)]
    finally:
        target.close()


def test_migrate_never_gives_an_id_of_the_source_again(tmp_path: Path, pg_database: str) -> None:
    from ragcode.history.postgres import PostgresHistory

    source = SqliteHistory(tmp_path / "web.sqlite3")
    target = PostgresHistory(pg_database)
    try:
        kept, gone = source.create_conversation(ALICE, "남음"), source.create_conversation(BOB)
        source.add(NewTurn(ALICE, "a", "normal", "잊을 질문", "답", [], None, kept.id))
        source.forget(ALICE, kept.id)
        for n in range(3):  # the largest ids, deleted with their conversation
            source.add(NewTurn(BOB, "b", "normal", f"밥 {n}", "답", [], None, gone.id))
        source.delete_conversation(BOB, gone.id)
        last_conversation, last_turn = source.last_ids()
        assert (last_conversation, last_turn) == (gone.id, 4)
        copy_conversations(source, target)
        copy_history(source, target)
        new = target.add(NewTurn(ALICE, "n", "normal", "옮긴 뒤 질문", "답", [], None, kept.id))
        assert new.id > last_turn
        assert [t.question for t in target.recent(ALICE, MEMORY, 10, kept.id)] == ["옮긴 뒤 질문"]
        assert target.create_conversation(CAROL).id > last_conversation
        assert target.last_ids() == (last_conversation + 1, new.id)
    finally:
        source.close()
        target.close()


# First questions of the older history, as dirty as chat input gets.
DIRTY_FIRST_QUESTIONS = [
    "\u3000질문\u00a0\u00a0하나\u2003둘 " + "가" * 50,
    "\u202egnp.exe\x1b[2J\x1b[1;31m빨강\x1b[0m\x07<img src=x onerror=alert(1)>",
    "\x1b]0;창 제목\x07본문\x1b\\끝\u2066격리\u2069\u200b\ufeff",
    "줄\r\n바꿈\x85\u2028\u2029\x0b\x0c\x1c\x1f탭\t끝\x7f\x9b\u00ad\u061c",
    " \u202a\u202b\u202c\u202d\u2067\u2068\u200e\u200f ",
    "emoji 😀 and 한자 漢字 stay " * 3,
]


def test_postgres_migration_titles_older_history_as_python_does(pg_database: str) -> None:
    from ragcode.history.postgres import PostgresHistory
    from ragcode.history.postgres_schema import SCHEMA

    with psycopg.connect(pg_database, autocommit=True) as conn:
        migrate(conn, Component("history", SCHEMA.migrations[:1]))
        for user, question in enumerate(DIRTY_FIRST_QUESTIONS, start=1):
            conn.execute(
                "INSERT INTO history_turns (user_id, request_id, mode, question, answer,"
                " references_json) VALUES (%s, 'r', 'normal', %s, '답', '[]')",
                (user, question),
            )
    history = PostgresHistory(pg_database)
    try:
        for user, question in enumerate(DIRTY_FIRST_QUESTIONS, start=1):
            title = history.conversations(user)[0].title
            assert title == (default_title(question) or None), question
        assert history.conversations(1)[0].title == "질문 하나 둘 " + "가" * 32
        assert history.conversations(5)[0].title is None
    finally:
        history.close()
