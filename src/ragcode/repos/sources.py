"""What `ragcode repo ...` does: register, sync, list and remove git repositories. Each
repository is indexed under a root of its own, `<data dir>/repos/<name>/tree`, which holds its
files at the indexed commit; so a hit's root names its repository (`for_root`)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ragcode.domain import SummaryState
from ragcode.ingest.progress import IndexProgress
from ragcode.repos.lock import exclusive
from ragcode.repos.protocol import Repo, RepoError, RepoNotFoundError, RepoRegistry, not_registered
from ragcode.repos.sync import RepoSyncer, SyncReport
from ragcode.store.protocol import IndexWriter

REPOS_DIR = "repos"  # under the data directory: <name>/tree (the index root), <name>/.lock
_NAME = re.compile(r"\w[\w.-]{0,63}")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://|^[\w.-]+@[\w.-]+:")


@dataclass(frozen=True, slots=True)
class RepoStatus:
    repo: Repo
    units: int
    summaries_done: int
    summaries_pending: int


class RepoSources:
    def __init__(
        self, registry: RepoRegistry, store: IndexWriter, syncer: RepoSyncer, folder: Path
    ) -> None:
        self._registry = registry
        self._store = store
        self._syncer = syncer
        self._folder = folder  # <data dir>/repos

    def add(
        self, location: str, *, name: str | None = None, branch: str | None = None,
        include: Sequence[str] = (), exclude: Sequence[str] = (),
    ) -> Repo:  # fmt: skip
        """Register a local repository (its branch checked now); nothing is indexed yet."""
        if _URL.match(location):
            raise RepoError(
                "저장소 URL 은 아직 지원하지 않습니다. `git clone` 으로 받은 로컬 경로를 "
                f"등록하세요: {location}"
            )
        path = Path(location).expanduser().resolve()
        if not path.is_dir():
            raise RepoError(f"디렉터리를 찾을 수 없습니다: {path}")
        git = self._syncer.git(path)
        top = git.top_level()
        branch = branch or git.current_branch()
        if not branch:
            raise RepoError(f"HEAD 가 브랜치가 아닙니다 (detached). --branch 로 정하세요: {top}")
        git.branch_head(branch)  # the branch must exist now
        name = name or top.name.removesuffix(".git")
        if not _NAME.fullmatch(name):
            raise RepoError(
                f"저장소 이름으로 쓸 수 없습니다: {name!r} (글자, 숫자, '.', '-', '_' 만, "
                "64자까지). --name 으로 정하세요"
            )
        root = (self._folder / name / "tree").resolve()
        repo = Repo(name, str(top), branch, str(root), tuple(include), tuple(exclude))
        return self._registry.add(repo)

    def get(self, name: str) -> Repo:
        repo = self._registry.get(name)
        if repo is None:
            raise RepoNotFoundError(not_registered(name))
        return repo

    def sync(
        self, name: str, progress: IndexProgress | None = None, *, full: bool = False
    ) -> SyncReport:
        """Bring the index to the registered branch's head as the local repository has it
        (nothing is fetched); `full`: compare every file, not only the changed ones."""
        return self._syncer.sync(self.get(name), progress, full=full)

    def all(self) -> list[Repo]:
        return self._registry.all()

    def statuses(self) -> list[RepoStatus]:
        """Every repository with the units its root holds and how many are summarized."""
        result: list[RepoStatus] = []
        for repo in self._registry.all():
            states = list(self._store.summary_states(repo.root).values())
            done = sum(s in (SummaryState.DONE, SummaryState.TRIVIAL) for s in states)
            pending = states.count(SummaryState.PENDING)
            result.append(RepoStatus(repo, len(states), done, pending))
        return result

    def for_root(self, root: str) -> Repo | None:
        """The repository whose files are indexed under `root` (a hit's), if any."""
        return next((repo for repo in self._registry.all() if repo.root == root), None)

    def remove(self, name: str) -> int:
        """Unregister a repository and remove its files from the index; the number removed.
        The index goes first: a failure in between leaves it listed, to remove again."""
        repo = self.get(name)
        folder = Path(repo.root).parent
        with exclusive(folder, name), self._registry.sync_lock(name):
            paths = set(self._store.file_hashes(repo.root)) | set(
                self._store.skipped_paths(repo.root)
            )
            if paths:
                self._store.remove_files(repo.root, paths)
            shutil.rmtree(repo.root, ignore_errors=True)
            self._registry.remove(name)
        shutil.rmtree(folder, ignore_errors=True)
        return len(paths)
