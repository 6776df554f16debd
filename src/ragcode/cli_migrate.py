"""`ragcode migrate [--to URL] [--data-dir DIR] [--dry-run]`: copy the embedded data directory
(index, summary cache, accounts, sessions, history, upload registry) into an empty PostgreSQL
database (src/ragcode/migrate/command.py).

The target is `--to`, else the configured `[store] url` (RAGCODE_STORE__URL): `--to` for the
usual order (copy first, then switch the setting), the setting for who configured it first
and would rather not put a password on a command line (shell history, `ps`). The source is
always the data directory's SQLite files, whatever `[store] url` says.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ragcode.accounts.protocol import AccountError
from ragcode.config import load_settings
from ragcode.db.sqlite import DatabaseOpenError
from ragcode.history.protocol import HistoryError
from ragcode.uploads.protocol import RegistryError

# Failures of the ports outside StoreError, which cli.main reports by itself.
_PORT_ERRORS = (HistoryError, RegistryError, AccountError, DatabaseOpenError)


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    url = args.to or settings.store.url
    if not url:
        print(
            "오류: 옮길 PostgreSQL 주소가 없습니다. --to postgresql://사용자@호스트:5432/DB 를 "
            "주거나 [store] url (RAGCODE_STORE__URL) 을 설정하세요.",
            file=sys.stderr,
        )
        return 2
    if not url.startswith(("postgresql://", "postgres://")):
        print(f"오류: PostgreSQL 주소가 아닙니다: {url.split('://')[0]}://...", file=sys.stderr)
        return 2
    from ragcode.migrate import command  # the `postgres` extra, only when migrating

    try:
        return command.run(settings, url, dry_run=args.dry_run)
    except _PORT_ERRORS as exc:
        print(f"오류: {exc}", file=sys.stderr)
        return 2


def register(sub: Any) -> None:
    migrate = sub.add_parser(
        "migrate",
        help="내장 데이터(색인, 요약, 계정, 세션, 기록, 업로드 목록)를 빈 PostgreSQL 로 옮깁니다",
        description=(
            "데이터 디렉터리의 index.sqlite3 와 web.sqlite3 를 빈 PostgreSQL 데이터베이스로 "
            "복사합니다 (다시 색인하거나 요약하지 않음). 복사하는 동안 ragcode serve, index, "
            "worker 를 멈춰 두세요. 중간에 멈추면 같은 명령을 다시 실행해 이어서 복사합니다."
        ),
    )
    migrate.add_argument(
        "--to", metavar="URL", default=None, help="대상 postgresql://... (없으면 [store] url)"
    )
    migrate.add_argument("--data-dir", type=Path, default=None, help="옮길 데이터 디렉터리")
    migrate.add_argument(
        "--dry-run",
        action="store_true",
        help="원본을 세고 대상이 비었는지만 확인합니다 (대상에는 빈 테이블만 생길 수 있음)",
    )
    migrate.set_defaults(handler=cmd_migrate)
