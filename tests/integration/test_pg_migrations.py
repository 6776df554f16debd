"""The versioned migrations of the PostgreSQL adapters (src/ragcode/db/pg_migrations.py), on a
real PostgreSQL 18: applied once, in order, one transaction each; several replicas starting at
once apply each migration exactly once; a database newer than the code is refused."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest

from ragcode.accounts.postgres import SCHEMA as ACCOUNTS
from ragcode.db.pg_migrations import (
    Component,
    Migration,
    MigrationError,
    applied,
    known_components,
    migrate,
    migrate_all,
    pending,
)
from ragcode.history.postgres import SCHEMA as HISTORY
from ragcode.history.postgres import PostgresHistory
from ragcode.history.protocol import HistoryError, NewTurn
from ragcode.limits.postgres import SCHEMA as LIMITS
from ragcode.store.pg_pool import Connection
from ragcode.uploads.postgres import SCHEMA as UPLOADS
from ragcode.uploads.postgres import PostgresRegistry
from ragcode.uploads.protocol import RegistryError

pytestmark = pytest.mark.integration

Connect = Callable[[], Connection]

# Deliberately not idempotent (no IF NOT EXISTS): applied twice, version 1 fails and version 2
# counts two rows.
WIDGETS = Component("widgets", (
    Migration(1, "table", "CREATE TABLE widgets (n integer NOT NULL)"),
    Migration(2, "first row", "INSERT INTO widgets VALUES (1)"),
))  # fmt: skip


@pytest.fixture
def connect(pg_database: str) -> Iterator[Connect]:
    opened: list[Connection] = []

    def opener() -> Connection:
        conn = psycopg.connect(pg_database, autocommit=True)
        opened.append(conn)
        return conn

    yield opener
    for conn in opened:
        conn.close()


def versions(conn: Connection, component: str) -> list[int]:
    return [row.version for row in applied(conn) if row.component == component]


def test_applies_in_order_once_and_a_second_run_is_a_no_op(connect: Connect) -> None:
    conn = connect()
    assert applied(conn) == []
    assert [(name, m.version) for name, m in pending(conn, [WIDGETS])] == [
        ("widgets", 1),
        ("widgets", 2),
    ]
    assert [m.version for m in migrate(conn, WIDGETS)] == [1, 2]
    first = applied(conn)
    assert [(r.component, r.version, r.name) for r in first] == [
        ("widgets", 1, "table"),
        ("widgets", 2, "first row"),
    ]
    assert all(r.applied_at.utcoffset() is not None for r in first)

    assert migrate(conn, WIDGETS) == []
    assert applied(conn) == first  # same rows, same times
    assert pending(conn, [WIDGETS]) == []
    assert conn.execute("SELECT count(*) FROM widgets").fetchone() == (1,)


def test_a_new_version_is_applied_on_top(connect: Connect) -> None:
    conn = connect()
    migrate(conn, WIDGETS)
    newer = Component("widgets", (*WIDGETS.migrations, Migration(3, "column", (
        "ALTER TABLE widgets ADD COLUMN label text NOT NULL DEFAULT 'x'"
    ))))  # fmt: skip
    assert [m.version for _, m in pending(conn, [newer])] == [3]
    assert [m.version for m in migrate(conn, newer)] == [3]
    assert conn.execute("SELECT n, label FROM widgets").fetchall() == [(1, "x")]


def test_concurrent_first_starts_apply_each_migration_once(connect: Connect) -> None:
    """Eight replicas start on an empty database at once: no CREATE TABLE race on the
    bookkeeping table, no migration run twice, every caller returns with the schema ready."""
    conns = [connect() for _ in range(8)]
    barrier = threading.Barrier(len(conns))
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def start(conn: Connection) -> None:
        try:
            barrier.wait()
            results.append([m.version for m in migrate(conn, WIDGETS)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(conn,)) for conn in conns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(v for done in results for v in done) == [1, 2]  # each applied by one caller
    assert versions(conns[0], "widgets") == [1, 2]
    assert conns[0].execute("SELECT count(*) FROM widgets").fetchone() == (1,)


def test_adapters_opening_at_once_on_an_empty_database(pg_database: str, connect: Connect) -> None:
    """The real components: two replicas' history and registry open together."""
    opened: list[PostgresHistory | PostgresRegistry] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_one(kind: type[PostgresHistory] | type[PostgresRegistry]) -> None:
        try:
            barrier.wait()
            opened.append(kind(pg_database))
        except BaseException as exc:
            errors.append(exc)

    kinds = [PostgresHistory, PostgresRegistry, PostgresHistory, PostgresRegistry]
    threads = [threading.Thread(target=open_one, args=(kind,)) for kind in kinds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for adapter in opened:
        adapter.close()
    assert errors == []
    conn = connect()
    assert versions(conn, "history") == [m.version for m in HISTORY.migrations]
    assert versions(conn, "uploads") == [m.version for m in UPLOADS.migrations]
    assert pending(conn, [HISTORY, UPLOADS]) == []
    assert [name for name, _ in pending(conn, [ACCOUNTS, LIMITS])] == ["accounts", "limits"]


def test_a_database_newer_than_the_code_is_refused(connect: Connect) -> None:
    conn = connect()
    migrate(conn, WIDGETS)
    conn.execute(
        "INSERT INTO ragcode_migrations (component, version, name) VALUES ('widgets', 7, 'new')"
    )
    with pytest.raises(MigrationError, match=r"'widgets' 스키마 버전\(7\).*버전\(2\)보다 새롭"):
        migrate(conn, WIDGETS)
    with pytest.raises(MigrationError, match="새로운 ragcode"):
        pending(conn, [WIDGETS])
    assert conn.execute("SELECT count(*) FROM widgets").fetchone() == (1,)


def test_an_adapter_refuses_a_newer_database_with_its_own_error(
    pg_database: str, connect: Connect
) -> None:
    PostgresHistory(pg_database).close()
    connect().execute(
        "INSERT INTO ragcode_migrations (component, version, name) VALUES ('history', 99, 'x')"
    )
    with pytest.raises(HistoryError, match=r"'history' 스키마 버전\(99\)"):
        PostgresHistory(pg_database)
    PostgresRegistry(pg_database).close()  # other components are not affected


def test_a_failing_migration_is_rolled_back_and_earlier_ones_stay(connect: Connect) -> None:
    broken = Component("widgets", (
        *WIDGETS.migrations,
        Migration(3, "half", "CREATE TABLE gadgets (n integer); SELECT no_such_function()"),
    ))  # fmt: skip
    conn = connect()
    with pytest.raises(MigrationError, match=r"\[widgets 3 \(half\)\].*no_such_function"):
        migrate(conn, broken)
    assert versions(conn, "widgets") == [1, 2]
    assert conn.execute("SELECT to_regclass('gadgets')").fetchone() == (None,)


def test_a_migration_that_cannot_run_names_its_component(connect: Connect) -> None:
    """A role without the CREATE right on the schema (PostgreSQL 15+: the default for
    roles other than the database owner) gets the port's error naming the component."""
    conn = connect()
    role = f"reader_{uuid.uuid4().hex[:8]}"
    conn.execute(f"CREATE ROLE {role} LOGIN")
    conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    info = conn.info
    try:
        with pytest.raises(
            RegistryError, match=r"마이그레이션 실패 \[uploads .*permission denied.*CREATE"
        ):
            PostgresRegistry(f"postgresql://{role}@{info.host}:{info.port}/{info.dbname}")
    finally:
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")


def test_a_role_without_create_rights_opens_a_migrated_database(connect: Connect) -> None:
    """The owner migrates once (`ragcode migrate`); servers then run as a role that may only
    read and write rows."""
    conn = connect()
    migrate_all(conn)
    role = f"server_{uuid.uuid4().hex[:8]}"
    conn.execute(f"CREATE ROLE {role} LOGIN")
    conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    info = conn.info
    try:
        history = PostgresHistory(f"postgresql://{role}@{info.host}:{info.port}/{info.dbname}")
        try:
            stored = history.add(NewTurn(1, "r", "normal", "질문", "답"))
            assert history.list(1, 5) == [stored]
        finally:
            history.close()
    finally:
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")


def test_migrate_all_brings_every_component_up_to_date(connect: Connect) -> None:
    """What a `ragcode migrate` command runs and prints."""
    conn = connect()
    names = [c.name for c in known_components()]
    assert names == ["accounts", "history", "uploads", "limits", "events", "apikeys", "repos"]
    todo = pending(conn)
    assert sorted({name for name, _ in todo}) == sorted(names)
    assert [(n, m.version) for n, m in migrate_all(conn)] == [(n, m.version) for n, m in todo]
    assert pending(conn) == [] and migrate_all(conn) == []
    tables = {"account_users", "account_sessions", "history_turns", "upload_documents",
              "limit_attempts", "ragcode_large_events", "api_keys", "git_repos"}  # fmt: skip
    found = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    assert tables <= {str(row[0]) for row in found}


@pytest.mark.parametrize(
    "versions_",
    [(), (0,), (2, 1), (1, 1), (1, 3, 2)],
)
def test_component_versions_must_increase_from_one(versions_: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="increasing"):
        Component("x", tuple(Migration(v, f"m{v}", "SELECT 1") for v in versions_))
