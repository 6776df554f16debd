"""Saving uploads safely: clean names, a size cap while streaming, a guarded zip extraction."""

from __future__ import annotations

import re
import shutil
import stat
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal

from ragcode.documents.formats import detect_format
from ragcode.ingest.containers import (
    DOCUMENT_LIMITS,
    ContainerLimits,
    ContainerRejectedError,
    check_archive,
    check_container,
)
from ragcode.ingest.languages import detect_language

DocumentKind = Literal["code", "document"]
_CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^\w.\-]+")
_SKIPPED_MEMBERS = ("__MACOSX/",)
_MAX_NAME_BYTES = 150


class UploadRejectedError(ValueError):
    """The upload is refused; the message is shown to the user as is."""


@dataclass(frozen=True, slots=True)
class ZipLimits:
    max_files: int
    max_uncompressed_bytes: int

    def container(self) -> ContainerLimits:
        total = self.max_uncompressed_bytes
        return ContainerLimits(self.max_files, max_total_bytes=total, max_member_bytes=total)


def safe_name(filename: str) -> str:
    """One path component: no directories, no leading dots, only word characters, '.', '-'."""
    base = unicodedata.normalize("NFC", filename.replace("\\", "/")).rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).lstrip(".")
    return _shortened(cleaned) or "file"


def _shortened(name: str) -> str:
    """At most _MAX_NAME_BYTES of UTF-8, the extension kept: file systems count a name's
    bytes (255), and a Hangul syllable takes three."""
    if len(name.encode()) <= _MAX_NAME_BYTES:
        return name
    suffix = PurePosixPath(name).suffix
    suffix = suffix if len(suffix) <= 16 else ""
    budget = _MAX_NAME_BYTES - len(suffix.encode())
    stem = name[: len(name) - len(suffix)].encode()[:budget].decode("utf-8", errors="ignore")
    return stem + suffix


def kind_of(filename: str) -> DocumentKind | None:
    """`code` for a parseable source file or a zip (a repository), `document` for Q&A files."""
    lowered = filename.lower()
    if lowered.endswith(".zip") or detect_language(lowered) is not None:
        return "code"
    if detect_format(lowered) is not None:
        return "document"
    return None


def save_stream(source: BinaryIO, target: Path, max_bytes: int) -> int:
    """Copy `source` to `target`, refusing (and deleting) it past `max_bytes`."""
    written = 0
    with target.open("xb") as out:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > max_bytes:
                out.close()
                target.unlink(missing_ok=True)
                raise UploadRejectedError(f"파일이 너무 큽니다 (최대 {max_bytes // 1_000_000} MB).")
            out.write(chunk)
    return written


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath | None:
    """The member's safe relative path; None for directories and OS metadata."""
    name = info.filename.replace("\\", "/")
    if info.is_dir() or name.startswith(_SKIPPED_MEMBERS):
        return None
    path = PurePosixPath(name)
    if path.is_absolute() or re.match(r"^[A-Za-z]:", name) or ".." in path.parts:
        raise UploadRejectedError(f"압축 파일에 안전하지 않은 경로가 있습니다: {info.filename}")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UploadRejectedError(f"압축 파일에 심볼릭 링크가 있습니다: {info.filename}")
    parts = [safe_name(part) for part in path.parts if part not in ("", ".")]
    return PurePosixPath(*parts) if parts else None


class _UniquePaths:
    """Cleaning can map two member names onto one path (`a b.py`, `a_b.py`): the later member
    gets a numbered name (`a_b-2.py`) instead of silently replacing the first one."""

    def __init__(self) -> None:
        self._files: set[PurePosixPath] = set()
        self._dirs: set[PurePosixPath] = set()

    def claim(self, path: PurePosixPath, original: str) -> PurePosixPath:
        parents = set(path.parents) - {PurePosixPath(".")}
        if parents & self._files:  # `a_b` is a file and `a b/c.py` wants it as a folder
            raise UploadRejectedError(f"압축 파일 안의 경로가 다른 파일과 겹칩니다: {original}")
        candidate, number = path, 2
        while candidate in self._files or candidate in self._dirs:
            candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
            number += 1
        self._files.add(candidate)
        self._dirs |= parents
        return candidate


def _plan(
    archive: zipfile.ZipFile, limits: ZipLimits
) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Declared sizes and counts first (nothing inflated yet), then one clean path each."""
    try:
        check_archive(archive, limits.container())
    except ContainerRejectedError as exc:
        raise UploadRejectedError(str(exc)) from exc
    members: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    paths = _UniquePaths()
    for info in archive.infolist():
        path = _member_path(info)
        if path is not None:
            members.append((info, paths.claim(path, info.filename)))
    return members


def _too_big(limits: ZipLimits) -> str:
    return f"압축을 푼 크기가 너무 큽니다 (최대 {limits.max_uncompressed_bytes // 1_000_000} MB)."


def check_document_container(path: Path) -> None:
    """A zip-based document (.docx) is refused on arrival when it would inflate too far."""
    try:
        check_container(path, DOCUMENT_LIMITS)
    except ContainerRejectedError as exc:
        kind = path.suffix.lstrip(".").upper() or "압축"
        raise UploadRejectedError(f"{kind} 파일을 받지 않았습니다: {exc}") from exc


def extract_zip(archive_path: Path, target: Path, limits: ZipLimits) -> int:
    """Extract into `target`, counting real bytes (headers can lie); all or nothing."""
    try:
        with zipfile.ZipFile(archive_path) as archive:
            members = _plan(archive, limits)
            total = 0
            for info, relative in members:
                destination = target.joinpath(*relative.parts)
                if target.resolve() not in destination.resolve().parents:
                    raise UploadRejectedError(f"안전하지 않은 경로입니다: {info.filename}")
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source, destination.open("xb") as out:
                    while chunk := source.read(_CHUNK):
                        total += len(chunk)
                        if total > limits.max_uncompressed_bytes:
                            raise UploadRejectedError(_too_big(limits))
                        out.write(chunk)
    except UploadRejectedError:
        shutil.rmtree(target, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise UploadRejectedError("압축 파일을 읽을 수 없습니다.") from exc
    return len(members)
