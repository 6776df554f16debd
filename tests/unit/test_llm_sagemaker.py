"""SageMaker chat endpoints through botocore's Stubber (request body, event-stream lines split
across PayloadParts, error mapping), and a real botocore client against a stream that stalls."""

from __future__ import annotations

import io
import json
import struct
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

# boto3 is a dev dependency (pyproject `dev`): a missing one must fail the run, not skip it.
import pytest
from botocore.exceptions import EventStreamError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from ragcode.llm.errors import LLMRequestError, LLMThrottled, LLMTimeout, LLMUnavailable
from ragcode.llm.protocol import ChatMessage, LLMError
from ragcode.llm.sagemaker import SageMakerLLM
from tests import aws_stubs as stubs

FakeEventStream = stubs.FakeEventStream

pytestmark = pytest.mark.unit

ENDPOINT = "qwen-coder-tgi"
MESSAGES = [
    ChatMessage("system", "한국어로 답하세요."),
    ChatMessage("user", "첫 질문"),
    ChatMessage("user", "덧붙임"),
    ChatMessage("assistant", "답"),
    ChatMessage("user", "다음 질문"),
]
CHAT = [
    {"role": "system", "content": "한국어로 답하세요."},
    {"role": "user", "content": "첫 질문\n\n덧붙임"},
    {"role": "assistant", "content": "답"},
    {"role": "user", "content": "다음 질문"},
]


def runtime_client() -> Any:
    return stubs.runtime_client("sagemaker-runtime")


def captured_bodies(client: Any) -> list[dict[str, Any]]:
    return stubs.captured_bodies(client, "sagemaker-runtime")


def parts(data: bytes, size: int) -> list[dict[str, Any]]:
    return [{"PayloadPart": {"Bytes": data[i : i + size]}} for i in range(0, len(data), size)]


def chunk(text: str) -> dict[str, Any]:
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": text}}],
    }


def sse(*events: dict[str, Any] | str) -> bytes:
    lines = [
        f"data: {e if isinstance(e, str) else json.dumps(e, ensure_ascii=False)}\n\n"
        for e in events
    ]
    return "".join(lines).encode("utf-8")


def stub_stream(stubber: Stubber, events: list[Any]) -> FakeEventStream:
    stream = FakeEventStream(events)
    expected = {"EndpointName": ENDPOINT, "Body": ANY, "ContentType": "application/json"}
    stubber.add_response("invoke_endpoint_with_response_stream", {"Body": stream}, expected)
    stream.armed = True
    return stream


def test_request_body_and_deltas_split_across_payload_parts() -> None:
    client = runtime_client()
    bodies = captured_bodies(client)
    llm = SageMakerLLM(ENDPOINT, "ap-northeast-2", max_tokens=100, client=client)
    role = {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}
    done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    data = sse(role, chunk("안녕"), chunk("하세요"), done, "[DONE]", chunk("끝난 뒤"))
    events = parts(data, 7)  # cuts lines, the "data:" prefix and Korean characters' bytes
    assert any(_splits_a_character(event["PayloadPart"]["Bytes"]) for event in events)
    with Stubber(client) as stubber:
        stream = stub_stream(stubber, events)
        out = list(llm.stream(MESSAGES, max_tokens=500, temperature=0.1, stop=["끝"]))
        stubber.assert_no_pending_responses()
    assert out == ["안녕", "하세요"]
    assert bodies == [
        {"messages": CHAT, "max_tokens": 100, "temperature": 0.1, "stream": True, "stop": ["끝"]}
    ]
    assert stream.closed
    assert llm.name == llm.endpoint == f"sagemaker:ap-northeast-2:{ENDPOINT}"


def _splits_a_character(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_json_lines_without_data_prefix_and_a_last_line_without_newline() -> None:
    """Older LMI containers stream bare JSON lines; a stream may end without a newline."""
    client = runtime_client()
    data = (json.dumps(chunk("가")) + "\r\n" + json.dumps(chunk("나"))).encode()
    with Stubber(client) as stubber:
        stub_stream(stubber, parts(data, 5))
        out = list(
            SageMakerLLM(ENDPOINT, "us-east-1", client=client).stream(MESSAGES, max_tokens=8)
        )
    assert out == ["가", "나"]


def test_error_event_inside_the_stream_is_retryable() -> None:
    client = runtime_client()
    failure = EventStreamError(
        {"Error": {"Code": "ModelStreamError", "Message": "container died"}},
        "InvokeEndpointWithResponseStream",
    )
    received: list[str] = []
    with Stubber(client) as stubber:
        stream = stub_stream(stubber, [*parts(sse(chunk("부분")), 100), failure])
        with pytest.raises(LLMUnavailable, match="SageMaker 일시 오류"):
            for text in SageMakerLLM(ENDPOINT, "us-west-2", client=client).stream(
                MESSAGES, max_tokens=8
            ):
                received.append(text)
    assert received == ["부분"] and stream.closed


def test_an_error_sent_as_data_is_retryable() -> None:
    client = runtime_client()
    data = sse(
        chunk("a"), {"error": "Request failed during generation", "error_type": "generation"}
    )
    with Stubber(client) as stubber:
        stub_stream(stubber, parts(data, 64))
        with pytest.raises(LLMUnavailable, match="Request failed during generation"):
            list(SageMakerLLM(ENDPOINT, "us-east-1", client=client).stream(MESSAGES, max_tokens=8))


@pytest.mark.parametrize(
    ("code", "status", "fields", "error", "message"),
    [
        ("ThrottlingException", 400, {}, LLMThrottled, "요청 한도 초과"),
        ("ServiceUnavailable", 503, {}, LLMUnavailable, "일시 오류"),
        ("InternalFailure", 500, {}, LLMUnavailable, "일시 오류"),
        ("ModelNotReadyException", 429, {}, LLMUnavailable, "일시 오류"),
        (
            "ModelError",
            424,
            {"OriginalStatusCode": 429},
            LLMThrottled,
            "모델이 요청을 받을 수 없습니다.*HTTP 429",
        ),
        (
            "ModelError",
            424,
            {"OriginalStatusCode": 503},
            LLMUnavailable,
            "모델 서버 오류.*HTTP 503",
        ),
        (
            "ModelError",
            424,
            {"OriginalStatusCode": 422},
            LLMRequestError,
            "모델이 요청을 거부했습니다.*HTTP 422",
        ),
        ("AccessDeniedException", 403, {}, LLMRequestError, "요청 거부"),
    ],
)
def test_client_errors_map_to_pool_errors(
    code: str, status: int, fields: dict[str, Any], error: type[LLMError], message: str
) -> None:
    client = runtime_client()
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "invoke_endpoint_with_response_stream", service_error_code=code,
            service_message="m", http_status_code=status, modeled_fields=fields,
        )  # fmt: skip
        with pytest.raises(error, match=f"SageMaker {message}") as raised:
            list(SageMakerLLM(ENDPOINT, "us-east-1", client=client).stream(MESSAGES, max_tokens=8))
    assert type(raised.value) is error


def test_an_unknown_endpoint_says_what_to_check() -> None:
    client = runtime_client()
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "invoke_endpoint_with_response_stream", service_error_code="ValidationError",
            service_message=f"Endpoint {ENDPOINT} of account 123456789012 not found.",
            http_status_code=400,
        )  # fmt: skip
        with pytest.raises(LLMRequestError, match=r"엔드포인트를 찾을 수 없습니다.*endpoint_name"):
            list(SageMakerLLM(ENDPOINT, "us-east-1", client=client).stream(MESSAGES, max_tokens=8))


def test_closing_the_generator_closes_the_event_stream() -> None:
    client = runtime_client()
    with Stubber(client) as stubber:
        stream = stub_stream(stubber, parts(sse(chunk("하나"), chunk("둘"), chunk("셋")), 1000))
        generator = SageMakerLLM(ENDPOINT, "eu-central-1", client=client).stream(
            MESSAGES, max_tokens=8
        )
        assert next(generator) == "하나"
        assert not stream.closed
        generator.close()
    assert stream.closed


def invoke_response(payload: object) -> dict[str, Any]:
    data = json.dumps(payload, ensure_ascii=False).encode()
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentType": "application/json"}


def test_an_endpoint_that_cannot_stream_is_invoked_once() -> None:
    client = runtime_client()
    bodies = captured_bodies(client)
    llm = SageMakerLLM(ENDPOINT, "ap-northeast-2", streaming=False, client=client)
    answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "전체 답"}}]}
    expected = {
        "EndpointName": ENDPOINT, "Body": ANY,
        "ContentType": "application/json", "Accept": "application/json",
    }  # fmt: skip
    with Stubber(client) as stubber:
        stubber.add_response("invoke_endpoint", invoke_response(answer), expected)
        out = list(llm.stream(MESSAGES, max_tokens=64, temperature=0.3))
        stubber.assert_no_pending_responses()
    assert out == ["전체 답"]
    assert bodies == [{"messages": CHAT, "max_tokens": 64, "temperature": 0.3, "stream": False}]


def test_a_body_that_is_not_a_chat_completion_is_a_request_error() -> None:
    """A container without the messages API (the older `generated_text` shape)."""
    client = runtime_client()
    with Stubber(client) as stubber:
        stubber.add_response("invoke_endpoint", invoke_response([{"generated_text": "x"}]))
        with pytest.raises(LLMRequestError, match="chat completions 형식이 아닙니다"):
            list(
                SageMakerLLM(ENDPOINT, "us-east-1", streaming=False, client=client).stream(
                    MESSAGES, max_tokens=8
                )
            )


def test_missing_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(LLMError, match=r"SageMaker .*ragcode\[bedrock\]"):
        list(SageMakerLLM(ENDPOINT, "ap-northeast-2").stream(MESSAGES, max_tokens=8))


def event_message(payload: bytes) -> bytes:
    """One message of the AWS event-stream encoding: a PayloadPart event carrying `payload`."""
    headers = b""
    for name, value in (
        (":message-type", "event"), (":event-type", "PayloadPart"),
        (":content-type", "application/octet-stream"),
    ):  # fmt: skip
        headers += bytes([len(name)]) + name.encode() + b"\x07"
        headers += struct.pack(">H", len(value)) + value.encode()
    prelude = struct.pack(">II", 16 + len(headers) + len(payload), len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


class StallingEndpoint(BaseHTTPRequestHandler):
    """Answers a response-stream request with one part (one HTTP chunk, as SageMaker sends
    them), then sends nothing more."""

    protocol_version = "HTTP/1.1"
    release = threading.Event()
    paths: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        message = event_message(sse(chunk("첫 조각")))
        self.wfile.write(b"%x\r\n%s\r\n" % (len(message), message))
        self.wfile.flush()
        self.release.wait(10)
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_stream_that_stalls_times_out(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The real client (made by the adapter, with its read timeout) against a local endpoint
    that stops sending mid-stream: a retryable timeout after the text that did arrive."""
    StallingEndpoint.release.clear()
    StallingEndpoint.paths.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), StallingEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{server.server_port}"
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    llm = SageMakerLLM(ENDPOINT, "ap-northeast-2", timeout_s=1.0)
    received: list[str] = []
    try:
        with pytest.raises(LLMTimeout, match="SageMaker 응답 시간 초과"):
            for text in llm.stream(MESSAGES, max_tokens=8):
                received.append(text)
    finally:
        StallingEndpoint.release.set()
        server.shutdown()
        server.server_close()
    assert received == ["첫 조각"]
    assert StallingEndpoint.paths == [f"/endpoints/{ENDPOINT}/invocations-response-stream"]
