"""`/ws`: the chat socket; the session cookie (and our own Origin) are required."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from ragcode.server.connection import Connection
from ragcode.server.deps import SESSION_COOKIE, same_origin
from ragcode.server.state import ServerState

router = APIRouter()

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403


@router.websocket("/ws")
async def chat_socket(websocket: WebSocket) -> None:
    state: ServerState = websocket.app.state.server
    if not same_origin(websocket.headers):
        await websocket.close(code=CLOSE_FORBIDDEN)
        return
    user = state.user_from_cookie(websocket.cookies.get(SESSION_COOKIE))
    if user is None:
        await websocket.close(code=CLOSE_UNAUTHORIZED)
        return
    await websocket.accept()
    await Connection(websocket, state, user).run()
