"""`ragcode migrate` moves the git repository registry (`ragcode repo`) from `repos.sqlite3`
into PostgreSQL's `git_repos`, each repository as it was (path, branch, index root under the
data directory, globs, the indexed commit and the times), checks the count like the other
components', and a copy run again adds nothing. (No index here, so no model.)"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ragcode import cli
from ragcode.app import REPOS_DB
from ragcode.migrate import web_copy
from ragcode.migrate.journal import MigrationJournal
from ragcode.repos.postgres import PostgresRepos
from ragcode.repos.protocol import Repo
from ragcode.repos.sqlite import SqliteRepos

pytestmark = pytest.mark.integration


def embedded_repos(data_dir: Path) -> list[Repo]:
    """Two registered repositories: one synced (a commit recorded), one not yet."""
    data_dir.mkdir(parents=True)
    registry = SqliteRepos(data_dir / REPOS_DB)
    try:
        registry.add(Repo(
            "shop", str(data_dir / "repos" / "shop" / "mirror.git"), "main",
            str(data_dir / "repos" / "shop" / "tree"), ("src/*", "*.py"), ("테스트/*",),
        ))  # fmt: skip
        registry.record_sync("shop", "a" * 40, 1_764_600_000.25, None)
        registry.add(Repo("lib", "/src/lib", "develop", str(data_dir / "repos" / "lib" / "tree")))
        return registry.all()
    finally:
        registry.close()


def migrate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["migrate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def same(copied: list[Repo], original: list[Repo]) -> None:
    """Equal but for the times' precision (PostgreSQL keeps microseconds)."""
    assert [replace(r, created_at=0.0, synced_at=None) for r in copied] == [
        replace(r, created_at=0.0, synced_at=None) for r in original
    ]
    for mine, theirs in zip(copied, original, strict=True):
        assert mine.created_at == pytest.approx(theirs.created_at, abs=1e-5)
        assert (mine.synced_at is None) == (theirs.synced_at is None)
        if mine.synced_at is not None:
            assert mine.synced_at == pytest.approx(theirs.synced_at or 0.0, abs=1e-5)


def test_the_repository_registry_moves_to_postgres(
    tmp_path: Path, pg_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    original = embedded_repos(data_dir)
    code, out, _ = migrate(capsys, "--to", pg_database, "--data-dir", str(data_dir), "--dry-run")
    assert code == 0 and "git 저장소 2개" in out
    code, out, err = migrate(capsys, "--to", pg_database, "--data-dir", str(data_dir))
    assert code == 0, err
    assert "← 다름" not in out and "복사를 마쳤습니다" in out
    copied_line = next(line for line in out.splitlines() if line.strip().startswith("git 저장소"))
    assert "2개" in copied_line
    assert str(data_dir / "repos") in out  # the data dir must be at the same path

    registry, old = PostgresRepos(pg_database), SqliteRepos(data_dir / REPOS_DB)
    try:
        same(registry.all(), original)
        shop = registry.get("shop")
        assert shop is not None and shop.commit == "a" * 40
        # The next sync goes on from the copied commit (compare-and-set over it).
        registry.record_sync("shop", "b" * 40, 1_764_700_000.0, "a" * 40)
        again = web_copy.copy_repos(old, registry)  # a copy run again adds nothing
        assert (again.offered, again.added) == (2, 0)
        assert registry.get("shop") == replace(shop, commit="b" * 40, synced_at=1_764_700_000.0)
    finally:
        registry.close()
        old.close()
    # A finished copy is refused like any target holding data.
    code, _, err = migrate(capsys, "--to", pg_database, "--data-dir", str(data_dir))
    assert code != 0 and "git 저장소 2개" in err


def test_an_interrupted_copy_goes_on(
    tmp_path: Path, pg_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """One repository already in the target from a run that stopped: the run again adds the
    other one and finishes."""
    data_dir = tmp_path / "data"
    original = embedded_repos(data_dir)
    journal = MigrationJournal(pg_database)
    try:
        journal.prepare_schema()
        journal.begin(str(data_dir.resolve()), "elsewhere")
    finally:
        journal.close()
    registry = PostgresRepos(pg_database)
    try:
        assert registry.import_repos(original[:1]) == 1
    finally:
        registry.close()
    code, out, err = migrate(capsys, "--to", pg_database, "--data-dir", str(data_dir))
    assert code == 0, err + out
    assert "이어서 복사합니다" in out and "이미 있던 1개는 그대로" in out
    registry = PostgresRepos(pg_database)
    try:
        same(registry.all(), original)
    finally:
        registry.close()
