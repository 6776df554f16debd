"""The FastAPI app: routers, security headers, the static client, the lifetime of the state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from ragcode.app import App
from ragcode.server import (
    routes_apikeys,
    routes_auth,
    routes_conversations,
    routes_documents,
    routes_history,
    routes_languages,
    routes_models,
    routes_repos,
    routes_ws,
)
from ragcode.server.deps import same_origin
from ragcode.server.host_check import HostCheck, allowed_hosts
from ragcode.server.mcp_http import McpEndpoint, mount_mcp
from ragcode.server.openai_api import routes as routes_openai
from ragcode.server.openai_api.errors import ApiError, api_error_response
from ragcode.server.state import ServerState, build_state
from ragcode.server.validation import validation_error

STATIC_DIR = Path(__file__).parent / "static"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

Handler = Callable[[Request], Awaitable[Response]]


def create_app(core: App, state: ServerState | None = None) -> FastAPI:
    """The web app over a built core `App`; the caller closes `core`, the app its own state."""
    server_state = state or build_state(core)
    mcp = McpEndpoint(server_state)  # `/mcp`: the MCP tools for API keys

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        server_state.ingest.start()
        server_state.repos.start()
        try:
            async with mcp.running():
                yield
        finally:
            server_state.close()

    api = FastAPI(title="ragcode", lifespan=lifespan, docs_url=None, redoc_url=None)
    api.state.server = server_state
    api.add_exception_handler(RequestValidationError, validation_error)
    api.add_exception_handler(ApiError, api_error_response)  # `/v1`: OpenAI's error shape

    @api.middleware("http")
    async def guard(request: Request, call_next: Handler) -> Response:
        # `/v1` takes a Bearer key only, never the session cookie (openai_api/auth.py): a
        # foreign page cannot make a visitor's browser send a key it does not know, so there
        # is nothing to protect, and OpenAI clients running in browsers send their own Origin.
        checked = not routes_openai.is_api_path(request.url.path)
        if checked and request.method in _UNSAFE_METHODS and not same_origin(request.headers):
            return JSONResponse({"detail": "다른 사이트에서 온 요청은 받지 않습니다."}, 403)
        response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    # Added last, so outermost: a foreign Host is refused before anything else runs.
    api.add_middleware(HostCheck, allowed=allowed_hosts(core.settings.server))

    for module in (
        routes_auth, routes_history, routes_conversations, routes_documents, routes_ws,
        routes_apikeys, routes_openai, routes_repos, routes_models, routes_languages,
    ):  # fmt: skip
        api.include_router(module.router)
    mount_mcp(api, mcp)
    api.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @api.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @api.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    return api
