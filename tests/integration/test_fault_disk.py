"""A data directory that runs out of space or turns read-only (a small tmpfs of our own).

What the user must get: a clear Korean error (exit code != 0, no traceback) or a command that
works; never a damaged index. After the space is freed or the file system is writable again,
every command works and a re-run completes the index.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fault_support import (
    FUNCTIONS_PER_FILE,
    KillRun,
    check_consistent,
    code_corpus,
    ragcode,
)

pytestmark = pytest.mark.integration

# 60 files of 8 functions make a ~2.5 MB index; with the WAL (checkpointed at ~4 MB) the whole
# run needs less than 10 MB, and does not fit in the 1 MB left beside the filler.
PROJECT_FILES = 60
TMPFS_SIZE = "12m"
FREE_WHILE_FULL = 1_000_000
# What a clear disk-space message talks about (not a pinned wording).
SPACE_WORDS = re.compile(r"디스크|공간|용량")


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount_point)],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], check=True)


def env_for(data: Path) -> dict[str, str]:
    """No models are needed: `--no-summaries` and `search --no-expand` never load the LLM."""
    return {**os.environ, "RAGCODE_DATA_DIR": str(data)}


def fill(mount_point: Path, leave: int) -> Path:
    """A filler file that leaves `leave` bytes free (0: none at all)."""
    filler = mount_point / "filler"
    stats = os.statvfs(mount_point)
    size = max(stats.f_bavail * stats.f_frsize - leave, 0)
    with filler.open("wb") as out:
        block = b"\0" * (1 << 20)
        try:
            while size > 0:
                size -= out.write(block[: min(size, len(block))])
        except OSError:  # leave == 0: the last block does not fit
            pass
    return filler


def assert_clear_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("오류:"), result.stderr
    return last


def remount(mount_point: Path, mode: str) -> None:
    result = subprocess.run(
        ["mount", "-o", f"remount,{mode}", str(mount_point)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_index_on_a_full_disk_fails_clearly_keeps_the_index_and_resumes(
    tmp_path: Path, tmpfs: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    corpus = code_corpus(project, PROJECT_FILES)
    for name in corpus.writers:
        corpus.write(name, 0)
    data = tmpfs / "data"
    env = env_for(data)
    filler = fill(tmpfs, FREE_WHILE_FULL)

    full = ragcode("index", str(project), "--no-summaries", env=env)
    message = assert_clear_error(full)
    assert SPACE_WORDS.search(message), f"the error should say the disk is full: {message}"
    indexed = check_consistent(data / "index.sqlite3", "code", corpus)
    assert indexed < PROJECT_FILES
    status = ragcode("status", "--json", env=env)  # reading still works on the full disk
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["files"] == indexed

    filler.unlink()
    rerun = ragcode("index", str(project), "--no-summaries", env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert f"그대로 {indexed}" in rerun.stderr  # what was committed is kept, not redone
    assert check_consistent(data / "index.sqlite3", "code", corpus) == PROJECT_FILES
    counts = json.loads(ragcode("status", "--json", env=env).stdout)
    assert counts["units"] == PROJECT_FILES * FUNCTIONS_PER_FILE


def test_no_space_at_all_gives_a_clear_error_and_loses_nothing(tmp_path: Path, tmpfs: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    corpus = code_corpus(project, 10)
    for name in corpus.writers:
        corpus.write(name, 0)
    data = tmpfs / "data"
    env = env_for(data)
    assert ragcode("index", str(project), "--no-summaries", env=env).returncode == 0
    corpus.write("module_000.py", 1)  # a change that the next run has to write
    filler = fill(tmpfs, 0)

    for args in (
        ("status", "--json"),
        ("search", "compute metric", "--no-expand", "--json"),
        ("index", str(project), "--no-summaries"),
    ):
        result = ragcode(*args, env=env)
        if result.returncode == 0 and args[0] != "index":
            assert json.loads(result.stdout), args  # it worked despite the full disk
            continue
        message = assert_clear_error(result)
        assert SPACE_WORDS.search(message), f"{args[0]}: should say the disk is full: {message}"

    filler.unlink()
    assert check_consistent(data / "index.sqlite3", "code", corpus) == 10
    rerun = ragcode("index", str(project), "--no-summaries", env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert check_consistent(data / "index.sqlite3", "code", corpus) == 10
    assert "변경 1," in rerun.stderr


def snapshot(data: Path) -> dict[str, str]:
    """Every file under the data directory (derived indexes in subdirectories included)."""
    return {
        str(path.relative_to(data)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(data.rglob("*"))
        if path.is_file()
    }


def test_read_only_data_directory_never_breaks_the_index(tmp_path: Path, tmpfs: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    corpus = code_corpus(project, 30)
    for name in corpus.writers:
        corpus.write(name, 0)
    data = tmpfs / "data"
    env = env_for(data)
    assert ragcode("index", str(project), "--no-summaries", env=env).returncode == 0
    # A writer killed mid-run leaves a WAL behind: the read-only file system keeps it as is.
    for name in list(corpus.writers)[:20]:
        corpus.write(name, 1)
    run = KillRun(("index", str(project), "--no-summaries"), data / "index.sqlite3", "code", env)
    committed, _ = run.kill_after(0.3)
    assert committed > 0
    before = snapshot(data)
    remount(tmpfs, "ro")

    for args in (
        ("status", "--json"),
        ("search", "compute metric 3 of module 2", "--no-expand", "--json"),
        ("index", str(project), "--no-summaries"),
        ("remove", str(project / "module_001.py")),
        ("docs", "status", "--json"),
    ):
        result = ragcode(*args, env=env)
        if result.returncode == 0 and args[-1] == "--json":
            assert json.loads(result.stdout), args  # works read-only
            continue
        message = assert_clear_error(result)  # writing commands must fail: the disk is ro
        assert str(data) in message or "읽기 전용" in message, message
    assert snapshot(data) == before

    remount(tmpfs, "rw")
    indexed = check_consistent(data / "index.sqlite3", "code", corpus)
    status = ragcode("status", "--json", env=env)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["files"] == indexed == 30
    rerun = ragcode("index", str(project), "--no-summaries", env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert check_consistent(data / "index.sqlite3", "code", corpus) == 30
    search = ragcode("search", "compute metric 3 of module 2", "--no-expand", "--json", env=env)
    assert search.returncode == 0 and json.loads(search.stdout), search.stderr
