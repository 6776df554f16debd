"""The WebSocket protocol (`/ws`): what the client sends, what the server answers.

Client: `{"request_id", "type": "text", "conv_type", "body"}` (optionally `conversation_id`:
one of the user's conversations; absent: the most recent one; `replace_turn_id`: the answer
replaces that turn, which must still be the conversation's last (the `turn_id` of its
`completed` frame or history entry): regenerate, or edit and resend), `{"type": "stop",
"request_id"}` (stop that answer of this socket: the partial answer is kept, marked stopped)
and `{"type": "ping"}`.
Server, per request: `istyping`, then `proceeding` with the new text only, then `completed`
with the whole text, references and the conversation the turn was saved in, or `error` with
a code and a Korean message. Upload
progress (`progress`, `document`) is pushed to every socket of the uploading user.
The server closes a socket with a code of its own (below) when a retry cannot help as is.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator


class TextRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    request_id: str = Field(min_length=1, max_length=128)
    conv_type: str = "normal"
    body: str
    conversation_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    # The answer so far of a turn that stopped at its mode's budget (`truncated`): the model
    # continues it; `body` is that turn's question. At most `max_message_chars`.
    continue_from: str | None = None
    # Sent again after a reconnect: answered already (the user's latest turns), it is
    # replayed from the history instead of generated twice.
    resend: bool = False
    # Regenerate, or edit and resend: the answer to `body` replaces this turn (the one the
    # client shows; its memory is the turns before it). A turn added since (another tab, a
    # document summary) makes it a `conflict` error: nothing is overwritten.
    replace_turn_id: int | None = Field(default=None, ge=1, le=2**63 - 1, strict=True)
    # `code` mode: the code language to search and answer in ("auto" or absent: as today);
    # one outside chat/language.py's CODE_LANGUAGES is refused (`unknown_language`).
    code_language: str | None = Field(default=None, max_length=40)

    @field_validator("body", "conv_type", "continue_from")
    @classmethod
    def _no_lone_surrogates(cls, value: str | None) -> str | None:
        """JSON may carry lone surrogates ("\\ud800"), which no store, LLM or socket can
        encode: the turn would stream and then fail to be recorded. Replaced with U+FFFD."""
        if value is None:
            return None
        return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)


class Ping(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["ping"]


class StopRequest(BaseModel):
    """Stop the answer `request_id` of this socket (unknown or finished: nothing happens)."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["stop"]
    request_id: str = Field(min_length=1, max_length=128)


ClientMessage = Annotated[TextRequest | StopRequest | Ping, Field(discriminator="type")]
CLIENT_MESSAGE: TypeAdapter[TextRequest | StopRequest | Ping] = TypeAdapter(ClientMessage)


class ErrorBody(BaseModel):
    code: str
    message: str


class Typing(BaseModel):
    request_id: str
    status: Literal["istyping"] = "istyping"


class Proceeding(BaseModel):
    request_id: str
    status: Literal["proceeding"] = "proceeding"
    delta: str


class Completed(BaseModel):
    request_id: str
    status: Literal["completed"] = "completed"
    msg: str
    references: list[dict[str, Any]]
    mode: str
    conversation_id: int | None = None  # where the turn was saved
    turn_id: int | None = None  # the stored turn: what `replace_turn_id` names
    # The answer stopped at the mode's token budget (the web offers "계속"); sent only when true.
    truncated: bool = Field(default=False, exclude_if=lambda cut: not cut)
    # The user stopped it: `msg` is the text so far (the web shows "중지됨"); only when true.
    stopped: bool = Field(default=False, exclude_if=lambda stop: not stop)
    # A document answer's sentences that cite, {"index", "start", "end", "sources"} (offsets
    # into `msg`), as the history keeps them; sent only when there are some.
    sentences: list[dict[str, Any]] = Field(default_factory=list, exclude_if=lambda s: not s)


class Failed(BaseModel):
    request_id: str | None
    status: Literal["error"] = "error"
    error: ErrorBody


class Pong(BaseModel):
    type: Literal["pong"] = "pong"


class Progress(BaseModel):
    status: Literal["progress"] = "progress"
    document_id: str
    done: int
    total: int
    unit: dict[str, Any] | None  # path, name, kind, start_line; None for the opening event
    summary: str | None
    # Seconds until the upload's summaries are settled, from the measured rate (server/eta.py);
    # None while no rate is measured yet.
    remaining_s: float | None = None


class DocumentState(BaseModel):
    status: Literal["document"] = "document"
    document: dict[str, Any]


class DocumentSummaryMessage(BaseModel):
    """A document upload's summary as it is written (server/doc_summaries.py): "start", then
    "part" (one part of a long document each), "delta" (the next pieces of the overall
    summary), and "done" (the whole summary, as kept in history) or "failed"."""

    status: Literal["doc_summary"] = "doc_summary"
    document_id: str
    file: str  # the document's path inside the upload
    title: str
    phase: Literal["start", "part", "delta", "done", "failed"]
    text: str = ""
    conversation_id: int | None = None  # "done": where history keeps it


ServerMessage = (
    Typing | Proceeding | Completed | Failed | Pong | Progress | DocumentState
    | DocumentSummaryMessage
)  # fmt: skip

# Error codes with the message a user reads (never a traceback).
ERRORS: dict[str, str] = {
    "invalid_json": "메시지를 해석할 수 없습니다. JSON 형식으로 보내 주세요.",
    "invalid_message": (
        "메시지 형식이 올바르지 않습니다. type, request_id, conv_type, body 를 확인해 주세요."
    ),
    "unknown_mode": "지원하지 않는 대화 모드입니다: {mode}",
    "unknown_language": (
        "지원하지 않는 코드 언어입니다: {language}. 자동, python, javascript, typescript, java, go"
        " 중에서 골라 주세요."
    ),
    "empty": "메시지가 비어 있습니다.",
    "too_long": "메시지가 너무 깁니다 (최대 {limit}자).",
    "busy": "처리 중인 요청이 너무 많습니다. 앞선 답변이 끝난 뒤 다시 보내 주세요.",
    "duplicate": "같은 request_id 의 요청이 이미 처리 중입니다.",
    "llm_error": "언어 모델이 답을 만들지 못했습니다. 잠시 후 다시 시도해 주세요.",
    "llm_timeout": (
        "언어 모델이 {seconds}초 동안 응답하지 않아 답변을 멈췄습니다. 잠시 후 다시 시도해 주세요."
    ),
    "search_error": "코드 검색 중 오류가 났습니다. 잠시 후 다시 시도해 주세요.",
    "index_mismatch": "{reason}",
    "unavailable": "{reason}",
    "unknown_conversation": "대화를 찾을 수 없습니다. 대화 목록을 확인해 주세요.",
    "conflict": "대화가 그사이 바뀌어 다시 생성할 수 없습니다. 새로 질문해 주세요.",
    "internal": "서버 오류로 답을 만들지 못했습니다. 잠시 후 다시 시도해 주세요.",
    "too_large": "메시지가 너무 큽니다 (최대 {limit}자). 나누어 보내 주세요.",
    "unauthorized": "로그인이 끝났습니다(로그아웃 또는 만료). 다시 로그인해 주세요.",
    "too_many_sockets": (
        "열린 연결이 너무 많습니다 (사용자당 최대 {limit}개). 다른 탭이나 창을 닫아 주세요."
    ),
}

# Close codes of our own (4000-4999). The web client stops reconnecting on 4401 (showing the
# login form) and 4403, and shows the reason of 4429 before trying again slowly.
CLOSE_UNAUTHORIZED = 4401  # not logged in, or the session ended (logout, expiry)
CLOSE_FORBIDDEN = 4403  # opened by a page of another site
CLOSE_TOO_MANY_SOCKETS = 4429  # the user already has `server.max_sockets_per_user` open
# A close frame carries at most 123 bytes of reason: about 40 Korean letters.
CLOSE_REASONS: dict[int, str] = {
    CLOSE_UNAUTHORIZED: "로그인이 필요합니다. 다시 로그인해 주세요.",
    CLOSE_FORBIDDEN: "다른 사이트에서 연 연결은 받지 않습니다.",
    CLOSE_TOO_MANY_SOCKETS: "열린 연결이 너무 많습니다. 다른 탭이나 창을 닫아 주세요.",
}
_REQUEST_ID = re.compile(r'"request_id"\s*:\s*"([^"\\]{1,128})"')


def frame_limit(max_message_chars: int) -> int:
    """The longest frame worth parsing: JSON may spell each character of the body as
    `\\uXXXX` (6 characters), plus the other fields."""
    return 6 * max_message_chars + 1024


def peek_request_id(raw: str) -> str | None:
    """The request id of a frame too large to parse (clients write it first), so that the
    client can end that request; None when it is not near the start."""
    match = _REQUEST_ID.search(raw, 0, 1024)
    return match.group(1) if match else None


def failure(request_id: str | None, code: str, **values: object) -> Failed:
    return Failed(
        request_id=request_id, error=ErrorBody(code=code, message=ERRORS[code].format(**values))
    )
