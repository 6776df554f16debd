"""One chat WebSocket: frames size-checked and parsed, requests run concurrently within the
user's cap, the session re-checked on every message, everything cancelled on close. A `stop`
frame stops one answer of this socket (its partial text is kept): another socket's, and so
another user's, answers are out of its reach."""

from __future__ import annotations

import asyncio
import json
import logging
from functools import partial
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ragcode.accounts.protocol import User
from ragcode.chat.language import is_code_language_choice
from ragcode.chat.modes import MODES
from ragcode.config import ServerSettings
from ragcode.server.hub import session_key
from ragcode.server.protocol import (
    CLIENT_MESSAGE,
    CLOSE_REASONS,
    CLOSE_UNAUTHORIZED,
    Failed,
    Ping,
    Pong,
    StopRequest,
    TextRequest,
    failure,
    frame_limit,
    peek_request_id,
)
from ragcode.server.state import ServerState
from ragcode.server.stopping import StopSignal

log = logging.getLogger(__name__)
# What sending on a socket the client has just left raises (Starlette turns OSError into 1006).
_GONE = (RuntimeError, OSError, WebSocketDisconnect)


def _request_id_of(payload: Any) -> str | None:
    value = payload.get("request_id") if isinstance(payload, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 128 else None


class Connection:
    def __init__(self, websocket: WebSocket, state: ServerState, user: User, token: str) -> None:
        self._ws = websocket
        self._state = state
        self._user = user
        self._token = token  # re-checked on every message: logout must reach open sockets
        self.session_key = session_key(token)
        self._send_lock = asyncio.Lock()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stops: dict[str, StopSignal] = {}  # what a `stop` frame for that request calls
        self._open = True
        self._closing = False

    @property
    def user_id(self) -> int:
        return self._user.id

    @property
    def _server(self) -> ServerSettings:
        return self._state.core.settings.server

    async def send(self, message: BaseModel) -> None:
        await self.send_text(message.model_dump_json())

    async def send_text(self, text: str) -> None:
        if not self._open:
            return
        async with self._send_lock:
            if self._ws.application_state != WebSocketState.CONNECTED:
                self._open = False
                return
            try:
                await self._ws.send_text(text)
            except _GONE as exc:  # closed under us
                log.debug("send failed user=%s error=%s", self._user.id, exc)
                self._open = False

    async def close(self, code: int) -> None:
        """Close with one of our codes and its Korean reason; later sends are dropped."""
        self._closing = True
        async with self._send_lock:
            self._open = False
            if self._ws.application_state != WebSocketState.CONNECTED:
                return
            try:
                await self._ws.close(code=code, reason=CLOSE_REASONS[code])
            except _GONE as exc:
                log.debug("close failed user=%s error=%s", self._user.id, exc)

    async def revoke(self) -> None:
        """The session ended (logout, expiry): say so, stop the answers, close with 4401."""
        if self._closing:
            return
        self._closing = True
        log.info("session ended, closing socket user=%s", self._user.id)
        await self.send(failure(None, "unauthorized"))
        self._cancel_tasks()
        await self.close(CLOSE_UNAUTHORIZED)

    async def run(self) -> None:
        try:
            while True:
                frame = await self._ws.receive()
                if frame["type"] == "websocket.disconnect":
                    break
                if not self._closing:  # after our close frame, only wait for the client's
                    await self._frame(frame)
        finally:
            self._open = False
            self._closing = True
            await asyncio.gather(*self._cancel_tasks(), return_exceptions=True)

    def _cancel_tasks(self) -> list[asyncio.Task[None]]:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        return tasks

    async def _frame(self, frame: Message) -> None:
        limit = frame_limit(self._server.max_message_chars)
        raw: str | None = frame.get("text")
        data: bytes | None = frame.get("bytes")
        if raw is None:
            data = data or b""
            if len(data) > limit:  # refused before decoding, as text frames are before parsing
                head = data[:1024].decode("utf-8", errors="replace")
                await self._too_large(head)
                return
            raw = data.decode("utf-8", errors="replace")
        if len(raw) > limit:
            await self._too_large(raw)
            return
        message = await self._parse(raw)
        if message is None:
            return
        alive = await self._session_alive()
        if alive is None:
            if isinstance(message, StopRequest):
                # An error for that request id would mark an answer that is still running
                # failed on the page; the user can press stop again (logged by the check).
                return
            rid = message.request_id if isinstance(message, TextRequest) else None
            await self.send(failure(rid, "internal"))
        elif not alive:
            await self.revoke()
        elif isinstance(message, Ping):
            await self.send(Pong())
        elif isinstance(message, StopRequest):
            self._stop(message.request_id)
        else:
            await self._start(message)

    async def _too_large(self, head: str) -> None:
        log.debug("frame too large user=%s", self._user.id)
        limit = self._server.max_message_chars
        await self.send(failure(peek_request_id(head), "too_large", limit=limit))

    async def _parse(self, raw: str) -> TextRequest | StopRequest | Ping | None:
        """The message, or None after answering `invalid_json`/`invalid_message`."""
        try:
            payload = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[..." nested deep
            log.debug("invalid json user=%s error=%s", self._user.id, type(exc).__name__)
            await self.send(failure(None, "invalid_json"))
            return None
        try:
            return CLIENT_MESSAGE.validate_python(payload)
        except (ValidationError, RecursionError) as exc:
            log.debug("invalid message user=%s error=%s", self._user.id, type(exc).__name__)
            await self.send(failure(_request_id_of(payload), "invalid_message"))
            return None

    async def _session_alive(self) -> bool | None:
        """Whether the session is still open (in the shared database, so a logout on another
        replica counts too); None when the look-up itself failed."""
        loop = asyncio.get_running_loop()
        accounts = self._state.accounts
        try:
            user = await loop.run_in_executor(
                self._state.history_io, accounts.session_user, self._token
            )
        except Exception as exc:
            log.warning("session check failed user=%s error=%s", self._user.id, exc)
            return None
        return user is not None and user.id == self._user.id

    async def _start(self, message: TextRequest) -> None:
        refusal = self._refusal(message)
        if refusal is not None:
            await self.send(refusal)
            return
        rid = message.request_id
        chat = self._state.chat
        stop = StopSignal()
        answer = partial(
            chat.answer, self._user, rid, message.conv_type, message.body, self.send,
            message.conversation_id, continue_from=message.continue_from,
            replace_turn_id=message.replace_turn_id, stop=stop,
            code_language=message.code_language,
        )  # fmt: skip
        once = chat.answer_once(self._user, rid, self.send, answer, resend=message.resend)
        task = asyncio.create_task(once)
        self._tasks[rid] = task
        self._stops[rid] = stop
        # A callback, not a `finally` in the coroutine: a task cancelled before its first
        # step never runs its body, and the user's count must come down all the same.
        task.add_done_callback(partial(self._finished, rid))

    def _stop(self, rid: str) -> None:
        """Stop the answer `rid` of this socket; one that is not running here: nothing."""
        stop = self._stops.get(rid)
        if stop is not None:
            log.info("stop asked user=%s request=%s", self._user.id, rid)
            stop.stop()

    def _refusal(self, message: TextRequest) -> Failed | None:
        """Why the request is refused, or None after counting it in the user's requests."""
        server = self._server
        rid = message.request_id
        if message.conv_type not in MODES:
            return failure(rid, "unknown_mode", mode=message.conv_type[:40])
        if not is_code_language_choice(message.code_language):
            return failure(rid, "unknown_language", language=(message.code_language or "")[:40])
        if not message.body.strip():
            return failure(rid, "empty")
        if len(message.body) > server.max_message_chars:
            return failure(rid, "too_long", limit=server.max_message_chars)
        if len(message.continue_from or "") > server.max_message_chars:
            return failure(rid, "too_long", limit=server.max_message_chars)
        if rid in self._tasks:
            return failure(rid, "duplicate")
        if not self._state.hub.begin_request(self._user.id, server.max_requests_in_flight):
            return failure(rid, "busy")
        return None

    def _finished(self, rid: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(rid) is task:
            del self._tasks[rid]
            self._stops.pop(rid, None)
        self._state.hub.end_request(self._user.id)
        if not task.cancelled() and task.exception() is not None:
            log.error("chat task failed user=%s request=%s", self._user.id, rid)
