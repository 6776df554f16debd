"""`ragcode migrate` moves the API keys with the accounts: after the move to a real PostgreSQL
18, every key made on the embedded server still works as the same user (its hash, id, label
and creation time travel; a revoked key stays revoked), the counts are checked like the other
components', and a copy run again adds nothing. (The whole product's move is
tests/e2e/test_migrate_postgres.py; this one needs no index, so no model.)"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from ragcode import cli
from ragcode.accounts.apikeys_postgres import PostgresApiKeys
from ragcode.accounts.apikeys_sqlite import SqliteApiKeys
from ragcode.accounts.postgres import PostgresAccounts
from ragcode.accounts.protocol import User
from ragcode.accounts.sqlite import SqliteAccounts
from ragcode.app import WEB_DB
from ragcode.migrate import web_copy

pytestmark = pytest.mark.integration

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
PASSWORD = "correct horse battery"


@dataclass(frozen=True, slots=True)
class Keys:
    live: dict[str, User]  # key -> its user
    revoked: str
    orphan: str  # a key whose user was removed without cleaning up its rows


def embedded_keys(data_dir: Path) -> Keys:
    """A web database where keys were made, revoked, and left behind by a removed user."""
    data_dir.mkdir(parents=True)
    web = data_dir / WEB_DB
    accounts, keys = SqliteAccounts(web, FAST_HASHER), SqliteApiKeys(web)
    try:
        alice, bob = accounts.create("alice", PASSWORD), accounts.create("bob", PASSWORD)
        carol = accounts.create("carol", PASSWORD)
        live = {
            keys.create(alice.id, "노트북의 Continue", max_per_user=5).key: alice,
            keys.create(alice.id, "", max_per_user=5).key: alice,
            keys.create(bob.id, "Open WebUI", max_per_user=5).key: bob,
        }
        revoked = keys.create(bob.id, "옛 키", max_per_user=5)
        assert keys.revoke(revoked.info.id, bob.id)
        orphan = keys.create(carol.id, "", max_per_user=5).key
        accounts.remove("carol")  # its key row stays in SQLite (no foreign-key cascade)
    finally:
        keys.close()
        accounts.close()
    return Keys(live, revoked.key, orphan)


def migrate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["migrate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_api_keys_keep_working_after_the_move_to_postgres(
    tmp_path: Path, pg_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    made = embedded_keys(data_dir)
    code, out, _ = migrate(capsys, "--to", pg_database, "--data-dir", str(data_dir), "--dry-run")
    assert code == 0 and "API 키 3개" in out  # the plan: live keys of existing users
    code, out, err = migrate(capsys, "--to", pg_database, "--data-dir", str(data_dir))
    assert code == 0, err
    assert "← 다름" not in out and "복사를 마쳤습니다" in out
    copied_line = next(line for line in out.splitlines() if line.strip().startswith("API 키"))
    assert "3개" in copied_line

    web = data_dir / WEB_DB
    old_accounts, old_keys = SqliteAccounts(web, FAST_HASHER), SqliteApiKeys(web)
    accounts, keys = PostgresAccounts(pg_database, FAST_HASHER), PostgresApiKeys(pg_database)
    try:
        # Every row as it was: ids, owners, labels, hashes, creation times.
        assert keys.export_keys() == old_keys.export_keys()
        assert keys.list_keys() == old_keys.list_keys()
        for key, user in made.live.items():
            assert keys.authenticate(key) == user  # the same key, the same user
        assert keys.authenticate(made.revoked) is None
        assert keys.authenticate(made.orphan) is None
        # A copy run again adds nothing; new keys come after the copied ones.
        again = web_copy.copy_api_keys(old_keys, keys)
        assert (again.offered, again.added) == (3, 0)
        alice = accounts.authenticate("alice", PASSWORD)
        assert alice is not None
        fresh = keys.create(alice.id, "새 키", max_per_user=5)
        assert keys.authenticate(fresh.key) == alice
        assert [k.name for k in keys.list_keys(alice.id)] == ["노트북의 Continue", "", "새 키"]
    finally:
        for adapter in (keys, accounts, old_keys, old_accounts):
            adapter.close()
