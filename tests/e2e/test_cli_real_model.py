"""End to end through the CLI with the real embedded LLM, embeddings and store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sample_project import write_sample_project

pytestmark = pytest.mark.e2e


def ragcode(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragcode.cli", *args],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


def test_index_summarize_search_remove(tmp_path: Path, cli_env: dict[str, str]) -> None:
    project = write_sample_project(tmp_path / "project")

    indexed = ragcode("index", str(project), env=cli_env)
    assert indexed.returncode == 0, indexed.stderr

    status = json.loads(ragcode("status", "--json", env=cli_env).stdout)
    assert status["files"] == 3
    assert status["summaries"]["pending"] == 0
    assert status["summaries"]["done"] >= 5  # written by the real model
    assert {s["path"] for s in status["skipped"]} == {"logo.png", "notes.md"}

    found = ragcode("search", "이메일을 보내는 메서드", "--json", "--top-k", "3", env=cli_env)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    top = hits[0]
    assert top["name"] == "Mailer.send_email"
    assert top["path"] == "app/mailer.py"
    assert (top["kind"], top["language"]) == ("method", "python")
    assert top["start_line"] == 12 and top["end_line"] == 20
    assert isinstance(top["summary"], str) and top["summary"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in top["summary"]), "a Korean summary"
    assert "def send_email" in top["code"]
    assert set(top["scores"]) >= {"vector", "lexical", "fused", "rerank", "final"}
    assert top["score"] == top["scores"]["final"]
    assert [hit["score"] for hit in hits] == sorted((hit["score"] for hit in hits), reverse=True)

    # Re-indexing unchanged code costs no LLM call: nothing is summarized again.
    again = ragcode("index", str(project), env=cli_env)
    assert "요약: 새로 0개" in again.stderr

    removed = ragcode("remove", str(project / "app"), env=cli_env)
    assert removed.returncode == 0, removed.stderr
    after = json.loads(ragcode("search", "이메일을 보내는 메서드", "--json", env=cli_env).stdout)
    assert all(not hit["path"].startswith("app/") for hit in after)


def test_bad_input_exits_nonzero_with_message(tmp_path: Path, cli_env: dict[str, str]) -> None:
    missing = ragcode("index", str(tmp_path / "missing"), env=cli_env)
    assert missing.returncode != 0
    assert "경로를 찾을 수 없습니다" in missing.stderr
    assert "Traceback" not in missing.stderr
    unknown = ragcode("remove", str(tmp_path), env=cli_env)
    assert unknown.returncode != 0 and "색인에 없는 경로" in unknown.stderr
