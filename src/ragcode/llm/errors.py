"""What can go wrong at an LLM endpoint, split by what the caller should do about it.

Retryable (another attempt, maybe on another endpoint, may succeed): throttled, unavailable,
timed out. Everything else (bad request, unknown model, refused credentials) is an
`LLMRequestError`: retrying the same request cannot help.
"""

from __future__ import annotations

from ragcode.llm.protocol import LLMError


class LLMThrottled(LLMError):
    """The endpoint refused for rate or token limits (HTTP 429, ThrottlingException)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class LLMUnavailable(LLMError):
    """The endpoint is down, overloaded or broke the connection (5xx, refused, reset)."""


class LLMTimeout(LLMError):
    """Connecting or waiting for the next chunk took longer than the configured timeout."""


class LLMRequestError(LLMError):
    """The endpoint rejected this request (4xx other than 429, validation, access denied)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


RETRYABLE: tuple[type[LLMError], ...] = (LLMThrottled, LLMUnavailable, LLMTimeout)


def is_retryable(error: BaseException) -> bool:
    return isinstance(error, RETRYABLE)
