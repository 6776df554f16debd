"""Conversations through the real embedded 0.5B model and the real history store: a
follow-up in a second conversation does not see the first conversation's context, while the
same follow-up in the first one does (so the model would have used it had it been given)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragcode.app import App
from ragcode.server.factory import create_app
from tests.server_support import reply, signup

pytestmark = pytest.mark.integration

NAME = "민수"
TELL = f"제 이름은 {NAME}입니다. 기억해 주세요."
ASK = "제 이름이 무엇인지 말해 주세요."


def ask(ws: Any, request_id: str, body: str, conversation: int) -> dict[str, Any]:
    ws.send_json(
        {"request_id": request_id, "type": "text", "conv_type": "normal", "body": body,
         "conversation_id": conversation}
    )  # fmt: skip
    final = reply(ws, request_id)[-1]
    assert final["status"] == "completed", final
    assert final["conversation_id"] == conversation
    return final


def test_real_model_follow_up_sees_only_its_own_conversation(
    make_app: Callable[..., App],
) -> None:
    core = make_app()  # the configured real 0.5B model
    core.settings.server.chat_max_tokens = 32
    core.settings.generation.temperature = 0.0  # greedy: the same answer every run
    with TestClient(create_app(core)) as client:
        signup(client, "real")
        first = client.post("/api/conversations", json={"title": "자기소개"}).json()["id"]
        second = client.post("/api/conversations", json={}).json()["id"]
        with client.websocket_connect("/ws") as ws:
            ask(ws, "t1", TELL, first)
            elsewhere = ask(ws, "t2", ASK, second)
            same = ask(ws, "t3", ASK, first)
        kept = client.get("/api/history", params={"conversation": second}).json()["turns"]
    assert NAME not in elsewhere["msg"], elsewhere["msg"]
    assert NAME in same["msg"], same["msg"]  # the control: given the context, it answers
    assert [t["question"] for t in kept] == [ASK]
