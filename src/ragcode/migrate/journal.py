"""Which copy filled a PostgreSQL database, and whether it finished.

A target that holds data is refused, unless that data is this same source's unfinished copy:
then the copy goes on where it stopped. So the journal row is written before the first row
of data, and marked finished only after the counts were checked. A session advisory lock
keeps two `ragcode migrate` runs from writing into one database at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ragcode.db.pg import PgDatabase
from ragcode.db.pg_migrations import Component, Migration, migrate_all
from ragcode.store.pg_pool import Connection
from ragcode.store.protocol import StoreError

SCHEMA = Component("migrate", (
    Migration(1, "runs", """
CREATE TABLE migrate_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source text NOT NULL,
    host text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
"""),
))  # fmt: skip
_RUN_LOCK = "ragcode.migrate.run"
_COLUMNS = "id, source, host, started_at, finished_at"


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    source: str  # the data directory copied (resolved path): what a run again must match
    host: str  # where it was copied from (shown; containers change names on restart)
    started_at: datetime  # UTC
    finished_at: datetime | None


class MigrationJournal:
    def __init__(self, url: str) -> None:
        self._db = PgDatabase(url, SCHEMA)

    def hold(self) -> None:
        """Take the run lock for as long as this journal is open, or StoreError. A session
        lock: it stays with the pooled connection that took it (idle connections stay open
        until `close`), and the server drops it when this process dies."""
        taken = self._db.read("복사 잠금", lambda conn: conn.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (_RUN_LOCK,)
        ).fetchall())  # fmt: skip
        if not taken[0][0]:
            raise StoreError(
                "다른 ragcode migrate 가 이 데이터베이스에 복사하는 중입니다. 그 실행이 끝난 뒤에 "
                "다시 확인하세요"
            )

    def prepare_schema(self) -> list[str]:
        """Bring the tables of every component up to date at once (each adapter would do its
        own when it opens): run by the database's owner, the copy leaves a database on which
        servers whose role may not create tables can start. The migrations applied now."""
        steps = self._db.read("스키마 마이그레이션", migrate_all)
        return [f"{name} {step.version} ({step.name})" for name, step in steps]

    def latest(self) -> Run | None:
        rows = self._db.read("복사 기록 읽기", lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM migrate_runs ORDER BY id DESC LIMIT 1"
        ).fetchall())  # fmt: skip
        return _run(rows[0]) if rows else None

    def begin(self, source: str, host: str) -> Run:
        def insert(conn: Connection) -> Run:
            row = conn.execute(
                f"INSERT INTO migrate_runs (source, host) VALUES (%s, %s) RETURNING {_COLUMNS}",
                (source, host),
            ).fetchone()
            assert row is not None  # INSERT ... RETURNING gives its row
            return _run(row)

        return self._db.write("복사 기록 쓰기", insert)

    def finish(self, run: Run) -> None:
        self._db.write("복사 기록 쓰기", lambda conn: conn.execute(
            "UPDATE migrate_runs SET finished_at = now() WHERE id = %s", (run.id,)
        ))  # fmt: skip

    def close(self) -> None:
        self._db.close()


def _run(row: tuple[object, ...]) -> Run:
    started, finished = row[3], row[4]
    assert isinstance(started, datetime)
    return Run(
        id=int(str(row[0])),
        source=str(row[1]),
        host=str(row[2]),
        started_at=started.astimezone(UTC),
        finished_at=finished.astimezone(UTC) if isinstance(finished, datetime) else None,
    )
