"""Incremental indexing of a directory or file: parse changed files, drop deleted ones.

Every file is replaced in its own store transaction, so a killed run leaves a consistent
index, and the next run skips what is already there (same file hash) and resumes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from ragcode.domain import PYTHON_PACKAGE, TEAM_SCOPE, Record, SkippedFile, SummaryState
from ragcode.ingest.entries import EntryBuilder
from ragcode.ingest.files import (
    OUTSIDE_ROOT,
    FileLimits,
    SourceFile,
    SourceScan,
    load_source,
    scan_sources,
)
from ragcode.ingest.parser import parse_source
from ragcode.ingest.progress import IndexProgress, SilentProgress
from ragcode.ingest.summarize import is_trivial
from ragcode.store.protocol import FileRecord, IndexWriter, SummaryCache, SummaryOrigin

log = logging.getLogger(__name__)


class IndexInputError(ValueError):
    """The path given to index or remove is not usable; the message is for the user."""


class FileRejectedError(ValueError):
    """A parser refuses a whole file for a reason the user can act on (encrypted PDF,
    missing FAQ column...); the message is the skip reason, shown as is."""


# Strategies: which files a run reads and how one file becomes records (code by default).
Scanner = Callable[[Path, FileLimits], SourceScan]
# What summaries are written with now (the summary runner's prompt version and model): the
# key under which a summary of the same code may be reused while indexing; None: none is.
OriginSource = Callable[[], SummaryOrigin | None]
# The parser gets the path as stored (relative to the indexed root), then the file read; it
# returns the file's records (code units or document chunks, each mapped onto a Record).
UnitParser = Callable[[str, SourceFile], list[Record]]


def parse_code(path: str, source: SourceFile) -> list[Record]:
    return [unit.to_record() for unit in parse_source(path, source.language, source.text)]


def parse_failure(path: str, exc: Exception) -> str:
    """Log why one file was given up and return the skip reason shown in `status`."""
    if isinstance(exc, FileRejectedError):  # the user's file, not our bug
        log.info("parse refused path=%s reason=%s", path, exc)
        return str(exc)
    if isinstance(exc, MemoryError | RecursionError):  # `x = (` + 20,000 lines of `-`
        log.warning("parse too deep path=%s error=%s", path, type(exc).__name__)
        return "코드가 너무 깊게 중첩되었거나 복잡해서 해석하지 못했습니다"
    log.warning("parse failed path=%s", path, exc_info=exc)  # a parser bug: keep its trace
    return f"파일을 해석하지 못했습니다 ({type(exc).__name__}: {str(exc)[:200]})"


@dataclass(slots=True)
class IndexReport:
    root: str
    files_seen: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    units_written: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # stored paths the run looked at


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a target sits inside an indexed root: prefix "" means the whole root."""

    root: Path
    prefix: str
    is_file: bool

    def contains(self, path: str) -> bool:
        if self.is_file:
            return path == self.prefix
        return not self.prefix or path == self.prefix or path.startswith(self.prefix + "/")

    def stored_path(self, walked: str) -> str:
        if self.is_file:
            return self.prefix
        return str(PurePosixPath(self.prefix, walked)) if self.prefix else walked


_LINKED = "심볼릭 링크는 따라가지 않습니다"


def _is_relative(path: str) -> bool:
    """A relative path that names a file below its root: no "..", ".", "" or leading "/"."""
    return all(part not in ("", ".", "..") for part in path.split("/"))


def _listed_file(root: Path, path: str) -> Path | SkippedFile | None:
    """A listed path under `root` (resolved) as a file to read, a skip reason, or None when
    there is no such file. Links are never followed, nor is anything outside `root` read."""
    target = root / path
    try:
        resolved = target.resolve()
        if resolved != target:  # the file or a folder on the way is a link
            inside = resolved.is_relative_to(root)
            return SkippedFile(path, _LINKED if inside else OUTSIDE_ROOT)
        return target if target.is_file() else None
    except OSError as exc:  # a name too long, a loop...
        return SkippedFile(path, f"파일을 확인하지 못했습니다 ({exc.strerror or exc})")


def _is_within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def _metadata_for(record: Record, added: Mapping[str, str]) -> dict[str, str]:
    """The record's metadata with `added` (a root's Python package: Python units only)."""
    if record.language != "python":
        added = {key: value for key, value in added.items() if key != PYTHON_PACKAGE}
    return {**record.metadata, **added}


# A directory holding one of these is a project's root (its packages are below it), even
# with a stray `__init__.py` beside them.
_PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")


def root_package(root: Path) -> str | None:
    """The dotted package an indexed root is (`.../toolz` holding `__init__.py`: "toolz";
    `.../a/b` with `__init__.py` in both: "a.b"), or None when it is not a package, is a
    project's root, or sits in a package that no import can name (`my-lib/core`). Paths are
    relative to the root, so without it a unit's import line would lack the package."""
    if any((root / name).is_file() for name in _PROJECT_FILES):
        return None
    names: list[str] = []
    folder = root
    while (folder / "__init__.py").is_file():
        if not folder.name.isidentifier():
            return None  # the chain goes on through a name no import can use
        names.append(folder.name)
        folder = folder.parent
    return ".".join(reversed(names)) or None


class _CacheReader:
    """The summary cache as one indexing run reads it: under the origin asked for once, at
    the first lookup (app.py reads it from the settings: the LLM is never built for it). No
    origin, or one without a model name: nothing is looked up."""

    def __init__(self, store: SummaryCache, origin_of: OriginSource | None) -> None:
        self._store = store
        self._origin_of = origin_of
        self._origin: SummaryOrigin | None = None

    def get(self, code_hash: str) -> str | None:
        if self._origin_of is not None:  # the run's first lookup
            self._origin = self._origin_of()
            self._origin_of = None
        origin = self._origin
        if origin is None or not origin.model:
            return None
        return self._store.cached_summary(code_hash, origin)


class Indexer:
    """`scan`/`parse` default to source code; `summaries=False` marks every unit as needing
    no LLM summary (documents), so the summary runner never picks them up. `summary_origin`:
    a unit whose code was summarized before by the same prompt version and model gets that
    summary at once (without it, every non-trivial unit waits for the summary runner)."""

    def __init__(
        self,
        store: IndexWriter,
        builder: EntryBuilder,
        limits: FileLimits,
        *,
        scan: Scanner = scan_sources,
        parse: UnitParser = parse_code,
        summaries: bool = True,
        summary_origin: OriginSource | None = None,
        private_dir: Path | None = None,
    ) -> None:
        """`private_dir`: the data directory. What lies there (uploads, models) is never
        team content: indexing a parent folder skips it and leaves its roots alone."""
        self._private_dir = private_dir.expanduser().resolve() if private_dir else None
        self._store = store
        self._builder = builder
        self._limits = limits
        self._scan = scan
        self._parse = parse
        self._summaries = summaries
        self._summary_origin = summary_origin
        self._wait_for_lexicon = False

    def wait_for_lexicon(self) -> None:
        """End each run only once the store's background index work is done (the CLI: its
        process exits right after; a server's upload job need not wait for it)."""
        self._wait_for_lexicon = True

    def without_summary_cache(self) -> None:
        """Reuse no cached summary (`--no-summaries`): no lookup, no model named; the units
        wait for the summary runner as they would without a cache."""
        self._summary_origin = None

    def _is_private(self, path: Path) -> bool:
        return self._private_dir is not None and _is_within(path, self._private_dir)

    def _team_roots(self) -> list[Path]:
        """Indexed roots that team indexing may reuse or absorb (not uploads' own roots)."""
        return [Path(root) for root in self._store.roots() if not self._is_private(Path(root))]

    def scope_for(self, target: Path) -> Scope:
        """Reuse an indexed root that contains the target, so paths never double up."""
        is_file = target.is_file()
        roots = self._team_roots()
        containing = sorted((r for r in roots if _is_within(target, r)), key=lambda r: len(r.parts))
        root = containing[0] if containing else (target.parent if is_file else target)
        prefix = target.relative_to(root).as_posix()
        return Scope(root=root, prefix="" if prefix == "." else prefix, is_file=is_file)

    def index(
        self,
        target: Path,
        progress: IndexProgress | None = None,
        owner: str = TEAM_SCOPE,
        *,
        own_root: bool = False,
    ) -> IndexReport:
        """`owner`: the owner scope of what is written (the team's, or one user's upload).
        `own_root`: the target directory is a root of its own (an upload): no other root is
        reused or absorbed, so its units can never mix with anyone else's."""
        progress = progress or SilentProgress()
        target = target.expanduser().resolve()
        if not target.exists():
            raise IndexInputError(f"경로를 찾을 수 없습니다: {target}")
        if own_root and not target.is_dir():
            raise IndexInputError(f"디렉터리가 아닙니다: {target}")
        if not own_root and self._is_private(target):
            raise IndexInputError(
                f"데이터 디렉터리({self._private_dir}) 안은 색인할 수 없습니다 "
                "(업로드는 웹 앱이 관리합니다)."
            )
        embedder = self._builder.embedder
        self._store.claim_embedder(embedder.name, embedder.dim)
        if own_root:
            scope = Scope(root=target, prefix="", is_file=False)
        else:
            scope = self.scope_for(target)
            if not scope.is_file:
                self._absorb_nested_roots(scope.root)
        root = str(scope.root)
        hidden = self._private_prefix(target) if not own_root else None
        # PostgreSQL: a first index builds each HNSW graph once.
        # An upload's root is a directory of ours: its name is no package of the user's.
        package = None if own_root else root_package(scope.root)
        metadata = {PYTHON_PACKAGE: package} if package else None
        with self._store.bulk_writes(self._wait_for_lexicon):
            scan = self._scan(target, self._limits)
            report = self._index_files(scan, root, scope, owner, progress, hidden, metadata)
            report.files_removed = self._remove_missing(root, scope, report.seen)
            return report

    def index_paths(
        self,
        root: Path,
        paths: Iterable[str],
        progress: IndexProgress | None = None,
        owner: str = TEAM_SCOPE,
        metadata: Mapping[str, str] | None = None,
    ) -> IndexReport:
        """Re-read only `paths` (relative to `root`, a root of its own: a git repository's
        checkout): a file there is indexed as `index` would (same hash: left as it is), a
        path no longer there is removed; the root's other files are not looked at. A path
        that is not plainly below `root` ("..", absolute) is never read (only removed from
        the index if it is there); a link is never followed (skipped, with its reason).
        `metadata`: added to every unit written now (a repository's name and commit)."""
        progress = progress or SilentProgress()
        root = root.expanduser().resolve()
        if not root.is_dir():
            raise IndexInputError(f"디렉터리가 아닙니다: {root}")
        embedder = self._builder.embedder
        self._store.claim_embedder(embedder.name, embedder.dim)
        wanted = sorted(set(paths))
        present: list[Path | SkippedFile] = []
        for path in wanted:
            if not _is_relative(path):
                log.warning("index_paths refused path=%r root=%s", path, root)
                continue
            found = _listed_file(root, path)
            if found is not None:
                present.append(found)
        items = (
            found if isinstance(found, SkippedFile) else load_source(root, found, self._limits)
            for found in present
        )
        scope, key = Scope(root=root, prefix="", is_file=False), str(root)
        with self._store.bulk_writes(self._wait_for_lexicon):
            scan = SourceScan(len(present), items)
            report = self._index_files(scan, key, scope, owner, progress, None, metadata)
            stored = set(self._store.file_hashes(key)) | set(self._store.skipped_paths(key))
            gone = [path for path in wanted if path not in report.seen and path in stored]
            if gone:
                self._store.remove_files(key, gone)
            report.files_removed = len(gone)
        return report

    def _index_files(
        self, scan: SourceScan, root: str, scope: Scope, owner: str, progress: IndexProgress,
        hidden: str | None, metadata: Mapping[str, str] | None = None,
    ) -> IndexReport:  # fmt: skip
        """`hidden`: the data directory's prefix inside the scanned folder (never indexed)."""
        known = self._store.file_hashes(root)
        report = IndexReport(root=root)
        progress.files_started(scan.total)
        seen = report.seen
        cache = _CacheReader(self._store, self._summary_origin)
        for done, item in enumerate(scan.items, start=1):
            if hidden is not None and (item.path == hidden or item.path.startswith(hidden + "/")):
                continue  # the data directory inside an indexed folder: never team content
            path = scope.stored_path(item.path)
            seen.add(path)
            report.files_seen += 1
            if isinstance(item, SkippedFile):
                skipped = SkippedFile(path=path, reason=item.reason)
                self._store.set_skipped(root, skipped)
                report.skipped.append(skipped)
                progress.file_skipped(skipped)
                continue
            if known.get(path) == item.file_hash:
                report.files_unchanged += 1
                progress.file_done(path, 0, done)
                continue
            written = self._index_file(root, path, item, owner, cache, metadata)
            if isinstance(written, SkippedFile):  # the parser refused it: nothing of it stays
                report.skipped.append(written)
                progress.file_skipped(written)
                continue
            report.units_written += written
            report.files_changed += 1
            progress.file_done(path, report.units_written, done)
        return report

    def _index_file(
        self, root: str, path: str, source: SourceFile, owner: str, cache: _CacheReader,
        metadata: Mapping[str, str] | None = None,
    ) -> int | SkippedFile:  # fmt: skip
        try:
            records = self._parse(path, source)
            if metadata:
                records = [replace(r, metadata=_metadata_for(r, metadata)) for r in records]
        except Exception as exc:  # one file (or a parser bug) must never stop the whole run
            skipped = SkippedFile(path=path, reason=parse_failure(path, exc))
            self._store.set_skipped(root, skipped)
            return skipped
        summaries: list[tuple[str | None, SummaryState]] = []
        for item in records:
            if not self._summaries:
                summaries.append((None, SummaryState.TRIVIAL))
                continue
            cached = cache.get(item.code_hash)
            if cached:
                summaries.append((cached, SummaryState.DONE))
            elif is_trivial(item):
                summaries.append((None, SummaryState.TRIVIAL))
            else:
                summaries.append((None, SummaryState.PENDING))
        entries = self._builder.build(root, records, summaries)
        record = FileRecord(
            root=root, path=path, file_hash=source.file_hash, language=source.language,
            scope=owner,
        )  # fmt: skip
        self._store.replace_file(record, entries)
        return len(entries)

    def _remove_missing(self, root: str, scope: Scope, seen: set[str]) -> int:
        stored = set(self._store.file_hashes(root)) | set(self._store.skipped_paths(root))
        missing = [path for path in stored if scope.contains(path) and path not in seen]
        if missing:
            self._store.remove_files(root, missing)
        return len(missing)

    def _private_prefix(self, target: Path) -> str | None:
        """The data directory's path relative to a scanned folder that contains it."""
        private = self._private_dir
        if private is None or target == private or not _is_within(private, target):
            return None
        return private.relative_to(target).as_posix()

    def _absorb_nested_roots(self, new_root: Path) -> None:
        """Indexing a parent of an indexed root: drop the inner root, it is re-read below."""
        for inner in self._team_roots():
            root = str(inner)
            if inner != new_root and _is_within(inner, new_root):
                paths = set(self._store.file_hashes(root)) | set(self._store.skipped_paths(root))
                self._store.remove_files(root, paths)

    def remove(self, target: Path) -> int:
        """Remove a file or directory (which may no longer exist on disk) from the index."""
        target = target.expanduser().resolve()
        removed = 0
        for root in self._store.roots():
            root_path = Path(root)
            if self._is_private(root_path) and not self._is_private(target):
                continue  # removing a parent folder never touches uploads
            stored = set(self._store.file_hashes(root)) | set(self._store.skipped_paths(root))
            if _is_within(root_path, target):
                doomed = stored
            elif _is_within(target, root_path):
                prefix = target.relative_to(root_path).as_posix()
                doomed = {p for p in stored if p == prefix or p.startswith(prefix + "/")}
            else:
                continue
            if doomed:
                self._store.remove_files(root, doomed)
                removed += len(doomed)
        if not removed:
            raise IndexInputError(f"색인에 없는 경로입니다: {target}")
        return removed
