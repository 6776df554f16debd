"""Progress events of ingestion; the CLI draws a bar, the server forwards them to a socket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ragcode.domain import Record, SkippedFile


@dataclass(frozen=True, slots=True)
class SummaryEvent:
    record: Record  # the code unit summarized (or whose summary failed)
    summary: str | None
    done: int
    total: int
    failed: bool
    uid: str = ""  # the store's id of the unit (which upload it belongs to)


class IndexProgress(Protocol):
    def files_started(self, total: int) -> None: ...

    def file_done(self, path: str, units: int, done: int) -> None: ...

    def file_skipped(self, skipped: SkippedFile) -> None: ...

    def summaries_started(self, total: int) -> None: ...

    def summary_done(self, event: SummaryEvent) -> None: ...


class SilentProgress:
    def files_started(self, total: int) -> None:
        pass

    def file_done(self, path: str, units: int, done: int) -> None:
        pass

    def file_skipped(self, skipped: SkippedFile) -> None:
        pass

    def summaries_started(self, total: int) -> None:
        pass

    def summary_done(self, event: SummaryEvent) -> None:
        pass
