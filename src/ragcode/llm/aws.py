"""What the AWS adapters (Bedrock, SageMaker; LLM and embeddings) share: a boto3 client with
the SDK's own retries off (the endpoint pool retries and fails over), and the mapping of the
transport's errors, which do not depend on the service, to the pool's error classes."""

from __future__ import annotations

from typing import Any

from ragcode.llm.errors import LLMRequestError, LLMTimeout, LLMUnavailable
from ragcode.llm.protocol import LLMError

INSTALL_HINT = "pip install 'ragcode[bedrock]'"


def make_client(
    service: str, region: str, *, timeout_s: float, pool_size: int, product: str
) -> Any:
    """`product` names the service in the error of a missing boto3 ("Bedrock 을")."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        raise LLMError(f"{product} 쓰려면 boto3 가 필요합니다: `{INSTALL_HINT}`") from exc
    config = Config(
        region_name=region,
        connect_timeout=min(timeout_s, 10.0),
        read_timeout=timeout_s,
        retries={"max_attempts": 1, "mode": "standard"},
        max_pool_connections=max(10, pool_size),
    )
    return boto3.client(service, config=config)


def transport_error(exc: Exception, product: str, where: str) -> LLMError | None:
    """A timeout, a connection that failed or broke, missing credentials; None for anything
    else (a service's own errors are the adapter's to map). Mid-stream, botocore lets
    urllib3's errors through: a stalled event stream raises urllib3's ReadTimeoutError (which
    botocore's subclasses), a dropped one ProtocolError."""
    from botocore.exceptions import (
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ResponseStreamingError,
    )
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
        return LLMTimeout(f"{product} 응답 시간 초과 ({where}): {exc}")
    if isinstance(
        exc,
        EndpointConnectionError | ConnectionClosedError | ResponseStreamingError | ProtocolError,
    ):
        return LLMUnavailable(f"{product} 에 연결할 수 없습니다 ({where}): {exc}")
    if isinstance(exc, NoCredentialsError):
        return LLMRequestError(f"AWS 자격 증명이 없습니다 ({where}): docs/configuration.md 참고")
    return None
