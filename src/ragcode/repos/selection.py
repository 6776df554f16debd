"""Which files of a repository are indexed: tracked files only (so `.gitignore` holds), the
same folders `ragcode index` skips (dependencies, build output, hidden folders), then the
repository's include/exclude globs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

from ragcode.ingest.files import IGNORED_DIRS

_NAME_MAX = 255  # bytes in one file name on the usual file systems (ext4, xfs, apfs, ntfs)


def _glob_matches(path: str, glob: str) -> bool:
    """fnmatch on the repo-relative path (`*` crosses "/"); a glob without "/" is also tried
    on the file name, so `*.py` means every Python file and `tests/*` one folder's tree."""
    if fnmatchcase(path, glob):
        return True
    return "/" not in glob and fnmatchcase(PurePosixPath(path).name, glob)


def is_safe_path(path: str) -> bool:
    """A path that stays inside the checkout (a crafted tree may hold "..", ".git")."""
    parts = path.split("/")
    return all(part not in ("", ".", "..") and part.lower() != ".git" for part in parts)


def unusable_name(path: str) -> str | None:
    """Why a (safe) path of the tree cannot be indexed, or None: a name that is not UTF-8
    (git gives bytes; the index stores text) or longer than file systems allow."""
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        return "파일 이름이 UTF-8 이 아니어서 색인할 수 없습니다"
    if any(len(part) > _NAME_MAX for part in encoded.split(b"/")):
        return f"파일 이름이 {_NAME_MAX}바이트보다 길어 꺼낼 수 없습니다"
    return None


def shown_path(path: str) -> str:
    """A path as text that can be printed and stored (undecodable bytes as `\\xff`)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class Selection:
    include: Sequence[str] = ()  # empty: every file
    exclude: Sequence[str] = ()

    def wants(self, path: str) -> bool:
        if not is_safe_path(path):
            return False
        folders = path.split("/")[:-1]
        if any(part in IGNORED_DIRS or part.startswith(".") for part in folders):
            return False
        if self.include and not any(_glob_matches(path, g) for g in self.include):
            return False
        return not any(_glob_matches(path, g) for g in self.exclude)
