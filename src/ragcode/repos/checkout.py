"""The files of a repository at its indexed commit, written under the data directory: the
index root of the repository. Written from git objects (`cat-file`), never from the work tree,
so uncommitted edits are never indexed and the user's checkout is never touched."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ragcode.domain import SkippedFile
from ragcode.ingest.files import FileLimits
from ragcode.ingest.languages import detect_language
from ragcode.repos.git import Git, TreeFile
from ragcode.repos.selection import is_safe_path, shown_path

log = logging.getLogger(__name__)
# One temporary name per folder (writes are sequential under the repository's lock): short,
# so a file name up to the file system's limit still fits.
_TEMPORARY = ".~ragcode.tmp"


def _cannot_write(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return "파일 이름이나 경로가 파일 시스템 한도보다 길어 꺼낼 수 없습니다"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        return "같은 이름의 파일과 폴더가 함께 있어 꺼낼 수 없습니다"
    return f"저장소 파일을 꺼내지 못했습니다 ({exc.strerror or type(exc).__name__})"


class Checkout:
    def __init__(self, directory: Path, limits: FileLimits) -> None:
        self.directory = directory
        self._limits = limits

    def write(self, git: Git, files: Sequence[TreeFile]) -> list[SkippedFile]:
        """Write these files as the commit has them. A file ragcode will not read (a language
        it does not parse, or over the size limit) becomes a sparse file of the same size:
        indexing records why it was skipped, without a copy of the bytes on disk. A file that
        cannot be written here (a name too long, a file and a folder of the same name) is left
        out, with no older copy left behind; the reasons are returned."""
        self.directory.mkdir(parents=True, exist_ok=True)
        failed: list[SkippedFile] = []
        readable: list[TreeFile] = []
        for file in files:
            if detect_language(file.path) is None or file.size > self._limits.max_bytes:
                self._place(file.path, file.size, failed)
            else:
                readable.append(file)
        for file, data in git.blobs(readable):
            self._place(file.path, data, failed)
        return failed

    def _place(self, path: str, content: bytes | int, failed: list[SkippedFile]) -> None:
        """Write `content`, or a sparse file of that many bytes (atomically either way)."""
        if not is_safe_path(path):
            return
        target = self.directory / path
        temporary = target.parent / _TEMPORARY
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("wb") as handle:
                if isinstance(content, int):
                    handle.truncate(content)
                else:
                    handle.write(content)
            os.replace(temporary, target)
        except OSError as exc:
            log.warning("repo checkout write failed path=%r error=%s", path, exc)
            failed.append(SkippedFile(shown_path(path), _cannot_write(exc)))
            for leftover in (temporary, target):
                try:
                    if not leftover.is_dir():
                        leftover.unlink(missing_ok=True)
                except OSError:
                    pass

    def delete(self, paths: Iterable[str]) -> None:
        """Remove these files and the folders they leave empty."""
        for path in paths:
            if not is_safe_path(path):
                continue
            target = self.directory / path
            try:
                if target.is_dir() and not target.is_symlink():
                    continue  # a folder of that name now: its files are deleted one by one
                target.unlink(missing_ok=True)
                parent = target.parent
                while parent != self.directory and parent.is_dir() and not any(parent.iterdir()):
                    parent.rmdir()
                    parent = parent.parent
            except OSError as exc:  # under a file of the folder's name, a name too long...
                log.info("repo checkout delete skipped path=%r error=%s", path, exc)

    def files(self) -> set[str]:
        """Every file written so far (to drop what a full sync no longer wants)."""
        if not self.directory.is_dir():
            return set()
        return {
            p.relative_to(self.directory).as_posix()
            for p in self.directory.rglob("*")
            if p.is_file() or p.is_symlink()
        }
