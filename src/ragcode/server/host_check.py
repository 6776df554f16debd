"""Refuse requests whose Host header is not ours: a DNS-rebinding page (attacker.example
resolving to 127.0.0.1) is same-origin with itself, so the Origin check alone lets it in."""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ragcode.config import WILDCARD_HOSTS, ServerSettings, bare_host

log = logging.getLogger(__name__)
WRONG_HOST = (
    "이 주소(Host)로 온 요청은 받지 않습니다. 서버 관리자라면 server.allowed_hosts 에 "
    "이 주소를 추가하세요."
)
CLOSE_POLICY = 1008  # before accept: the server answers the handshake with 403


class HostCheck:
    """Pure ASGI, so that WebSocket handshakes are checked as well as HTTP requests."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._ours(scope):
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await JSONResponse({"detail": WRONG_HOST}, 400)(scope, receive, send)
        else:
            await send({"type": "websocket.close", "code": CLOSE_POLICY, "reason": ""})

    def _ours(self, scope: Scope) -> bool:
        host = Headers(scope=scope).get("host")
        return host is not None and bare_host(host) in self.allowed


def allowed_hosts(server: ServerSettings) -> frozenset[str]:
    """The allow-list of the settings; warns when a wildcard bind falls back to loopback only."""
    if server.allowed_hosts is None and bare_host(server.host) in WILDCARD_HOSTS:
        log.warning(
            "host=%s 로 모든 주소에서 받지만 server.allowed_hosts 가 없어 localhost 로 온 "
            "요청만 받습니다. 다른 이름이나 IP 로 접속하려면 server.allowed_hosts "
            "(RAGCODE_SERVER__ALLOWED_HOSTS)를 설정하세요.",
            server.host,
        )
    return server.host_allowlist()
