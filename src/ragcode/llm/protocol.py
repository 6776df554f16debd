"""The LLM port: every backend streams text deltas for a list of chat messages."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Role = Literal["system", "user", "assistant"]
# Why a stream ended, when the backend says so: the return value of its generator. "length":
# it stopped at `max_tokens` (the answer is cut); "stop": the model ended it. None: not said.
FinishReason = Literal["stop", "length"] | None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


class LLMError(RuntimeError):
    """A backend failed to produce an answer (model missing, timeout, server error)."""


class LLMStopped(LLMError):
    """The generation was stopped before its end (the process is shutting down, or the caller
    cancelled it): the work was not done, which is not a failure of the work."""


class LLM(Protocol):
    @property
    def name(self) -> str:
        """Identifies the model, e.g. for the summary cache."""
        ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        """Yield only the new text of each generated token (never the whole text so far).
        A generator may return its `FinishReason` (`StopIteration.value`)."""
        ...


def max_concurrency(llm: object) -> int:
    """How many generations a backend runs at once; 1 unless it says otherwise (llama.cpp)."""
    value = getattr(llm, "max_concurrency", 1)
    return max(1, value) if isinstance(value, int) else 1


def continues_answers(llm: object) -> bool:
    """Whether a backend continues a last `assistant` message where it ends (a true
    continuation of a cut answer); otherwise the caller asks in words. Only llama.cpp."""
    return getattr(llm, "continues_answers", False) is True


def complete(llm: LLM, messages: Sequence[ChatMessage], *, max_tokens: int) -> str:
    """Collect a streamed answer into one string."""
    return "".join(llm.stream(messages, max_tokens=max_tokens))


def finish_reason(value: object) -> FinishReason:
    """A backend's own word for why it stopped, as a `FinishReason` ("max_tokens" and
    "length" are both the token limit)."""
    if value in ("length", "max_tokens"):
        return "length"
    return "stop" if isinstance(value, str) and value else None


def close_stream(stream: Iterator[str]) -> None:
    """Close a generator-backed stream so its HTTP response (or lock) is released now."""
    close = getattr(stream, "close", None)
    if callable(close):
        close()
