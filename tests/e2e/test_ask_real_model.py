"""`ask` through the real embedded LLM, embeddings and store."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ragcode.app import App
from ragcode.chat.code_answer import AnswerDelta, CodeAnswer
from ragcode.domain import ChatTurn
from tests.integration.test_indexer import korean_summary
from tests.sample_project import write_sample_project
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.e2e


@pytest.fixture
def indexed(make_app: Callable[..., App], tmp_path: Path) -> Path:
    """The sample project, indexed with deterministic Korean summaries."""
    project = write_sample_project(tmp_path / "project")
    app = make_app(ScriptedLLM(korean_summary))
    app.indexer.index(project)
    app.summaries.run()
    app.close()
    return project


@pytest.fixture
def real_app(make_app: Callable[..., App], indexed: Path) -> App:
    app = make_app()  # the configured real embedded model
    app.settings.generation.max_answer_tokens = 160
    return app


def ask(app: App, question: str, history: list[ChatTurn] | None = None) -> tuple[int, CodeAnswer]:
    chunks = 0
    for event in app.code_assistant().ask(question, history or []):
        if isinstance(event, AnswerDelta):
            chunks += 1
        elif isinstance(event, CodeAnswer):
            return chunks, event
    raise AssertionError("no final answer")


def test_answer_streams_with_real_references(real_app: App) -> None:
    chunks, result = ask(real_app, "설정 파일을 읽어서 딕셔너리로 돌려주는 함수를 만들어줘")
    assert chunks > 5, "tokens arrive one by one, not as one block"
    assert result.answer.strip()
    names = [hit.record.title for hit in result.references]
    assert names[0] == "read_config"
    assert all(
        hit.record.path in {"app/config.py", "app/mailer.py", "web/checksum.js"}
        for hit in result.references
    )
    assert result.code_language == "python"


def test_unrelated_question_gets_no_code_context(real_app: App) -> None:
    _, result = ask(real_app, "오늘 날씨 어때?")
    assert result.references == []
    assert result.answer.startswith("지식 베이스에서 관련된 코드를 찾지 못했습니다")


def test_follow_up_retrieves_the_code_it_refers_to(real_app: App) -> None:
    _, first = ask(real_app, "이메일 보내는 코드 보여줘")
    assert "Mailer.send_email" in [hit.record.title for hit in first.references[:2]]
    history = [ChatTurn("이메일 보내는 코드 보여줘", first.answer, "이메일 보내는 코드 보여줘")]
    _, follow = ask(real_app, "그럼 그걸 비동기로 바꿔줘", history)
    assert follow.rewritten_question and follow.rewritten_question != "그럼 그걸 비동기로 바꿔줘"
    assert "Mailer.send_email" in [hit.record.title for hit in follow.references[:3]]


def test_cli_ask_json(indexed: Path, cli_env: dict[str, str]) -> None:
    env = dict(cli_env, RAGCODE_GENERATION__MAX_ANSWER_TOKENS="96")
    done = subprocess.run(
        [sys.executable, "-m", "ragcode.cli", "ask", "SHA-256 체크섬 계산하는 함수", "--json"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert set(payload) >= {"answer", "code_blocks", "references", "rewritten_question"}
    assert payload["references"][0]["name"] == "checksum"
    assert payload["references"][0]["path"] == "web/checksum.js"
    assert payload["rewritten_question"] is None


def test_cli_chat_keeps_memory_for_follow_ups(indexed: Path, cli_env: dict[str, str]) -> None:
    env = dict(cli_env, RAGCODE_GENERATION__MAX_ANSWER_TOKENS="64")
    done = subprocess.run(
        [sys.executable, "-m", "ragcode.cli", "chat"],
        input="이메일 보내는 코드 보여줘\n그럼 그걸 비동기로 바꿔줘\n/exit\n",
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    turns = done.stdout.split("--- 참고한 코드 ---")
    assert len(turns) == 3  # two answers, each followed by its references
    assert "다시 쓴 질문" not in turns[1].split("질문>")[0]  # the first turn needs no rewrite
    second_references = turns[2]
    assert "다시 쓴 질문:" in second_references  # the follow-up was rewritten from memory
    assert "Mailer.send_email" in second_references
