"""The SQLite history: turns per user, sub-second times, pages newest last, delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragcode.history.protocol import NewTurn
from ragcode.history.sqlite import SqliteHistory

pytestmark = pytest.mark.integration


def turn(user: int, n: int, mode: str = "normal") -> NewTurn:
    refs: list[dict[str, object]] = [{"path": "a.py", "n": n}]
    return NewTurn(user, f"r{n}", mode, f"질문 {n}", f"답 {n}", refs)


def test_pages_are_newest_last_and_per_user(tmp_path: Path) -> None:
    history = SqliteHistory(tmp_path / "web.sqlite3")
    for n in range(7):
        history.add(turn(1, n))
        history.add(turn(2, 100 + n))
    page = history.list(1, limit=3)
    assert [t.question for t in page] == ["질문 4", "질문 5", "질문 6"]
    older = history.list(1, limit=3, before=page[0].id)
    assert [t.question for t in older] == ["질문 1", "질문 2", "질문 3"]
    assert all(t.user_id == 1 for t in history.list(1, limit=100))
    assert page[-1].references == [{"path": "a.py", "n": 6}]
    assert page[-1].created_at.microsecond or page[-2].created_at.microsecond
    assert page[0].created_at < page[1].created_at < page[2].created_at
    history.close()


def test_recent_filters_modes_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "web.sqlite3"
    history = SqliteHistory(path)
    for n in range(12):
        history.add(turn(1, n, "code" if n % 2 else "normal"))
    history.close()
    reopened = SqliteHistory(path)
    recent = reopened.recent(1, ["code"], 3)
    assert [t.question for t in recent] == ["질문 7", "질문 9", "질문 11"]
    assert reopened.delete_all(1) == 12 and reopened.list(1, 10) == []
    reopened.close()
