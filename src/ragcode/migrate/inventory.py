"""What one side holds, counted through its adapters: the plan before a copy, the emptiness
check of the target, and the check after it (the same counts read back from PostgreSQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ragcode.accounts.apikeys import ApiKeysExport
from ragcode.accounts.protocol import AccountsExport, ExportedSession, ExportedUser
from ragcode.domain import IndexStatus
from ragcode.history.protocol import HistoryExport
from ragcode.repos.protocol import RepoExport
from ragcode.store.protocol import CachedSummary
from ragcode.uploads.protocol import RegistryExport


class CountedIndex(Protocol):
    """What both stores offer for counting (IndexExport and IndexImport alike)."""

    def status(self) -> IndexStatus: ...

    def export_summary_cache(self) -> list[CachedSummary]: ...


@dataclass(frozen=True, slots=True)
class CollectionCounts:
    files: int
    skipped: int
    units: int
    done: int
    pending: int
    failed: int
    trivial: int
    embedder: str | None

    @classmethod
    def of(cls, status: IndexStatus) -> CollectionCounts:
        return cls(
            files=status.files, skipped=len(status.skipped), units=status.units,
            done=status.summaries_done, pending=status.summaries_pending,
            failed=status.summaries_failed, trivial=status.summaries_trivial,
            embedder=status.embedder,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Inventory:
    users: int
    sessions: int
    turns: int
    uploads: int
    collections: dict[str, CollectionCounts]
    summary_cache: int
    api_keys: int = 0
    conversations: int = 0
    repos: int = 0  # registered git repositories (`ragcode repo`)

    @property
    def units(self) -> int:
        return sum(counts.units for counts in self.collections.values())

    @property
    def holds_data(self) -> bool:
        """What makes a target not empty: any user, conversation, turn, upload, git repository
        or unit."""
        return bool(
            self.users or self.conversations or self.turns or self.uploads or self.repos
            or self.units
        )  # fmt: skip

    def rows(self) -> list[tuple[str, str]]:
        """(Korean label, value) for printing and for comparing two sides."""
        rows = [
            ("사용자", str(self.users)),
            ("로그인 세션", str(self.sessions)),
            ("API 키", str(self.api_keys)),
            ("대화 목록", str(self.conversations)),
            ("대화 기록", str(self.turns)),
            ("업로드", str(self.uploads)),
            ("git 저장소", str(self.repos)),
        ]
        for name, c in sorted(self.collections.items()):
            rows += [
                (f"색인 '{name}' 파일", str(c.files)),
                (f"색인 '{name}' 건너뛴 파일", str(c.skipped)),
                (f"색인 '{name}' 단위", str(c.units)),
                (f"색인 '{name}' 요약 완료/대기/실패/생략",
                 f"{c.done}/{c.pending}/{c.failed}/{c.trivial}"),
                (f"색인 '{name}' 임베딩 모델", c.embedder or "-"),
            ]  # fmt: skip
        rows.append(("요약 캐시", str(self.summary_cache)))
        return rows

    def describe(self) -> str:
        """One line: what makes a target not empty."""
        return (
            f"사용자 {self.users}명, 대화 {self.turns}개, 업로드 {self.uploads}개, "
            f"git 저장소 {self.repos}개, 색인 단위 {self.units}개"
        )


def sessions_to_copy(
    users: Sequence[ExportedUser], sessions: Sequence[ExportedSession], now: datetime
) -> list[ExportedSession]:
    """Live sessions of existing accounts: an expired one would never log anybody in."""
    known = {user.id for user in users}
    return [s for s in sessions if s.expires_at > now and s.user_id in known]


def take(
    accounts: AccountsExport | None,
    history: HistoryExport | None,
    registry: RegistryExport | None,
    stores: Mapping[str, CountedIndex],
    live_after: datetime | None = None,
    api_keys: ApiKeysExport | None = None,
    repos: RepoExport | None = None,
) -> Inventory:
    """Count one side. `live_after`: count only sessions expiring after it (the source,
    whose expired sessions are not copied); None counts every stored session (the target)."""
    sessions = accounts.export_sessions() if accounts else []
    if accounts is not None and live_after is not None:
        sessions = sessions_to_copy(accounts.export_users(), sessions, live_after)
    cache = next(iter(stores.values()), None)
    return Inventory(
        users=len(accounts.export_users()) if accounts else 0,
        sessions=len(sessions),
        turns=history.count_turns() if history else 0,
        uploads=len(registry.all()) if registry else 0,
        collections={name: CollectionCounts.of(store.status()) for name, store in stores.items()},
        summary_cache=len(cache.export_summary_cache()) if cache else 0,
        api_keys=len(api_keys.export_keys()) if api_keys else 0,
        conversations=history.count_conversations() if history else 0,
        repos=len(repos.all()) if repos else 0,
    )


def differences(source: Inventory, target: Inventory) -> list[tuple[str, str, str]]:
    """(label, source value, target value) of every count that differs."""
    theirs = dict(target.rows())
    return [
        (label, mine, theirs.get(label, "-"))
        for label, mine in source.rows()
        if theirs.get(label) != mine
    ]
