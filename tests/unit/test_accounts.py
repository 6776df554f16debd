"""Accounts: the admin role, the migration of older databases, `ragcode user ...`."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from ragcode.accounts.protocol import AccountError, User
from ragcode.accounts.sqlite import SqliteAccounts as Accounts
from ragcode.app import WEB_DB
from ragcode.cli import main

pytestmark = pytest.mark.unit
PASSWORD = "correct horse battery"
OLD_SCHEMA = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    expires_at REAL NOT NULL
);
"""


@pytest.fixture
def accounts(tmp_path: Path) -> Iterator[Accounts]:
    opened = Accounts(tmp_path / WEB_DB)
    yield opened
    opened.close()


def test_user_keeps_its_positional_fields() -> None:
    assert User(3, "kim") == User(id=3, username="kim", is_admin=False)


def test_the_first_account_is_the_admin(accounts: Accounts) -> None:
    first = accounts.create("alice", PASSWORD)
    second = accounts.create("bob", PASSWORD)
    third = accounts.create("carol", PASSWORD, admin=True)
    assert (first.is_admin, second.is_admin, third.is_admin) == (True, False, True)
    assert accounts.authenticate("BOB", PASSWORD) == second
    token = accounts.open_session(first, 60)
    assert accounts.session_user(token) == first


def test_remove_deletes_the_account_and_its_sessions(accounts: Accounts) -> None:
    alice = accounts.create("alice", PASSWORD)
    token = accounts.open_session(alice, 60)
    assert accounts.remove("ALICE") == alice.id
    assert accounts.session_user(token) is None
    assert accounts.authenticate("alice", PASSWORD) is None
    with pytest.raises(AccountError, match="사용자가 없습니다"):
        accounts.remove("alice")
    again = accounts.create("alice", PASSWORD)
    assert again.id != alice.id  # ids are never reused: nothing of the old account carries over


def test_set_admin_and_list(accounts: Accounts) -> None:
    accounts.create("alice", PASSWORD)
    accounts.create("홍길동", PASSWORD)
    assert accounts.set_admin("홍길동", True).is_admin
    assert not accounts.set_admin("alice", False).is_admin
    listed = accounts.list_users()
    assert [(r.user.username, r.user.is_admin) for r in listed] == [
        ("alice", False), ("홍길동", True)
    ]  # fmt: skip
    assert abs(listed[0].created_at.timestamp() - time.time()) < 60
    with pytest.raises(AccountError):
        accounts.set_admin("nobody", True)


def test_an_older_database_gets_the_admin_column(tmp_path: Path) -> None:
    path = tmp_path / WEB_DB
    hashed = PasswordHasher().hash(PASSWORD)
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
        conn.executemany(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?)",
            [(7, "bob", hashed, 1.0), (3, "alice", hashed, 2.0)],
        )
    migrated = Accounts(path)
    try:
        assert migrated.authenticate("alice", PASSWORD) == User(3, "alice", True)
        assert migrated.authenticate("bob", PASSWORD) == User(7, "bob", False)
        assert migrated.create("carol", PASSWORD).is_admin is False
    finally:
        migrated.close()
    reopened = Accounts(path)  # a second open changes nothing
    try:
        assert [r.user.is_admin for r in reopened.list_users()] == [True, False, False]
    finally:
        reopened.close()


def test_user_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert main(["user", "add", "kim", "--password", PASSWORD, *data]) == 0
    assert "kim (관리자)" in capsys.readouterr().out
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["user", "add", "lee", *data]) == 0
    assert capsys.readouterr().out.strip() == "사용자를 만들었습니다: lee"  # not an admin
    listed = main(["user", "list", *data]), capsys.readouterr().out
    assert listed[0] == 0
    rows = [line.split() for line in listed[1].splitlines()[1:]]
    assert [row[:2] for row in rows] == [["kim", "예"], ["lee", "-"]]
    assert main(["user", "add", "park", "--password", "12345678", *data]) == 2
    assert "흔한 비밀번호" in capsys.readouterr().err
    assert main(["user", "add", "kim", "--password", PASSWORD, *data]) == 2
    assert "이미 사용 중" in capsys.readouterr().err
    answers = iter([PASSWORD, "something else"])
    assert main(["user", "add", "choi", *data]) == 2
    assert "다릅니다" in capsys.readouterr().err
    assert main(["user", "remove", "lee", *data]) == 0
    assert main(["user", "remove", "lee", *data]) == 2
    assert "'lee' 사용자가 없습니다" in capsys.readouterr().err
    assert main(["user", "admin", "kim", "--revoke", *data]) == 0
    accounts = Accounts(tmp_path / WEB_DB)
    try:
        assert [(r.user.username, r.user.is_admin) for r in accounts.list_users()] == [
            ("kim", False)
        ]
    finally:
        accounts.close()
