"""`ragcode user add|list|remove|admin`: accounts of the web app, managed by its admin."""

from __future__ import annotations

import argparse
import getpass
import sys
import unicodedata
from typing import Any

from ragcode.accounts.protocol import AccountError, AccountStore
from ragcode.app import build_accounts
from ragcode.cli_commands import command_adder
from ragcode.config import load_settings


def _accounts(args: argparse.Namespace) -> AccountStore:
    return build_accounts(load_settings(data_dir=args.data_dir))


def _fail(message: str) -> int:
    print(f"오류: {message}", file=sys.stderr)
    return 2


def pad(text: str, width: int) -> str:
    """Left-justify by terminal columns: Hangul takes two columns each."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def _ask_password() -> str | None:
    first = getpass.getpass("비밀번호: ")
    return first if getpass.getpass("비밀번호 확인: ") == first else None


def cmd_add(args: argparse.Namespace) -> int:
    password = args.password if args.password is not None else _ask_password()
    if password is None:
        return _fail("두 비밀번호가 다릅니다. 다시 실행해 주세요.")
    accounts = _accounts(args)
    try:
        user = accounts.create(args.name, password, admin=args.admin)
    except AccountError as exc:
        return _fail(str(exc))
    finally:
        accounts.close()
    role = " (관리자)" if user.is_admin else ""
    print(f"사용자를 만들었습니다: {user.username}{role}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    accounts = _accounts(args)
    try:
        records = accounts.list_users()
    finally:
        accounts.close()
    if not records:
        print("사용자가 없습니다. 'ragcode user add 이름' 으로 만드세요.")
        return 0
    print(f"{pad('이름', 32)} {pad('관리자', 8)} 만든 때 (UTC)")
    for record in records:
        admin = "예" if record.user.is_admin else "-"
        created = record.created_at.strftime("%Y-%m-%d %H:%M")
        print(f"{pad(record.user.username, 32)} {pad(admin, 8)} {created}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from ragcode.app import build_app, build_web_stores
    from ragcode.server.user_data import remove_user_data

    accounts = _accounts(args)
    try:
        user_id = accounts.remove(args.name)
    except AccountError as exc:
        return _fail(str(exc))
    finally:
        accounts.close()
    settings = load_settings(data_dir=args.data_dir)
    core = build_app(settings)
    stores = build_web_stores(settings)
    try:
        removed = remove_user_data(core, stores, user_id)
    finally:
        stores.close()
        core.close()
    print(
        f"사용자와 그 로그인 세션, 비공개 업로드 {removed.uploads}개, "
        f"대화 기록 {removed.turns}개를 지웠습니다: {args.name}"
    )
    if removed.kept_shared:
        print(f"팀과 공유한 업로드 {removed.kept_shared}개는 팀 지식 베이스에 남겨 두었습니다.")
    return 0


def cmd_admin(args: argparse.Namespace) -> int:
    accounts = _accounts(args)
    try:
        user = accounts.set_admin(args.name, not args.revoke)
    except AccountError as exc:
        return _fail(str(exc))
    finally:
        accounts.close()
    done = "관리자로 지정했습니다" if user.is_admin else "관리자 권한을 뺐습니다"
    print(f"{done}: {user.username}")
    return 0


def register(sub: Any) -> None:
    """Add `user` and its subcommands to the main parser's subparsers."""
    user = sub.add_parser("user", help="웹 앱 사용자 계정을 관리합니다 (추가, 목록, 삭제)")
    add = command_adder(user.add_subparsers(dest="user_command", required=True))

    add_cmd = add("add", cmd_add, "사용자를 만듭니다 (첫 사용자는 관리자)")
    add_cmd.add_argument("name")
    add_cmd.add_argument(
        "--password", default=None, help="비밀번호 (셸 기록에 남으니 생략하면 물어봅니다)"
    )
    add_cmd.add_argument("--admin", action="store_true", help="관리자로 만듭니다")
    add("list", cmd_list, "사용자 목록을 보여 줍니다")
    remove = add("remove", cmd_remove, "사용자와 그 로그인 세션을 지웁니다")
    remove.add_argument("name")
    admin = add("admin", cmd_admin, "사용자를 관리자로 만듭니다 (--revoke: 관리자에서 뺍니다)")
    admin.add_argument("name")
    admin.add_argument("--revoke", action="store_true", help="관리자 권한을 뺍니다")
