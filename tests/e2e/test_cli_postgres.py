"""One setting moves the CLI to PostgreSQL: `RAGCODE_STORE__URL` and the same commands index,
search, add documents and report status against a real PostgreSQL + pgvector server, and
the data directory holds no index file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sample_project import write_sample_project

pytestmark = pytest.mark.e2e

SAMPLE_FAQ = Path(__file__).resolve().parents[2] / "samples" / "bank_faq_ko.csv"


def ragcode(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragcode.cli", *args],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_cli_runs_on_postgres_by_one_setting(
    tmp_path: Path, cli_env: dict[str, str], data_dir: Path, pg_database: str
) -> None:
    env = {**cli_env, "RAGCODE_STORE__URL": pg_database}
    project = tmp_path / "project"
    write_sample_project(project)
    indexed = ragcode("index", str(project), "--no-summaries", env=env)
    assert indexed.returncode == 0, indexed.stderr
    found = ragcode("search", "설정 파일을 읽어서 딕셔너리로", "--no-expand", "--json", env=env)
    assert found.returncode == 0, found.stderr
    top = [hit["name"] for hit in json.loads(found.stdout)[:2]]
    assert sorted(top) == ["read_config", "write_config"]  # as on the embedded store
    faq = tmp_path / "bank_faq_ko.csv"
    shutil.copy(SAMPLE_FAQ, faq)
    added = ragcode("docs", "add", str(faq), env=env)
    assert added.returncode == 0, added.stderr
    status = json.loads(ragcode("status", "--json", env=env).stdout)
    docs = json.loads(ragcode("docs", "status", "--json", env=env).stdout)
    assert (
        status["files"] == 3 and status["units"] > 0
    )  # app/config.py, app/mailer.py, web/checksum.js
    assert docs["chunks"] >= 60
    assert not (data_dir / "index.sqlite3").exists()  # everything went to PostgreSQL

    down = {**env, "RAGCODE_STORE__URL": "postgresql://nobody@127.0.0.1:1/none"}
    refused = ragcode("status", env=down)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "오류:" in refused.stderr
