"""What `ragcode repo ...` does: register, sync, list and remove git repositories. Each
repository is indexed under a root of its own, `<data dir>/repos/<name>/tree`, which holds its
files at the indexed commit; so a hit's root names its repository (`for_root`). A repository
added by URL is cloned into `<name>/mirror.git` and fetched before each sync (`repos.mirror`);
removing it removes the whole `<name>` folder, mirror included."""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ragcode.domain import SummaryState
from ragcode.ingest.progress import IndexProgress
from ragcode.repos import mirror
from ragcode.repos.lock import exclusive
from ragcode.repos.mirror import mirror_path
from ragcode.repos.protocol import (
    Repo,
    RepoError,
    RepoExistsError,
    RepoNotFoundError,
    RepoRegistry,
    already_registered,
    not_registered,
)
from ragcode.repos.sync import RepoSyncer, SyncReport
from ragcode.repos.urls import check_url, default_name, is_remote, redact
from ragcode.store.protocol import IndexWriter

REPOS_DIR = "repos"  # under the data directory: <name>/tree (the index root), <name>/.lock,
# <name>/mirror.git (a repository added by URL)
_NAME = re.compile(r"\w[\w.-]{0,63}")


def _checked_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise RepoError(
            f"저장소 이름으로 쓸 수 없습니다: {name!r} (글자, 숫자, '.', '-', '_' 만, "
            "64자까지). --name 으로 정하세요"
        )
    return name


@dataclass(frozen=True, slots=True)
class RepoStatus:
    repo: Repo
    units: int
    summaries_done: int
    summaries_pending: int
    url: str | None = None  # a mirror's URL, credentials hidden (`urls.redact`)


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
        """Register a local repository, or clone a URL into a mirror (`repos.mirror`) and
        register that; the branch is checked now, nothing is indexed yet."""
        if is_remote(location):
            return self._add_url(check_url(location), name, branch, include, exclude)
        path = Path(location).expanduser().resolve()
        if not path.is_dir():
            raise RepoError(f"디렉터리를 찾을 수 없습니다: {path}")
        git = self._syncer.git(path)
        top = git.top_level()
        branch = branch or git.current_branch()
        if not branch:
            raise RepoError(f"HEAD 가 브랜치가 아닙니다 (detached). --branch 로 정하세요: {top}")
        git.branch_head(branch)  # the branch must exist now
        name = _checked_name(name or top.name.removesuffix(".git"))
        root = (self._folder / name / "tree").resolve()
        repo = Repo(name, str(top), branch, str(root), tuple(include), tuple(exclude))
        return self._registry.add(repo)

    def _add_url(
        self, url: str, name: str | None, branch: str | None, include: Sequence[str],
        exclude: Sequence[str],
    ) -> Repo:  # fmt: skip
        """Everything that needs no network is checked first (the name free, the branch a
        valid name); a failure after the clone started leaves no folder and no entry."""
        name = _checked_name(name or default_name(url))
        self._folder.mkdir(parents=True, exist_ok=True)
        if branch is not None:
            self._syncer.git(self._folder).check_branch_name(branch)
        if self._registry.get(name) is not None:
            raise RepoExistsError(already_registered(name))
        folder = self._folder / name
        with exclusive(folder, name):
            if self._registry.get(name) is not None:  # registered meanwhile
                raise RepoExistsError(already_registered(name))
            destination = mirror_path(self._folder, name)
            try:
                for leftover in (destination, folder / "tree"):  # of an unregistered name
                    shutil.rmtree(leftover, ignore_errors=True)
                mirror.clone(self._syncer.git(folder.resolve()), url, destination)
                git = self._syncer.git(destination)
                branch = branch or git.current_branch()
                if not branch:
                    raise RepoError(
                        "원격 저장소의 기본 브랜치를 알 수 없습니다. --branch 로 정하세요"
                    )
                git.branch_head(branch)
                root = (folder / "tree").resolve()
                repo = Repo(
                    name, str(destination), branch, str(root), tuple(include), tuple(exclude)
                )
                return self._registry.add(repo)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise

    def mirror_url(self, repo: Repo) -> str | None:
        """The URL a repository was added from, credentials hidden; None for a local one."""
        if not self._is_mirror(repo):
            return None
        url = mirror.remote_url(self._syncer.git(Path(repo.path)))
        return redact(url) if url else None

    def _is_mirror(self, repo: Repo) -> bool:
        return Path(repo.path) == mirror_path(self._folder, repo.name)

    def get(self, name: str) -> Repo:
        repo = self._registry.get(name)
        if repo is None:
            raise RepoNotFoundError(not_registered(name))
        return repo

    def sync(
        self, name: str, progress: IndexProgress | None = None, *, full: bool = False
    ) -> SyncReport:
        """Bring the index to the registered branch's head: as a local repository has it
        (nothing is fetched), or a mirror's after a fetch; `full`: compare every file, not
        only the changed ones."""
        repo = self.get(name)
        return self._syncer.sync(repo, progress, full=full, fetch=self._is_mirror(repo))

    def all(self) -> list[Repo]:
        return self._registry.all()

    def statuses(self, *, urls: bool = True) -> list[RepoStatus]:
        """Every repository with the units its root holds and how many are summarized;
        `urls`: read each mirror's URL too (a git call each)."""
        result: list[RepoStatus] = []
        for repo in self._registry.all():
            states = list(self._store.summary_states(repo.root).values())
            done = sum(s in (SummaryState.DONE, SummaryState.TRIVIAL) for s in states)
            pending = states.count(SummaryState.PENDING)
            url = self.mirror_url(repo) if urls else None
            result.append(RepoStatus(repo, len(states), done, pending, url))
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
