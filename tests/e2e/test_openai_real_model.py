"""An IDE assistant's view of ragcode, end to end: the CLI indexes a project, makes a user and
an API key, `ragcode serve` runs as a real process with the real embedded 0.5B model, and the
official `openai` client streams a `ragcode-code` answer with its references."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from tests.sample_project import write_sample_project
from tests.web_server import free_port

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"


def ragcode(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragcode.cli", *args],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    # Short and deterministic enough for CI: no query expansion, no syntax-repair round.
    return {
        **cli_env, "RAGCODE_SEARCH__EXPAND_QUERY": "false",
        "RAGCODE_GENERATION__CHECK_PYTHON": "false",
    }  # fmt: skip


@pytest.fixture
def served(tmp_path: Path, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    log = tmp_path / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "ragcode.cli", "serve", "--port", str(port)],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 401:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def test_an_openai_client_streams_a_code_answer_with_references(
    tmp_path: Path, env: dict[str, str], served: str
) -> None:
    project = write_sample_project(tmp_path / "project")
    indexed = ragcode("index", str(project), "--no-summaries", env=env)
    assert indexed.returncode == 0, indexed.stderr
    added = ragcode("user", "add", "dev", "--password", PASSWORD, env=env)
    assert added.returncode == 0, added.stderr
    created = ragcode("apikey", "create", "--user", "dev", "--name", "e2e", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("rck_") and " " not in key

    client = OpenAI(base_url=f"{served}/v1", api_key=key, max_retries=0, timeout=600)
    stream = client.chat.completions.create(
        model="ragcode-code",
        messages=[{"role": "user", "content": "SMTP로 이메일을 보내는 함수를 만들어 줘"}],
        stream=True, max_tokens=48,
    )  # fmt: skip
    chunks = list(stream)
    texts = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    answer, sources = "".join(texts).split("\n\n---\n참고한 코드:\n")
    assert len(texts) >= 10 and len(answer.strip()) > 10  # streamed by the model, token by token
    references = (chunks[-1].model_extra or {})["ragcode_references"]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert "Mailer.send_email" in [ref["name"] for ref in references]
    assert "app/mailer.py:" in sources and "`Mailer.send_email`" in sources
