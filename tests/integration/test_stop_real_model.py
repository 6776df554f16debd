"""A stop through the real embedded model (qwen2.5-coder-0.5b): decoding ends within a few
tokens of the `stop` frame, the partial answer is kept marked stopped, and the same socket's
next request is answered (the model's lock was released)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragcode.app import App, build_llm
from ragcode.config import Settings
from ragcode.llm.protocol import LLM, ChatMessage
from ragcode.server.factory import create_app
from tests.server_support import reply, send, signup

pytestmark = pytest.mark.integration

MAX_TOKENS = 400
LONG = "1부터 300까지의 숫자를 한 줄에 하나씩 빠짐없이 모두 써 주세요."


class CountingLLM:
    """The real model, counting the pieces its stream decodes and noting when it is closed."""

    def __init__(self, llm: LLM) -> None:
        self._llm = llm
        self.pieces = 0
        self.closed = threading.Event()
        self.finished = 0

    @property
    def name(self) -> str:
        return self._llm.name

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:  # fmt: skip
        inner = iter(self._llm.stream(messages, max_tokens=max_tokens, temperature=temperature))
        try:
            for piece in inner:
                self.pieces += 1
                yield piece
            self.finished += 1
        finally:
            close = getattr(inner, "close", None)
            if close is not None:
                close()  # the real model stops decoding here
            self.closed.set()


def test_stop_ends_decoding_of_the_real_model(
    make_app: Callable[..., App], settings: Settings
) -> None:
    real = build_llm(settings)
    counting = CountingLLM(real)
    core = make_app(counting)
    core.settings.server.chat_max_tokens = MAX_TOKENS
    core.settings.server.mode_max_tokens["normal"] = MAX_TOKENS
    try:
        with TestClient(create_app(core)) as client:
            signup(client, "stopper")
            with client.websocket_connect("/ws") as ws:
                send(ws, "long", LONG)
                deltas = 0
                while deltas < 8:
                    deltas += ws.receive_json()["status"] == "proceeding"
                at_stop = counting.pieces
                asked = time.monotonic()
                ws.send_text(json.dumps({"type": "stop", "request_id": "long"}))
                final = reply(ws, "long")[-1]
                answered_s = time.monotonic() - asked
                assert counting.closed.wait(10), "the model's stream was never closed"
                closed_s = time.monotonic() - asked
                after_stop = counting.pieces - at_stop
                print(
                    f"stop: pieces decoded {counting.pieces} of max {MAX_TOKENS}, "
                    f"{after_stop} after the stop; stopped frame after {answered_s:.2f} s, "
                    f"stream closed after {closed_s:.2f} s"
                )
                assert final["status"] == "completed" and final["stopped"] is True, final
                assert counting.finished == 0
                assert counting.pieces < MAX_TOKENS // 4 and after_stop <= 5, counting.pieces
                assert answered_s < 3.0 and closed_s < 3.0
                # the same socket answers the next request: the model is free again
                counting.closed.clear()
                send(ws, "next", "안녕하세요라고만 답해 주세요.")
                started = time.monotonic()
                following = reply(ws, "next")[-1]
                print(f"next request answered in {time.monotonic() - started:.2f} s")
                assert following["status"] == "completed" and following["msg"].strip()
                assert "stopped" not in following
            turns: list[dict[str, Any]] = client.get("/api/history").json()["turns"]
        assert [t["stopped"] for t in turns] == [True, False]
        assert turns[0]["answer"] == final["msg"] and final["msg"].strip()
    finally:
        close = getattr(real, "close", None)
        if close is not None:
            close()


def test_regenerate_and_edit_through_the_real_model(make_app: Callable[..., App]) -> None:
    """Both replace the last turn with what the real model wrote for it; earlier turns stay."""
    core = make_app()  # the configured real 0.5B model
    core.settings.server.chat_max_tokens = 24
    core.settings.server.mode_max_tokens["translation"] = 24
    with TestClient(create_app(core)) as client:
        signup(client, "editor")
        with client.websocket_connect("/ws") as ws:
            send(ws, "t1", "안녕하세요", "translation")
            first = reply(ws, "t1")[-1]
            send(ws, "t2", "오늘 날씨가 좋습니다", "translation")
            second = reply(ws, "t2")[-1]
            frame = {"type": "text", "conv_type": "translation"}
            ws.send_text(json.dumps({
                **frame, "request_id": "t2b", "body": "오늘 날씨가 좋습니다",
                "replace_turn_id": second["turn_id"],
            }))  # fmt: skip
            again = reply(ws, "t2b")[-1]
            ws.send_text(json.dumps({
                **frame, "request_id": "t2e", "body": "고양이가 좋아요",
                "replace_turn_id": again["turn_id"],
            }))  # fmt: skip
            edited = reply(ws, "t2e")[-1]
        turns: list[dict[str, Any]] = client.get("/api/history").json()["turns"]
    assert again["status"] == edited["status"] == "completed", (again, edited)
    assert [t["request_id"] for t in turns] == ["t1", "t2e"]
    assert [t["question"] for t in turns] == ["안녕하세요", "고양이가 좋아요"]
    assert turns[0]["answer"] == first["msg"] and turns[1]["answer"] == edited["msg"]
    assert "cat" in edited["msg"].lower(), edited["msg"]
