"""The repository registry port: which git repositories feed the index, which branch, which
files, and the commit each was last indexed at. SQLite (`repos.sqlite`) and PostgreSQL
(`repos.postgres`) hold the same records; syncing lives in `repos.sync`."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol


class RepoError(RuntimeError):
    """A repository cannot be registered, read or synced; the message is for the user."""


class RepoExistsError(RepoError):
    """Another repository is registered under the same name."""


class RepoNotFoundError(RepoError):
    """No repository is registered under that name."""


class RepoSyncConflictError(RepoError):
    """Another sync recorded a commit first (the registry no longer holds the one expected)."""


def sync_conflict(name: str, expected: str | None, found: str | None) -> str:
    return (
        f"저장소 {name} 는 다른 동기화가 먼저 기록했습니다 (기대한 커밋 {expected or '없음'}, "
        f"기록된 커밋 {found or '없음'}). 이번 결과는 기록하지 않았습니다. "
        f"`ragcode repo sync --full {name}` 으로 색인을 다시 맞추세요"
    )


def sync_refused(name: str, expected: str | None, current: Repo | None) -> RepoError:
    """Why `record_sync` changed nothing, given what the registry holds now under `name`."""
    if current is None:
        return RepoNotFoundError(not_registered(name))
    return RepoSyncConflictError(sync_conflict(name, expected, current.commit))


def already_registered(name: str) -> str:
    return f"이미 등록된 저장소 이름입니다: {name} (다른 이름은 --name 으로 정하세요)"


def not_registered(name: str) -> str:
    return f"등록되지 않은 저장소입니다: {name} (`ragcode repo list` 로 확인하세요)"


@dataclass(frozen=True, slots=True)
class Repo:
    name: str
    path: str  # the local repository (its top level; a bare repository's git dir)
    branch: str
    root: str  # the index root its files are stored under (a checkout in the data dir)
    include: tuple[str, ...] = ()  # globs on repo-relative paths; empty: every file
    exclude: tuple[str, ...] = ()
    commit: str | None = None  # the commit the index holds; None before the first sync
    synced_at: float | None = None  # epoch seconds of that sync
    created_at: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name, "path": self.path, "branch": self.branch, "root": self.root,
            "include": list(self.include), "exclude": list(self.exclude),
            "commit": self.commit, "synced_at": self.synced_at, "created_at": self.created_at,
        }  # fmt: skip


class RepoRegistry(Protocol):
    def add(self, repo: Repo) -> Repo:
        """Register a repository (RepoExistsError if its name is taken); `created_at` set."""
        ...

    def get(self, name: str) -> Repo | None: ...

    def all(self) -> list[Repo]:
        """Every registered repository, by name."""
        ...

    def record_sync(self, name: str, commit: str, synced_at: float, expected: str | None) -> None:
        """The index now holds `commit` of the repository, if the registry still holds
        `expected` (the commit the sync started from): compare-and-set, so a slower sync never
        records an older commit over a newer one (RepoSyncConflictError; RepoNotFoundError if
        the name is unknown)."""
        ...

    def sync_lock(self, name: str) -> AbstractContextManager[None]:
        """Held around one sync or removal of the repository by every process sharing this
        registry (a PostgreSQL advisory lock; nothing more for the local SQLite file, where the
        caller's flock suffices); RepoError at once if another holds it."""
        ...

    def remove(self, name: str) -> bool:
        """Unregister; False if no repository had that name."""
        ...

    def close(self) -> None: ...


class RepoExport(Protocol):
    """What `ragcode migrate` reads from the embedded registry."""

    def all(self) -> list[Repo]: ...


class RepoImport(RepoExport, Protocol):
    """What `ragcode migrate` writes into PostgreSQL's registry."""

    def import_repos(self, repos: list[Repo]) -> int:
        """Add the repositories whose names are not registered yet, each as it is (path,
        branch, index root, globs, indexed commit and times), in one transaction; the number
        added (a copy run again adds none)."""
        ...
