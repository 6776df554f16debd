"""Bedrock adapters through botocore's Stubber: request/response mapping and error mapping."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

# boto3 is a dev dependency (pyproject `dev`): a missing one must fail the run, not skip it.
import numpy as np
import pytest
from botocore.exceptions import EventStreamError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from ragcode.embeddings.bedrock import TitanEmbedder
from ragcode.embeddings.protocol import EmbeddingError
from ragcode.llm.bedrock import BedrockLLM
from ragcode.llm.errors import LLMRequestError, LLMThrottled, LLMUnavailable
from ragcode.llm.protocol import ChatMessage, LLMError
from tests import aws_stubs as stubs

FakeEventStream = stubs.FakeEventStream

pytestmark = pytest.mark.unit

MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
MESSAGES = [
    ChatMessage("system", "한국어로 답하세요."),
    ChatMessage("user", "첫 질문"),
    ChatMessage("user", "덧붙임"),
    ChatMessage("assistant", "답"),
    ChatMessage("user", "다음 질문"),
]


def runtime_client() -> Any:
    return stubs.runtime_client("bedrock-runtime")


def delta(text: str) -> dict[str, Any]:
    return {"contentBlockDelta": {"delta": {"text": text}, "contentBlockIndex": 0}}


def stub_stream(
    stubber: Stubber, events: list[Any], expected: dict[str, Any] | None
) -> FakeEventStream:
    stream = FakeEventStream(events)
    stubber.add_response("converse_stream", {"stream": stream}, expected)
    stream.armed = True
    return stream


def test_request_mapping_and_text_deltas() -> None:
    client = runtime_client()
    llm = BedrockLLM(MODEL, "ap-northeast-2", max_tokens=100, client=client)
    expected = {
        "modelId": MODEL,
        "system": [{"text": "한국어로 답하세요."}],
        "messages": [
            {"role": "user", "content": [{"text": "첫 질문"}, {"text": "덧붙임"}]},
            {"role": "assistant", "content": [{"text": "답"}]},
            {"role": "user", "content": [{"text": "다음 질문"}]},
        ],
        "inferenceConfig": {"maxTokens": 100, "temperature": 0.1, "stopSequences": ["끝"]},
    }
    events = [
        {"messageStart": {"role": "assistant"}},
        delta("안녕"),
        delta("하세요"),
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
    ]
    with Stubber(client) as stubber:
        stream = stub_stream(stubber, events, expected)
        out = list(llm.stream(MESSAGES, max_tokens=500, temperature=0.1, stop=["끝"]))
        stubber.assert_no_pending_responses()
    assert out == ["안녕", "하세요"]
    assert stream.closed
    assert llm.name == MODEL and llm.endpoint == "bedrock:ap-northeast-2"


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ThrottlingException", 429, LLMThrottled),
        ("ServiceUnavailableException", 503, LLMUnavailable),
        ("ModelTimeoutException", 408, LLMUnavailable),
        ("InternalServerException", 500, LLMUnavailable),
        ("ValidationException", 400, LLMRequestError),
        ("AccessDeniedException", 403, LLMRequestError),
    ],
)
def test_client_errors_map_to_pool_errors(code: str, status: int, error: type[LLMError]) -> None:
    client = runtime_client()
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "converse_stream", service_error_code=code, service_message="m", http_status_code=status
        )
        with pytest.raises(error):
            list(BedrockLLM(MODEL, "us-east-1", client=client).stream(MESSAGES, max_tokens=8))


def test_error_event_inside_the_stream_is_mapped() -> None:
    client = runtime_client()
    throttled = EventStreamError(
        {"Error": {"Code": "throttlingException", "Message": "slow down"}}, "ConverseStream"
    )
    with Stubber(client) as stubber:
        stub_stream(stubber, [delta("부분"), throttled], None)
        received: list[str] = []
        with pytest.raises(LLMThrottled):
            for text in BedrockLLM(MODEL, "us-west-2", client=client).stream(
                MESSAGES, max_tokens=8
            ):
                received.append(text)
    assert received == ["부분"]


def test_closing_the_generator_closes_the_event_stream() -> None:
    client = runtime_client()
    with Stubber(client) as stubber:
        stream = stub_stream(stubber, [delta("하나"), delta("둘"), delta("셋")], None)
        generator = BedrockLLM(MODEL, "eu-central-1", client=client).stream(MESSAGES, max_tokens=8)
        assert next(generator) == "하나"
        generator.close()
    assert stream.closed


def test_missing_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(LLMError, match=r"ragcode\[bedrock\]"):
        list(BedrockLLM(MODEL, "ap-northeast-2").stream(MESSAGES, max_tokens=8))


def titan_body(vector: list[float]) -> StreamingBody:
    data = json.dumps({"embedding": vector, "inputTextTokenCount": 3}).encode()
    return StreamingBody(io.BytesIO(data), len(data))


def test_titan_embeddings_request_and_vectors() -> None:
    client = runtime_client()
    embedder = TitanEmbedder("ap-northeast-2", dimensions=4, max_concurrency=1, client=client)
    with Stubber(client) as stubber:
        for text, vector in (("설정 읽기", [3.0, 4.0, 0.0, 0.0]), ("메일", [0.0, 0.0, 0.0, 2.0])):
            body = json.dumps(
                {"inputText": text, "dimensions": 4, "normalize": True}, ensure_ascii=False
            )
            stubber.add_response(
                "invoke_model",
                {"body": titan_body(vector), "contentType": "application/json"},
                {
                    "modelId": "amazon.titan-embed-text-v2:0", "body": body,
                    "contentType": "application/json", "accept": "application/json",
                },
            )  # fmt: skip
        vectors = embedder.embed(["설정 읽기", "메일"])
        stubber.assert_no_pending_responses()
    assert vectors.shape == (2, 4) and embedder.dim == 4
    assert np.allclose(vectors[0], [0.6, 0.8, 0.0, 0.0])  # normalized here too
    assert np.allclose(vectors[1], [0.0, 0.0, 0.0, 1.0])


def test_titan_error_is_an_embedding_error_in_korean() -> None:
    client = runtime_client()
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "invoke_model", service_error_code="AccessDeniedException", http_status_code=403
        )
        with pytest.raises(EmbeddingError, match="Titan 임베딩 실패"):
            TitanEmbedder("us-east-1", max_concurrency=1, client=client).embed(["가"])


def test_a_stalled_or_broken_stream_is_retryable() -> None:
    """Mid-stream, botocore lets urllib3's own errors through (a read timeout of a stalled
    event stream, a dropped connection): they must reach the pool as retryable errors, not as
    a fatal LLMError."""
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    from ragcode.llm.bedrock import map_aws_error
    from ragcode.llm.errors import LLMTimeout, LLMUnavailable

    stalled = ReadTimeoutError(None, "/model/x/converse-stream", "Read timed out.")  # type: ignore[arg-type]
    assert isinstance(map_aws_error(stalled, "ap-northeast-2"), LLMTimeout)
    dropped = ProtocolError("Connection broken: IncompleteRead")
    assert isinstance(map_aws_error(dropped, "ap-northeast-2"), LLMUnavailable)
