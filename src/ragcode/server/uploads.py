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
from ragcode.ingest.languages import detect_language

DocumentKind = Literal["code", "document"]
_CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^\w.\-]+")
_SKIPPED_MEMBERS = ("__MACOSX/",)


class UploadRejectedError(ValueError):
    """The upload is refused; the message is shown to the user as is."""


@dataclass(frozen=True, slots=True)
class ZipLimits:
    max_files: int
    max_uncompressed_bytes: int


def safe_name(filename: str) -> str:
    """One path component: no directories, no leading dots, only word characters, '.', '-'."""
    base = unicodedata.normalize("NFC", filename.replace("\\", "/")).rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).lstrip(".")[:100]
    return cleaned or "file"


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


def _plan(
    archive: zipfile.ZipFile, limits: ZipLimits
) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    members: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    declared = 0
    for info in archive.infolist():
        path = _member_path(info)
        if path is None:
            continue
        members.append((info, path))
        declared += info.file_size
        if len(members) > limits.max_files:
            raise UploadRejectedError(
                f"압축 파일의 파일이 너무 많습니다 (최대 {limits.max_files}개)."
            )
        if declared > limits.max_uncompressed_bytes:
            raise UploadRejectedError(_too_big(limits))
    return members


def _too_big(limits: ZipLimits) -> str:
    return f"압축을 푼 크기가 너무 큽니다 (최대 {limits.max_uncompressed_bytes // 1_000_000} MB)."


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
                with archive.open(info) as source, destination.open("wb") as out:
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
