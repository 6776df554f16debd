"""Answer budgets through the real embedded 0.5B model: llama.cpp's own finish reason says
whether an answer was cut, and "계속" continues it (kept short: tiny budgets, greedy).

Asked in words to continue, this model starts the translation over (the same first eight
tokens again); the embedded backend therefore continues the cut answer itself: the prompt
is the chat template up to the answer, then the answer's tokens."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragcode.app import App
from ragcode.server.factory import create_app
from tests.server_support import reply, signup

pytestmark = pytest.mark.integration

HANGUL = re.compile(r"[\uac00-\ud7a3]")
SOURCE = (
    "다음 글을 영어로 번역해 주세요: 우리 팀은 매주 월요일 아침에 회의를 합니다. "
    "회의에서는 지난주에 한 일과 이번 주에 할 일을 이야기합니다."
)


def ask(ws: Any, rid: str, body: str, mode: str, **extra: object) -> dict[str, Any]:
    frame = {"request_id": rid, "type": "text", "conv_type": mode, "body": body, **extra}
    ws.send_text(json.dumps(frame, ensure_ascii=False))
    messages = reply(ws, rid)
    final = messages[-1]
    assert final["status"] == "completed", final
    streamed = "".join(m["delta"] for m in messages if m["status"] == "proceeding")
    assert streamed == final["msg"]
    return final


def test_real_model_flags_a_cut_translation_and_continues_it(
    make_app: Callable[..., App],
) -> None:
    core = make_app()  # the configured real 0.5B model
    core.settings.server.mode_max_tokens["translation"] = 8
    core.settings.generation.temperature = 0.0  # greedy: the same answer every run
    with TestClient(create_app(core)) as client:
        signup(client, "real")
        with client.websocket_connect("/ws") as ws:
            cut = ask(ws, "c1", SOURCE, "translation")
            # Eight tokens of a two-sentence translation: cut, and llama.cpp says so.
            assert cut.get("truncated") is True, cut
            assert 0 < len(cut["msg"].split()) <= 8 and not HANGUL.search(cut["msg"])
            more = ask(ws, "c2", SOURCE, "translation", continue_from=cut["msg"])
            assert more["msg"].strip() and more.get("truncated") is True
            # The continuation goes on in English from where the cut answer ends; it does not
            # start the translation over.
            assert not HANGUL.search(more["msg"]), more["msg"]
            first_words = " ".join(cut["msg"].split()[:3])
            assert first_words not in more["msg"], (cut["msg"], more["msg"])
        turns = client.get("/api/history").json()["turns"]
    assert [turn["question"] for turn in turns] == [SOURCE, "계속"]
    assert [turn["answer"] for turn in turns] == [cut["msg"], more["msg"]]


def test_real_model_answer_that_ends_by_itself_is_not_flagged(
    make_app: Callable[..., App],
) -> None:
    core = make_app()
    core.settings.server.chat_max_tokens = 64  # well above this answer, below the default
    core.settings.generation.temperature = 0.0
    with TestClient(create_app(core)) as client:
        signup(client, "real")
        with client.websocket_connect("/ws") as ws:
            done = ask(
                ws, "d1", "다음 문장을 영어로 번역해 주세요: 오늘 날씨가 좋습니다.", "translation"
            )
    assert "truncated" not in done, done
    assert "weather" in done["msg"].lower(), done["msg"]
