"""The LLM port: every backend streams text deltas for a list of chat messages."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Role = Literal["system", "user", "assistant"]


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
        """Yield only the new text of each generated token (never the whole text so far)."""
        ...


def max_concurrency(llm: object) -> int:
    """How many generations a backend runs at once; 1 unless it says otherwise (llama.cpp)."""
    value = getattr(llm, "max_concurrency", 1)
    return max(1, value) if isinstance(value, int) else 1


def complete(llm: LLM, messages: Sequence[ChatMessage], *, max_tokens: int) -> str:
    """Collect a streamed answer into one string."""
    return "".join(llm.stream(messages, max_tokens=max_tokens))
