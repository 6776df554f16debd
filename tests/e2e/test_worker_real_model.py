"""`ragcode worker` on the embedded default: the real 0.5B model (llama.cpp, inline) and the
SQLite store in the data directory, after `ragcode index --no-summaries`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PROJECT = {
    "config.py": '''\
import json


def read_config(path):
    """Read a JSON configuration file and return it as a dict."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
''',
    "checksum.py": '''\
import hashlib


def file_checksum(path, chunk_size=65536):
    """Compute the SHA-256 checksum of a file, reading it in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()
''',
}


def ragcode(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragcode.cli", *args],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


def test_worker_once_summarizes_the_queue_with_the_embedded_model(
    tmp_path: Path, cli_env: dict[str, str], data_dir: Path
) -> None:
    project = tmp_path / "tiny"
    project.mkdir()
    for name, code in PROJECT.items():
        (project / name).write_text(code)
    indexed = ragcode("index", str(project), "--no-summaries", env=cli_env)
    assert indexed.returncode == 0, indexed.stderr
    before = json.loads(ragcode("status", "--json", env=cli_env).stdout)
    assert before["summaries"]["pending"] == before["queue"]["ready"] == 2

    done = ragcode("worker", "--once", env=cli_env)
    assert done.returncode == 0, done.stderr
    assert "작업자 종료" in done.stderr and "Traceback" not in done.stderr

    after = json.loads(ragcode("status", "--json", env=cli_env).stdout)
    assert after["summaries"]["done"] == 2 and after["summaries"]["pending"] == 0
    assert after["queue"] == {
        "pending": 0, "leased": 0, "failed": 0, "retrying": 0, "gave_up": 0, "ready": 0,
    }  # fmt: skip
    assert after["throughput"]["summaries"] == 2 and after["workers"] == []
    assert (data_dir / "index.sqlite3").exists()
    found = ragcode("search", "파일 해시", "--json", "--no-expand", "--top-k", "1", env=cli_env)
    [hit] = json.loads(found.stdout)
    assert hit["name"] == "file_checksum"
    assert any("\uac00" <= ch <= "\ud7a3" for ch in hit["summary"]), "a Korean summary"
