"""The OpenAI adapter and the pool against real `python -m llama_cpp.server` processes."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragcode.app import build_llm
from ragcode.config import Settings
from ragcode.llm.errors import LLMRequestError, LLMUnavailable
from ragcode.llm.han_tokens import has_han
from ragcode.llm.openai_compat import OpenAICompatLLM
from ragcode.llm.pool import LLMPool, PoolPolicy
from ragcode.llm.protocol import ChatMessage
from tests.llm_servers import start_llama_server

pytestmark = pytest.mark.integration

QUESTION = [ChatMessage("user", "파이썬 함수가 무엇인지 한 문장으로 설명하세요.")]
# Measured: the 0.5B model really writes 600+ tokens for this (35 s at 17 tokens/s).
LONG_ANSWER = [ChatMessage("user", "Repeat the word 'ragcode' 500 times separated by spaces.")]


# The server runs the model without the embedded store's token ban: asked in Chinese, the model
# answers in Chinese (checked below on the bare adapter).
CHINESE = [ChatMessage("user", "请用中文解释：这个函数返回什么？")]


def gguf(models_dir: Path) -> Path:
    return next(models_dir.glob("*.gguf"))


def stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def server_url(models_dir: Path) -> Iterator[str]:
    process, url = start_llama_server(gguf(models_dir))
    yield url
    stop(process)


def test_streams_real_tokens_in_several_chunks(server_url: str) -> None:
    llm = OpenAICompatLLM(server_url, "qwen2.5-coder-0.5b", max_concurrency=1)
    deltas = list(llm.stream(QUESTION, max_tokens=16, temperature=0.0))
    assert len(deltas) > 1
    assert all(deltas)  # only new text, never empty keep-alives
    assert len("".join(deltas).strip()) > 3


def test_wrong_path_is_rejected_not_retried(server_url: str) -> None:
    llm = OpenAICompatLLM(server_url.replace("/v1", "/nope/v1"), "qwen2.5-coder-0.5b")
    with pytest.raises(LLMRequestError) as raised:
        list(llm.stream(QUESTION, max_tokens=4))
    assert raised.value.status == 404


def test_closing_early_stops_generation_on_the_server(server_url: str) -> None:
    llm = OpenAICompatLLM(server_url, "qwen2.5-coder-0.5b", timeout_s=60.0)
    stream = llm.stream(LONG_ANSWER, max_tokens=900, temperature=0.0)
    assert next(stream)
    started = time.monotonic()
    stream.close()
    assert time.monotonic() - started < 1.0
    # The server runs one generation at a time: had the long answer (900 tokens, 50 s or more
    # here) gone on after the close, this short request would wait for it.
    started = time.monotonic()
    assert "".join(llm.stream(QUESTION, max_tokens=4))
    assert time.monotonic() - started < 25.0


def test_pool_fails_over_when_a_server_is_killed_mid_stream(
    server_url: str, models_dir: Path
) -> None:
    doomed, doomed_url = start_llama_server(gguf(models_dir))
    try:
        endpoints = [
            OpenAICompatLLM(url, "qwen2.5-coder-0.5b", max_concurrency=1, connect_timeout_s=2.0)
            for url in (server_url, doomed_url)
        ]
        policy = PoolPolicy(strategy="round_robin", failure_threshold=2, cooldown_s=600.0)
        pool = LLMPool(endpoints, policy)
        assert "".join(pool.stream(QUESTION, max_tokens=8))  # first server
        received: list[str] = []
        with pytest.raises(LLMUnavailable):  # second server, killed while it streams
            for delta in pool.stream(LONG_ANSWER, max_tokens=256):
                received.append(delta)
                if len(received) == 2:
                    stop(doomed)
        assert len(received) >= 2  # what was streamed reached the consumer before the error
        answers = ["".join(pool.stream(QUESTION, max_tokens=8)) for _ in range(4)]
    finally:
        if doomed.poll() is None:
            stop(doomed)
    assert all(answers)  # every later request was served despite the dead endpoint
    alive, dead = pool.status()
    assert dead.state == "open" and dead.failed == 2  # mid-stream death, then one refusal
    assert (alive.completed, dead.completed) == (5, 0)


def test_ideographs_from_a_remote_endpoint_are_repaired(server_url: str, tmp_path: Path) -> None:
    bare = OpenAICompatLLM(server_url, "qwen2.5-coder-0.5b", max_concurrency=1)
    raw = "".join(bare.stream(CHINESE, max_tokens=40, temperature=0.0))
    assert has_han(raw), raw  # without the repair the endpoint's answer has ideographs
    endpoint = {"kind": "openai", "url": server_url, "model": "qwen2.5-coder-0.5b"}
    llm = build_llm(Settings(data_dir=tmp_path, llm={"endpoints": [endpoint]}))
    answer = "".join(llm.stream(CHINESE, max_tokens=40, temperature=0.0))
    assert not has_han(answer), answer
    # Rewritten in Korean by the same endpoint, not just stripped of its ideographs.
    assert len(re.findall("[가-힣]", answer)) >= 5, answer
