"""Copying what the web app keeps besides the index: accounts with their live sessions, the
API keys of the OpenAI-compatible API (their hashes: the same keys keep working), chat history
and the upload registry. Each component is one transaction on the target (a failure
adds nothing of it), and adds only the rows it does not hold yet (ids kept), so running the
copy again after a failure finishes it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from ragcode.accounts.apikeys import ApiKeysExport, ApiKeysImport
from ragcode.accounts.protocol import AccountsExport, AccountsImport
from ragcode.history.protocol import HistoryExport, HistoryImport, StoredTurn
from ragcode.migrate.inventory import sessions_to_copy
from ragcode.repos.protocol import RepoExport, RepoImport
from ragcode.uploads.protocol import RegistryExport, RegistryImport

HISTORY_PAGE = 1000  # turns read from the source at a time


@dataclass(frozen=True, slots=True)
class Copied:
    """One component: how many rows the source offered, how many were added (fewer when a
    copy is run again), and how long it took."""

    what: str  # Korean, for the summary
    offered: int
    added: int
    seconds: float


def copy_accounts(source: AccountsExport, target: AccountsImport, now: datetime) -> list[Copied]:
    started = time.perf_counter()
    users = source.export_users()
    sessions = sessions_to_copy(users, source.export_sessions(), now)
    before = (len(target.export_users()), len(target.export_sessions()))
    target.import_accounts(users, sessions)
    after = (len(target.export_users()), len(target.export_sessions()))
    seconds = time.perf_counter() - started
    return [
        Copied("사용자", len(users), after[0] - before[0], seconds),
        Copied("로그인 세션", len(sessions), after[1] - before[1], 0.0),
    ]


def copy_api_keys(source: ApiKeysExport, target: ApiKeysImport) -> Copied:
    """After the accounts: each key refers to its user."""
    started = time.perf_counter()
    keys = source.export_keys()
    added = target.import_keys(keys)
    return Copied("API 키", len(keys), added, time.perf_counter() - started)


def copy_conversations(source: HistoryExport, target: HistoryImport) -> Copied:
    """Before the turns: each turn names its conversation. Ids the source gave to deleted
    conversations are not given again by the target."""
    started = time.perf_counter()
    conversations = source.export_conversations()
    added = target.import_conversations(conversations, source.last_ids()[0])
    return Copied("대화 목록", len(conversations), added, time.perf_counter() - started)


def copy_history(source: HistoryExport, target: HistoryImport, page: int = HISTORY_PAGE) -> Copied:
    started = time.perf_counter()
    offered = 0

    def turns() -> Iterator[StoredTurn]:
        nonlocal offered
        after = 0
        while batch := source.export_turns(after, page):
            offered += len(batch)
            yield from batch
            after = batch[-1].id

    added = target.import_turns(turns(), source.last_ids()[1])
    return Copied("대화 기록", offered, added, time.perf_counter() - started)


def copy_registry(source: RegistryExport, target: RegistryImport) -> Copied:
    started = time.perf_counter()
    documents = source.all()
    added = target.import_documents(documents)
    return Copied("업로드", len(documents), added, time.perf_counter() - started)


def copy_repos(source: RepoExport, target: RepoImport) -> Copied:
    """The git repository registry (`ragcode repo`): each repository's path, branch, index
    root and indexed commit as they are, so the next sync goes on from that commit. The paths
    point into the data directory (index roots, mirrors), which the migrated servers must see
    at the same path, like the uploads."""
    started = time.perf_counter()
    repos = source.all()
    added = target.import_repos(repos)
    return Copied("git 저장소", len(repos), added, time.perf_counter() - started)
