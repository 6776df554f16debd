"""Errors of `/v1`, shaped as OpenAI clients expect: `{"error": {message, type, param, code}}`
with OpenAI's status codes, so that a client raises its usual exception (AuthenticationError,
RateLimitError, NotFoundError ...). Messages are Korean; `type` and `code` stay English."""

from __future__ import annotations

import logging
import math

from fastapi import Request, status
from fastapi.responses import JSONResponse

from ragcode.chat.modes import ModeUnavailableError
from ragcode.embeddings.protocol import EmbeddingError
from ragcode.llm.protocol import LLMError
from ragcode.server.chat_service import GenerationTimeoutError
from ragcode.server.openai_api.schema import ErrorDetail, ErrorResponse
from ragcode.server.protocol import ERRORS
from ragcode.store.protocol import EmbedderMismatchError, StoreError

log = logging.getLogger(__name__)

INVALID = "invalid_request_error"


class ApiError(Exception):
    def __init__(
        self, status_code: int, type_: str, code: str, message: str, *,
        param: str | None = None, headers: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.status_code = status_code
        self.detail = ErrorDetail(message=message, type=type_, param=param, code=code)
        self.headers = headers

    def body(self) -> ErrorResponse:
        return ErrorResponse(error=self.detail)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body().model_dump(), self.status_code, headers=self.headers)


async def api_error_response(_request: Request, exc: Exception) -> JSONResponse:
    """The app's handler of `ApiError` (raised by the key check, a dependency)."""
    if not isinstance(exc, ApiError):  # pragma: no cover - registered for ApiError only
        raise exc
    return exc.response()


def missing_key() -> ApiError:
    return ApiError(
        status.HTTP_401_UNAUTHORIZED, INVALID, "invalid_api_key",
        "API 키가 없습니다. 'Authorization: Bearer <API 키>' 헤더로 보내 주세요 "
        "(키 만들기: 웹 앱의 API 키 메뉴 또는 ragcode apikey create).",
    )  # fmt: skip


def invalid_key() -> ApiError:
    return ApiError(
        status.HTTP_401_UNAUTHORIZED, INVALID, "invalid_api_key",
        "API 키가 올바르지 않거나 폐기되었습니다. 새 키를 만들어 주세요.",
    )  # fmt: skip


def rate_limited(wait_s: float, limit: int, window_s: float) -> ApiError:
    seconds = max(1, math.ceil(wait_s))
    return ApiError(
        status.HTTP_429_TOO_MANY_REQUESTS, "rate_limit_error", "rate_limit_exceeded",
        f"API 요청이 너무 많습니다 (사용자당 모든 키를 합쳐 {window_s:g}초에 {limit}번까지). "
        f"{seconds}초 뒤에 다시 시도해 주세요.",
        headers={"Retry-After": str(seconds)},
    )  # fmt: skip


def too_many_failures(wait_s: float) -> ApiError:
    seconds = max(1, math.ceil(wait_s))
    return ApiError(
        status.HTTP_429_TOO_MANY_REQUESTS, "rate_limit_error", "too_many_failed_attempts",
        "이 주소에서 올바르지 않은 API 키로 보낸 요청이 너무 많습니다. "
        f"{seconds}초 뒤에 다시 시도해 주세요.",
        headers={"Retry-After": str(seconds)},
    )  # fmt: skip


def key_check_failed() -> ApiError:
    return ApiError(
        status.HTTP_500_INTERNAL_SERVER_ERROR, "server_error", "internal",
        "API 키를 확인하지 못했습니다.",
    )  # fmt: skip


def busy(limit: int) -> ApiError:
    return ApiError(
        status.HTTP_429_TOO_MANY_REQUESTS, "rate_limit_error", "too_many_requests_in_flight",
        f"처리 중인 요청이 너무 많습니다 (사용자당 {limit}개). 앞선 답변이 끝난 뒤 다시 "
        "보내 주세요.",
        headers={"Retry-After": "1"},
    )  # fmt: skip


def invalid_body(reason: str, param: str | None = None) -> ApiError:
    return ApiError(
        status.HTTP_400_BAD_REQUEST, INVALID, "invalid_request",
        f"요청 형식이 올바르지 않습니다: {reason}", param=param,
    )  # fmt: skip


def body_too_large(limit: int) -> ApiError:
    return ApiError(
        status.HTTP_413_CONTENT_TOO_LARGE, INVALID, "request_too_large",
        f"요청 본문이 너무 큽니다 (최대 {limit:,}바이트). 대화를 줄여 보내 주세요.",
    )  # fmt: skip


def question_too_long(limit: int) -> ApiError:
    return ApiError(
        status.HTTP_400_BAD_REQUEST, INVALID, "context_length_exceeded",
        f"질문이 너무 깁니다: 마지막 user 메시지들을 이은 것이 최대 {limit:,}자입니다.",
        param="messages",
    )  # fmt: skip


def earlier_question_too_long(limit: int) -> ApiError:
    return ApiError(
        status.HTTP_400_BAD_REQUEST, INVALID, "context_length_exceeded",
        f"앞선 대화의 user 메시지가 너무 깁니다: 이어진 user 메시지들을 합쳐 최대 "
        f"{limit:,}자입니다. 대화를 줄이거나 새 대화로 보내 주세요.",
        param="messages",
    )  # fmt: skip


def model_not_found(model: str, known: list[str]) -> ApiError:
    return ApiError(
        status.HTTP_404_NOT_FOUND, INVALID, "model_not_found",
        f"'{model[:80]}' 모델이 없습니다. 쓸 수 있는 모델: {', '.join(known)}.", param="model",
    )  # fmt: skip


def no_such_path(path: str) -> ApiError:
    return ApiError(
        status.HTTP_404_NOT_FOUND, INVALID, "unknown_url",
        f"'{path[:120]}' 는 없는 주소입니다. 쓸 수 있는 주소: GET /v1/models, "
        "GET /v1/models/{model}, POST /v1/chat/completions.",
    )  # fmt: skip


def method_not_allowed(method: str, path: str, allowed: list[str]) -> ApiError:
    return ApiError(
        status.HTTP_405_METHOD_NOT_ALLOWED, INVALID, "method_not_allowed",
        f"{path[:120]} 에는 {method[:16]} 요청을 보낼 수 없습니다 (가능: {', '.join(allowed)}).",
        headers={"Allow": ", ".join(allowed)},
    )  # fmt: skip


def generation_failed(exc: Exception) -> ApiError:
    """What a failed answer tells the client: the web chat's message, never a traceback."""
    code, http = "internal", status.HTTP_500_INTERNAL_SERVER_ERROR
    values: dict[str, object] = {}
    if isinstance(exc, GenerationTimeoutError):
        code, http = "llm_timeout", status.HTTP_504_GATEWAY_TIMEOUT
        values = {"seconds": f"{exc.seconds:g}"}
        log.warning("api generation timed out after %s s", exc.seconds)
    elif isinstance(exc, ModeUnavailableError):
        code, http, values = "unavailable", status.HTTP_503_SERVICE_UNAVAILABLE, {"reason": exc}
    elif isinstance(exc, LLMError):
        code = "llm_error"
        log.warning("api llm failed error=%s", exc)
    elif isinstance(exc, EmbedderMismatchError):  # retrying cannot help: say what to do
        code, values = "index_mismatch", {"reason": exc}
        log.warning("api index/model mismatch error=%s", exc)
    elif isinstance(exc, (StoreError, EmbeddingError)):
        code = "search_error"
        log.warning("api search failed error=%s", exc)
    else:
        log.error("api answer failed", exc_info=exc)
    return ApiError(http, "server_error", code, ERRORS[code].format(**values))
