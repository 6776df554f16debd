"""Amazon SageMaker real-time endpoints serving a chat model (Hugging Face TGI, LMI/vLLM).

Both containers take the OpenAI chat-completions body on /invocations (`{"messages": [...],
"max_tokens", "temperature", "stream"}`). Streaming reads the PayloadParts of
`invoke_endpoint_with_response_stream` as lines (`data: {...}` event-stream lines, or bare
JSON lines from older LMI); an endpoint configured with `stream = false` is called once
with `invoke_endpoint`. boto3 is the optional extra `ragcode[bedrock]`; SDK retries are off
(the pool retries), and botocore's read timeout bounds the wait for a stream's next part.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Iterator, Sequence
from typing import Any

from ragcode.llm import aws
from ragcode.llm.errors import LLMRequestError, LLMThrottled, LLMUnavailable
from ragcode.llm.openai_compat import chat_body, sse_deltas
from ragcode.llm.protocol import ChatMessage, FinishReason, LLMError

THROTTLED = frozenset({"ThrottlingException", "TooManyRequestsException"})
UNAVAILABLE = frozenset(
    {
        "ServiceUnavailable", "InternalFailure", "InternalDependencyException",
        "ModelNotReadyException", "ModelStreamError", "InternalStreamFailure",
    }
)  # fmt: skip


def make_client(region: str, *, timeout_s: float, pool_size: int) -> Any:
    """A `sagemaker-runtime` client with the SDK's own retries off."""
    return aws.make_client(
        "sagemaker-runtime", region, timeout_s=timeout_s, pool_size=pool_size,
        product="SageMaker 를",
    )  # fmt: skip


def _client_error(response: dict[str, Any], where: str) -> LLMError:
    error = response.get("Error", {})
    code = str(error.get("Code", ""))
    code = code[:1].upper() + code[1:]
    message = str(error.get("Message", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in THROTTLED:
        return LLMThrottled(f"SageMaker 요청 한도 초과 ({where}): {message}")
    if code in UNAVAILABLE:
        return LLMUnavailable(f"SageMaker 일시 오류 ({where}, {code}): {message}")
    if code == "ModelError":  # the container answered with an error status of its own
        status = response.get("OriginalStatusCode") or status
        detail = f"({where}, 컨테이너 HTTP {status}): {response.get('OriginalMessage') or message}"
        if status == 429:
            return LLMThrottled(f"SageMaker 모델이 요청을 받을 수 없습니다 {detail}")
        if isinstance(status, int) and (status >= 500 or status == 408):
            return LLMUnavailable(f"SageMaker 모델 서버 오류 {detail}")
        return LLMRequestError(f"SageMaker 모델이 요청을 거부했습니다 {detail}", status=status)
    if code == "ValidationError" and "not found" in message.lower():
        return LLMRequestError(
            f"SageMaker 엔드포인트를 찾을 수 없습니다 ({where}): endpoint_name 과 region 을 "
            f"확인하세요. {message}",
            status=status,
        )
    return LLMRequestError(f"SageMaker 요청 거부 ({where}, {code}): {message}", status=status)


def map_sagemaker_error(exc: Exception, where: str) -> LLMError:
    """botocore (and, mid-stream, urllib3) errors to the pool's error classes."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):  # EventStreamError (an error event in the stream) too
        return _client_error(exc.response, where)
    return aws.transport_error(exc, "SageMaker", where) or LLMError(
        f"SageMaker 호출 실패 ({where}): {exc}"
    )


def payload_lines(events: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The text lines of a response stream. A line, even one UTF-8 character, may be split
    across PayloadParts: bytes are buffered up to each newline before decoding."""
    buffer = b""
    for event in events:
        buffer += event.get("PayloadPart", {}).get("Bytes", b"")
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            yield line.decode("utf-8", errors="replace").rstrip("\r")
    if buffer.strip():
        yield buffer.decode("utf-8", errors="replace")


def chat_deltas(lines: Iterable[str]) -> Generator[str, None, FinishReason]:
    """Text deltas of a chat-completion stream: SSE `data:` lines (TGI, vLLM) or JSON lines;
    returns the finish reason."""
    return sse_deltas("data:" + line if line.startswith("{") else line for line in lines)


def to_chat(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    """OpenAI-style messages; same-role neighbours are merged (strict chat templates refuse
    two user turns in a row)."""
    turns: list[dict[str, str]] = []
    for message in messages:
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"] += "\n\n" + message.content
        else:
            turns.append({"role": message.role, "content": message.content})
    return turns


class SageMakerLLM:
    def __init__(
        self,
        endpoint_name: str,
        region: str,
        *,
        model: str | None = None,
        streaming: bool = True,
        max_tokens: int | None = None,
        max_concurrency: int = 4,
        timeout_s: float = 120.0,
        client: Any = None,
    ) -> None:
        self._endpoint_name = endpoint_name
        self._region = region
        self._model = model  # names the model behind the endpoint for the summary cache
        self._streaming = streaming
        self._max_tokens = max_tokens
        self._max_concurrency = max(1, max_concurrency)
        self._timeout_s = timeout_s
        self._client = client

    @property
    def name(self) -> str:
        return self._model or self.endpoint

    @property
    def endpoint(self) -> str:
        return f"sagemaker:{self._region}:{self._endpoint_name}"

    @property
    def max_concurrency(self) -> int:
        return self._max_concurrency

    def _get_client(self) -> Any:
        if self._client is None:
            self._client = make_client(
                self._region, timeout_s=self._timeout_s, pool_size=self._max_concurrency
            )
        return self._client

    def request(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
    ) -> dict[str, Any]:
        limit = min(max_tokens, self._max_tokens or max_tokens)
        return chat_body(to_chat(messages), limit, temperature, stop, stream=self._streaming)

    def _answer(self, client: Any, body: str) -> str:
        response = client.invoke_endpoint(
            EndpointName=self._endpoint_name, Body=body,
            ContentType="application/json", Accept="application/json",
        )  # fmt: skip
        raw = response["Body"].read()
        try:
            return str(json.loads(raw)["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMRequestError(
                f"SageMaker 응답이 chat completions 형식이 아닙니다 ({self.endpoint}): "
                f"{raw[:200]!r}"
            ) from exc

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Generator[str, None, FinishReason]:
        client = self._get_client()
        body = json.dumps(self.request(messages, max_tokens, temperature, stop), ensure_ascii=False)
        events: Any = None
        try:
            if not self._streaming:
                if answer := self._answer(client, body):
                    yield answer
                return None  # not read from the one-shot response
            events = client.invoke_endpoint_with_response_stream(
                EndpointName=self._endpoint_name, Body=body, ContentType="application/json"
            )["Body"]
            return (yield from chat_deltas(payload_lines(events)))
        except LLMError:
            raise
        except Exception as exc:  # botocore raises many unrelated classes; map them all
            raise map_sagemaker_error(exc, self.endpoint) from exc
        finally:
            if events is not None and hasattr(events, "close"):
                events.close()  # a consumer that stops reading releases the connection
