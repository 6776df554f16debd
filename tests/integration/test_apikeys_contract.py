"""The API key contract, run against both backends: the embedded SQLite file and a real
PostgreSQL 18 (tests/pg_server.py). Two adapters opened on one database stand for two server
replicas: a key revoked or a user removed through one fails through the other at once."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher

from ragcode.accounts import apikeys, apikeys_sqlite
from ragcode.accounts.apikeys import ApiKeyError, ApiKeyStore, ApiKeyStoreError, key_id
from ragcode.accounts.apikeys_sqlite import SqliteApiKeys
from ragcode.accounts.protocol import AccountStore, User
from ragcode.accounts.sqlite import SqliteAccounts
from ragcode.db.sqlite import open_database

pytestmark = pytest.mark.integration

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
PASSWORD = "correct horse battery"


Row = dict[str, str]  # every column of a stored key row, as text


@dataclass
class Backend:
    """Opens (accounts, keys) pairs on one fresh database; reads the stored key rows raw."""

    name: str
    open_pair: Callable[[], tuple[AccountStore, ApiKeyStore]]
    stored_rows: Callable[[], list[Row]]  # every column of every row, as stored
    opened: list[AccountStore | ApiKeyStore] = field(default_factory=list)

    def open(self) -> tuple[AccountStore, ApiKeyStore]:
        accounts, keys = self.open_pair()
        self.opened += [keys, accounts]
        return accounts, keys


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "web.sqlite3"

        def sqlite_rows() -> list[Row]:
            conn = open_database(path)
            try:
                cursor = conn.execute("SELECT * FROM api_keys")
                names = [column[0] for column in cursor.description]
                return [{n: str(v) for n, v in zip(names, row, strict=True)} for row in cursor]
            finally:
                conn.close()

        made = Backend(
            "sqlite", lambda: (SqliteAccounts(path, FAST_HASHER), SqliteApiKeys(path)), sqlite_rows
        )
    else:
        from ragcode.accounts.apikeys_postgres import PostgresApiKeys
        from ragcode.accounts.postgres import PostgresAccounts

        url = request.getfixturevalue("pg_database")

        def pg_rows() -> list[Row]:
            with psycopg.connect(url) as conn:
                rows = conn.execute("SELECT row_to_json(k)::text FROM api_keys k").fetchall()
            return [{n: str(v) for n, v in json.loads(row[0]).items()} for row in rows]

        made = Backend(
            "postgres",
            lambda: (PostgresAccounts(url, FAST_HASHER), PostgresApiKeys(url)),
            pg_rows,
        )
    yield made
    for store in made.opened:
        store.close()


@pytest.fixture
def pair(backend: Backend) -> tuple[AccountStore, ApiKeyStore]:
    return backend.open()


def test_a_key_authenticates_as_its_user_and_is_stored_hashed(
    backend: Backend, pair: tuple[AccountStore, ApiKeyStore]
) -> None:
    accounts, keys = pair
    alice = accounts.create("alice", PASSWORD)
    bob = accounts.create("bob", PASSWORD)
    created = keys.create(alice.id, " 노트북 ", max_per_user=5)
    assert created.key.startswith("rck_") and key_id(created.key) == created.info.id
    assert (created.info.user_id, created.info.username, created.info.name) == (
        alice.id, "alice", "노트북",
    )  # fmt: skip
    assert keys.authenticate(created.key) == User(alice.id, "alice", True)
    other = keys.create(bob.id, "", max_per_user=5)
    assert keys.authenticate(other.key) == User(bob.id, "bob", False)
    # Only the SHA-256 of the key is stored, never the key or its secret part, in any column.
    rows = {row["id"]: row for row in backend.stored_rows()}
    assert set(rows[created.info.id]) == {"id", "user_id", "name", "key_hash", "created_at"}
    assert rows[created.info.id]["key_hash"] == hashlib.sha256(created.key.encode()).hexdigest()
    secret = created.key.split("_", 2)[2]  # the secret may itself hold "_" (token_urlsafe)
    assert created.key == f"rck_{created.info.id}_{secret}"
    stored = [value for row in rows.values() for value in row.values()]
    assert not any(secret in value or created.key in value for value in stored)


def test_wrong_and_malformed_keys_are_refused(pair: tuple[AccountStore, ApiKeyStore]) -> None:
    accounts, keys = pair
    created = keys.create(accounts.create("alice", PASSWORD).id, "", max_per_user=5)
    tampered = created.key[:-1] + ("A" if created.key[-1] != "A" else "B")
    wrongs = [tampered, created.key + "x", created.key.upper(), "", "rck_", "Bearer x"]
    wrongs += [f"rck_{created.info.id}_short", "sk-" + created.key[4:], "\x00" * 60]
    for wrong in wrongs:
        assert keys.authenticate(wrong) is None, wrong


def test_lists_show_no_key_and_scope_by_user(pair: tuple[AccountStore, ApiKeyStore]) -> None:
    accounts, keys = pair
    alice, bob = accounts.create("alice", PASSWORD), accounts.create("bob", PASSWORD)
    first = keys.create(alice.id, "one", max_per_user=5)
    second = keys.create(bob.id, "two", max_per_user=5)
    third = keys.create(alice.id, "three", max_per_user=5)
    assert [i.id for i in keys.list_keys(alice.id)] == [first.info.id, third.info.id]
    assert [i.name for i in keys.list_keys()] == ["one", "two", "three"]
    assert keys.list_keys(bob.id) == [second.info]
    assert all(not hasattr(info, "key") for info in keys.list_keys())


def test_revoke_is_immediate_on_every_replica_and_only_by_the_owner(backend: Backend) -> None:
    (accounts, one), (_, two) = backend.open(), backend.open()
    alice, bob = accounts.create("alice", PASSWORD), accounts.create("bob", PASSWORD)
    created = one.create(alice.id, "", max_per_user=5)
    assert two.authenticate(created.key) is not None
    assert two.revoke(created.info.id, bob.id) is False  # not bob's key
    assert one.authenticate(created.key) is not None
    assert two.revoke(created.info.id, alice.id) is True
    assert one.authenticate(created.key) is None and two.authenticate(created.key) is None
    assert one.revoke(created.info.id) is False  # already gone
    again = one.create(alice.id, "", max_per_user=5)
    assert two.revoke(again.info.id) is True and one.authenticate(again.key) is None


def test_a_removed_user_s_keys_fail_at_once(backend: Backend) -> None:
    (accounts, one), (_, two) = backend.open(), backend.open()
    carol = accounts.create("carol", PASSWORD)
    created = one.create(carol.id, "", max_per_user=5)
    accounts.remove("carol")
    assert one.authenticate(created.key) is None and two.authenticate(created.key) is None
    assert one.list_keys() == []
    two.remove_user(carol.id)
    assert backend.stored_rows() == []
    with pytest.raises(ApiKeyError, match="사용자가 없습니다"):
        one.create(carol.id, "", max_per_user=5)


def test_keys_per_user_are_capped_under_concurrency(backend: Backend) -> None:
    """Ten creations at once through two replicas, three allowed: exactly three made."""
    (accounts, one), (_, two) = backend.open(), backend.open()
    dave = accounts.create("dave", PASSWORD)
    barrier = threading.Barrier(10)
    made: list[str] = []
    refused: list[Exception] = []

    def create(i: int) -> None:
        barrier.wait()
        try:
            made.append((one, two)[i % 2].create(dave.id, f"k{i}", max_per_user=3).key)
        except ApiKeyError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 3 and len(refused) == 7
    assert all("3개까지" in str(exc) for exc in refused)
    assert len(one.list_keys(dave.id)) == 3


def test_labels_are_checked(pair: tuple[AccountStore, ApiKeyStore]) -> None:
    accounts, keys = pair
    user = accounts.create("erin", PASSWORD)
    for bad in ("x" * 65, "줄\n바꿈"):
        with pytest.raises(ApiKeyError):
            keys.create(user.id, bad, max_per_user=5)
    assert keys.list_keys() == []


def test_an_unknown_id_costs_a_hash_like_a_wrong_secret(
    pair: tuple[AccountStore, ApiKeyStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Look-up by id, then a comparison of hashes: without a dummy hash for a missing id, the
    answer time would tell which ids exist."""
    accounts, keys = pair
    created = keys.create(accounts.create("alice", PASSWORD).id, "", max_per_user=5)
    hashed: list[str] = []
    real_hash = apikeys.key_hash
    monkeypatch.setattr(apikeys, "key_hash", lambda key: hashed.append(key) or real_hash(key))  # type: ignore[func-returns-value]  # records the key, then hashes it
    wrong_secret = created.key[:-1] + ("A" if created.key[-1] != "A" else "B")
    unknown_id = f"rck_{'f' * 12}_{created.key.split('_', 2)[2]}"
    for key in (wrong_secret, unknown_id):
        hashed.clear()
        assert keys.authenticate(key) is None
        assert hashed == [key], key  # hashed and compared once, known id or not


def test_store_failures_are_api_key_errors(
    backend: Backend, pair: tuple[AccountStore, ApiKeyStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An id taken twice (a collision of 48 random bits, forced here) breaks the primary key:
    the caller gets ApiKeyStoreError (an ApiKeyError, Korean), never sqlite3's or psycopg's."""
    accounts, keys = pair
    user = accounts.create("alice", PASSWORD)
    fixed = apikeys.new_key()
    if backend.name == "sqlite":
        monkeypatch.setattr(apikeys_sqlite, "new_key", lambda: fixed)
    else:
        from ragcode.accounts import apikeys_postgres

        monkeypatch.setattr(apikeys_postgres, "new_key", lambda: fixed)
    keys.create(user.id, "first", max_per_user=5)
    with pytest.raises(ApiKeyStoreError) as failed:
        keys.create(user.id, "second", max_per_user=5)
    assert isinstance(failed.value, ApiKeyError)
    assert str(failed.value).startswith(("API 키 저장소 오류: ", "API 키 만들기 실패"))
    assert [info.name for info in keys.list_keys()] == ["first"]


def test_export_holds_every_live_key_row(
    backend: Backend, pair: tuple[AccountStore, ApiKeyStore]
) -> None:
    """What `ragcode migrate` copies: ids, owners, labels, hashes, times; a removed user's
    left-over rows are not exported."""
    accounts, keys = pair
    alice, bob = accounts.create("alice", PASSWORD), accounts.create("bob", PASSWORD)
    one = keys.create(alice.id, "노트북", max_per_user=5)
    two = keys.create(bob.id, "", max_per_user=5)
    revoked = keys.create(alice.id, "old", max_per_user=5)
    keys.revoke(revoked.info.id)
    exported = keys.export_keys()  # type: ignore[attr-defined]
    assert [(k.id, k.user_id, k.name) for k in exported] == [
        (one.info.id, alice.id, "노트북"), (two.info.id, bob.id, ""),
    ]  # fmt: skip
    assert [k.key_hash for k in exported] == [hashlib.sha256(c.key.encode()).hexdigest()
                                              for c in (one, two)]  # fmt: skip
    assert [k.created_at for k in exported] == [one.info.created_at, two.info.created_at]
    accounts.remove("bob")
    assert [k.id for k in keys.export_keys()] == [one.info.id]  # type: ignore[attr-defined]
