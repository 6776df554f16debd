"""Terminal progress for `ragcode index`: a bar on a TTY, sparse log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ragcode.domain import SkippedFile
from ragcode.ingest.progress import SummaryEvent

_WIDTH = 30


class TerminalProgress:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._out = stream or sys.stderr
        self._tty = self._out.isatty()
        self._files_total = 0
        self._summaries_total = 0
        self._started = time.monotonic()
        self._last_line = 0.0

    def _bar(self, label: str, done: int, total: int, detail: str) -> None:
        if self._tty:
            filled = int(_WIDTH * done / total) if total else _WIDTH
            bar = "#" * filled + "-" * (_WIDTH - filled)
            self._out.write(f"\r{label} [{bar}] {done}/{total} {detail[:50]:<50}")
            if done >= total:
                self._out.write("\n")
            self._out.flush()
            return
        now = time.monotonic()
        if done >= total or now - self._last_line > 5:  # logs and CI: a line every 5 s
            self._last_line = now
            self._out.write(f"{label}: {done}/{total} {detail}\n")
            self._out.flush()

    def files_started(self, total: int) -> None:
        self._files_total = total
        self._started = time.monotonic()
        if total == 0:
            self._out.write("색인할 파일이 없습니다.\n")

    def file_done(self, path: str, units: int, done: int) -> None:
        self._bar("파일", done, self._files_total, path)

    def file_skipped(self, skipped: SkippedFile) -> None:
        if not self._tty:
            self._out.write(f"건너뜀: {skipped.path} ({skipped.reason})\n")

    def summaries_started(self, total: int) -> None:
        self._summaries_total = total
        self._started = time.monotonic()
        if total:
            self._out.write(f"요약 생성: {total}개 단위 (CPU에서는 단위당 수 초 걸립니다)\n")

    def summary_done(self, event: SummaryEvent) -> None:
        elapsed = time.monotonic() - self._started
        rate = event.done / elapsed * 60 if elapsed > 0 else 0.0
        state = "실패" if event.failed else f"{rate:.1f}/분"
        self._bar("요약", event.done, event.total, f"{event.record.title} ({state})")
