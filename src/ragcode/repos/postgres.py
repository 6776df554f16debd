"""The repository registry on PostgreSQL (see `repos.protocol`), shared by every replica."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ragcode.db.pg import PgDatabase, pg_text
from ragcode.db.pg_migrations import Component, Migration
from ragcode.repos.lock import busy
from ragcode.repos.protocol import (
    Repo,
    RepoError,
    RepoExistsError,
    already_registered,
    sync_refused,
)
from ragcode.store.pg_pool import Connection

SCHEMA = Component("repos", (
    Migration(1, "git repositories", """
CREATE TABLE git_repos (
    name text COLLATE "C" PRIMARY KEY,
    path text NOT NULL,
    branch text NOT NULL,
    root text NOT NULL,
    include jsonb NOT NULL DEFAULT '[]',
    exclude jsonb NOT NULL DEFAULT '[]',
    indexed_commit text,
    synced_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""),
))  # fmt: skip
_COLUMNS = (
    "name, path, branch, root, include, exclude, indexed_commit,"
    " extract(epoch FROM synced_at)::float8, extract(epoch FROM created_at)::float8"
)


def _row(row: tuple[Any, ...]) -> Repo:
    return Repo(
        name=str(row[0]), path=str(row[1]), branch=str(row[2]), root=str(row[3]),
        include=tuple(str(g) for g in row[4]), exclude=tuple(str(g) for g in row[5]),
        commit=None if row[6] is None else str(row[6]),
        synced_at=None if row[7] is None else float(row[7]), created_at=float(row[8]),
    )  # fmt: skip


class PostgresRepos:
    def __init__(self, url: str) -> None:
        self._url = url
        self._db = PgDatabase(url, SCHEMA, RepoError)

    def add(self, repo: Repo) -> Repo:
        params = (
            pg_text(repo.name), pg_text(repo.path), pg_text(repo.branch), pg_text(repo.root),
            Jsonb([pg_text(g) for g in repo.include]), Jsonb([pg_text(g) for g in repo.exclude]),
        )  # fmt: skip
        rows = self._db.write("저장소 등록", lambda conn: conn.execute(
            "INSERT INTO git_repos (name, path, branch, root, include, exclude)"
            f" VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (name) DO NOTHING RETURNING {_COLUMNS}",
            params,
        ).fetchall())  # fmt: skip
        if not rows:
            raise RepoExistsError(already_registered(repo.name))
        return _row(rows[0])

    def import_repos(self, repos: list[Repo]) -> int:
        def insert(conn: Connection) -> int:
            added = 0
            for repo in repos:
                added += conn.execute(
                    "INSERT INTO git_repos (name, path, branch, root, include, exclude,"
                    " indexed_commit, synced_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s,"
                    " to_timestamp(%s), to_timestamp(%s)) ON CONFLICT (name) DO NOTHING",
                    (
                        pg_text(repo.name),
                        pg_text(repo.path),
                        pg_text(repo.branch),
                        pg_text(repo.root),
                        Jsonb([pg_text(g) for g in repo.include]),
                        Jsonb([pg_text(g) for g in repo.exclude]),
                        None if repo.commit is None else pg_text(repo.commit),
                        repo.synced_at,
                        repo.created_at,
                    ),
                ).rowcount
            return added

        return self._db.write("저장소 목록 옮기기", insert)  # fmt: skip

    def get(self, name: str) -> Repo | None:
        rows = self._db.read("저장소 읽기", lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM git_repos WHERE name = %s", (pg_text(name),)
        ).fetchall())  # fmt: skip
        return _row(rows[0]) if rows else None

    def all(self) -> list[Repo]:
        rows = self._db.read("저장소 목록 읽기", lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM git_repos ORDER BY name"
        ).fetchall())  # fmt: skip
        return [_row(row) for row in rows]

    def record_sync(self, name: str, commit: str, synced_at: float, expected: str | None) -> None:
        count = self._db.write("저장소 동기화 기록", lambda conn: conn.execute(
            "UPDATE git_repos SET indexed_commit = %s, synced_at = to_timestamp(%s)"
            " WHERE name = %s AND indexed_commit IS NOT DISTINCT FROM %s::text",
            (pg_text(commit), synced_at, pg_text(name), expected),
        ).rowcount)  # fmt: skip
        if not count:
            raise sync_refused(name, expected, self.get(name))

    @contextmanager
    def sync_lock(self, name: str) -> Iterator[None]:
        """A session advisory lock on a connection of its own, held for the whole sync (and
        released by the server if this process dies)."""
        key = f"ragcode.repo:{name}"
        try:
            conn = psycopg.connect(self._url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise RepoError(f"저장소 잠금을 위해 PostgreSQL 에 연결하지 못했습니다: {exc}") from exc
        try:
            try:
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (pg_text(key),)
                ).fetchone()
            except psycopg.Error as exc:
                raise RepoError(f"저장소 잠금 실패 (PostgreSQL): {exc}") from exc
            if not row or not row[0]:
                raise RepoError(busy(name) + " (다른 컴퓨터일 수 있습니다)")
            yield  # closing the session releases the lock
        finally:
            conn.close()

    def remove(self, name: str) -> bool:
        count = self._db.write("저장소 등록 해제", lambda conn: conn.execute(
            "DELETE FROM git_repos WHERE name = %s", (pg_text(name),)
        ).rowcount)  # fmt: skip
        return count > 0

    def close(self) -> None:
        self._db.close()
