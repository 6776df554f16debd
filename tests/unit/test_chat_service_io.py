"""ChatService: history reads and writes never queue behind generation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from ragcode.accounts.protocol import User
from ragcode.chat.modes import ChatModes
from ragcode.history.protocol import Conversation, NewTurn, StoredTurn
from ragcode.server.chat_service import ChatService
from ragcode.server.fair_executor import FairExecutor
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.unit


class RecordingHistory:
    """A history with no turns that notes which thread each call ran on."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.read = threading.Event()

    def default_conversation(self, user_id: int) -> Conversation:
        self.calls.append(("conversation", threading.current_thread().name))
        now = datetime.now(UTC)
        return Conversation(7, user_id, None, now, now)

    def recent(
        self, user_id: int, modes: Sequence[str], limit: int, conversation_id: int | None = None
    ) -> list[StoredTurn]:
        self.calls.append(("recent", threading.current_thread().name))
        self.read.set()
        return []

    def add(self, turn: NewTurn) -> StoredTurn:
        self.calls.append(("add", threading.current_thread().name))
        return StoredTurn(
            1, turn.user_id, turn.request_id, datetime.now(UTC), turn.mode, turn.question,
            turn.answer, turn.references, turn.standalone_question, turn.conversation_id or 7,
        )  # fmt: skip


def no_code() -> Any:
    raise AssertionError("code mode is not used here")


def test_memory_is_read_while_every_generation_thread_is_busy() -> None:
    history = RecordingHistory()
    generation = FairExecutor(1, name="chat")
    history_io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history")
    modes = ChatModes(lambda: ScriptedLLM(lambda m: "답"), no_code, None, max_tokens=16)
    service = ChatService(modes, history, generation, history_io, history_turns=4)  # type: ignore[arg-type]
    release = threading.Event()
    generation.submit("someone else", release.wait, 10)  # holds the only thread
    sent: list[BaseModel] = []

    async def collect(message: BaseModel) -> None:
        sent.append(message)

    async def scenario() -> None:
        task = asyncio.create_task(service.answer(User(1, "a"), "r1", "normal", "안녕", collect))
        read = await asyncio.to_thread(history.read.wait, 5)
        assert read, "the memory read waited for a generation thread"
        release.set()
        await asyncio.wait_for(task, 5)

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        generation.shutdown()
        history_io.shutdown()
    assert [name for name, _ in history.calls] == ["conversation", "recent", "add"]
    assert all(thread.startswith("history") for _, thread in history.calls)
    assert sent[-1].model_dump()["status"] == "completed"
    assert sent[-1].model_dump()["conversation_id"] == 7
