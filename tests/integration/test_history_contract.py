"""The history contract, run against both backends: the embedded SQLite file and a real
PostgreSQL 18 (tests/pg_server.py). Two adapters on one database stand for two replicas: a
conversation continues whichever one answers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ragcode.history.protocol import HistoryStore, NewTurn, StoredTurn
from ragcode.history.sqlite import SqliteHistory

pytestmark = pytest.mark.integration

BACKENDS = ["sqlite", "postgres"]
ALICE, BOB = 1, 2

Opener = Callable[[], HistoryStore]


@pytest.fixture(params=BACKENDS)
def open_history(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens adapters on one fresh database of the backend; closes them after."""
    opened: list[HistoryStore] = []
    if request.param == "sqlite":

        def opener() -> HistoryStore:
            return SqliteHistory(tmp_path / "web.sqlite3")

    else:
        from ragcode.history.postgres import PostgresHistory

        url = request.getfixturevalue("pg_database")

        def opener() -> HistoryStore:
            return PostgresHistory(url)

    def tracked() -> HistoryStore:
        store = opener()
        opened.append(store)
        return store

    yield tracked
    for store in opened:
        store.close()


@pytest.fixture
def history(open_history: Opener) -> HistoryStore:
    return open_history()


def turn(user: int, n: int, mode: str = "normal", **extra: object) -> NewTurn:
    return NewTurn(user, f"r{n}", mode, f"질문 {n}", f"답 {n}", **extra)  # type: ignore[arg-type]


def questions(turns: list[StoredTurn]) -> list[str]:
    return [t.question for t in turns]


def test_add_returns_what_list_gives_back(history: HistoryStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    references: list[dict[str, object]] = [
        {"path": "src/설정.py", "name": "load", "start_line": 3, "score": 0.5, "nested": [1]}
    ]
    stored = history.add(
        NewTurn(
            ALICE, "req-1", "code", "설정을 읽는 함수", "```py\n...\n```", references, "독립 질문"
        )
    )
    assert (stored.user_id, stored.request_id, stored.mode) == (ALICE, "req-1", "code")
    assert stored.references == references and stored.standalone_question == "독립 질문"
    assert stored.created_at.utcoffset() == timedelta(0)
    assert before < stored.created_at < datetime.now(UTC) + timedelta(seconds=5)
    assert history.list(ALICE, 10) == [stored]  # same id, microseconds, references
    plain = history.add(turn(ALICE, 2))
    assert plain.references == [] and plain.standalone_question is None
    assert history.list(ALICE, 10) == [stored, plain]
    assert stored.as_dict()["references"] == references


def test_ids_increase_and_before_pages_back(history: HistoryStore) -> None:
    added = [history.add(turn(ALICE, n)) for n in range(7)]
    ids = [t.id for t in added]
    assert ids == sorted(ids) and len(set(ids)) == 7
    assert questions(history.list(ALICE, 3)) == ["질문 4", "질문 5", "질문 6"]
    page = history.list(ALICE, 3, before=added[4].id)
    assert questions(page) == ["질문 1", "질문 2", "질문 3"]
    assert questions(history.list(ALICE, 3, before=page[0].id)) == ["질문 0"]
    assert history.list(ALICE, 3, before=added[0].id) == []
    assert history.list(ALICE, 0) == [] and history.list(ALICE, -1) == []


def test_users_see_only_their_own_turns(history: HistoryStore) -> None:
    for n in range(3):
        history.add(turn(ALICE, n))
        history.add(turn(BOB, 10 + n))
    assert questions(history.list(ALICE, 10)) == ["질문 0", "질문 1", "질문 2"]
    assert questions(history.list(BOB, 10)) == ["질문 10", "질문 11", "질문 12"]
    bob_first = history.list(BOB, 10)[0].id
    assert questions(history.list(ALICE, 10, before=bob_first)) == ["질문 0"]
    assert history.recent(BOB, ["normal"], 10) == history.list(BOB, 10)


def test_recent_filters_modes_and_keeps_the_last_turns(history: HistoryStore) -> None:
    modes = ["normal", "translate", "code", "normal", "pii", "code", "normal"]
    for n, mode in enumerate(modes):
        history.add(turn(ALICE, n, mode))
    memory = history.recent(ALICE, ["normal", "code"], 3)
    assert [(t.question, t.mode) for t in memory] == [
        ("질문 3", "normal"),
        ("질문 5", "code"),
        ("질문 6", "normal"),
    ]
    assert questions(history.recent(ALICE, ["translate"], 10)) == ["질문 1"]
    assert history.recent(ALICE, [], 10) == [] and history.recent(ALICE, ["normal"], 0) == []
    assert history.recent(BOB, ["normal"], 10) == []


def test_delete_all_removes_one_users_turns(history: HistoryStore) -> None:
    for n in range(4):
        history.add(turn(ALICE, n))
    history.add(turn(BOB, 9))
    assert history.delete_all(ALICE) == 4
    assert history.list(ALICE, 10) == [] and history.recent(ALICE, ["normal"], 10) == []
    assert questions(history.list(BOB, 10)) == ["질문 9"]
    assert history.delete_all(ALICE) == 0
    newer = history.add(turn(ALICE, 5))
    assert history.list(ALICE, 10) == [newer]


def test_replicas_share_one_conversation(open_history: Opener) -> None:
    """Turns alternate between two replicas; each sees the whole conversation in order."""
    one, other = open_history(), open_history()
    for n in range(6):
        (one if n % 2 else other).add(turn(ALICE, n))
    assert questions(one.recent(ALICE, ["normal"], 10)) == [f"질문 {n}" for n in range(6)]
    assert one.list(ALICE, 10) == other.list(ALICE, 10)
    other.delete_all(ALICE)
    assert one.list(ALICE, 10) == []


def test_concurrent_adds_from_replicas_keep_every_turn(open_history: Opener) -> None:
    replicas = [open_history(), open_history()]
    barrier = threading.Barrier(8)
    errors: list[Exception] = []

    def add(worker: int) -> None:
        barrier.wait()
        try:
            for n in range(10):
                replicas[worker % 2].add(turn(ALICE, worker * 100 + n))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    listed = replicas[0].list(ALICE, 100)
    assert len(listed) == 80 and len({t.id for t in listed}) == 80
    assert [t.id for t in listed] == sorted(t.id for t in listed)


def test_text_a_database_may_refuse_is_still_recorded(history: HistoryStore) -> None:
    """A NUL in a message: the turn is recorded (the embedded file keeps it as is;
    PostgreSQL, whose text refuses NUL, gets U+FFFD)."""
    stored = history.add(NewTurn(ALICE, "r", "normal", "앞\x00뒤", "답", [{"q": "\x00"}]))
    listed = history.list(ALICE, 1)
    assert listed == [stored]
    assert listed[0].question in {"앞\x00뒤", "앞\ufffd뒤"}
    assert listed[0].references == [{"q": "\x00"}]  # JSON escapes it: kept on both
