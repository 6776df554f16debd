"""`/ws`: the chat socket; the session cookie (and our own Origin) are required.

A refused socket is accepted, then closed with a code of ours (4401, 4403, 4429) and a Korean
reason. Refusing the handshake itself gives the browser a bare HTTP 403, which its WebSocket
API reports as 1006 like a server that is down, so the client would retry forever instead of
showing the login form.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ragcode.accounts.protocol import User
from ragcode.server.connection import Connection
from ragcode.server.deps import SESSION_COOKIE, same_origin
from ragcode.server.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_REASONS,
    CLOSE_TOO_MANY_SOCKETS,
    CLOSE_UNAUTHORIZED,
    failure,
)
from ragcode.server.state import ServerState

log = logging.getLogger(__name__)
router = APIRouter()


async def _session_user(state: ServerState, token: str) -> User | None:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(state.history_io, state.accounts.session_user, token)


async def _refuse(websocket: WebSocket, code: int) -> None:
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):  # already gone
        await websocket.close(code=code, reason=CLOSE_REASONS[code])


@router.websocket("/ws")
async def chat_socket(websocket: WebSocket) -> None:
    state: ServerState = websocket.app.state.server
    await websocket.accept()
    if not same_origin(websocket.headers):
        log.info("socket refused: foreign origin=%s", websocket.headers.get("origin", "")[:80])
        await _refuse(websocket, CLOSE_FORBIDDEN)
        return
    token = state.session_token(websocket.cookies.get(SESSION_COOKIE))
    user = await _session_user(state, token) if token else None
    if token is None or user is None:
        await _refuse(websocket, CLOSE_UNAUTHORIZED)
        return
    server = state.core.settings.server
    connection = Connection(websocket, state, user, token)
    if not state.hub.admit(connection, server.max_sockets_per_user):
        await connection.send(failure(None, "too_many_sockets", limit=server.max_sockets_per_user))
        await connection.close(CLOSE_TOO_MANY_SOCKETS)
        return
    try:
        await connection.run()
    finally:
        state.hub.remove(connection)
