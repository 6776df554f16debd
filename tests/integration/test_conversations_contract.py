"""The conversations contract of the history store, on both backends (the embedded SQLite
file and a real PostgreSQL, tests/pg_server.py): named conversations per user, history and
memory per conversation, "forget", and no way into another user's conversation."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ragcode.history.protocol import (
    TITLE_CHARS,
    ConversationNotFoundError,
    HistoryStore,
    NewTurn,
    StoredTurn,
    TooManyConversationsError,
)
from ragcode.history.sqlite import SqliteHistory

pytestmark = pytest.mark.integration

ALICE, BOB = 1, 2
MEMORY = ["normal", "code", "qa", "step-by-step"]
Opener = Callable[[], HistoryStore]


@pytest.fixture(params=["sqlite", "postgres"])
def open_history(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    opened: list[HistoryStore] = []

    def opener() -> HistoryStore:
        if request.param == "sqlite":
            store: HistoryStore = SqliteHistory(tmp_path / "web.sqlite3")
        else:
            from ragcode.history.postgres import PostgresHistory

            store = PostgresHistory(request.getfixturevalue("pg_database"))
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


@pytest.fixture
def history(open_history: Opener) -> HistoryStore:
    return open_history()


def say(
    history: HistoryStore, user: int, conversation: int | None, question: str, mode: str = "normal"
) -> StoredTurn:
    return history.add(
        NewTurn(user, "r", mode, question, f"답: {question}", [], None, conversation)
    )


def questions(turns: list[StoredTurn]) -> list[str]:
    return [t.question for t in turns]


def test_a_new_conversation_is_named_by_its_first_question(history: HistoryStore) -> None:
    untitled = history.create_conversation(ALICE)
    assert (untitled.user_id, untitled.title, untitled.turns, untitled.memory_after) == (
        ALICE, None, 0, 0,
    )  # fmt: skip
    long_question = "  예금  해지는\n어떻게 하나요? " + "자세히 " * 20
    say(history, ALICE, untitled.id, long_question)
    say(history, ALICE, untitled.id, "두 번째 질문은 제목이 되지 않습니다")
    named = history.conversation(ALICE, untitled.id)
    assert named is not None and named.turns == 2
    assert named.title == " ".join(long_question.split())[:TITLE_CHARS]
    assert named.title.startswith("예금 해지는 어떻게 하나요?")
    given = history.create_conversation(ALICE, "배포 스크립트")
    say(history, ALICE, given.id, "첫 질문")
    assert (c := history.conversation(ALICE, given.id)) is not None and c.title == "배포 스크립트"


def test_list_is_most_recent_first_with_counts_and_last_activity(history: HistoryStore) -> None:
    first = history.create_conversation(ALICE, "하나")
    second = history.create_conversation(ALICE, "둘")
    third = history.create_conversation(ALICE, "셋")
    history.create_conversation(BOB, "밥의 대화")
    assert [c.id for c in history.conversations(ALICE)] == [third.id, second.id, first.id]
    time.sleep(0.002)
    turn = say(history, ALICE, first.id, "질문 1")
    say(history, ALICE, first.id, "질문 2")
    listed = history.conversations(ALICE)
    assert [(c.id, c.turns) for c in listed] == [(first.id, 2), (third.id, 0), (second.id, 0)]
    assert listed[0].updated_at >= turn.created_at > first.created_at
    assert listed[0].created_at == first.created_at
    history.rename_conversation(ALICE, second.id, "이름만 바꿈")  # not activity
    assert history.conversations(ALICE)[0].id == first.id
    assert [c.title for c in history.conversations(BOB)] == ["밥의 대화"]


def test_history_and_memory_are_per_conversation(history: HistoryStore) -> None:
    one, two = history.create_conversation(ALICE), history.create_conversation(ALICE)
    for n in range(3):
        say(history, ALICE, one.id, f"하나 {n}")
        say(history, ALICE, two.id, f"둘 {n}", mode="code" if n else "translation")
    assert questions(history.list(ALICE, 10, conversation_id=one.id)) == [
        "하나 0", "하나 1", "하나 2",
    ]  # fmt: skip
    assert len(history.list(ALICE, 10)) == 6  # no conversation: all of the user's turns
    page = history.list(ALICE, 2, conversation_id=two.id)
    assert questions(page) == ["둘 1", "둘 2"]
    assert questions(history.list(ALICE, 2, page[0].id, two.id)) == ["둘 0"]
    assert questions(history.recent(ALICE, MEMORY, 10, one.id)) == ["하나 0", "하나 1", "하나 2"]
    assert questions(history.recent(ALICE, MEMORY, 10, two.id)) == ["둘 1", "둘 2"]
    assert questions(history.recent(ALICE, MEMORY, 2, one.id)) == ["하나 1", "하나 2"]
    assert {t.conversation_id for t in history.list(ALICE, 10, conversation_id=two.id)} == {two.id}


def test_a_turn_without_a_conversation_goes_to_the_most_recent_one(
    history: HistoryStore,
) -> None:
    first = say(history, ALICE, None, "처음 질문")  # a new user: a conversation is made
    made = history.conversations(ALICE)
    assert [c.id for c in made] == [first.conversation_id] and made[0].title == "처음 질문"
    assert history.default_conversation(ALICE).id == first.conversation_id
    newer = history.create_conversation(ALICE, "새 대화")
    assert history.default_conversation(ALICE).id == newer.id
    assert say(history, ALICE, None, "다음").conversation_id == newer.id
    say(history, ALICE, first.conversation_id, "예전 대화로 돌아감")
    assert history.default_conversation(ALICE).id == first.conversation_id
    fresh = history.default_conversation(BOB)  # created for a user who has none
    assert fresh.user_id == BOB and fresh.turns == 0
    assert history.default_conversation(BOB).id == fresh.id


def test_delete_removes_the_conversation_and_its_turns_only(history: HistoryStore) -> None:
    gone, kept = history.create_conversation(ALICE), history.create_conversation(ALICE)
    for n in range(3):
        say(history, ALICE, gone.id, f"지울 {n}")
    say(history, ALICE, kept.id, "남을 질문")
    assert history.delete_conversation(ALICE, gone.id) == 3
    assert history.conversation(ALICE, gone.id) is None
    assert history.delete_conversation(ALICE, gone.id) is None
    assert questions(history.list(ALICE, 10)) == ["남을 질문"]
    assert history.list(ALICE, 10, conversation_id=gone.id) == []
    with pytest.raises(ConversationNotFoundError):
        say(history, ALICE, gone.id, "지운 대화에 쓰기")
    assert [c.id for c in history.conversations(ALICE)] == [kept.id]


def test_forget_starts_memory_afresh_and_keeps_the_history(history: HistoryStore) -> None:
    one, other = history.create_conversation(ALICE), history.create_conversation(ALICE)
    say(history, ALICE, one.id, "잊을 질문")
    say(history, ALICE, other.id, "다른 대화")
    for n in range(5):  # other users' activity: not in what forget reports
        say(history, BOB, None, f"밥 {n}")
    forgotten = history.forget(ALICE, one.id)
    assert forgotten is not None and (forgotten.turns, forgotten.forgotten) == (1, 1)
    assert forgotten.memory_after == history.list(ALICE, 1, conversation_id=one.id)[0].id
    assert "memory_after" not in forgotten.as_dict()
    assert forgotten.as_dict()["forgotten_turns"] == 1
    assert history.recent(ALICE, MEMORY, 10, one.id) == []
    assert questions(history.list(ALICE, 10, conversation_id=one.id)) == ["잊을 질문"]
    assert questions(history.recent(ALICE, MEMORY, 10, other.id)) == ["다른 대화"]
    say(history, ALICE, one.id, "새로 시작")
    assert questions(history.recent(ALICE, MEMORY, 10, one.id)) == ["새로 시작"]
    reread = history.conversation(ALICE, one.id)
    assert reread is not None and reread.memory_after == forgotten.memory_after
    assert (reread.turns, reread.forgotten) == (2, 1)


def test_another_users_conversation_is_as_missing_as_a_deleted_one(
    history: HistoryStore,
) -> None:
    mine = history.create_conversation(ALICE, "앨리스 비밀")
    say(history, ALICE, mine.id, "앨리스의 질문")
    assert history.conversation(BOB, mine.id) is None
    assert history.rename_conversation(BOB, mine.id, "밥이 바꿈") is None
    assert history.forget(BOB, mine.id) is None
    assert history.delete_conversation(BOB, mine.id) is None
    with pytest.raises(ConversationNotFoundError):
        say(history, BOB, mine.id, "밥이 끼어듦")
    assert history.list(BOB, 10, conversation_id=mine.id) == []
    assert history.recent(BOB, MEMORY, 10, mine.id) == []
    assert history.conversations(BOB) == []
    after = history.conversation(ALICE, mine.id)
    # Only Alice's own turn changed it: same title, no memory cleared.
    assert after is not None and after == replace(mine, turns=1, updated_at=after.updated_at)
    assert questions(history.list(ALICE, 10, conversation_id=mine.id)) == ["앨리스의 질문"]


def test_delete_all_removes_every_conversation(history: HistoryStore) -> None:
    say(history, ALICE, history.create_conversation(ALICE).id, "하나")
    say(history, ALICE, history.create_conversation(ALICE).id, "둘")
    say(history, BOB, None, "밥")
    assert history.delete_all(ALICE) == 2
    assert history.conversations(ALICE) == [] and history.list(ALICE, 10) == []
    assert [c.turns for c in history.conversations(BOB)] == [1]


def test_replicas_see_the_same_conversations(open_history: Opener) -> None:
    one, other = open_history(), open_history()
    made = one.create_conversation(ALICE, "공유")
    say(other, ALICE, made.id, "다른 복제본에서")
    assert one.conversations(ALICE) == other.conversations(ALICE)
    assert questions(one.recent(ALICE, MEMORY, 5, made.id)) == ["다른 복제본에서"]
    other.forget(ALICE, made.id)
    assert one.recent(ALICE, MEMORY, 5, made.id) == []


# Terminal escapes, bidi overrides and isolates, controls, zero-width characters and every
# kind of whitespace, as a first question may hold them (pasted output, a crafted name).
DIRTY_QUESTION = (
    "\u202egnp.exe\x1b[2J\x1b]0;제목\x07\x07 \u2066배포\u2069\u00a0\u00a0스크립트\u3000"
    "\u200b어디\u2003있나요?\r\n\x85\x9b다음\u2028줄\ufeff"
)
CLEAN_TITLE = "gnp.exe 배포 스크립트 어디 있나요? 다음 줄"


def test_a_default_title_keeps_no_control_bidi_or_escape_characters(
    history: HistoryStore,
) -> None:
    named = say(history, ALICE, None, DIRTY_QUESTION)
    conversation = history.conversation(ALICE, named.conversation_id)
    assert conversation is not None and conversation.title == CLEAN_TITLE
    assert history.list(ALICE, 1)[0].question == DIRTY_QUESTION  # the turn stays as asked
    only_invisible = history.create_conversation(ALICE)
    say(history, ALICE, only_invisible.id, "\u202e\x1b[0m\u200b\u00a0")
    assert (c := history.conversation(ALICE, only_invisible.id)) is not None and c.title is None


def test_conversations_stop_at_the_cap_counted_where_they_are_created(
    history: HistoryStore,
) -> None:
    made = [history.create_conversation(ALICE, f"대화 {n}", limit=3) for n in range(3)]
    with pytest.raises(TooManyConversationsError, match="3개까지"):
        history.create_conversation(ALICE, "넷째", limit=3)
    assert len(history.conversations(ALICE)) == 3
    history.create_conversation(BOB, "밥은 따로 셉니다", limit=3)
    # A turn naming no conversation continues the most recent one: never a fourth.
    assert say(history, ALICE, None, "상한에서도 대화는 이어집니다").conversation_id == made[-1].id
    history.delete_conversation(ALICE, made[0].id)
    history.create_conversation(ALICE, "지운 만큼 다시", limit=3)
    # Requests racing for the last places (several replicas, threads): exactly the cap.
    carol = 3
    results: list[object] = []

    def create() -> None:
        try:
            results.append(history.create_conversation(carol, None, limit=4))
        except TooManyConversationsError as exc:
            results.append(exc)

    threads = [threading.Thread(target=create) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 10 and len(history.conversations(carol)) == 4
    assert sum(isinstance(r, TooManyConversationsError) for r in results) == 6


def test_the_list_comes_a_page_at_a_time(history: HistoryStore) -> None:
    made = [history.create_conversation(ALICE, f"대화 {n}") for n in range(5)]
    history.create_conversation(BOB, "밥의 대화")
    say(history, ALICE, made[1].id, "활동")  # most recent now
    order = [made[1].id, made[4].id, made[3].id, made[2].id, made[0].id]
    assert [c.id for c in history.conversations(ALICE)] == order
    first = history.conversations(ALICE, 2)
    assert [c.id for c in first] == order[:2]
    second = history.conversations(ALICE, 2, first[-1].id)
    assert [c.id for c in second] == order[2:4]
    assert [c.id for c in history.conversations(ALICE, 2, second[-1].id)] == order[4:]
    bobs = history.conversations(BOB)[0].id
    assert history.conversations(ALICE, 2, bobs) == []  # another user's cursor: nothing


def test_postgres_a_conversation_deleted_while_its_turn_is_saved_is_not_found(
    pg_database: str,
) -> None:
    """PostgreSQL only: SQLite writes one at a time, so no delete runs inside a save there."""
    import psycopg

    from ragcode.history.postgres import PostgresHistory

    history = PostgresHistory(pg_database)

    doomed = history.create_conversation(ALICE)
    outcome: list[BaseException | StoredTurn] = []

    def save() -> None:
        try:
            outcome.append(say(history, ALICE, doomed.id, "지워지는 중인 대화에"))
        except BaseException as exc:  # the test reports what was raised
            outcome.append(exc)

    with psycopg.connect(pg_database) as deleting:
        deleting.execute("DELETE FROM history_conversations WHERE id = %s", (doomed.id,))
        saver = threading.Thread(target=save)
        saver.start()
        time.sleep(0.5)  # the save waits for the uncommitted delete
        deleting.commit()
    saver.join(10)
    try:
        assert len(outcome) == 1 and isinstance(outcome[0], ConversationNotFoundError), outcome
        assert history.list(ALICE, 10) == []
    finally:
        history.close()
