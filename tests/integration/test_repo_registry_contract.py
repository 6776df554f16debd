"""The git repository registry contract on both backends: the embedded SQLite file and a real
PostgreSQL (tests/pg_server.py); two adapters on one database stand for two processes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ragcode.repos.protocol import (
    Repo,
    RepoError,
    RepoExistsError,
    RepoNotFoundError,
    RepoRegistry,
    RepoSyncConflictError,
)
from ragcode.repos.sqlite import SqliteRepos

pytestmark = pytest.mark.integration

Opener = Callable[[], RepoRegistry]


@pytest.fixture(params=["sqlite", "postgres"])
def open_registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    opened: list[RepoRegistry] = []
    if request.param == "sqlite":

        def opener() -> RepoRegistry:
            return SqliteRepos(tmp_path / "repos.sqlite3")

    else:
        from ragcode.repos.postgres import PostgresRepos

        url = request.getfixturevalue("pg_database")

        def opener() -> RepoRegistry:
            return PostgresRepos(url)

    def tracked() -> RepoRegistry:
        registry = opener()
        opened.append(registry)
        return registry

    yield tracked
    for registry in opened:
        registry.close()


def repo(name: str) -> Repo:
    return Repo(
        name=name, path=f"/src/{name}", branch="main", root=f"/data/repos/{name}/tree",
        include=("*.py", "src/*"), exclude=("테스트/*",),
    )  # fmt: skip


def test_add_get_and_list(open_registry: Opener) -> None:
    registry = open_registry()
    before = time.time() - 5
    added = registry.add(repo("결제-서비스"))
    assert added.created_at >= before and added.commit is None and added.synced_at is None
    assert registry.get("결제-서비스") == added
    registry.add(repo("api"))
    assert [r.name for r in registry.all()] == ["api", "결제-서비스"]
    assert registry.get("missing") is None
    other = open_registry()  # another process sees it
    found = other.get("결제-서비스")
    assert found is not None
    assert (found.include, found.exclude, found.root) == (
        ("*.py", "src/*"), ("테스트/*",), "/data/repos/결제-서비스/tree",
    )  # fmt: skip


def test_a_name_is_registered_once(open_registry: Opener) -> None:
    registry = open_registry()
    registry.add(repo("api"))
    with pytest.raises(RepoExistsError, match="이미 등록된 저장소 이름입니다: api"):
        open_registry().add(repo("api"))
    assert len(registry.all()) == 1


def test_record_sync_and_remove(open_registry: Opener) -> None:
    registry = open_registry()
    registry.add(repo("api"))
    registry.record_sync("api", "a" * 40, 1_700_000_000.5, None)
    synced = open_registry().get("api")
    assert synced is not None and synced.commit == "a" * 40
    assert synced.synced_at == pytest.approx(1_700_000_000.5, abs=1e-3)
    with pytest.raises(RepoNotFoundError, match="등록되지 않은 저장소입니다: nope"):
        registry.record_sync("nope", "b" * 40, 1.0, None)
    assert registry.remove("api") and not registry.remove("api")
    assert registry.get("api") is None and registry.all() == []


def test_record_sync_is_compare_and_set(open_registry: Opener) -> None:
    """Two syncs that started from the same commit: the slower one records nothing."""
    first, second = open_registry(), open_registry()
    first.add(repo("api"))
    first.record_sync("api", "a" * 40, 10.0, None)
    first.record_sync("api", "c" * 40, 30.0, "a" * 40)  # the faster sync, to a newer commit
    with pytest.raises(RepoSyncConflictError, match="다른 동기화가 먼저 기록했습니다") as caught:
        second.record_sync("api", "b" * 40, 20.0, "a" * 40)  # started from "a" too
    assert "c" * 12 in str(caught.value) and "--full api" in str(caught.value)
    with pytest.raises(RepoSyncConflictError):
        second.record_sync("api", "b" * 40, 20.0, None)  # expected nothing recorded yet
    found = second.get("api")
    assert found is not None and found.commit == "c" * 40
    assert found.synced_at == pytest.approx(30.0, abs=1e-3)
    second.record_sync("api", "d" * 40, 40.0, "c" * 40)
    assert (first.get("api") or repo("x")).commit == "d" * 40


def test_sync_lock_is_shared_by_every_process_on_postgres(open_registry: Opener) -> None:
    first, second = open_registry(), open_registry()
    first.add(repo("api"))
    with first.sync_lock("api"):
        with second.sync_lock("other"):  # one lock per repository
            pass
        if isinstance(first, SqliteRepos):  # one machine: the folder's flock does this
            with second.sync_lock("api"):
                pass
        else:
            busy = pytest.raises(RepoError, match="다른 작업이 동기화하고 있습니다")
            with busy, second.sync_lock("api"):
                pass
    with second.sync_lock("api"):  # released
        pass
