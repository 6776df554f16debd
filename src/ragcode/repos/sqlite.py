"""The repository registry in its own SQLite file of the data directory (see `repos.protocol`)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ragcode.db.sqlite import LockedDatabase
from ragcode.repos.protocol import (
    Repo,
    RepoError,
    RepoExistsError,
    already_registered,
    sync_refused,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS git_repos (
    name TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    branch TEXT NOT NULL,
    root TEXT NOT NULL,
    include TEXT NOT NULL DEFAULT '[]',
    exclude TEXT NOT NULL DEFAULT '[]',
    indexed_commit TEXT,
    synced_at REAL,
    created_at REAL NOT NULL
);
"""
_COLUMNS = "name, path, branch, root, include, exclude, indexed_commit, synced_at, created_at"


def _row(row: tuple[object, ...]) -> Repo:
    return Repo(
        name=str(row[0]), path=str(row[1]), branch=str(row[2]), root=str(row[3]),
        include=tuple(json.loads(str(row[4]))), exclude=tuple(json.loads(str(row[5]))),
        commit=None if row[6] is None else str(row[6]),
        synced_at=None if row[7] is None else float(str(row[7])), created_at=float(str(row[8])),
    )  # fmt: skip


class SqliteRepos(LockedDatabase):
    error = RepoError
    failure = "저장소 목록 데이터베이스 오류"

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    def add(self, repo: Repo) -> Repo:
        added = replace(repo, created_at=time.time())
        values = (
            added.name, added.path, added.branch, added.root, json.dumps(list(added.include)),
            json.dumps(list(added.exclude)), added.commit, added.synced_at, added.created_at,
        )  # fmt: skip
        with self._guard() as conn:
            inserted = conn.execute(
                f"INSERT INTO git_repos ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (name) DO NOTHING",
                values,
            ).rowcount
        if not inserted:
            raise RepoExistsError(already_registered(repo.name))
        return added

    def get(self, name: str) -> Repo | None:
        with self._guard() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM git_repos WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else _row(row)

    def all(self) -> list[Repo]:
        with self._guard() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM git_repos ORDER BY name").fetchall()
        return [_row(row) for row in rows]

    def record_sync(self, name: str, commit: str, synced_at: float, expected: str | None) -> None:
        with self._guard() as conn:
            changed = conn.execute(
                "UPDATE git_repos SET indexed_commit = ?, synced_at = ?"
                " WHERE name = ? AND indexed_commit IS ?",
                (commit, synced_at, name, expected),
            ).rowcount
        if not changed:
            raise sync_refused(name, expected, self.get(name))

    @contextmanager
    def sync_lock(self, name: str) -> Iterator[None]:
        yield  # one machine: the flock in the repository's folder is the lock

    def remove(self, name: str) -> bool:
        with self._guard() as conn:
            return conn.execute("DELETE FROM git_repos WHERE name = ?", (name,)).rowcount > 0
