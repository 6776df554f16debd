"""The upload registry on PostgreSQL (see `uploads.protocol`): one job queue for every server
replica. `claim` takes the oldest free job with FOR UPDATE SKIP LOCKED, so replicas claiming
at once neither wait for each other nor get the same upload; leases are measured by the
database clock, which all replicas share (theirs may drift apart)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from ragcode.db.pg import PgDatabase, pg_text
from ragcode.db.pg_migrations import Component, Migration
from ragcode.store.pg_pool import Connection
from ragcode.uploads.protocol import (
    SUMMARIZING,
    TO_INDEX,
    UNFINISHED,
    Document,
    RegistryError,
    UploadBusyError,
)

# Ids compare byte-wise (COLLATE "C") as in SQLite, so ties on created_at order the same way.
# The partial index serves `claim`, `claim_summarizing` and `unfinished`; its states are
# UNFINISHED when written (a later change to UNFINISHED needs a migration that rebuilds it).
# Both claims ask for a subset of those states, which the planner proves implies the index.
SCHEMA = Component("uploads", (
    Migration(1, "documents and leases", """
CREATE TABLE upload_documents (
    id text COLLATE "C" PRIMARY KEY,
    user_id bigint NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    path text NOT NULL,
    state text NOT NULL,
    units integer NOT NULL DEFAULT 0,
    error text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    shared boolean NOT NULL DEFAULT false,
    lease_owner text,
    lease_until timestamptz
);
CREATE INDEX upload_documents_user ON upload_documents (user_id, created_at);
CREATE INDEX upload_documents_jobs ON upload_documents (created_at, id)
    WHERE state IN ('queued', 'indexing', 'summarizing');
"""),
))  # fmt: skip
_COLUMNS = (
    "id, user_id, name, kind, path, state, units, error,"
    " extract(epoch FROM created_at)::float8, shared"
)
_ORDER = "ORDER BY created_at, id"


def _states(states: tuple[str, ...]) -> str:
    """Written out (not a parameter) so that the planner matches the partial index."""
    return "state IN ({})".format(", ".join(f"'{state}'" for state in states))


_UNFINISHED = _states(UNFINISHED)
# A lease is free when nobody holds it or it ran out (its holder crashed or hangs).
_FREE = "(lease_owner IS NULL OR lease_until < now())"
_FREE_TO_INDEX = f"{_states(TO_INDEX)} AND {_FREE}"
_FREE_SUMMARIZING = f"{_states((SUMMARIZING,))} AND {_FREE}"
_LEASE_END = "now() + make_interval(secs => %(lease)s)"


def _row(row: tuple[Any, ...]) -> Document:
    return Document(
        id=str(row[0]), user_id=int(row[1]), name=str(row[2]), kind=str(row[3]),
        path=Path(str(row[4])), state=str(row[5]), units=int(row[6]),
        error=None if row[7] is None else str(row[7]), created_at=float(row[8]),
        shared=bool(row[9]),
    )  # fmt: skip


class PostgresRegistry:
    def __init__(self, url: str) -> None:
        self._url = url
        self._db = PgDatabase(url, SCHEMA, RegistryError)

    @contextmanager
    def exclusive(self, doc_id: str, wait_s: float | None = None) -> Iterator[None]:
        """A session advisory lock on a connection of its own (held for minutes while an
        upload is indexed, it must not take one of the pool's few connections); closing the
        connection releases it, also when this process dies."""
        try:
            conn = psycopg.connect(self._url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise RegistryError(f"업로드 잠금 실패: {str(exc).strip().splitlines()[0]}") from exc
        try:
            if wait_s is not None:  # advisory lock waits obey lock_timeout
                conn.execute(f"SET lock_timeout = {max(1, int(wait_s * 1000))}")
            conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"upload:{doc_id}",))
        except psycopg.errors.LockNotAvailable as exc:
            conn.close()
            raise UploadBusyError(f"업로드 {doc_id} 를 다른 작업이 처리하고 있습니다") from exc
        except psycopg.Error as exc:
            conn.close()
            raise RegistryError(f"업로드 잠금 실패: {str(exc).strip().splitlines()[0]}") from exc
        try:
            yield
        finally:
            conn.close()

    def add(self, doc_id: str, user_id: int, name: str, kind: str, path: Path) -> Document:
        rows = self._db.write("업로드 등록", lambda conn: conn.execute(
            "INSERT INTO upload_documents (id, user_id, name, kind, path, state)"
            f" VALUES (%s, %s, %s, %s, %s, 'queued') RETURNING {_COLUMNS}",
            (pg_text(doc_id), user_id, pg_text(name), kind, pg_text(str(path))),
        ).fetchall())  # fmt: skip
        return _row(rows[0])

    def _select(self, where: str, params: dict[str, object]) -> list[Document]:
        rows = self._db.read("업로드 목록 읽기", lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM upload_documents WHERE {where} {_ORDER}", params
        ).fetchall())  # fmt: skip
        return [_row(row) for row in rows]

    def get(self, user_id: int, doc_id: str) -> Document | None:
        found = self._select(
            "id = %(id)s AND user_id = %(user)s", {"id": pg_text(doc_id), "user": user_id}
        )
        return found[0] if found else None

    def find(self, doc_id: str) -> Document | None:
        found = self._select("id = %(id)s", {"id": pg_text(doc_id)})
        return found[0] if found else None

    def list_for(self, user_id: int) -> list[Document]:
        return self._select("user_id = %(user)s", {"user": user_id})

    def list_visible(self, user_id: int) -> list[Document]:
        return self._select("user_id = %(user)s OR shared", {"user": user_id})

    def all(self) -> list[Document]:
        return self._select("true", {})

    def unfinished(self) -> list[Document]:
        return self._select(_UNFINISHED, {})

    def waiting_count(self, user_id: int) -> int:
        rows = self._db.read("업로드 목록 읽기", lambda conn: conn.execute(
            f"SELECT count(*) FROM upload_documents WHERE user_id = %s AND {_states(TO_INDEX)}",
            (user_id,),
        ).fetchall())  # fmt: skip
        return int(rows[0][0])

    def update(
        self, doc_id: str, *, state: str, units: int | None = None, error: str | None = None
    ) -> None:
        self._db.write("업로드 상태 저장", lambda conn: conn.execute(
            "UPDATE upload_documents SET state = %s, units = COALESCE(%s, units), error = %s"
            " WHERE id = %s",
            (state, units, None if error is None else pg_text(error), pg_text(doc_id)),
        ))  # fmt: skip

    def set_shared(self, doc_id: str, shared: bool) -> None:
        self._db.write("업로드 공유 설정", lambda conn: conn.execute(
            "UPDATE upload_documents SET shared = %s WHERE id = %s", (shared, pg_text(doc_id))
        ))  # fmt: skip

    def exists(self, doc_id: str) -> bool:
        return self.find(doc_id) is not None

    def delete(self, doc_id: str) -> None:
        self._db.write("업로드 삭제", lambda conn: conn.execute(
            "DELETE FROM upload_documents WHERE id = %s", (pg_text(doc_id),)
        ))  # fmt: skip

    # --- the job queue -----------------------------------------------------------
    def claim(self, owner: str, lease_s: float) -> Document | None:
        return self._claim(owner, lease_s, _FREE_TO_INDEX)

    def claim_summarizing(self, owner: str, lease_s: float) -> Document | None:
        return self._claim(owner, lease_s, _FREE_SUMMARIZING)

    def _claim(self, owner: str, lease_s: float, free_job: str) -> Document | None:
        def take(conn: Connection) -> list[tuple[Any, ...]]:
            return conn.execute(
                f"UPDATE upload_documents SET lease_owner = %(owner)s, lease_until = {_LEASE_END}"
                f" WHERE id = (SELECT id FROM upload_documents WHERE {free_job} {_ORDER}"
                f" LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING {_COLUMNS}",
                {"owner": owner, "lease": float(lease_s)},
            ).fetchall()

        rows = self._db.write("업로드 작업 가져오기", take)
        return _row(rows[0]) if rows else None

    def renew(self, doc_id: str, owner: str, lease_s: float) -> bool:
        count = self._db.write("업로드 작업 연장", lambda conn: conn.execute(
            f"UPDATE upload_documents SET lease_until = {_LEASE_END}"
            " WHERE id = %(id)s AND lease_owner = %(owner)s",
            {"id": pg_text(doc_id), "owner": owner, "lease": float(lease_s)},
        ).rowcount)  # fmt: skip
        return count == 1

    def release(self, doc_id: str, owner: str) -> None:
        self._db.write("업로드 작업 반납", lambda conn: conn.execute(
            "UPDATE upload_documents SET lease_owner = NULL, lease_until = NULL"
            " WHERE id = %s AND lease_owner = %s",
            (pg_text(doc_id), owner),
        ))  # fmt: skip

    # --- moving the registry between databases (`ragcode migrate`) -----------------------
    def import_documents(self, docs: Iterable[Document]) -> int:
        rows = [
            (pg_text(d.id), d.user_id, pg_text(d.name), d.kind, pg_text(str(d.path)), d.state,
             d.units, None if d.error is None else pg_text(d.error), d.created_at, d.shared)
            for d in docs
        ]  # fmt: skip

        def insert(conn: Connection) -> int:
            with conn.cursor() as cursor:
                cursor.executemany(_IMPORT_DOCUMENT, rows)
                return max(cursor.rowcount, 0)

        return self._db.write("업로드 목록 가져오기", insert)

    def close(self) -> None:
        self._db.close()


# Uploads already there (a copy run again) are kept as they are; no lease: an unfinished
# upload is taken by the first replica that looks for work.
_IMPORT_DOCUMENT = (
    "INSERT INTO upload_documents (id, user_id, name, kind, path, state, units, error,"
    " created_at, shared) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, to_timestamp(%s), %s)"
    " ON CONFLICT (id) DO NOTHING"
)
