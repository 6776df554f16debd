"""A scripted LLM for orchestration tests: answers from a function, records every call."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from ragcode.llm.protocol import ChatMessage, LLMError


@dataclass
class ScriptedLLM:
    answer: Callable[[Sequence[ChatMessage]], str]
    calls: list[Sequence[ChatMessage]] = field(default_factory=list)
    fail_when: Callable[[Sequence[ChatMessage]], bool] = lambda _messages: False

    @property
    def name(self) -> str:
        return "scripted"

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        self.calls.append(messages)
        if self.fail_when(messages):
            raise LLMError("scripted failure")
        text = self.answer(messages)
        for start in range(0, len(text), 3):  # stream in small deltas like a real model
            yield text[start : start + 3]
