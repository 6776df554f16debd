"""OpenAI-compatible chat endpoint (`/v1/chat/completions`, SSE streaming) over httpx.

Works with vLLM, Ollama, llama.cpp's server, LM Studio and gateways. Transport failures are
mapped to the retryable errors of `llm.errors`; closing the generator closes the HTTP stream,
so a consumer that stops reading stops the generation on the server too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from ragcode.llm.errors import LLMRequestError, LLMThrottled, LLMTimeout, LLMUnavailable
from ragcode.llm.protocol import ChatMessage, FinishReason, LLMError, finish_reason

log = logging.getLogger(__name__)


def api_base(url: str) -> str:
    """`http://host:8000` and `http://host:8000/v1/` both mean `http://host:8000/v1`."""
    base = url.rstrip("/")
    return base + "/v1" if urlsplit(base).path in ("", "/") else base


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None


def raise_for_status(response: httpx.Response, where: str) -> None:
    """Map an HTTP error status to the error class that says whether to retry."""
    status = response.status_code
    if status < 400:
        return
    detail = response.text[:300]
    if status == 429:
        raise LLMThrottled(
            f"LLM 요청 한도 초과 ({where}, HTTP 429): {detail}",
            retry_after_s=_retry_after(response),
        )
    if status >= 500 or status == 408:
        raise LLMUnavailable(f"LLM 서버 오류 ({where}, HTTP {status}): {detail}")
    raise LLMRequestError(f"LLM 요청 거부 ({where}, HTTP {status}): {detail}", status=status)


def sse_deltas(lines: Iterator[str]) -> Generator[str, None, FinishReason]:
    """Text deltas from the `data:` lines of an OpenAI chat-completion event stream; returns
    the last `finish_reason` the server sent."""
    reason = None
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, comments (": ping"), event names
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError as exc:
            raise LLMUnavailable(f"LLM 응답을 해석할 수 없습니다: {data[:100]}") from exc
        if "error" in chunk:
            raise LLMUnavailable(f"LLM 서버가 생성 중 오류를 보냈습니다: {chunk['error']}")
        choices = chunk.get("choices") or [{}]
        content = (choices[0].get("delta") or {}).get("content")
        if content:
            yield content
        reason = choices[0].get("finish_reason") or reason
    return finish_reason(reason)


def chat_body(
    messages: list[dict[str, str]], max_tokens: int, temperature: float, stop: Sequence[str],
    *, stream: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """The chat-completions request body that OpenAI-compatible servers and the SageMaker
    chat containers (TGI, LMI/vLLM) both take."""
    body: dict[str, Any] = {
        "messages": messages, "max_tokens": max_tokens, "temperature": temperature,
        "stream": stream,
    }  # fmt: skip
    if stop:
        body["stop"] = list(stop)
    return body


class OpenAICompatLLM:
    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        connect_timeout_s: float = 5.0,
        max_concurrency: int = 4,
        max_tokens: int | None = None,
    ) -> None:
        self._url = api_base(url) + "/chat/completions"
        self._model = model
        self._max_tokens = max_tokens  # this endpoint's cap on tokens per answer
        self._max_concurrency = max(1, max_concurrency)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=self._max_concurrency * 2),
        )

    @property
    def name(self) -> str:
        return self._model

    @property
    def endpoint(self) -> str:
        return self._url

    @property
    def max_concurrency(self) -> int:
        return self._max_concurrency

    def close(self) -> None:
        self._client.close()

    def _payload(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
    ) -> dict[str, Any]:
        turns = [{"role": m.role, "content": m.content} for m in messages]
        body = chat_body(turns, min(max_tokens, self._max_tokens or max_tokens), temperature, stop)
        return {"model": self._model, **body}

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Generator[str, None, FinishReason]:
        payload = self._payload(messages, max_tokens, temperature, stop)
        try:
            with self._client.stream("POST", self._url, json=payload) as response:
                if response.status_code >= 400:
                    response.read()
                    raise_for_status(response, self._url)
                lines = response.iter_lines()
                reason = yield from sse_deltas(lines)
                for _ in lines:  # read to the end so the connection can be reused
                    pass
                return reason
        except httpx.TimeoutException as exc:
            raise LLMTimeout(f"LLM 서버 응답 시간 초과 ({self._url}): {exc!r}") from exc
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise LLMUnavailable(f"LLM 서버에 연결할 수 없습니다 ({self._url}): {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise LLMError(f"LLM 요청 실패 ({self._url}): {exc!r}") from exc
