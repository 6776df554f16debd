"""Bring a registered repository's files in the index to its branch head.

The first sync writes the whole selected tree of the head commit; later ones only what
`git diff-tree -M` says changed since the indexed commit (renames: old path removed, new
path indexed), however the two commits are related, so a force-push is handled the same way.
When the indexed commit is gone from the repository (a rewritten history, garbage collected)
or a previous sync was interrupted, every selected file is compared with the index instead:
what differs is indexed, what is gone removed; so is it when asked (`--full`) and when the index
holds nothing of a repository that has a commit recorded (its files removed by hand). The
commit is recorded last, and only over the one the sync started from (compare-and-set), so a
crash leaves the old commit recorded and the next sync does the work again.

The branch of a local repository is read as it has it: nothing is fetched (pull first); a
repository registered by URL is a mirror in the data directory, fetched first.
Paths of the tree that cannot be a file here (outside the checkout, not UTF-8, too long, a file
and a folder of one name) are left out, each with its reason in the report."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from ragcode.domain import COMMIT, REPO, SkippedFile
from ragcode.ingest.files import FileLimits
from ragcode.ingest.indexer import Indexer, IndexReport
from ragcode.ingest.progress import IndexProgress
from ragcode.repos import mirror
from ragcode.repos.checkout import Checkout
from ragcode.repos.git import Change, Git, TreeFile
from ragcode.repos.lock import exclusive
from ragcode.repos.protocol import Repo, RepoNotFoundError, RepoRegistry, not_registered
from ragcode.repos.selection import Selection, is_safe_path, shown_path, unusable_name
from ragcode.store.protocol import IndexWriter

log = logging.getLogger(__name__)
_IN_PROGRESS = "sync-in-progress"  # in the repository's folder while files are changing


class SyncMode(StrEnum):
    UNCHANGED = "unchanged"  # the head is the indexed commit
    FIRST = "first"  # nothing indexed yet: the whole tree
    CHANGES = "changes"  # the diff between the indexed commit and the head
    FULL = "full"  # asked for, indexed commit missing, index emptied, a sync interrupted:
    # every file compared


@dataclass(frozen=True, slots=True)
class ChangeCounts:
    added: int = 0
    modified: int = 0
    deleted: int = 0
    renamed: int = 0


@dataclass(frozen=True, slots=True)
class SyncReport:
    name: str
    commit: str
    previous: str | None
    mode: SyncMode
    rewritten: bool  # the indexed commit is not an ancestor of the head (force-push)
    changes: ChangeCounts
    index: IndexReport | None  # what the indexer read, wrote and removed (None: nothing)
    # paths of the tree left out of the checkout and the index, and why (printable paths)
    skipped: list[SkippedFile] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GitOptions:
    binary: str = "git"
    timeout_s: float = 120.0


def _counts(changes: list[Change], selection: Selection) -> ChangeCounts:
    """The changes among selected files (a rename into the selection counts as added)."""
    added = modified = deleted = renamed = 0
    for change in changes:
        new = selection.wants(change.path)
        old = change.old_path is not None and selection.wants(change.old_path)
        if change.status == "D":
            deleted += new
        elif change.status in "MT":
            modified += new
        elif change.status == "R" and old:
            renamed, deleted = (renamed + 1, deleted) if new else (renamed, deleted + 1)
        else:  # added, copied, renamed into the selection
            added += new
    return ChangeCounts(added, modified, deleted, renamed)


class RepoSyncer:
    def __init__(
        self, registry: RepoRegistry, indexer: Indexer, store: IndexWriter, limits: FileLimits,
        git: GitOptions,
    ) -> None:  # fmt: skip
        self._registry = registry
        self._indexer = indexer
        self._store = store
        self._limits = limits
        self._git = git

    def git(self, path: Path) -> Git:
        return Git(path, self._git.binary, self._git.timeout_s)

    def sync(
        self, repo: Repo, progress: IndexProgress | None = None, *, full: bool = False,
        fetch: bool = False,
    ) -> SyncReport:  # fmt: skip
        """`full`: compare every file of the head with the index, even if nothing changed;
        `fetch`: the repository is a mirror (`repos.mirror`), fetched first under the lock."""
        checkout = Checkout(Path(repo.root), self._limits)
        folder = checkout.directory.parent
        with exclusive(folder, repo.name), self._registry.sync_lock(repo.name):
            current = self._registry.get(repo.name)  # another process may have synced it
            if current is None:
                raise RepoNotFoundError(not_registered(repo.name))
            if fetch:
                mirror.fetch(self.git(Path(current.path)))
            return self._sync(current, checkout, folder / _IN_PROGRESS, progress, full)

    def _stored(self, root: str) -> set[str]:
        return set(self._store.file_hashes(root)) | set(self._store.skipped_paths(root))

    def _sync(
        self, repo: Repo, checkout: Checkout, marker: Path, progress: IndexProgress | None,
        full: bool,
    ) -> SyncReport:  # fmt: skip
        git = self.git(Path(repo.path))
        head = git.branch_head(repo.branch)
        previous, interrupted = repo.commit, marker.exists()
        # a commit recorded but nothing of it indexed (`ragcode remove`): compare everything
        emptied = previous is not None and not self._stored(repo.root)
        if previous == head and not (interrupted or full or emptied):
            return SyncReport(
                repo.name, head, previous, SyncMode.UNCHANGED, False, ChangeCounts(), None
            )
        selection = Selection(repo.include, repo.exclude)
        skipped: list[SkippedFile] = []
        wanted: dict[str, TreeFile] = {}
        for file in git.tree(head):
            if not selection.wants(file.path):
                continue
            reason = unusable_name(file.path)
            if reason is None:
                wanted[file.path] = file
            else:
                skipped.append(SkippedFile(shown_path(file.path), reason))
        known = previous is not None and git.has_commit(previous)
        rewritten = previous is not None and not (known and git.is_ancestor(previous or "", head))
        if previous is not None and known and not (interrupted or full or emptied):
            changes = git.changes(previous, head)
            named = {c.path for c in changes} | {c.old_path for c in changes if c.old_path}
            # a crafted tree may name "../x": such a path is never written, read or removed
            touched = {path for path in named if is_safe_path(path)}
            mode, counts = SyncMode.CHANGES, _counts(changes, selection)
        else:
            stored = self._stored(repo.root)
            touched = set(wanted) | stored | checkout.files()
            mode = SyncMode.FIRST if previous is None and not interrupted else SyncMode.FULL
            counts = ChangeCounts(
                added=len(set(wanted) - stored), deleted=len(stored - set(wanted))
            )
        writes = [wanted[path] for path in sorted(touched) if path in wanted]
        log.info(
            "repo sync name=%s mode=%s previous=%s head=%s paths=%d skipped=%d",
            repo.name, mode, previous, head, len(touched), len(skipped),
        )  # fmt: skip
        marker.touch()
        origin = {REPO: repo.name, COMMIT: head}  # on every unit written now
        report, failed = self._apply(
            checkout, git, writes, touched - set(wanted), touched, progress, origin
        )
        skipped += failed
        for left_out in skipped:
            log.warning(
                "repo sync skipped name=%s path=%s reason=%s",
                repo.name, left_out.path, left_out.reason,
            )  # fmt: skip
        # compare-and-set: a conflict leaves the marker, so the next sync compares every file
        self._registry.record_sync(repo.name, head, time.time(), previous)
        marker.unlink()
        return SyncReport(repo.name, head, previous, mode, rewritten, counts, report, skipped)

    def _apply(
        self, checkout: Checkout, git: Git, writes: list[TreeFile], deletes: set[str],
        touched: set[str], progress: IndexProgress | None, origin: dict[str, str],
    ) -> tuple[IndexReport, list[SkippedFile]]:  # fmt: skip
        checkout.directory.mkdir(parents=True, exist_ok=True)
        checkout.delete(sorted(deletes))  # first: a folder may become a file of that name
        failed = checkout.write(git, writes)
        # names the index cannot store (not UTF-8: a checkout left by an older version) are
        # deleted above and never handed on
        storable = {path for path in touched if _is_text(path)}
        report = self._indexer.index_paths(checkout.directory, storable, progress, metadata=origin)
        return report, failed


def _is_text(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
