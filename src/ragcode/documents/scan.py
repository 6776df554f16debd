"""Find the documents under a path and read them, explaining why other files are skipped.

The scanner strategy of the documents indexer: same contract as `ingest.files.scan_sources`
(sorted, counted up front, read lazily, never raises on a bad file).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from ragcode.documents.formats import BINARY_FORMATS, SUPPORTED_EXTENSIONS, detect_format
from ragcode.domain import SkippedFile
from ragcode.ingest.files import IGNORED_DIRS, FileLimits, SourceFile, SourceScan, relative_path

# Korean Excel saves CSV as CP949; cp949 is a superset of EUC-KR.
_ENCODINGS = ("utf-8-sig", "cp949")
_SUPPORTED = " ".join(SUPPORTED_EXTENSIONS)


def scan_documents(target: Path, limits: FileLimits) -> SourceScan:
    if target.is_file():
        return SourceScan(total=1, items=iter([load_document(target, target, limits)]))
    if not target.is_dir():
        raise FileNotFoundError(f"no such file or directory: {target}")
    files = sorted(_walk(target), key=lambda file: relative_path(target, file))

    def read_all() -> Iterator[SourceFile | SkippedFile]:
        for file in files:
            yield load_document(target, file, limits)

    return SourceScan(total=len(files), items=read_all())


def _walk(root: Path) -> Iterator[Path]:
    for directory, subdirs, names in os.walk(root):  # symlinked directories are not followed
        subdirs[:] = [d for d in subdirs if d not in IGNORED_DIRS and not d.startswith(".")]
        for name in names:
            if not name.startswith("."):
                yield Path(directory, name)


def load_document(root: Path, path: Path, limits: FileLimits) -> SourceFile | SkippedFile:
    """Read one file; binary formats keep `text` empty (their reader opens `abs_path`)."""
    rel = relative_path(root, path)
    fmt = detect_format(rel)
    if fmt is None:
        kind = path.suffix or path.name
        return SkippedFile(rel, f"지원하지 않는 문서 형식입니다 ({kind}; 지원: {_SUPPORTED})")
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            return SkippedFile(rel, f"파일이 너무 큽니다 ({size:,} B > {limits.max_bytes:,} B)")
        data = path.read_bytes()
    except OSError as exc:
        return SkippedFile(rel, f"파일을 읽을 수 없습니다: {exc.strerror or type(exc).__name__}")
    digest = hashlib.sha256(data).hexdigest()
    if fmt in BINARY_FORMATS:
        return SourceFile(path=rel, abs_path=path, language=fmt, text="", file_hash=digest)
    text = _decode(data)
    if text is None:
        return SkippedFile(rel, "텍스트 인코딩을 알 수 없습니다 (UTF-8, CP949 가 아닙니다)")
    return SourceFile(path=rel, abs_path=path, language=fmt, text=text, file_hash=digest)


def _decode(data: bytes) -> str | None:
    if b"\0" in data[:8192]:
        return None
    for encoding in _ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None
