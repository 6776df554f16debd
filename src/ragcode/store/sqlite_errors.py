"""SQLite failures in words a user can act on: a full disk or a read-only data directory
say so (and what to do), instead of SQLite's English text."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

# Below this many free bytes an I/O error at open is taken for a full disk (SQLite reports
# "disk I/O error" there, not SQLITE_FULL, when not even the WAL index can be written).
_NEARLY_FULL = 256 * 1024


def _read_only(directory: Path) -> bool:
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _nearly_full(directory: Path) -> bool:
    try:
        return shutil.disk_usage(directory).free < _NEARLY_FULL
    except OSError:
        return False


def describe(exc: sqlite3.Error, database: Path) -> str | None:
    """A Korean explanation for failures the user can fix, or None for the others."""
    directory = database.parent
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL or (
        isinstance(exc, sqlite3.OperationalError) and _nearly_full(directory)
    ):
        return (
            f"데이터 디렉터리({directory})의 디스크 공간이 부족합니다. 공간을 비운 뒤 다시 "
            "실행하면 이어서 진행합니다 (이미 저장된 내용은 그대로 있습니다)."
        )
    if code == sqlite3.SQLITE_READONLY or _read_only(directory):
        return (
            f"데이터 디렉터리({directory})가 읽기 전용이라 색인을 열거나 쓸 수 없습니다. "
            "쓰기 권한이 있는 곳을 RAGCODE_DATA_DIR 로 지정하거나 읽기-쓰기로 다시 마운트하세요."
        )
    return None
