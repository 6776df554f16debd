"""`ragcode apikey create|list|revoke`: API keys of the OpenAI-compatible API (`/v1`).

`create` prints the new key alone on its last line, so that a script can take it with
`| tail -n 1`; it is shown only then (only its hash is stored).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ragcode.accounts.apikeys import ApiKeyError, ApiKeyStore, key_id
from ragcode.accounts.protocol import AccountStore, User
from ragcode.accounts.rules import normalize_username
from ragcode.app import build_accounts, build_api_keys
from ragcode.cli_commands import command_adder
from ragcode.cli_user import pad
from ragcode.config import Settings, load_settings


def _fail(message: str) -> int:
    print(f"오류: {message}", file=sys.stderr)
    return 2


def _find_user(accounts: AccountStore, name: str) -> User | None:
    wanted = normalize_username(name).casefold()
    records = accounts.list_users()
    return next((r.user for r in records if r.user.username.casefold() == wanted), None)


def _open(args: argparse.Namespace) -> tuple[Settings, AccountStore, ApiKeyStore]:
    settings = load_settings(data_dir=args.data_dir)
    accounts = build_accounts(settings)  # first: the keys' table refers to its users
    try:
        keys = build_api_keys(settings)
    except BaseException:
        accounts.close()  # the caller gets nothing to close
        raise
    return settings, accounts, keys


def cmd_create(args: argparse.Namespace) -> int:
    settings, accounts, keys = _open(args)
    try:
        user = _find_user(accounts, args.user)
        if user is None:
            return _fail(f"'{args.user}' 사용자가 없습니다. 'ragcode user add' 로 먼저 만드세요.")
        limit = settings.api.max_keys_per_user
        created = keys.create(user.id, args.name, max_per_user=limit)
    except ApiKeyError as exc:
        return _fail(str(exc))
    finally:
        keys.close()
        accounts.close()
    label = f", 이름 '{created.info.name}'" if created.info.name else ""
    print(f"API 키를 만들었습니다: id {created.info.id}, 사용자 {user.username}{label}")
    print("이 키는 다시 볼 수 없습니다. 지금 안전한 곳에 저장하세요 (다음 줄):")
    print(created.key)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    _, accounts, keys = _open(args)
    try:
        user_id: int | None = None
        if args.user is not None:
            user = _find_user(accounts, args.user)
            if user is None:
                return _fail(f"'{args.user}' 사용자가 없습니다.")
            user_id = user.id
        infos = keys.list_keys(user_id)
    finally:
        keys.close()
        accounts.close()
    if not infos:
        print("API 키가 없습니다. 'ragcode apikey create --user 이름' 으로 만드세요.")
        return 0
    print(f"{'id':<14} {pad('사용자', 20)} {pad('이름', 24)} 만든 때 (UTC)")
    for info in infos:
        created = info.created_at.strftime("%Y-%m-%d %H:%M")
        name = info.name or "-"
        print(f"{info.id:<14} {pad(info.username, 20)} {pad(name, 24)} {created}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    # A whole key pasted by mistake names its id too.
    wanted = key_id(args.key_id) or args.key_id
    _, accounts, keys = _open(args)
    try:
        revoked = keys.revoke(wanted)
    finally:
        keys.close()
        accounts.close()
    if not revoked:
        return _fail(f"'{wanted}' API 키가 없습니다. 'ragcode apikey list' 로 id 를 확인하세요.")
    print(f"API 키를 폐기했습니다: {wanted} (이 키로 오는 요청은 바로 거절됩니다)")
    return 0


def _reported(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """The command, with a refused key or a failing key store (ApiKeyStoreError, opening
    included) reported as one line instead of a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except ApiKeyError as exc:
            return _fail(str(exc))

    return run


def register(sub: Any) -> None:
    """Add `apikey` and its subcommands to the main parser's subparsers."""
    apikey = sub.add_parser("apikey", help="OpenAI 호환 API 키를 관리합니다 (만들기, 목록, 폐기)")
    add = command_adder(apikey.add_subparsers(dest="apikey_command", required=True), _reported)

    create = add("create", cmd_create, "사용자의 API 키를 만듭니다 (마지막 줄에 키만 출력)")
    create.add_argument("--user", required=True, help="키의 주인 (그 사용자가 보는 것만 봄)")
    create.add_argument("--name", default="", help="키 이름 (예: 노트북의 Continue)")
    listing = add("list", cmd_list, "API 키 목록을 보여 줍니다 (키 자체는 보이지 않음)")
    listing.add_argument("--user", default=None, help="이 사용자의 키만")
    revoke = add("revoke", cmd_revoke, "API 키를 폐기합니다 (바로 거절됨)")
    revoke.add_argument("key_id", help="'ragcode apikey list' 의 id")
