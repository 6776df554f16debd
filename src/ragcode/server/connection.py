"""One chat WebSocket: parse frames, run requests concurrently, cancel them on close."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.websockets import WebSocket, WebSocketState

from ragcode.chat.modes import MODES
from ragcode.server.accounts import User
from ragcode.server.protocol import CLIENT_MESSAGE, Failed, Ping, Pong, TextRequest, failure
from ragcode.server.state import ServerState

log = logging.getLogger(__name__)


def _request_id_of(payload: Any) -> str | None:
    value = payload.get("request_id") if isinstance(payload, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 128 else None


class Connection:
    def __init__(self, websocket: WebSocket, state: ServerState, user: User) -> None:
        self._ws = websocket
        self._state = state
        self._user = user
        self._send_lock = asyncio.Lock()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._open = True

    async def send(self, message: BaseModel) -> None:
        if not self._open:
            return
        async with self._send_lock:
            if self._ws.application_state != WebSocketState.CONNECTED:
                self._open = False
                return
            try:
                await self._ws.send_text(message.model_dump_json())
            except (RuntimeError, OSError) as exc:  # closed under us
                log.debug("send failed user=%s error=%s", self._user.id, exc)
                self._open = False

    async def run(self) -> None:
        self._state.hub.register(self._user.id, self.send)
        try:
            while True:
                frame = await self._ws.receive()
                if frame["type"] == "websocket.disconnect":
                    break
                raw = frame.get("text")
                if raw is None and frame.get("bytes") is not None:
                    raw = frame["bytes"].decode("utf-8", errors="replace")
                await self._handle(raw or "")
        finally:
            self._open = False
            self._state.hub.unregister(self._user.id, self.send)
            tasks = list(self._tasks.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _handle(self, raw: str) -> None:
        try:
            payload = json.loads(raw)
        except ValueError:
            await self.send(failure(None, "invalid_json"))
            return
        try:
            message = CLIENT_MESSAGE.validate_python(payload)
        except ValidationError:
            await self.send(failure(_request_id_of(payload), "invalid_message"))
            return
        if isinstance(message, Ping):
            await self.send(Pong())
            return
        refusal = self._refusal(message)
        if refusal is not None:
            await self.send(refusal)
            return
        task = asyncio.create_task(self._answer(message))
        self._tasks[message.request_id] = task

    def _refusal(self, message: TextRequest) -> Failed | None:
        server = self._state.core.settings.server
        rid = message.request_id
        if message.conv_type not in MODES:
            return failure(rid, "unknown_mode", mode=message.conv_type[:40])
        if not message.body.strip():
            return failure(rid, "empty")
        if len(message.body) > server.max_message_chars:
            return failure(rid, "too_long", limit=server.max_message_chars)
        if rid in self._tasks:
            return failure(rid, "duplicate")
        if len(self._tasks) >= server.max_requests_in_flight:
            return failure(rid, "busy")
        return None

    async def _answer(self, message: TextRequest) -> None:
        try:
            await self._state.chat.answer(
                self._user, message.request_id, message.conv_type, message.body, self.send
            )
        finally:
            self._tasks.pop(message.request_id, None)
