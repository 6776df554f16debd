"""Versioned schema migrations of the PostgreSQL adapters (accounts, history, uploads, limits).

Each component owns an ordered list of `Migration`s next to its adapter; the versions applied
are recorded in `ragcode_migrations`. Every migration runs in a transaction of its own under
one advisory lock, and the recorded versions are read again after taking the lock, so several
replicas starting at once apply each migration exactly once (the others wait, then find it
done). A database migrated by a newer ragcode is refused rather than written with an older
idea of its tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from ragcode.store.pg_pool import Connection, first_line
from ragcode.store.protocol import StoreError

# One lock for all components: creating `ragcode_migrations` itself must be serialised too
# (concurrent CREATE TABLE IF NOT EXISTS can fail), and migrations are rare and short.
MIGRATION_LOCK = "ragcode.migrations"
_TABLE = """
CREATE TABLE IF NOT EXISTS ragcode_migrations (
    component text NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""


class MigrationError(StoreError):
    """The schema cannot be brought to this code's version; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str  # one or more statements; never edited once released (add a new version)


@dataclass(frozen=True, slots=True)
class Component:
    """A component's migrations, in strictly increasing version order (checked here, so a
    mistake fails every test rather than one database)."""

    name: str
    migrations: tuple[Migration, ...]

    def __post_init__(self) -> None:
        versions = [m.version for m in self.migrations]
        if not versions or versions[0] < 1 or versions != sorted(set(versions)):
            raise ValueError(f"{self.name}: versions must be increasing from 1: {versions}")

    @property
    def latest(self) -> int:
        return self.migrations[-1].version


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    component: str
    version: int
    name: str
    applied_at: datetime  # UTC


def migrate(conn: Connection, component: Component) -> list[Migration]:
    """Apply the component's pending migrations in order, each in one transaction; the ones
    this call applied (none when another process got there first). `conn` is in autocommit."""
    done: list[Migration] = []
    while True:
        step = _apply_next(conn, component)
        if step is None:
            return done
        done.append(step)


def _apply_next(conn: Connection, component: Component) -> Migration | None:
    step: Migration | None = None
    try:
        with conn.transaction():
            _lock(conn)
            recorded = _recorded_versions(conn, component.name)
            _refuse_newer(component, recorded)
            step = next((m for m in component.migrations if m.version not in recorded), None)
            if step is None:
                return None
            conn.execute(step.sql.encode())
            conn.execute(
                "INSERT INTO ragcode_migrations (component, version, name) VALUES (%s, %s, %s)",
                (component.name, step.version, step.name),
            )
    except psycopg.Error as exc:
        what = f"{step.version} ({step.name})" if step else "적용 기록 확인"
        raise MigrationError(
            f"PostgreSQL 스키마 마이그레이션 실패 [{component.name} {what}]: {first_line(exc)}. "
            "데이터베이스 권한(CREATE)과 연결을 확인하세요. 실패한 단계는 모두 되돌려졌습니다"
        ) from exc
    return step


def _lock(conn: Connection) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (MIGRATION_LOCK,))
    # Created only when missing: even CREATE TABLE IF NOT EXISTS needs the CREATE right, which
    # the servers' role may lack when an owner role ran `ragcode migrate` beforehand.
    if conn.execute("SELECT to_regclass('ragcode_migrations')").fetchone() == (None,):
        conn.execute(_TABLE)


def _recorded_versions(conn: Connection, component: str) -> set[int]:
    rows = conn.execute(
        "SELECT version FROM ragcode_migrations WHERE component = %s", (component,)
    ).fetchall()
    return {int(row[0]) for row in rows}


def _refuse_newer(component: Component, recorded: set[int]) -> None:
    newest = max(recorded, default=0)
    if newest > component.latest:
        raise MigrationError(
            f"데이터베이스의 '{component.name}' 스키마 버전({newest})이 이 ragcode가 아는 "
            f"버전({component.latest})보다 새롭습니다. 더 새로운 ragcode가 이 데이터베이스를 "
            "갱신했습니다: 모든 서버와 작업자를 같은 새 버전으로 올리세요 (예전 버전으로 "
            "쓰면 데이터가 손상될 수 있어 열지 않습니다)"
        )


# --- for `ragcode migrate` and status output -------------------------------------------------
def known_components() -> tuple[Component, ...]:
    """Every component of the PostgreSQL adapters, in the order `migrate_all` applies them.
    Imported here, when asked: each component's SQL lives next to its adapter."""
    from ragcode.accounts.apikeys_postgres import SCHEMA as apikeys
    from ragcode.accounts.postgres import SCHEMA as accounts
    from ragcode.events.postgres import SCHEMA as events
    from ragcode.history.postgres import SCHEMA as history
    from ragcode.limits.postgres import SCHEMA as limits
    from ragcode.repos.postgres import SCHEMA as repos
    from ragcode.uploads.postgres import SCHEMA as uploads

    return (accounts, history, uploads, limits, events, apikeys, repos)  # apikeys: after accounts


def migrate_all(conn: Connection) -> list[tuple[str, Migration]]:
    """Bring every known component up to date (what opening each adapter would do)."""
    return [(c.name, step) for c in known_components() for step in migrate(conn, c)]


def applied(conn: Connection) -> list[AppliedMigration]:
    """Every recorded migration, by component and version (none before the first start)."""
    if conn.execute("SELECT to_regclass('ragcode_migrations')").fetchone() == (None,):
        return []
    rows = conn.execute(
        "SELECT component, version, name, applied_at FROM ragcode_migrations"
        " ORDER BY component, version"
    ).fetchall()
    return [AppliedMigration(str(r[0]), int(r[1]), str(r[2]), r[3].astimezone(UTC)) for r in rows]


def pending(
    conn: Connection, components: Iterable[Component] | None = None
) -> list[tuple[str, Migration]]:
    """The migrations not yet recorded (of `components`, by default every known one), in the
    order they would be applied; MigrationError if the database is newer than this code."""
    recorded: dict[str, set[int]] = {}
    for row in applied(conn):
        recorded.setdefault(row.component, set()).add(row.version)
    result: list[tuple[str, Migration]] = []
    for component in known_components() if components is None else components:
        versions = recorded.get(component.name, set())
        _refuse_newer(component, versions)
        result += [(component.name, m) for m in component.migrations if m.version not in versions]
    return result
