"""`ragcode apikey create|list|revoke` on the embedded SQLite file: the key alone on the last
line, lists without keys, revocation; a key store that cannot be opened leaves nothing open
and is reported in one line."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from ragcode import cli, cli_apikey
from ragcode.accounts.apikeys import ApiKeyStoreError
from ragcode.accounts.apikeys_sqlite import SqliteApiKeys
from ragcode.accounts.sqlite import SqliteAccounts
from ragcode.app import WEB_DB
from ragcode.config import Settings

pytestmark = pytest.mark.unit


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["apikey", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def column(line: str, text: str) -> int:
    """Where `text` starts on a terminal: Hangul takes two columns."""
    before = line[: line.index(text)]
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in before)


def test_create_list_and_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fast = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    accounts = SqliteAccounts(tmp_path / WEB_DB, fast)
    accounts.create("김민수", "correct horse battery")
    accounts.close()
    where = ("--data-dir", str(tmp_path))
    code, out, err = run(capsys, "create", "--user", "김민수", "--name", "노트북", *where)
    assert code == 0, err
    key = out.strip().splitlines()[-1]
    assert key.startswith("rck_") and " " not in key
    code, out, _ = run(capsys, "list", *where)
    header, row = out.splitlines()
    assert key not in out and key[4:16] in row
    assert column(header, "사용자") == column(row, "김민수")  # lined up on a terminal
    assert column(header, "이름") == column(row, "노트북")
    code, out, _ = run(capsys, "revoke", key, *where)  # a whole key names its id too
    assert code == 0 and key[4:16] in out
    code, _, err = run(capsys, "revoke", key[4:16], *where)
    assert code == 2 and "API 키가 없습니다" in err


def test_a_key_store_that_fails_to_open_closes_the_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    opened: list[SqliteAccounts] = []
    build_accounts = cli_apikey.build_accounts  # type: ignore[attr-defined]  # the name cli_apikey imports; patched below

    def tracked(settings: Settings) -> SqliteAccounts:
        accounts = build_accounts(settings)
        assert isinstance(accounts, SqliteAccounts)
        opened.append(accounts)
        return accounts

    def broken(_settings: Settings) -> SqliteApiKeys:
        raise ApiKeyStoreError("API 키 저장소 오류: database disk image is malformed")

    monkeypatch.setattr(cli_apikey, "build_accounts", tracked)
    monkeypatch.setattr(cli_apikey, "build_api_keys", broken)
    for command in (("list",), ("create", "--user", "x"), ("revoke", "0123456789ab")):
        code, out, err = run(capsys, *command, "--data-dir", str(tmp_path))
        assert code == 2 and out == ""
        assert err == "오류: API 키 저장소 오류: database disk image is malformed\n"
    assert len(opened) == 3
    for accounts in opened:  # each was closed: using it now fails
        with pytest.raises(Exception, match="closed"):
            accounts.list_users()
