"""`replace_last` and stopped turns, on both history backends (SQLite and a real PostgreSQL):
regenerate and edit-and-resend put the new answer in place of the conversation's last turn."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ragcode.history.protocol import (
    ConversationNotFoundError,
    HistoryConflictError,
    HistoryStore,
    NewTurn,
)
from ragcode.history.sqlite import SqliteHistory
from tests.integration import test_history_contract as contract

pytestmark = pytest.mark.integration
ALICE, BOB, turn = contract.ALICE, contract.BOB, contract.turn
open_history = contract.open_history  # both backends, fresh databases (a fixture)


@pytest.fixture
def history(open_history: contract.Opener) -> HistoryStore:
    return open_history()


def test_replace_last_takes_the_last_turns_place(history: HistoryStore) -> None:
    first = history.add(turn(ALICE, 1))
    last = history.add(turn(ALICE, 2, references=[{"path": "a.py"}]))
    conversation = last.conversation_id
    replaced = history.replace_last(
        NewTurn(ALICE, "r2b", "code", "질문 2 고침", "새 답", [], "독립", conversation)
    )
    assert replaced.id == last.id and replaced.conversation_id == conversation
    assert replaced.created_at >= last.created_at
    shown = history.list(ALICE, 10, conversation_id=conversation)
    assert [t.id for t in shown] == [first.id, last.id]
    assert (shown[-1].request_id, shown[-1].mode, shown[-1].question) == (
        "r2b",
        "code",
        "질문 2 고침",
    )
    assert (shown[-1].answer, shown[-1].references, shown[-1].standalone_question) == (
        "새 답",
        [],
        "독립",
    )
    assert shown[0] == first  # earlier turns stay as they were
    memory = history.recent(ALICE, ["normal", "code"], 10, conversation)
    assert [t.answer for t in memory] == ["답 1", "새 답"]


def test_replace_last_in_an_empty_conversation_adds_the_turn(history: HistoryStore) -> None:
    conversation = history.create_conversation(ALICE)
    added = history.replace_last(
        NewTurn(ALICE, "r1", "normal", "처음", "답", [], None, conversation.id)
    )
    assert history.list(ALICE, 10, conversation_id=conversation.id) == [added]
    assert history.conversation(ALICE, conversation.id).title == "처음"  # type: ignore[union-attr]


def test_replace_last_touches_only_that_conversation_of_that_user(history: HistoryStore) -> None:
    one = history.add(turn(ALICE, 1))
    other = history.create_conversation(ALICE)
    two = history.add(turn(ALICE, 2, conversation_id=other.id))
    bobs = history.add(turn(BOB, 3))
    history.replace_last(
        NewTurn(ALICE, "x", "normal", "바꿈", "바뀐 답", [], None, one.conversation_id)
    )
    assert history.list(ALICE, 10, conversation_id=other.id) == [two]
    assert history.list(BOB, 10) == [bobs]
    with pytest.raises(ConversationNotFoundError):
        history.replace_last(
            NewTurn(ALICE, "y", "normal", "남의 것", "답", [], None, bobs.conversation_id)
        )
    assert history.list(BOB, 10) == [bobs]


def test_replace_last_without_a_conversation_uses_the_most_recent(history: HistoryStore) -> None:
    history.add(turn(ALICE, 1))
    newest = history.add(turn(ALICE, 2, conversation_id=history.create_conversation(ALICE).id))
    replaced = history.replace_last(NewTurn(ALICE, "r", "normal", "새 질문", "새 답"))
    assert replaced.id == newest.id and replaced.conversation_id == newest.conversation_id


def test_replace_last_of_a_turn_no_longer_last_is_a_conflict(history: HistoryStore) -> None:
    """The client chose `chosen`; a document summary was added after it: nothing changes."""
    history.add(turn(ALICE, 1))
    chosen = history.add(turn(ALICE, 2))
    conversation = chosen.conversation_id
    summary = history.add(turn(ALICE, 3, mode="qa", conversation_id=conversation))
    before = history.list(ALICE, 10, conversation_id=conversation)
    again = NewTurn(ALICE, "r2b", "normal", "질문 2", "새 답", [], None, conversation)
    with pytest.raises(HistoryConflictError):
        history.replace_last(again, expected_id=chosen.id)
    assert history.list(ALICE, 10, conversation_id=conversation) == before
    # the last turn, named: replaced as asked
    replaced = history.replace_last(again, expected_id=summary.id)
    assert replaced.id == summary.id
    assert [t.answer for t in history.list(ALICE, 10, conversation_id=conversation)] == [
        "답 1",
        "답 2",
        "새 답",
    ]


def test_replace_last_naming_a_turn_in_an_empty_conversation_is_a_conflict(
    history: HistoryStore,
) -> None:
    gone = history.add(turn(ALICE, 1))
    empty = history.create_conversation(ALICE)
    with pytest.raises(HistoryConflictError):
        history.replace_last(
            NewTurn(ALICE, "r", "normal", "질문", "답", [], None, empty.id), expected_id=gone.id
        )
    assert history.list(ALICE, 10, conversation_id=empty.id) == []


def test_a_stopped_turn_is_kept_marked_stopped(history: HistoryStore) -> None:
    stopped = history.add(turn(ALICE, 1, stopped=True))
    plain = history.add(turn(ALICE, 2))
    assert stopped.stopped and not plain.stopped
    shown = history.list(ALICE, 10)
    assert [t.stopped for t in shown] == [True, False]
    assert shown[0].as_dict()["stopped"] is True and shown[1].as_dict()["stopped"] is False
    # a regenerated answer that ran to its end is no longer stopped, and the reverse
    again = history.replace_last(NewTurn(ALICE, "r3", "normal", "질문 2", "반쯤", stopped=True))
    assert again.stopped and history.list(ALICE, 10)[-1].stopped


def test_a_version_2_sqlite_file_gains_the_stopped_column(tmp_path: Path) -> None:
    path = tmp_path / "web.sqlite3"
    SqliteHistory(path).close()
    with sqlite3.connect(path) as conn:  # as the release before stopped turns left it
        conn.execute("ALTER TABLE turns DROP COLUMN stopped")
        conn.execute("UPDATE history_meta SET value = '2' WHERE key = 'schema_version'")
        conn.execute(
            "INSERT INTO conversations (user_id, title, created_at, updated_at)"
            " VALUES (1, 't', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')"
        )
        conn.execute(
            "INSERT INTO turns (user_id, request_id, created_at, mode, question, answer,"
            " references_json, conversation_id) VALUES (1, 'old', '2026-01-01T00:00:00+00:00',"
            " 'normal', '옛 질문', '옛 답', '[]', 1)"
        )
    upgraded = SqliteHistory(path)
    try:
        (old,) = upgraded.list(ALICE, 10)
        assert old.question == "옛 질문" and old.stopped is False
        assert upgraded.add(turn(ALICE, 2, stopped=True)).stopped
    finally:
        upgraded.close()
