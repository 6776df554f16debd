"""`/v1/models` and `/v1/chat/completions`: any OpenAI client (IDE assistants, Open WebUI, the
`openai` package) can use ragcode as its model with a user's API key.

Order of checks: the key and its rate limit (a dependency: before the body is read), the
declared and actual body size, the body's shape, the model, the conversation's lengths, the
user's requests in flight. A key sees what its user sees: the team knowledge base and that
user's private uploads. `/v1` is reached with a Bearer key only, never with the web session
cookie, so the web app's Origin check does not apply to it (server/factory.py); any other
path or method under `/v1` is answered in OpenAI's error shape too.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from ragcode.chat.language import (
    AUTO,
    CODE_LANGUAGES,
    chosen_code_language,
    is_code_language_choice,
)
from ragcode.domain import visible_scopes
from ragcode.server.deps import StateDep
from ragcode.server.openai_api.auth import ApiUser
from ragcode.server.openai_api.conversation import Limits, conversation
from ragcode.server.openai_api.errors import (
    body_too_large,
    busy,
    generation_failed,
    invalid_body,
    method_not_allowed,
    model_not_found,
    no_such_path,
)
from ragcode.server.openai_api.generation import Job, SlotStream, complete, stream
from ragcode.server.openai_api.models import MODELS, MODELS_CREATED, ApiModel
from ragcode.server.openai_api.schema import ChatCompletionRequest, ModelCard, ModelList

PREFIX = "/v1"
router = APIRouter(prefix=PREFIX, tags=["openai"])
# The status nginx logs for a client that closed the connection before the answer.
CLIENT_CLOSED = 499
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def is_api_path(path: str) -> bool:
    """Whether a request path belongs to the OpenAI-compatible API (Bearer keys only)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def _card(model: ApiModel) -> ModelCard:
    return ModelCard(id=model.id, created=MODELS_CREATED, description=model.description)


def _model(name: str) -> ApiModel:
    model = MODELS.get(name)
    if model is None:
        raise model_not_found(name, list(MODELS))
    return model


@router.get("/models")
async def list_models(_user: ApiUser) -> ModelList:
    return ModelList(data=[_card(model) for model in MODELS.values()])


@router.get("/models/{model_id}")
async def get_model(model_id: str, _user: ApiUser) -> ModelCard:
    return _card(_model(model_id))


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused past `limit` bytes: by its declared length before reading, and by
    counting what arrives (a chunked body declares none)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    body = bytearray()
    try:
        async for part in request.stream():
            body += part
            if len(body) > limit:
                raise body_too_large(limit)
    except ClientDisconnect:
        raise invalid_body("요청 본문이 중간에 끊겼습니다.") from None
    return bytes(body)


def _code_language(choice: str | None) -> str | None:
    """The `ragcode_code_language` asked for (None: auto); an unknown one is refused."""
    if not is_code_language_choice(choice):
        known = ", ".join((AUTO, *CODE_LANGUAGES))
        raise invalid_body(
            f"ragcode_code_language 는 다음 중 하나여야 합니다: {known} (받은 값: {choice!r}).",
            param="ragcode_code_language",
        )
    return chosen_code_language(choice)


def _parse(raw: bytes) -> ChatCompletionRequest:
    try:
        return ChatCompletionRequest.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        where = ", ".join(dict.fromkeys(".".join(map(str, e["loc"])) or "본문" for e in errors))
        param = str(errors[0]["loc"][0]) if errors and errors[0]["loc"] else None
        raise invalid_body(f"다음 항목을 확인해 주세요: {where}.", param=param) from None


@router.post("/chat/completions", response_model=None)
async def chat_completions(request: Request, user: ApiUser, state: StateDep) -> Response:
    settings = state.core.settings
    body = _parse(await _read_body(request, settings.api.max_body_bytes))
    model = _model(body.model)
    code_language = _code_language(body.ragcode_code_language)
    talk = conversation(body.messages, Limits.of(settings))
    job = Job(
        modes=state.core.chat_modes(
            body.token_cap, body.temperature, pending=state.stores.pending_documents()
        ),
        mode=model.mode,
        talk=talk,
        scopes=visible_scopes(user.id),
        threads=state.executor.for_key(user.id),
        idle_timeout_s=settings.server.chat_idle_timeout_s,
        model=model.id,
        include_usage=body.include_usage,
        code_language=code_language,
    )
    limit = settings.server.max_requests_in_flight
    # The web chat's cap, shared: the same user's sockets and API calls count together.
    # From here to the response no `await`: nothing can cancel the request in between, so the
    # slot taken is always in the hands of what gives it back.
    if not state.hub.begin_request(user.id, limit):
        raise busy(limit)

    def release() -> None:
        state.hub.end_request(user.id)

    if body.stream:
        return SlotStream(
            stream(job), release, media_type="text/event-stream", headers=STREAM_HEADERS
        )
    try:
        answer = await complete(job, request)
    except Exception as exc:
        return generation_failed(exc).response()
    finally:
        release()
    if answer is None:
        return Response(status_code=CLIENT_CLOSED)
    return JSONResponse(answer.model_dump())


_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _allowed(request: Request) -> list[str]:
    """The methods the API's other routes take at this path (none: the path is unknown)."""
    methods: set[str] = set()
    for route in router.routes:
        found = getattr(route, "methods", None)
        if getattr(route, "endpoint", None) is unknown or not found:
            continue
        if route.matches(request.scope)[0] != Match.NONE:
            methods |= set(found)
    return sorted(methods)


# Last: only a path or a method no route above takes comes here (the router tries every route
# for a full match before it answers 405 to a partial one).
@router.api_route("", methods=_ANY_METHOD, include_in_schema=False, response_model=None)
@router.api_route("/{rest:path}", methods=_ANY_METHOD, include_in_schema=False, response_model=None)
async def unknown(request: Request) -> Response:
    path = request.url.path
    allowed = _allowed(request)
    if allowed:
        raise method_not_allowed(request.method, path, allowed)
    raise no_such_path(path)
