"""`ragcode repo add|sync|list|remove`: git repositories as sources of the code index."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

from ragcode.app import App, build_app, build_repo_registry, build_repo_sources
from ragcode.cli_commands import command_adder
from ragcode.config import load_settings
from ragcode.repos.protocol import RepoError
from ragcode.repos.sources import RepoSources
from ragcode.repos.sync import SyncMode, SyncReport

_MODES = {
    SyncMode.FIRST: "처음 색인",
    SyncMode.CHANGES: "바뀐 파일만",
    SyncMode.FULL: "전체 비교",
}


_NO_FETCH = (
    "sync 는 로컬 저장소에 있는 브랜치를 읽으며 fetch/pull 하지 않습니다 "
    "(원격의 새 커밋은 git pull 한 뒤 sync 하세요)"
)
_FETCHED = "URL 저장소는 {path} 에 미러로 받아 두었고, sync 가 먼저 fetch 합니다"
_SHOWN_SKIPS = 20  # skipped paths printed per repository (all of them in the log)


def _with_sources(args: argparse.Namespace, work: Callable[[App, RepoSources], int]) -> int:
    app = build_app(load_settings(data_dir=args.data_dir))
    registry = None
    try:
        registry = build_repo_registry(app.settings)
        return work(app, build_repo_sources(app, registry))
    finally:
        if registry is not None:
            registry.close()
        app.close()


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "-"


def cmd_add(args: argparse.Namespace) -> int:
    def work(_app: App, sources: RepoSources) -> int:
        repo = sources.add(
            args.path, name=args.name, branch=args.branch,
            include=args.include or (), exclude=args.exclude or (),
        )  # fmt: skip
        url = sources.mirror_url(repo)
        print(f"저장소를 등록했습니다: {repo.name} ({url or repo.path}, 브랜치 {repo.branch})")
        print(f"색인하려면: ragcode repo sync {repo.name}", file=sys.stderr)
        print(_FETCHED.format(path=repo.path) if url else _NO_FETCH, file=sys.stderr)
        return 0

    return _with_sources(args, work)


def _print_sync(report: SyncReport) -> None:
    if report.mode is SyncMode.UNCHANGED:
        print(f"{report.name}: 이미 최신입니다 ({_short(report.commit)})")
        return
    c = report.changes
    moved = f"{_short(report.previous)} → " if report.previous else ""
    print(
        f"{report.name}: {moved}{_short(report.commit)} ({_MODES[report.mode]}: 추가 {c.added}, "
        f"수정 {c.modified}, 삭제 {c.deleted}, 이름 변경 {c.renamed})"
    )
    if report.rewritten:
        print("  이력이 다시 쓰였습니다 (force-push 등): 색인된 커밋과 새 커밋을 비교했습니다")
    if report.index is not None:
        index = report.index
        print(
            f"  파일 {index.files_seen}개 읽음 (변경 {index.files_changed}, "
            f"그대로 {index.files_unchanged}, 삭제 {index.files_removed}, "
            f"건너뜀 {len(index.skipped)}), 단위 {index.units_written}개 기록"
        )
    if report.skipped:
        print(f"  저장소에서 꺼낼 수 없어 뺀 파일 {len(report.skipped)}개:")
        for skipped in report.skipped[:_SHOWN_SKIPS]:
            print(f"    {skipped.path}: {skipped.reason}")
        if len(report.skipped) > _SHOWN_SKIPS:
            print(f"    ... 외 {len(report.skipped) - _SHOWN_SKIPS}개 (로그에 모두 있습니다)")


def cmd_sync(args: argparse.Namespace) -> int:
    from ragcode.cli_progress import TerminalProgress

    def work(app: App, sources: RepoSources) -> int:
        app.indexer.wait_for_lexicon()  # this process exits right after the sync
        if args.no_summaries:  # no summary reused either: the LLM's model is not even named
            app.indexer.without_summary_cache()
        names = [args.name] if args.name else [repo.name for repo in sources.all()]
        if not names:
            print("등록된 저장소가 없습니다: ragcode repo add PATH_OR_URL", file=sys.stderr)
            return 0
        failed = 0
        for name in names:
            try:
                _print_sync(sources.sync(name, TerminalProgress(), full=args.full))
            except RepoError as exc:
                print(f"오류: {name}: {exc}", file=sys.stderr)
                failed += 1
        if not args.no_summaries and app.settings.index.summaries:
            summary = app.summaries.run(TerminalProgress())
            print(
                f"요약: 새로 {summary.written}개, 캐시 {summary.from_cache}개, "
                f"실패 {summary.failed}개",
                file=sys.stderr,
            )
        return 2 if failed else 0

    return _with_sources(args, work)


def cmd_list(args: argparse.Namespace) -> int:
    def work(_app: App, sources: RepoSources) -> int:
        statuses = sources.statuses()
        if args.json:
            payload = [
                {**s.repo.as_dict(), "url": s.url, "units": s.units,
                 "summaries_done": s.summaries_done, "summaries_pending": s.summaries_pending}
                for s in statuses
            ]  # fmt: skip
            print(json.dumps(payload, ensure_ascii=False, indent=2))
            return 0
        if not statuses:
            print("등록된 저장소가 없습니다.")
        for s in statuses:
            repo = s.repo
            when = (
                time.strftime("%Y-%m-%d %H:%M", time.localtime(repo.synced_at))
                if repo.synced_at
                else "아직 색인 안 함"
            )
            print(f"{repo.name}  {s.url or repo.path}  브랜치 {repo.branch}")
            print(
                f"   커밋 {_short(repo.commit)} ({when}), 단위 {s.units}개 "
                f"(요약 완료 {s.summaries_done}, 대기 {s.summaries_pending})"
            )
        return 0

    return _with_sources(args, work)


def cmd_remove(args: argparse.Namespace) -> int:
    def work(_app: App, sources: RepoSources) -> int:
        removed = sources.remove(args.name)
        print(f"저장소 {args.name} 의 등록을 해제하고 색인에서 파일 {removed}개를 지웠습니다.")
        return 0

    return _with_sources(args, work)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    repo = sub.add_parser("repo", help="git 저장소를 소스로 등록하고 동기화합니다")
    add = command_adder(repo.add_subparsers(dest="repo_command", required=True))

    adding = add(
        "add", cmd_add,
        "로컬 git 저장소를 등록하거나 URL 을 미러로 받아 등록합니다 (색인은 sync 에서)",
    )  # fmt: skip
    adding.add_argument(
        "path", help="로컬 git 저장소 경로, 또는 URL (https, http, ssh, git, file, user@host:path)"
    )
    adding.add_argument(
        "--branch",
        default=None,
        help="색인할 브랜치 (기본: 지금 브랜치, URL 은 원격의 기본 브랜치)",
    )
    adding.add_argument(
        "--name", default=None, help="저장소 이름 (기본: 폴더나 URL 의 마지막 이름)"
    )
    adding.add_argument(
        "--include", nargs="+", metavar="GLOB", help="이 패턴에 맞는 파일만 (예: '*.py' 'src/*')"
    )
    adding.add_argument("--exclude", nargs="+", metavar="GLOB", help="이 패턴에 맞는 파일은 빼고")
    syncing = add(
        "sync", cmd_sync,
        "브랜치 끝 커밋까지 바뀐 것만 다시 색인합니다 (로컬 저장소는 fetch 하지 않으니 먼저 "
        "git pull; URL 저장소는 먼저 fetch)",
    )  # fmt: skip
    syncing.add_argument("name", nargs="?", default=None, help="저장소 이름 (기본: 전부)")
    syncing.add_argument(
        "--full", action="store_true",
        help="바뀐 파일만이 아니라 브랜치 끝 커밋의 모든 파일을 색인과 비교합니다",
    )  # fmt: skip
    syncing.add_argument("--no-summaries", action="store_true", help="LLM 요약을 건너뜁니다")
    listing = add("list", cmd_list, "등록된 저장소와 색인된 커밋을 보여 줍니다")
    listing.add_argument("--json", action="store_true")
    removing = add("remove", cmd_remove, "저장소 등록을 해제하고 색인에서 지웁니다")
    removing.add_argument("name")
