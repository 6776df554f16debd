"""`ragcode postgres start|stop|status`: a local PostgreSQL + pgvector for the scale-out setup on
one machine (src/ragcode/db/local_postgres.py), with the setting that points ragcode at it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ragcode.config import load_settings
from ragcode.db.local_postgres import ROOT_DEFAULT_DIR, LocalPostgres, LocalPostgresError


def _server(args: argparse.Namespace) -> LocalPostgres:
    directory = args.dir
    if directory is None:  # root: the server's own user cannot enter /root
        root = os.geteuid() == 0
        data_dir = load_settings(data_dir=args.data_dir).data_dir
        directory = ROOT_DEFAULT_DIR if root else data_dir / "postgres"
    return LocalPostgres(Path(directory).expanduser().resolve(), port=args.port)


def cmd_start(args: argparse.Namespace) -> int:
    server = _server(args)
    if server.running():
        print(f"이미 실행 중입니다: 127.0.0.1:{server.port} ({server.directory})")
    else:
        try:
            server.start()
        except LocalPostgresError as exc:
            print(f"오류: {exc}", file=sys.stderr)
            return 2
        print(
            f"PostgreSQL + pgvector 가 실행 중입니다: 127.0.0.1:{server.port} ({server.directory})"
        )
    print("ragcode 의 모든 프로세스(serve, worker, index)에 이 설정을 주세요:")
    print(f"export RAGCODE_STORE__URL='{server.url()}'")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    server = _server(args)
    if not server.running():
        print("실행 중이 아닙니다.")
        return 0
    try:
        server.stop()
    except LocalPostgresError as exc:
        print(f"오류: {exc}", file=sys.stderr)
        return 2
    print("멈췄습니다.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    server = _server(args)
    state = "실행 중" if server.running() else "멈춤"
    print(f"{state}: 127.0.0.1:{server.port} ({server.directory})")
    return 0 if server.running() else 1


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "postgres", help="이 컴퓨터에 PostgreSQL + pgvector 를 띄웁니다 (확장 배포를 한 대에서)"
    )
    commands = parser.add_subparsers(dest="postgres_command", required=True)
    for name, handler, text in (
        ("start", cmd_start, "만들고(처음 한 번) 시작합니다; 연결 설정을 출력합니다"),
        ("stop", cmd_stop, "멈춥니다"),
        ("status", cmd_status, "실행 중인지 보여 줍니다"),
    ):
        command = commands.add_parser(name, help=text)
        where = f"클러스터 디렉터리 (기본 <데이터 디렉터리>/postgres, root 는 {ROOT_DEFAULT_DIR})"
        command.add_argument("--dir", type=Path, default=None, help=where)
        command.add_argument("--port", type=int, default=5433, help="포트 (기본 5433)")
        command.add_argument("--data-dir", type=Path, default=None, help="데이터 디렉터리")
        command.set_defaults(handler=handler)
