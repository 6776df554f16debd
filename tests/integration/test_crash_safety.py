"""A process killed mid-ingestion leaves an index that opens, answers, and resumes."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

FILES = 60
FUNCTIONS_PER_FILE = 8


def write_many_files(root: Path) -> None:
    for file_index in range(FILES):
        lines = []
        for function_index in range(FUNCTIONS_PER_FILE):
            name = f"compute_metric_{file_index}_{function_index}"
            lines.append(
                f"def {name}(values):\n"
                f'    """Compute metric {function_index} of module {file_index}."""\n'
                f"    total = sum(values) * {function_index + 1}\n"
                f"    return total / max(len(values), 1)\n"
            )
        (root / f"module_{file_index:03d}.py").write_text("\n\n".join(lines), encoding="utf-8")


def ragcode(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragcode.cli", *args],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def committed_files(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM files").fetchone()[0])
    except sqlite3.OperationalError:  # schema not created yet
        return 0


def test_killed_indexing_leaves_consistent_index_and_resumes(
    tmp_path: Path, cli_env: dict[str, str], data_dir: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    write_many_files(project)
    db = data_dir / "index.sqlite3"
    process = subprocess.Popen(
        [sys.executable, "-m", "ragcode.cli", "index", str(project), "--no-summaries"],
        env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while committed_files(db) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    partial = committed_files(db)
    assert 5 <= partial < FILES, "the kill must land mid-ingestion"

    # The half-built index opens and answers.
    status = ragcode("status", "--json", env=cli_env)
    assert status.returncode == 0, status.stderr
    counts = json.loads(status.stdout)
    assert counts["units"] == counts["files"] * FUNCTIONS_PER_FILE  # no half-written file
    search = ragcode("search", "compute metric 3 of module 2", "--json", env=cli_env)
    assert search.returncode == 0, search.stderr
    assert json.loads(search.stdout), "the partial index answers"

    # The next run resumes: files already committed are not rewritten.
    rerun = ragcode("index", str(project), "--no-summaries", env=cli_env)
    assert rerun.returncode == 0, rerun.stderr
    assert f"그대로 {partial}" in rerun.stderr
    final = json.loads(ragcode("status", "--json", env=cli_env).stdout)
    assert final["files"] == FILES
    assert final["units"] == FILES * FUNCTIONS_PER_FILE
