"""Command line: parses arguments and calls the same services as the server (thin on purpose)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragcode import __version__, cli_search
from ragcode.cli_commands import Add, command_adder

if TYPE_CHECKING:
    from ragcode.app import App

# Subcommands import what they need inside their functions: `ragcode search` answered by
# the search daemon costs only the Python start and cli_search's small imports.


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors shown as `오류: ...` without a traceback (imported only when one is raised)."""
    from ragcode.embeddings.protocol import EmbeddingError
    from ragcode.evaluation.dataset import DatasetError
    from ragcode.ingest.indexer import IndexInputError
    from ragcode.llm.protocol import LLMError
    from ragcode.repos.protocol import RepoError
    from ragcode.store.protocol import StoreError

    return (IndexInputError, DatasetError, StoreError, LLMError, EmbeddingError, RepoError)


def _open(args: argparse.Namespace) -> App:
    from ragcode.app import build_app
    from ragcode.config import load_settings

    return build_app(load_settings(data_dir=args.data_dir))


def cmd_index(args: argparse.Namespace) -> int:
    from ragcode.cli_progress import TerminalProgress

    app = _open(args)
    try:
        app.indexer.wait_for_lexicon()  # this process exits right after the run
        if args.no_summaries:  # no summary reused either: the LLM's model is not even named
            app.indexer.without_summary_cache()
        progress = TerminalProgress()
        report = app.indexer.index(Path(args.path), progress)
        print(
            f"색인 완료: 파일 {report.files_seen}개 (변경 {report.files_changed}, "
            f"그대로 {report.files_unchanged}, 삭제 {report.files_removed}, "
            f"건너뜀 {len(report.skipped)}), 단위 {report.units_written}개 기록",
            file=sys.stderr,
        )
        if not args.no_summaries and app.settings.index.summaries:
            summary = app.summaries.run(progress)
            print(
                f"요약: 새로 {summary.written}개, 캐시 {summary.from_cache}개, "
                f"실패 {summary.failed}개",
                file=sys.stderr,
            )
    finally:
        app.close()
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    return cli_search.cmd_search(args, _open)


def cmd_remove(args: argparse.Namespace) -> int:
    app = _open(args)
    try:
        removed = app.indexer.remove(Path(args.path))
    finally:
        app.close()
    print(f"색인에서 파일 {removed}개를 지웠습니다.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from ragcode import cli_status

    app = _open(args)
    try:
        status = app.store.status()
        queue = app.store.queue_status()
    finally:
        app.close()
    if args.json:
        payload = {
            "files": status.files, "units": status.units, "embedder": status.embedder,
            "summaries": {
                "done": status.summaries_done, "pending": status.summaries_pending,
                "failed": status.summaries_failed, "trivial": status.summaries_trivial,
            },
            "skipped": [{"path": s.path, "reason": s.reason} for s in status.skipped],
            **cli_status.queue_payload(queue),
        }  # fmt: skip
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print(f"데이터 디렉터리: {app.settings.data_dir}")
    print(f"파일 {status.files}개, 단위 {status.units}개")
    print(f"임베딩 모델: {status.embedder or '(아직 색인 없음)'}")
    print(
        f"요약: 완료 {status.summaries_done}, 대기 {status.summaries_pending}, "
        f"실패 {status.summaries_failed}, 생략(단순) {status.summaries_trivial}"
    )
    cli_status.print_queue(queue)
    if status.skipped:
        print(f"건너뛴 파일 {len(status.skipped)}개:")
        for skipped in status.skipped:
            print(f"  {skipped.path}: {skipped.reason}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from ragcode.server import run as server_run

    return server_run.cmd_serve(args)


def _root_parser() -> tuple[argparse.ArgumentParser, Any, Add]:
    parser = argparse.ArgumentParser(prog="ragcode", description="한국어 코드 지식 베이스")
    parser.add_argument("--version", action="version", version=f"ragcode {__version__}")
    parser.add_argument("-v", "--verbose-log", action="store_true", help="디버그 로그 출력")
    sub = parser.add_subparsers(dest="command", required=True)
    return parser, sub, command_adder(sub)


SEARCH_HELP = "색인을 검색합니다"


def search_parser() -> argparse.ArgumentParser:
    """`ragcode search` alone: parsing it needs none of the other subcommands' modules."""
    parser, _sub, add = _root_parser()
    cli_search.add_search_arguments(add("search", cmd_search, SEARCH_HELP))
    return parser


def _is_search(argv: Sequence[str]) -> bool:
    rest = list(argv)
    while rest and rest[0] in ("-v", "--verbose-log"):
        rest.pop(0)
    return bool(rest) and rest[0] == "search"


def build_parser() -> argparse.ArgumentParser:
    from ragcode import (
        cli_apikey,
        cli_ask,
        cli_docs,
        cli_eval,
        cli_mcp,
        cli_migrate,
        cli_postgres,
        cli_repo,
        cli_user,
        cli_worker,
    )
    from ragcode.server import run as server_run

    parser, sub, add = _root_parser()
    index = add("index", cmd_index, "디렉터리나 파일을 색인합니다")
    index.add_argument("path")
    index.add_argument("--no-summaries", action="store_true", help="LLM 요약을 건너뜁니다")
    cli_search.add_search_arguments(add("search", cmd_search, SEARCH_HELP))
    cli_search.add_daemon_arguments(
        add("search-daemon", cli_search.cmd_daemon,
            "검색 데몬: 모델을 띄워 두고 search 에 답합니다 (search 가 알아서 띄움)")
    )  # fmt: skip
    remove = add("remove", cmd_remove, "파일이나 디렉터리를 색인에서 지웁니다")
    remove.add_argument("path")
    status = add("status", cmd_status, "색인 상태를 보여 줍니다")
    status.add_argument("--json", action="store_true")
    ask = add("ask", lambda a: cli_ask.cmd_ask(a, _open), "질문에 맞는 코드를 생성합니다 (RAG)")
    ask.add_argument("question")
    ask.add_argument("--top-k", type=int, default=None)
    ask.add_argument("--json", action="store_true")
    cli_search.add_language_argument(ask, "이 언어의 코드만 찾고 이 언어로 답합니다")
    chat = add("chat", lambda a: cli_ask.cmd_chat(a, _open), "대화하며 코드를 생성합니다")
    chat.add_argument("--top-k", type=int, default=None)
    cli_search.add_language_argument(chat, "이 언어의 코드만 찾고 이 언어로 답합니다")
    serve = add("serve", _serve, "웹 앱을 실행합니다 (채팅, 업로드, 기록)")
    server_run.add_arguments(serve)
    evaluation = add(
        "eval", lambda a: cli_eval.cmd_eval(a, _open), "평가 데이터로 검색 품질을 잽니다"
    )
    evaluation.add_argument("dataset")
    evaluation.add_argument("--json", action="store_true")
    evaluation.add_argument(
        "--baselines", action="store_true", help="확장 없는 검색과 단일 검색기 기준선도"
    )
    evaluation.add_argument("--verbose", action="store_true", help="틀린 질문을 출력")
    evaluation.add_argument(
        "--collection", default=None, help="평가할 컬렉션 (기본: code; 문서: docs 등)"
    )
    evaluation.add_argument(
        "--answers",
        action="store_true",
        help="문서 컬렉션: LLM 답변까지 거쳐 인용과 '답 없음'을 잽니다 (느림)",
    )
    cli_docs.register(sub)
    cli_user.register(sub)
    cli_apikey.register(sub)
    cli_worker.register(sub)
    cli_migrate.register(sub)
    cli_postgres.register(sub)
    cli_repo.register(sub)
    cli_mcp.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = search_parser() if _is_search(arguments) else build_parser()
    args = parser.parse_args(arguments)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose_log else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        code = int(args.handler(args))
        sys.stdout.flush()  # a closed pipe surfaces here, not in the exit-time flush
        return code
    except KeyboardInterrupt:
        print("\n중단되었습니다. 다시 실행하면 이어서 진행합니다.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`ragcode search --json | head`): not an error worth a
        # traceback; point stdout at /dev/null so the exit-time flush stays quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except _user_errors() as exc:
        print(f"오류: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
