"""OpenAI-compatible adapter against an in-process SSE server: deltas, errors, cancellation."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from ragcode.embeddings.openai_compat import OpenAICompatEmbedder
from ragcode.embeddings.protocol import EmbeddingError
from ragcode.llm.errors import LLMRequestError, LLMThrottled, LLMTimeout, LLMUnavailable
from ragcode.llm.openai_compat import OpenAICompatLLM, api_base
from ragcode.llm.protocol import ChatMessage
from tests.llm_servers import FakeOpenAIServer, Reply, free_port

pytestmark = pytest.mark.unit

MESSAGES = [ChatMessage("system", "요약하세요."), ChatMessage("user", "def f(): pass")]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def wait_for(condition: object, timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.02)
    return False


def test_api_base_accepts_bare_host_or_v1() -> None:
    assert api_base("http://h:8000") == "http://h:8000/v1"
    assert api_base("http://h:8000/v1/") == "http://h:8000/v1"
    assert api_base("https://gw.example/openai/v1") == "https://gw.example/openai/v1"


def test_streams_deltas_and_sends_the_request(server: FakeOpenAIServer) -> None:
    llm = OpenAICompatLLM(server.url, "qwen-test", api_key="sk-test", max_tokens=50)
    deltas = list(llm.stream(MESSAGES, max_tokens=64, temperature=0.0, stop=["\n\n"]))
    assert deltas == ["요약: ", "설정을 ", "읽는다."]
    payload = server.stats.payloads[0]
    assert payload["model"] == "qwen-test" and payload["stream"] is True
    assert payload["max_tokens"] == 50  # the endpoint's cap wins over a larger request
    assert payload["stop"] == ["\n\n"]
    assert payload["messages"][0] == {"role": "system", "content": "요약하세요."}
    assert server.stats.headers[0]["Authorization"] == "Bearer sk-test"


def test_no_api_key_sends_no_authorization(server: FakeOpenAIServer) -> None:
    llm = OpenAICompatLLM(server.url, "m")
    assert "".join(llm.stream(MESSAGES, max_tokens=8)) == "요약: 설정을 읽는다."
    assert "Authorization" not in server.stats.headers[0]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply("status", status=429, retry_after="2"), LLMThrottled),
        (Reply("status", status=500), LLMUnavailable),
        (Reply("status", status=503), LLMUnavailable),
        (Reply("status", status=400), LLMRequestError),
        (Reply("status", status=401), LLMRequestError),
    ],
)
def test_http_status_maps_to_error_class(
    server: FakeOpenAIServer, reply: Reply, error: type[Exception]
) -> None:
    server.default = reply
    with pytest.raises(error) as raised:
        list(OpenAICompatLLM(server.url, "m").stream(MESSAGES, max_tokens=8))
    if isinstance(raised.value, LLMThrottled):
        assert raised.value.retry_after_s == 2.0
    if isinstance(raised.value, LLMRequestError):
        assert raised.value.status == reply.status


def test_wrong_path_is_a_request_error_with_404(server: FakeOpenAIServer) -> None:
    llm = OpenAICompatLLM(server.url.replace("/v1", "/nope/v1"), "m")
    with pytest.raises(LLMRequestError) as raised:
        list(llm.stream(MESSAGES, max_tokens=8))
    assert raised.value.status == 404


def test_server_down_is_unavailable() -> None:
    llm = OpenAICompatLLM(f"http://127.0.0.1:{free_port()}/v1", "m", connect_timeout_s=1.0)
    with pytest.raises(LLMUnavailable):
        list(llm.stream(MESSAGES, max_tokens=8))


def test_silent_server_times_out(server: FakeOpenAIServer) -> None:
    server.default = Reply("hang")
    llm = OpenAICompatLLM(server.url, "m", timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(LLMTimeout):
        list(llm.stream(MESSAGES, max_tokens=8))
    assert time.monotonic() - started < 3.0


def test_death_mid_stream_is_unavailable_after_the_first_delta(server: FakeOpenAIServer) -> None:
    server.default = Reply("die", chunks=("첫 ", "둘째 ", "셋째"))
    received: list[str] = []
    with pytest.raises(LLMUnavailable):
        for delta in OpenAICompatLLM(server.url, "m").stream(MESSAGES, max_tokens=8):
            received.append(delta)
    assert received == ["첫 "]


def test_closing_the_generator_closes_the_http_stream(server: FakeOpenAIServer) -> None:
    server.default = Reply(chunks=tuple(f"{i} " for i in range(100)), delay_s=0.02)
    stream = OpenAICompatLLM(server.url, "m").stream(MESSAGES, max_tokens=8)
    assert next(stream) == "0 "
    started = time.monotonic()
    stream.close()
    assert time.monotonic() - started < 0.5  # no draining of the remaining 2 s of chunks
    assert wait_for(lambda: server.stats.disconnected == 1)
    assert server.stats.completed == 0


def test_openai_embeddings_are_ordered_and_normalized(server: FakeOpenAIServer) -> None:
    embedder = OpenAICompatEmbedder(server.url, "embed-test", batch_size=2)
    vectors = embedder.embed(["가", "나", "다"])
    assert vectors.shape == (3, 8) and embedder.dim == 8
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    again = embedder.embed(["다"])
    assert np.allclose(vectors[2], again[0])  # rows follow "index", not response order
    assert len(server.stats.headers) == 3  # two batches of <=2, then one


def test_openai_embeddings_error_is_embedding_error() -> None:
    embedder = OpenAICompatEmbedder(f"http://127.0.0.1:{free_port()}", "e", dimensions=8)
    with pytest.raises(EmbeddingError):
        embedder.embed(["가"])
