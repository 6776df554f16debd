"""The two sides of a copy, opened as their adapters: the embedded SQLite files of a data
directory, and a PostgreSQL database. Besides app.py this is the one place that names
adapters: moving data between two named backends is what `ragcode migrate` is for (app.py
picks one backend by configuration, and the copy needs both at once)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ragcode.accounts.apikeys_sqlite import SqliteApiKeys
from ragcode.accounts.sqlite import SqliteAccounts
from ragcode.app import INDEX_FILE, REPOS_DB, WEB_DB
from ragcode.history.sqlite import SqliteHistory
from ragcode.repos.sqlite import SqliteRepos
from ragcode.store.protocol import StoreError
from ragcode.store.sqlite_store import DEFAULT_COLLECTION, SqliteStore
from ragcode.uploads.sqlite import SqliteRegistry

if TYPE_CHECKING:  # the `postgres` extra is imported when a target is opened
    from ragcode.accounts.apikeys_postgres import PostgresApiKeys
    from ragcode.accounts.postgres import PostgresAccounts
    from ragcode.history.postgres import PostgresHistory
    from ragcode.migrate.journal import MigrationJournal
    from ragcode.repos.postgres import PostgresRepos
    from ragcode.store.postgres import PostgresStore
    from ragcode.uploads.postgres import PostgresRegistry


class NothingToCopyError(StoreError):
    """The data directory holds no embedded index and no web database."""


@dataclass(slots=True)
class Embedded:
    """The source. `web` is None without a web.sqlite3 (the web app never ran); `stores` is
    empty without an index.sqlite3, and otherwise holds every collection, `code` first;
    `repos` is None without a repos.sqlite3 (no `ragcode repo add` ever)."""

    data_dir: Path
    accounts: SqliteAccounts | None
    history: SqliteHistory | None
    registry: SqliteRegistry | None
    stores: dict[str, SqliteStore]
    api_keys: SqliteApiKeys | None = None
    repos: SqliteRepos | None = None

    def close(self) -> None:
        web = (self.api_keys, self.accounts, self.history, self.registry, self.repos)
        for closable in (*web, *self.stores.values()):
            if closable is not None:
                closable.close()


def open_embedded(data_dir: Path) -> Embedded:
    """Open only the files that exist: opening a missing one would create it."""
    index, web, repos = data_dir / INDEX_FILE, data_dir / WEB_DB, data_dir / REPOS_DB
    if not index.is_file() and not web.is_file() and not repos.is_file():
        raise NothingToCopyError(
            f"옮길 내장 데이터가 없습니다: {data_dir} 에 {INDEX_FILE} 도 {WEB_DB} 도 없습니다. "
            "--data-dir 로 데이터 디렉터리를 지정하세요"
        )
    side = Embedded(data_dir, None, None, None, {})
    with contextlib.ExitStack() as opened:  # a failure closes what was opened before it
        opened.callback(side.close)
        if index.is_file():
            first = side.stores[DEFAULT_COLLECTION] = SqliteStore(index)
            for name in first.collections():
                side.stores.setdefault(name, SqliteStore(index, name))
        if web.is_file():
            side.accounts = SqliteAccounts(web)
            side.api_keys = SqliteApiKeys(web)  # after the accounts: its table refers to theirs
            side.history = SqliteHistory(web)
            side.registry = SqliteRegistry(web)
        if repos.is_file():
            side.repos = SqliteRepos(repos)
        opened.pop_all()
    return side


@dataclass(slots=True)
class ScaleOut:
    """The target: one PostgreSQL database, a store per collection opened when needed."""

    url: str
    journal: MigrationJournal
    accounts: PostgresAccounts
    history: PostgresHistory
    registry: PostgresRegistry
    api_keys: PostgresApiKeys
    repos: PostgresRepos
    schema_applied: list[str] = field(default_factory=list)  # migrations applied on open
    stores: dict[str, PostgresStore] = field(default_factory=dict)

    def store(self, collection: str) -> PostgresStore:
        from ragcode.store.postgres import PostgresStore

        if collection not in self.stores:
            self.stores[collection] = PostgresStore(self.url, collection)
        return self.stores[collection]

    def collections(self, also: list[str]) -> list[str]:
        """The target's collections and `also` (the source's), in one list."""
        found = self.store(DEFAULT_COLLECTION).collections()
        return sorted(set(found) | set(also) | {DEFAULT_COLLECTION})

    def close(self) -> None:
        for store in self.stores.values():
            store.close()
        web = (self.api_keys, self.accounts, self.history, self.registry, self.repos)
        for closable in (*web, self.journal):
            closable.close()


def open_scale_out(url: str) -> ScaleOut:
    """Opening the adapters creates or migrates their tables (as a server's first start
    would): a new database needs no other preparation than `CREATE EXTENSION vector` where
    ragcode's role may not create it."""
    try:
        from ragcode.accounts.apikeys_postgres import PostgresApiKeys
        from ragcode.accounts.postgres import PostgresAccounts
        from ragcode.history.postgres import PostgresHistory
        from ragcode.migrate.journal import MigrationJournal
        from ragcode.repos.postgres import PostgresRepos
        from ragcode.uploads.postgres import PostgresRegistry
    except ImportError as exc:
        raise StoreError(
            "PostgreSQL 로 옮기려면 psycopg 와 pgvector 가 필요합니다: "
            "pip install 'ragcode[postgres]'"
        ) from exc
    with contextlib.ExitStack() as opened:  # a failure closes what was opened before it
        journal = MigrationJournal(url)
        opened.callback(journal.close)
        applied = journal.prepare_schema()
        accounts = PostgresAccounts(url)
        opened.callback(accounts.close)
        history = PostgresHistory(url)
        opened.callback(history.close)
        registry = PostgresRegistry(url)
        opened.callback(registry.close)
        api_keys = PostgresApiKeys(url)
        opened.callback(api_keys.close)
        repos = PostgresRepos(url)
        opened.pop_all()
    return ScaleOut(url, journal, accounts, history, registry, api_keys, repos, applied)
