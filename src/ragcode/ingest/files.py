"""Find the source files under a root and read them safely, reporting why others are skipped.

Nothing here raises on a bad file: a repository always contains some binary, generated,
oversized or mis-encoded file, and one of them must not abort a whole index run.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ragcode.domain import SkippedFile
from ragcode.ingest.languages import detect_language

# Skipped silently: tool caches, dependencies and build output are never the team's code.
IGNORED_DIRS: frozenset[str] = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        "env",
        ".tox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "build",
        "dist",
        "site-packages",
        ".idea",
        ".vscode",
    }
)

_GENERATED_SUFFIXES = ("_pb2.py", ".pb.go", ".min.js")
_GENERATED_MARKERS = ("@generated", "do not edit", "auto-generated")
_HEADER_LINES = 5
_BINARY_PROBE_BYTES = 8192
_MAX_AVERAGE_LINE = 300
# Only bundlers squeeze whole programs onto one line; a long line in Python is just data.
_MINIFIABLE = frozenset({"javascript", "typescript", "tsx"})
# Korean teams still keep legacy EUC-KR/CP949 files; cp949 is a superset of EUC-KR.
_FALLBACK_ENCODING = "cp949"
# Skip reasons shown in `ragcode status` and the web app (Korean first).
BINARY = "바이너리 파일입니다"
GENERATED = "자동 생성된 파일입니다"
MINIFIED = "압축(minified)된 파일입니다"
UNDECODABLE = "텍스트 인코딩을 알 수 없습니다 (UTF-8, CP949 가 아닙니다)"
OUTSIDE_ROOT = "색인하는 디렉터리 밖을 가리키는 심볼릭 링크입니다"


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str  # relative to the indexed root, "/" separators; the file name for a file root
    abs_path: Path
    language: str
    text: str  # decoded, BOM stripped
    file_hash: str  # sha256 hex of the raw bytes


@dataclass(frozen=True, slots=True)
class FileLimits:
    max_bytes: int = 1_000_000
    max_line_length: int = 1000


def relative_path(root: Path, file: Path) -> str:
    """Path of file relative to root with "/" separators; the file's name if root is file."""
    if file == root:
        return file.name
    return file.relative_to(root).as_posix()


@dataclass(frozen=True, slots=True)
class SourceScan:
    """The files under a root, counted up front and read one at a time (large repos)."""

    total: int
    items: Iterator[SourceFile | SkippedFile]


def scan_sources(root: Path, limits: FileLimits) -> SourceScan:
    """Every file under root, sorted by relative path, read lazily or explained as skipped."""
    if root.is_file():
        return SourceScan(total=1, items=iter([load_source(root, root, limits)]))
    if not root.is_dir():
        raise FileNotFoundError(f"no such file or directory: {root}")
    files, problems = _list_files(root)
    entries: list[tuple[str, Path | SkippedFile]] = [(p.path, p) for p in problems]
    entries += [(relative_path(root, f), f) for f in files]
    entries.sort(key=lambda item: item[0])
    resolved_root = root.resolve()

    def read_all() -> Iterator[SourceFile | SkippedFile]:
        for _, entry in entries:
            if isinstance(entry, SkippedFile):
                yield entry
            else:
                yield _load_inside(root, resolved_root, entry, limits)

    return SourceScan(total=len(entries), items=read_all())


def walk_sources(root: Path, limits: FileLimits) -> Iterator[SourceFile | SkippedFile]:
    """Every file under root, sorted by relative path, read or explained as skipped."""
    yield from scan_sources(root, limits).items


def load_source(root: Path, path: Path, limits: FileLimits) -> SourceFile | SkippedFile:
    """Read one file and decide whether it is source we should parse."""
    rel = relative_path(root, path)
    language = detect_language(rel)
    if language is None:
        return SkippedFile(rel, f"지원하지 않는 언어입니다 ({path.suffix or path.name})")
    if rel.endswith(_GENERATED_SUFFIXES):
        return SkippedFile(rel, GENERATED)
    data = _read_bytes(path, limits)
    if isinstance(data, str):
        return SkippedFile(rel, data)
    text = decode_source(data)
    if text is None:
        return SkippedFile(rel, UNDECODABLE)
    problem = _content_problem(text, language, limits)
    if problem is not None:
        return SkippedFile(rel, problem)
    digest = hashlib.sha256(data).hexdigest()
    return SourceFile(path=rel, abs_path=path, language=language, text=text, file_hash=digest)


def _load_inside(
    root: Path, resolved_root: Path, path: Path, limits: FileLimits
) -> SourceFile | SkippedFile:
    # A link out of the root could expose files the user never asked to index.
    if path.is_symlink() and not path.resolve().is_relative_to(resolved_root):
        return SkippedFile(relative_path(root, path), OUTSIDE_ROOT)
    return load_source(root, path, limits)


def _list_files(root: Path) -> tuple[list[Path], list[SkippedFile]]:
    files: list[Path] = []
    problems: list[SkippedFile] = []
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as scan:
                entries = list(scan)
        except OSError as exc:
            problems.append(SkippedFile(relative_path(root, directory), _unreadable(exc)))
            continue
        for entry in entries:
            _classify(entry, files, pending)
    return files, problems


def _classify(entry: os.DirEntry[str], files: list[Path], pending: list[Path]) -> None:
    try:
        if entry.is_dir(follow_symlinks=False):
            if not _is_ignored_dir(entry.name):
                pending.append(Path(entry.path))
        elif entry.is_symlink():
            # Linked directories are not followed: that avoids cycles and double indexing.
            if not entry.is_dir(follow_symlinks=True):
                files.append(Path(entry.path))
        elif entry.is_file(follow_symlinks=False):
            files.append(Path(entry.path))
    except OSError:
        files.append(Path(entry.path))  # reported as unreadable when it is read


def _is_ignored_dir(name: str) -> bool:
    return name in IGNORED_DIRS or name.startswith(".")


def _read_bytes(path: Path, limits: FileLimits) -> bytes | str:
    """The file's bytes, or the reason it cannot be used (size checked before reading)."""
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            return _too_large(size, limits.max_bytes)
        data = path.read_bytes()
    except OSError as exc:
        return _unreadable(exc)
    if len(data) > limits.max_bytes:  # the file grew between stat and read
        return _too_large(len(data), limits.max_bytes)
    if b"\0" in data[:_BINARY_PROBE_BYTES]:
        return BINARY
    return data


def decode_source(data: bytes) -> str | None:
    """Source text as indexing reads it: UTF-8 (with or without BOM), else CP949; None if
    neither."""
    for encoding in ("utf-8-sig", _FALLBACK_ENCODING):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _content_problem(text: str, language: str, limits: FileLimits) -> str | None:
    lines = text.splitlines() or [""]
    header = "\n".join(lines[:_HEADER_LINES]).lower()
    if any(marker in header for marker in _GENERATED_MARKERS):
        return GENERATED
    too_long = any(len(line) > limits.max_line_length for line in lines)
    if (language in _MINIFIABLE and too_long) or len(text) / len(lines) > _MAX_AVERAGE_LINE:
        return MINIFIED
    return None


def _too_large(size: int, limit: int) -> str:
    return f"파일이 너무 큽니다 ({_human_size(size)} > {_human_size(limit)})"


def _human_size(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    if size >= 1_000:
        return f"{size / 1_000:.1f} KB"
    return f"{size} B"


def _unreadable(exc: OSError) -> str:
    return f"파일을 읽을 수 없습니다: {exc.strerror or type(exc).__name__}"
