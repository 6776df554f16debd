"""The accounts contract, run against both backends: the embedded SQLite file and a real
PostgreSQL 18 (tests/pg_server.py). Two adapters opened on one database stand for two server
replicas: what one does (sign-up, login session, logout, removal) the other sees at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher

from ragcode.accounts.protocol import AccountError, AccountStore, User
from ragcode.accounts.sqlite import SqliteAccounts
from ragcode.db.sqlite import open_database

pytestmark = pytest.mark.integration

BACKENDS = ["sqlite", "postgres"]
# The cheapest argon2 parameters: these tests are about the store, not the hash cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
PASSWORD = "correct horse battery"


class Backend:
    """Opens adapters on one fresh database; counts session rows the way each stores them."""

    def __init__(self, open_one: Callable[[], AccountStore], sessions: Callable[[], int]) -> None:
        self._open_one = open_one
        self.session_rows = sessions
        self.opened: list[AccountStore] = []

    def open(self) -> AccountStore:
        store = self._open_one()
        self.opened.append(store)
        return store


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "web.sqlite3"

        def sqlite_sessions() -> int:
            conn = open_database(path)
            try:
                return int(conn.execute("SELECT count(*) FROM sessions").fetchone()[0])
            finally:
                conn.close()

        made = Backend(lambda: SqliteAccounts(path, FAST_HASHER), sqlite_sessions)
    else:
        from ragcode.accounts.postgres import PostgresAccounts

        url = request.getfixturevalue("pg_database")

        def pg_sessions() -> int:
            with psycopg.connect(url) as conn:
                row = conn.execute("SELECT count(*) FROM account_sessions").fetchone()
            return int(row[0]) if row else -1

        made = Backend(lambda: PostgresAccounts(url, FAST_HASHER), pg_sessions)
    yield made
    for store in made.opened:
        store.close()


@pytest.fixture
def accounts(backend: Backend) -> AccountStore:
    return backend.open()


def in_threads(count: int, work: Callable[[int], object]) -> tuple[list[object], list[Exception]]:
    """`work(i)` for i in range(count), started together; results and errors."""
    barrier = threading.Barrier(count)
    results: list[object] = []
    errors: list[Exception] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results.append(work(i))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


# --- accounts ---------------------------------------------------------------------------


def test_first_account_is_the_admin(accounts: AccountStore) -> None:
    first = accounts.create("alice", PASSWORD)
    second = accounts.create("bob", PASSWORD)
    third = accounts.create("carol", PASSWORD, admin=True)
    assert (first.is_admin, second.is_admin, third.is_admin) == (True, False, True)
    assert first.id < second.id < third.id


def test_first_sign_ups_racing_make_one_admin(backend: Backend) -> None:
    """Eight sign-ups at once on an empty database, through two replicas."""
    replicas = [backend.open(), backend.open()]
    results, errors = in_threads(8, lambda i: replicas[i % 2].create(f"user{i}", PASSWORD))
    assert errors == []
    users = [u for u in results if isinstance(u, User)]
    assert len(users) == 8 and sum(u.is_admin for u in users) == 1
    listed = replicas[0].list_users()
    assert sum(r.user.is_admin for r in listed) == 1
    assert [r.user.id for r in listed if r.user.is_admin] == [min(u.id for u in users)]


def test_names_are_unique_without_regard_to_case(accounts: AccountStore) -> None:
    accounts.create("Alice", PASSWORD)
    for taken in ("alice", "ALICE", "ａｌｉｃｅ"):  # full width: the same name once normalised
        with pytest.raises(AccountError, match="이미 사용 중인"):
            accounts.create(taken, PASSWORD)
    assert [r.user.username for r in accounts.list_users()] == ["Alice"]
    user = accounts.authenticate("aLiCe", PASSWORD)
    assert user is not None and user.username == "Alice"
    assert accounts.set_admin("ALICE", False).username == "Alice"


def test_the_same_name_racing_is_taken_once(backend: Backend) -> None:
    replicas = [backend.open(), backend.open()]
    names = ["dave", "Dave", "DAVE", "daVe"]
    results, errors = in_threads(4, lambda i: replicas[i % 2].create(names[i], PASSWORD))
    assert len(results) == 1 and len(errors) == 3
    assert all(isinstance(e, AccountError) and "이미 사용 중인" in str(e) for e in errors)


def test_refused_passwords_and_names_create_nothing(accounts: AccountStore) -> None:
    with pytest.raises(AccountError, match="흔한 비밀번호"):
        accounts.create("erin", "password123")
    with pytest.raises(AccountError, match="사용자 이름은"):
        accounts.create("erin\x00", PASSWORD)
    assert accounts.list_users() == []


def test_authenticate(accounts: AccountStore) -> None:
    alice = accounts.create("alice", PASSWORD)
    assert accounts.authenticate("alice", PASSWORD) == alice
    assert accounts.authenticate("alice", PASSWORD + "!") is None
    assert accounts.authenticate("nobody", PASSWORD) is None
    assert accounts.authenticate("al\x00ice", PASSWORD) is None  # no such name, no error


def test_list_users_in_creation_order_with_utc_times(accounts: AccountStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    for name in ("alice", "bob", "한글이름"):
        accounts.create(name, PASSWORD)
    records = accounts.list_users()
    assert [r.user.username for r in records] == ["alice", "bob", "한글이름"]
    for record in records:
        assert record.created_at.utcoffset() == timedelta(0)
        assert before < record.created_at < datetime.now(UTC) + timedelta(seconds=5)


def test_set_admin(accounts: AccountStore) -> None:
    accounts.create("alice", PASSWORD)
    bob = accounts.create("bob", PASSWORD)
    assert accounts.set_admin("bob", True) == User(bob.id, "bob", True)
    assert accounts.set_admin("bob", False) == User(bob.id, "bob", False)
    with pytest.raises(AccountError, match="'nobody' 사용자가 없습니다"):
        accounts.set_admin("nobody", True)


def test_remove_deletes_the_account_and_its_sessions(backend: Backend) -> None:
    one, other = backend.open(), backend.open()
    one.create("alice", PASSWORD)
    bob = one.create("bob", PASSWORD)
    tokens = [one.open_session(bob, 60), other.open_session(bob, 60)]
    assert backend.session_rows() == 2
    assert other.remove("BOB") == bob.id
    assert [one.session_user(t) for t in tokens] == [None, None]  # revoked on every replica
    assert backend.session_rows() == 0
    assert one.authenticate("bob", PASSWORD) is None
    with pytest.raises(AccountError, match="'bob' 사용자가 없습니다"):
        one.remove("bob")
    again = one.create("bob", PASSWORD)  # the name is free again, as a new user
    assert again.id != bob.id and not again.is_admin


# --- sessions ---------------------------------------------------------------------------


def test_a_session_opened_on_one_replica_is_seen_and_closed_on_another(backend: Backend) -> None:
    one, other = backend.open(), backend.open()
    alice = one.create("alice", PASSWORD)
    token = one.open_session(alice, 60)
    assert other.session_user(token) == alice
    assert other.session_user(token + "x") is None
    other.close_session(token)
    assert one.session_user(token) is None
    other.close_session(token)  # closing twice is harmless


def test_sessions_are_independent_and_follow_the_role(backend: Backend) -> None:
    one, other = backend.open(), backend.open()
    one.create("alice", PASSWORD)
    bob = one.create("bob", PASSWORD)
    first, second = one.open_session(bob, 60), one.open_session(bob, 60)
    assert first != second
    other.set_admin("bob", True)
    assert one.session_user(first) == User(bob.id, "bob", True)
    one.close_session(first)
    assert one.session_user(first) is None
    assert one.session_user(second) == User(bob.id, "bob", True)


def test_sessions_expire_and_expired_ones_are_pruned(backend: Backend) -> None:
    one, other = backend.open(), backend.open()
    alice = one.create("alice", PASSWORD)
    short = [one.open_session(alice, 1.0) for _ in range(3)]
    lasting = one.open_session(alice, 60)
    assert other.session_user(short[0]) == alice
    time.sleep(1.2)
    assert [other.session_user(t) for t in short] == [None, None, None]
    assert other.session_user(lasting) == alice
    assert backend.session_rows() == 4  # expired, not yet pruned
    other.open_session(alice, 60)  # opening a session prunes the expired ones
    assert backend.session_rows() == 2
    assert one.session_user(lasting) == alice
