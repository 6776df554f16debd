"""One chat request over the WebSocket through the real embedded model (kept short)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from ragcode.app import App
from ragcode.server.factory import create_app
from tests.server_support import reply, send, signup

pytestmark = pytest.mark.integration


def test_real_model_streams_a_korean_answer(make_app: Callable[..., App]) -> None:
    core = make_app()  # the configured real 0.5B model
    core.settings.server.chat_max_tokens = 24
    with TestClient(create_app(core)) as client:
        signup(client, "real")
        with client.websocket_connect("/ws") as ws:
            send(ws, "k1", "다음 문장을 영어로 번역해 주세요: 오늘 날씨가 좋습니다.", "translation")
            messages = reply(ws, "k1")
        history = client.get("/api/history").json()["turns"]
    final = messages[-1]
    assert final["status"] == "completed", final
    deltas = [m["delta"] for m in messages if m["status"] == "proceeding"]
    assert len(deltas) >= 3 and "".join(deltas) == final["msg"]
    assert any(ch.isascii() and ch.isalpha() for ch in final["msg"])
    assert history[0]["answer"] == final["msg"] and history[0]["mode"] == "translation"
