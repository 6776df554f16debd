"""The wire format of the OpenAI chat completions API, as far as ragcode speaks it.

Requests ignore fields we do not use (`top_p`, `tools`, `user` ...): IDE assistants send many
of them, and refusing would make ragcode unusable as a drop-in model. Responses carry one
extra field, `ragcode_references`: what the answer was built from (retrieved code units or
numbered documents), on the completion and on the last chunk of a stream. `usage` counts are
estimates (`openai_api.usage`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


def _clean(text: str) -> str:
    """JSON may carry lone surrogates ("\\ud800") that no LLM or store can encode."""
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Role
    # A string, or parts (newer clients); only text parts are read.
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return _clean(self.content)
        parts = self.content or []
        return _clean("\n".join(p.text for p in parts if p.type == "text" and p.text))


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False  # one more chunk, before `[DONE]`, with the usage


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    messages: list[MessageIn] = Field(min_length=1, max_length=1000)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)  # newer name of max_tokens
    temperature: float | None = Field(default=None, ge=0, le=2)
    n: int | None = Field(default=None, ge=1, le=1)  # one answer per request
    stream_options: StreamOptions | None = None
    # ragcode's own (as `ragcode_references` in the answers): the code language of a
    # `ragcode-code` answer, its references that language's alone (chat/language.py names;
    # "auto" or none: from the question and its context). Other models ignore it.
    ragcode_code_language: str | None = Field(default=None, max_length=40)

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage

    @property
    def token_cap(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class AnswerMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


# "length": the answer stopped at the mode's token budget (the backend said so).
FinishReason = Literal["stop", "length"]


class Choice(BaseModel):
    index: int = 0
    message: AnswerMessage
    finish_reason: FinishReason = "stop"
    logprobs: None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    ragcode_references: list[dict[str, Any]]


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: FinishReason | None = None  # sent as null until the last chunk

    @field_serializer("delta")
    def _only_what_it_carries(self, delta: Delta) -> dict[str, Any]:
        return delta.model_dump(exclude_none=True)


class ChatCompletionChunk(BaseModel):
    """Every field is sent, null included (clients read `finish_reason: null` as "more to
    come"); only a delta leaves out what it does not carry."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]  # none in the usage chunk
    usage: Usage | None = None  # with `stream_options.include_usage` only: the usage chunk's
    ragcode_references: list[dict[str, Any]] | None = None  # the chunk that finishes


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "ragcode"
    description: str  # not in OpenAI's schema; clients ignore it, people read it


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorDetail(BaseModel):
    message: str  # Korean, for the person reading the client's error
    type: str  # OpenAI's categories, in English: clients branch on them
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail
