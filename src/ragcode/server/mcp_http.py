"""`/mcp` on `ragcode serve`: the MCP tools over streamable HTTP, for callers with an API key.

Every request passes the OpenAI-compatible API's key check first (openai_api/auth.api_user:
Bearer key only, failed attempts limited per client, requests counted per key and user), so
the SDK sees no byte of an unauthenticated request. The tools then see what the key's user
sees: the team's knowledge base and that user's own uploads (domain.visible_scopes).

Stateless JSON mode: each POST is answered on its own, nothing pins a client to a replica.
The web app's Host check guards `/mcp` as every other path (the SDK's own check is off).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ragcode.domain import visible_scopes
from ragcode.mcp_server.server import SCOPES_KEY, build_server
from ragcode.mcp_server.tools import KnowledgeTools
from ragcode.server.openai_api.auth import api_user
from ragcode.server.openai_api.errors import ApiError
from ragcode.server.state import ServerState

log = logging.getLogger(__name__)

MCP_PATH = "/mcp"


class McpEndpoint:
    """The ASGI app at `/mcp`; `running()` wraps the web app's lifetime (each run of the
    lifespan gets a session manager of its own: the SDK's runs only once)."""

    def __init__(self, state: ServerState) -> None:
        self._server = build_server(KnowledgeTools(lambda: state.core))
        self._state = state
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self._server.streamable_http_app(
            stateless_http=True, json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )  # fmt: skip
        manager = self._server.session_manager
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager = self._manager
        if manager is None:  # pragma: no cover - requests arrive only while the app runs
            await JSONResponse({"detail": "MCP 서버가 아직 준비되지 않았습니다."}, 503)(
                scope, receive, send
            )
            return
        try:
            user = await api_user(Request(scope, receive), self._state)
        except ApiError as exc:  # the same 401/429 bodies as `/v1`
            await exc.response()(scope, receive, send)
            return
        log.debug("mcp http user=%s", user.id)
        await manager.handle_request({**scope, SCOPES_KEY: visible_scopes(user.id)}, receive, send)


def mount_mcp(api: FastAPI, endpoint: McpEndpoint) -> None:
    """An exact route (a mount at `/mcp` would redirect `/mcp` to `/mcp/`); Starlette calls a
    non-function endpoint as the ASGI app it is."""
    route = Route(MCP_PATH, endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False)
    api.router.routes.append(route)
