"""What `ragcode migrate` tells its user, in Korean: the plan, each component copied with its
throughput, the counts read back from PostgreSQL, the next steps, and why a target is refused."""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path
from typing import TextIO

from psycopg.conninfo import conninfo_to_dict

from ragcode.migrate.inventory import Inventory
from ragcode.migrate.journal import Run
from ragcode.migrate.store_copy import CollectionCopied
from ragcode.migrate.web_copy import Copied
from ragcode.repos.protocol import Repo
from ragcode.uploads.protocol import Document

PROGRESS_EVERY_S = 5.0


def _pad(text: str, width: int) -> str:
    """Left-justify by terminal columns: Hangul takes two columns each."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def _when(run: Run) -> str:
    return run.started_at.strftime("%Y-%m-%d %H:%M UTC")


class Report:
    def __init__(self, out: TextIO, err: TextIO) -> None:
        self._out = out
        self._err = err
        self._last_progress = time.monotonic()

    def line(self, text: str = "") -> None:
        self._out.write(text + "\n")
        self._out.flush()

    def header(self, data_dir: Path, where: str) -> None:
        self.line(f"ragcode migrate: {data_dir} (내장 SQLite) → PostgreSQL {where}")

    def schema(self, applied: list[str]) -> None:
        done = ", ".join(applied) if applied else "이미 최신"
        self.line(f"스키마: {done}")

    def plan(self, source: Inventory) -> None:
        parts = [
            f"사용자 {source.users}명", f"로그인 세션 {source.sessions}개",
            f"API 키 {source.api_keys}개", f"대화 {source.turns}개", f"업로드 {source.uploads}개",
            f"git 저장소 {source.repos}개",
        ]  # fmt: skip
        parts += [
            f"색인 '{name}' 파일 {c.files}개·단위 {c.units}개"
            for name, c in sorted(source.collections.items())
        ]
        parts.append(f"요약 캐시 {source.summary_cache}개")
        self.line("원본: " + ", ".join(parts))

    def target(self, resumed: Run | None) -> None:
        if resumed is None:
            self.line("대상: 비어 있음")
        else:
            self.line(
                f"대상: {_when(resumed)} 에 시작한 복사가 끝나지 않았습니다. 이어서 복사합니다 "
                "(이미 옮긴 행과 파일은 건너뜁니다)"
            )

    def copied(self, item: Copied) -> None:
        seconds = f"  {item.seconds:.2f}초" if item.seconds else ""
        kept = item.offered - item.added
        again = f" (이미 있던 {kept}개는 그대로)" if kept > 0 else ""
        self.line(f"  {_pad(item.what, 24)}{item.added:>8}개{again}{seconds}")

    def collection(self, item: CollectionCopied) -> None:
        kept = f", 이미 있던 파일 {item.kept}개는 그대로" if item.kept else ""
        self.line(
            f"  {_pad(f'색인 {item.name!r}', 24)}파일 {item.files}개, 단위 {item.units}개, "
            f"건너뛴 파일 {item.skipped}개{kept}  {item.seconds:.2f}초 "
            f"(초당 {item.units_per_s:,.0f}단위)"
        )

    def progress(self, name: str, units: int, started: float) -> None:
        """A line on stderr now and then: a large index takes minutes."""
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY_S:
            return
        self._last_progress = now
        rate = units / max(now - started, 1e-9)
        self._err.write(f"  ... 색인 '{name}': 단위 {units:,}개 (초당 {rate:,.0f})\n")
        self._err.flush()

    def verification(self, source: Inventory, target: Inventory) -> None:
        self.line("확인 (PostgreSQL 에서 어댑터로 다시 읽은 개수):")
        theirs = dict(target.rows())
        rows = source.rows()
        width = max(len(value) for _, value in rows) + 2
        self.line(f"  {_pad('항목', 40)}{_pad('원본', width)}대상")
        for label, mine in rows:
            other = theirs.get(label, "-")
            mark = "" if other == mine else "  ← 다름"
            self.line(f"  {_pad(label, 40)}{_pad(mine, width)}{other}{mark}")

    def next_steps(
        self, uploads: Path, documents: list[Document], secret: str | None, data_dir: Path,
        repos: list[Repo] | None = None,
    ) -> None:  # fmt: skip
        self.line("다음 단계:")
        self.line(
            "  1. 모든 서버(ragcode serve), 작업자(ragcode worker), CLI 에 [store] url "
            "(RAGCODE_STORE__URL) 을 이 데이터베이스로 설정하세요."
        )
        outside = [d for d in documents if uploads not in d.path.parents]
        missing = [d for d in documents if not d.path.is_dir()]
        self.line(
            f"  2. 업로드 파일은 복사하지 않았습니다: {uploads} 에 그대로 있습니다. 업로드 목록은 "
            "그 절대 경로를 가리키므로, 서버의 server.uploads_dir 가 이 디렉터리여야 합니다 "
            "(다른 머신의 복제본에는 같은 경로로 공유 마운트)."
        )
        if outside or missing:
            self.line(
                f"     주의: 업로드 {len(outside)}개는 이 디렉터리 밖에 있고, "
                f"{len(missing)}개는 디스크에서 찾지 못했습니다."
            )
        step = 3
        if repos:
            self.line(
                f"  {step}. git 저장소 {len(repos)}개의 등록 정보를 옮겼습니다. 색인 루트와 URL "
                f"저장소의 미러는 {data_dir / 'repos'} 에 그대로 있고 등록 정보가 그 절대 경로를 "
                "가리키므로, 저장소를 동기화할 서버의 데이터 디렉터리가 같은 경로여야 합니다 "
                "(업로드처럼)."
            )
            step += 1
        if secret is not None:
            self.line(
                f"  {step}. 로그인한 사용자가 다시 로그인하지 않게 하려면 모든 복제본의 "
                f"server.secret_key 를 {secret} 설정하세요 (세션 쿠키의 서명 키)."
            )
            step += 1
        self.line(
            f"  {step}. 원본({data_dir})은 바꾸지 않았습니다. 새 구성이 잘 "
            "동작하면 index.sqlite3 와 web.sqlite3 는 지워도 됩니다 (models/ 와 업로드는 남기세요)."
        )


def refusal(url: str, where: str, present: Inventory, run: Run | None, source: str) -> str:
    """Why a target that holds data is not written, and how to start from an empty one."""
    lines = [f"대상 데이터베이스({where})가 비어 있지 않아 복사하지 않았습니다."]
    lines.append(f"들어 있는 것: {present.describe()}.")
    if run is not None and run.finished_at is not None:
        finished = run.finished_at.strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"{finished} 에 {run.host}:{run.source} 에서 옮겨 온 데이터베이스입니다.")
    elif run is not None and run.source != source:
        lines.append(
            f"{run.host}:{run.source} 에서 옮기던 중 멈춘 데이터베이스입니다 (그 데이터 "
            "디렉터리로 다시 실행하면 이어서 복사합니다)."
        )
    info = conninfo_to_dict(url)
    user = f"{info['user']}@" if info.get("user") else ""
    host = f"{info.get('host', 'localhost')}:{info.get('port', 5432)}"
    lines += [
        "ragcode migrate 는 빈 데이터베이스에만 복사합니다 (있는 데이터와 섞거나 덮어쓰지 "
        "않습니다). 빈 데이터베이스를 새로 만들어 그 주소로 다시 실행하세요. 예:",
        f'  psql "postgresql://{user}{host}/postgres" -c "CREATE DATABASE ragcode_new"',
        f"  ragcode migrate --to postgresql://{user}{host}/ragcode_new",
        "(ragcode 의 역할이 확장을 만들 수 없으면 새 데이터베이스에서 관리자가 "
        "CREATE EXTENSION vector; 를 먼저 실행합니다. 이 데이터베이스를 다시 쓰려면 "
        "DROP DATABASE 로 지운 뒤 새로 만드세요.)",
    ]
    return "\n".join(lines)
