"""Chat requests over the WebSocket through the real embedded model (kept short)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragcode.app import App
from ragcode.chat.redact import has_pattern_pii
from ragcode.server.factory import create_app
from tests.server_support import reply, send, signup

pytestmark = pytest.mark.integration

HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")


def ask_real(
    make_app: Callable[..., App], mode: str, body: str, max_tokens: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bytes]:
    """One request to the real 0.5B model, decoding greedily: its messages, the stored
    history and the bytes of the web database files (WAL included)."""
    core = make_app()  # the configured real 0.5B model
    core.settings.server.chat_max_tokens = max_tokens
    core.settings.generation.temperature = 0.0  # greedy: the same answer every run
    with TestClient(create_app(core)) as client:
        signup(client, "real")
        with client.websocket_connect("/ws") as ws:
            send(ws, "k1", body, mode)
            messages = reply(ws, "k1")
        history = client.get("/api/history").json()["turns"]
    raw = b"".join(path.read_bytes() for path in core.settings.data_dir.glob("web.sqlite3*"))
    return messages, history, raw


def test_real_model_streams_an_english_translation(make_app: Callable[..., App]) -> None:
    messages, history, _ = ask_real(
        make_app, "translation", "다음 문장을 영어로 번역해 주세요: 오늘 날씨가 좋습니다.", 24
    )
    final = messages[-1]
    assert final["status"] == "completed", final
    deltas = [m["delta"] for m in messages if m["status"] == "proceeding"]
    assert len(deltas) >= 3 and "".join(deltas) == final["msg"]
    answer = final["msg"].lower()
    # "오늘 날씨가 좋습니다": today, the weather, and that it is good, in English only.
    assert "today" in answer and "weather" in answer, final["msg"]
    assert re.search(r"\b(good|nice|fine|great|lovely|beautiful|pleasant|sunny)\b", answer)
    assert not HANGUL.search(final["msg"]), final["msg"]
    assert history[0]["answer"] == final["msg"] and history[0]["mode"] == "translation"


PII_TEXT = "홍길동 님 연락처는 010-9876-5432, hong@example.com, 주민번호 800101-1234567"
PII_SECRETS = ("홍길동", "010-9876-5432", "9876-5432", "hong@example.com", "800101", "1234567")


def test_real_model_pii_mode_never_shows_or_stores_numbers(make_app: Callable[..., App]) -> None:
    """What the product guarantees: what the deterministic layer finds (here a name with a
    title, a phone number, an e-mail, a resident number) is masked before the model and after
    it, so neither the stream, the answer, the history nor the database file holds it."""
    messages, history, raw = ask_real(make_app, "pii", PII_TEXT, 64)
    final = messages[-1]
    assert final["status"] == "completed", final
    streamed = "".join(m["delta"] for m in messages if m["status"] == "proceeding")
    stored = json.dumps(history, ensure_ascii=False)
    for secret in PII_SECRETS:
        for where in (streamed, final["msg"], stored):
            assert secret not in where, (secret, where)
        assert secret.encode() not in raw
    assert not has_pattern_pii(final["msg"]) and not has_pattern_pii(stored)
    # The model rewrote the premasked text: the placeholders it was given are in its answer,
    # and the history keeps that masked text for the question too.
    for placeholder in ("[이름]", "[전화번호]", "[이메일]", "[주민등록번호]"):
        assert placeholder in final["msg"], final["msg"]
    assert "연락처" in final["msg"]
    assert history[0]["question"] == history[0]["answer"] == final["msg"]
    assert history[0]["mode"] == "pii"


# Issue 15 item 15: the name and the account number came back unmasked.
ISSUE_PII = (
    "김민지 고객님(010-1234-5678, minji.kim@example.com)의 주민등록번호 950101-2345678로 "
    "계좌 123-456-789012 개설을 요청하셨습니다."
)
ISSUE_SECRETS = (
    "김민지", "민지", "010-1234-5678", "1234-5678", "minji.kim@example.com", "950101",
    "2345678", "123-456-789012", "789012",
)  # fmt: skip


def test_real_model_pii_mode_masks_the_issue_example(make_app: Callable[..., App]) -> None:
    messages, history, raw = ask_real(make_app, "pii", ISSUE_PII, 128)
    final = messages[-1]
    assert final["status"] == "completed", final
    streamed = "".join(m["delta"] for m in messages if m["status"] == "proceeding")
    stored = json.dumps(history, ensure_ascii=False)
    for secret in ISSUE_SECRETS:
        for where in (streamed, final["msg"], stored):
            assert secret not in where, (secret, where)
        assert secret.encode() not in raw
    for placeholder in ("[이름]", "[계좌번호]", "[주민등록번호]"):
        assert placeholder in final["msg"], final["msg"]
