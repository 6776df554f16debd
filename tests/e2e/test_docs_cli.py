"""`ragcode docs` end to end through the CLI with the real model, embeddings and store."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

SAMPLE_FAQ = Path(__file__).resolve().parents[2] / "samples" / "bank_faq_ko.csv"


def ragcode(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragcode.cli", *args],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


def test_docs_add_ask_remove(tmp_path: Path, cli_env: dict[str, str]) -> None:
    env = {**cli_env, "RAGCODE_DOCUMENTS__MAX_ANSWER_TOKENS": "96"}
    faq = tmp_path / "bank_faq_ko.csv"
    shutil.copy(SAMPLE_FAQ, faq)
    added = ragcode("docs", "add", str(faq), env=env)
    assert added.returncode == 0, added.stderr
    status = json.loads(ragcode("docs", "status", "--json", env=env).stdout)
    assert status["collection"] == "docs" and status["chunks"] >= 60
    assert status["embedder"] == "multilingual-e5-small-q4"  # documents default to e5

    asked = ragcode("docs", "ask", "카드를 잃어버렸을 때 신고는 어떻게 하나요?", "--json", env=env)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["answered"] and answer["answer"].strip()
    refs = answer["references"]
    assert refs[0]["number"] == 1 and refs[0]["source"] == "bank_faq_ko.csv"
    assert "카드를 잃어버렸어요." in [ref["title"] for ref in refs]

    streamed = ragcode("docs", "ask", "주말에 볼 만한 영화를 추천해 주세요", env=env)
    assert streamed.returncode == 0, streamed.stderr
    assert "지식 베이스에 이 질문에 대한 답이 없습니다" in streamed.stdout

    other = ragcode("docs", "status", "--json", "--collection", "manuals", env=env)
    assert json.loads(other.stdout)["chunks"] == 0  # collections are separate
    code = json.loads(ragcode("status", "--json", env=env).stdout)
    assert code["units"] == 0  # the code collection never saw the FAQ
    assert code["embedder"] is None  # nor any embedding model

    (tmp_path / "bad.csv").write_text("질문,답변\n이체 한도는?,5천만 원,남는 값\n", "utf-8")
    bad = ragcode("docs", "add", str(tmp_path / "bad.csv"), env=env)
    assert bad.returncode == 2 and "오류: bad.csv: FAQ 파일 2행의 열 개수" in bad.stderr

    removed = ragcode("docs", "remove", str(faq), env=env)
    assert removed.returncode == 0, removed.stderr
    emptied = json.loads(ragcode("docs", "status", "--json", env=env).stdout)
    assert emptied["chunks"] == 0 and emptied["embedder"] is None  # free for another model
