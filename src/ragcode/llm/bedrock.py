"""Amazon Bedrock through boto3 `converse_stream`: one profile = (region, model id, max tokens).

boto3 is an optional extra (`pip install 'ragcode[bedrock]'`), imported on first use.
Credentials come from the standard AWS chain (env vars, `~/.aws`, SSO, instance role); see
docs/configuration.md. SDK retries are off: retry and failover belong to the endpoint pool.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from typing import Any

from ragcode.llm import aws
from ragcode.llm.errors import LLMRequestError, LLMThrottled, LLMUnavailable
from ragcode.llm.protocol import ChatMessage, FinishReason, LLMError, finish_reason

log = logging.getLogger(__name__)

THROTTLED = frozenset({"ThrottlingException", "TooManyRequestsException"})
UNAVAILABLE = frozenset(
    {
        "ServiceUnavailableException", "ServiceUnavailable", "ModelTimeoutException",
        "InternalServerException", "ModelStreamErrorException", "ModelNotReadyException",
    }
)  # fmt: skip


def make_client(service: str, region: str, *, timeout_s: float, pool_size: int) -> Any:
    return aws.make_client(
        service, region, timeout_s=timeout_s, pool_size=pool_size, product="Bedrock 을"
    )


def map_aws_error(exc: Exception, where: str) -> LLMError:
    """botocore errors to the pool's error classes (throttled / unavailable / timeout / fatal)."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        code = code[:1].upper() + code[1:]  # in-stream events say "throttlingException"
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if code in THROTTLED:
            return LLMThrottled(f"Bedrock 요청 한도 초과 ({where}): {message}")
        if code in UNAVAILABLE:
            return LLMUnavailable(f"Bedrock 일시 오류 ({where}, {code}): {message}")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return LLMRequestError(f"Bedrock 요청 거부 ({where}, {code}): {message}", status=status)
    return aws.transport_error(exc, "Bedrock", where) or LLMError(
        f"Bedrock 호출 실패 ({where}): {exc}"
    )


def to_converse(messages: Sequence[ChatMessage]) -> tuple[list[dict[str, Any]], list[Any]]:
    """(system blocks, alternating user/assistant messages); same-role neighbours are merged."""
    system = [{"text": m.content} for m in messages if m.role == "system"]
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"].append({"text": message.content})
        else:
            turns.append({"role": message.role, "content": [{"text": message.content}]})
    return system, turns


class BedrockLLM:
    def __init__(
        self,
        model_id: str,
        region: str,
        *,
        max_tokens: int | None = None,
        max_concurrency: int = 4,
        timeout_s: float = 120.0,
        client: Any = None,
    ) -> None:
        self._model_id = model_id
        self._region = region
        self._max_tokens = max_tokens
        self._max_concurrency = max(1, max_concurrency)
        self._timeout_s = timeout_s
        self._client = client

    @property
    def name(self) -> str:
        return self._model_id

    @property
    def endpoint(self) -> str:
        return f"bedrock:{self._region}"

    @property
    def max_concurrency(self) -> int:
        return self._max_concurrency

    def _get_client(self) -> Any:
        if self._client is None:
            self._client = make_client(
                "bedrock-runtime", self._region,
                timeout_s=self._timeout_s, pool_size=self._max_concurrency,
            )  # fmt: skip
        return self._client

    def request(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
    ) -> dict[str, Any]:
        system, turns = to_converse(messages)
        cap = min(max_tokens, self._max_tokens) if self._max_tokens else max_tokens
        inference: dict[str, Any] = {"maxTokens": cap, "temperature": temperature}
        if stop:
            inference["stopSequences"] = list(stop)
        request: dict[str, Any] = {
            "modelId": self._model_id, "messages": turns, "inferenceConfig": inference,
        }  # fmt: skip
        if system:
            request["system"] = system
        return request

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Generator[str, None, FinishReason]:
        client = self._get_client()
        request = self.request(messages, max_tokens, temperature, stop)
        events: Any = None
        reason = None
        try:
            events = client.converse_stream(**request)["stream"]
            for event in events:
                delta = event.get("contentBlockDelta", {}).get("delta", {}).get("text")
                if delta:
                    yield delta
                reason = event.get("messageStop", {}).get("stopReason") or reason
        except LLMError:
            raise
        except Exception as exc:  # botocore raises many unrelated classes; map them all
            raise map_aws_error(exc, self.endpoint) from exc
        finally:
            if events is not None and hasattr(events, "close"):
                events.close()  # a consumer that stops reading releases the connection
        return finish_reason(reason)  # "max_tokens": cut at the limit
