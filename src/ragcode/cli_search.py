"""`ragcode search` and `ragcode search-daemon`: the daemon answers when it is up, else the
search runs in this process (as before) and a daemon is started for the next one.

Imported by cli.py at start-up: keep its imports light (the App loads only in-process).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragcode.chat.language import AUTO, CODE_LANGUAGES, record_languages
from ragcode.config_files import resolve_data_dir, setting_flag
from ragcode.search_daemon import client

if TYPE_CHECKING:
    from ragcode.app import App

OpenApp = Callable[[argparse.Namespace], "App"]


def add_search_arguments(search: argparse.ArgumentParser) -> None:
    search.add_argument("query")
    search.add_argument("--top-k", type=int, default=10)
    search.add_argument("--json", action="store_true")
    search.add_argument(
        "--no-expand", action="store_true", help="LLM 검색어 확장 없이 (모델을 불러오지 않음)"
    )
    search.add_argument(
        "--no-daemon", action="store_true",
        help="검색 데몬을 쓰지도 띄우지도 않고 이 프로세스에서 검색합니다",
    )  # fmt: skip
    add_language_argument(search, "이 언어의 코드만 찾습니다")


def add_language_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    """`--language`: a code language (issue 15.2); typescript includes tsx."""
    parser.add_argument(
        "--language", choices=[AUTO, *CODE_LANGUAGES], default=AUTO,
        help=f"{help_text} (기본: auto)",
    )  # fmt: skip


def add_daemon_arguments(daemon: argparse.ArgumentParser) -> None:
    daemon.add_argument("--stop", action="store_true", help="실행 중인 검색 데몬을 멈춥니다")


def cmd_search(args: argparse.Namespace, open_app: OpenApp) -> int:
    data_dir = resolve_data_dir(args.data_dir)
    # The daemon's protocol carries no language: a search for one runs in this process.
    language = getattr(args, "language", AUTO)
    use_daemon = (
        not args.no_daemon
        and language == AUTO
        and setting_flag("search", "daemon", args.data_dir, True)
    )
    hits = None
    if use_daemon:
        hits = client.search(data_dir, args.query, args.top_k, not args.no_expand)
    if hits is None:
        hits = search_in_process(args, open_app)
        if use_daemon:
            client.start(data_dir)  # loads while the user reads these results
    print_hits(hits, as_json=args.json)
    return 0


def search_in_process(args: argparse.Namespace, open_app: OpenApp) -> list[dict[str, Any]]:
    from ragcode.retrieve.hybrid import RetrieverChoice

    app = open_app(args)
    try:
        choice = RetrieverChoice(expand=not args.no_expand)
        languages = record_languages(getattr(args, "language", AUTO))
        hits = app.searcher.search(
            args.query, top_k=args.top_k, retrievers=choice, languages=languages
        )
        return [hit.as_dict() for hit in hits]
    finally:
        app.close()


def print_hits(hits: Sequence[Mapping[str, Any]], *, as_json: bool) -> None:
    """The same output for the daemon's hits and in-process ones (both `Hit.as_dict()`)."""
    if as_json:
        print(json.dumps(list(hits), ensure_ascii=False, indent=2))
    elif not hits:
        print("관련된 코드를 찾지 못했습니다.")
    else:
        for rank, hit in enumerate(hits, start=1):
            print_hit(rank, hit)


def print_hit(rank: int, hit: Mapping[str, Any]) -> None:
    where = f"{hit['path']}:{hit['start_line']}-{hit['end_line']}"
    if hit.get("repo"):  # a registered git repository's unit: where, and at which commit
        commit = str(hit.get("commit") or "")[:12]
        where = f"{hit['repo']}@{commit} {where}" if commit else f"{hit['repo']} {where}"
    print(f"{rank}. {where}  {hit['name']} ({hit['kind']})")
    s = hit["scores"]
    print(f"   점수 {s['final']:.3f} (재순위 {s['rerank']:.3f}, 융합 {s['fused']:.3f})")
    if hit["summary"]:
        print(f"   요약: {hit['summary']}")
    first = next((line for line in hit["code"].splitlines() if line.strip()), "")
    print(f"   {first.strip()[:100]}")


def cmd_daemon(args: argparse.Namespace) -> int:
    data_dir = resolve_data_dir(args.data_dir)
    if args.stop:
        stopped = client.request(data_dir, {"op": "stop"}, timeout_s=10.0)
        print("검색 데몬을 멈췄습니다." if stopped else "실행 중인 검색 데몬이 없습니다.")
        return 0
    from ragcode.search_daemon import server

    if not args.verbose_log:
        logging.getLogger().setLevel(logging.INFO)
    return server.run(Path(data_dir))
