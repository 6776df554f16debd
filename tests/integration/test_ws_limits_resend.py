"""Over the WebSocket: the `truncated` flag and a continuation, and a resent request
answered once (replayed from the history, or after the copy still running elsewhere)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import LLM, ChatMessage, FinishReason
from tests.server_support import make_server, reply, signup

pytestmark = pytest.mark.integration


class WordsLLM:
    """Answers "w0 w1 ..." (40 words, one a token), cut at `max_tokens` with "length";
    `hold` makes every answer wait for it before its first word."""

    name = "words"

    def __init__(self) -> None:
        self.calls: list[tuple[list[ChatMessage], int]] = []
        self.hold: threading.Event | None = None

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Generator[str, None, FinishReason]:  # fmt: skip
        self.calls.append((list(messages), max_tokens))
        if self.hold is not None:
            self.hold.wait(10)
        words = [f"w{n}" for n in range(40)]
        for n, word in enumerate(words[:max_tokens]):
            yield word if n == 0 else " " + word
        return "length" if len(words) > max_tokens else "stop"


@pytest.fixture
def serve(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[Any]:
    started: list[tuple[Any, TestClient]] = []

    def start(llm: LLM, **server: object) -> TestClient:
        core, api = make_server(tmp_path / f"data{len(started)}", llm, embedder, **server)
        client = TestClient(api)
        client.__enter__()
        started.append((core, client))
        signup(client, "alice")
        return client

    yield start
    for core, client in started:
        client.__exit__(None, None, None)
        core.close()


def request(ws: Any, rid: str, body: str, mode: str = "translation", **extra: object) -> None:
    frame = {"request_id": rid, "type": "text", "conv_type": mode, "body": body, **extra}
    ws.send_text(json.dumps(frame, ensure_ascii=False))


def test_a_cut_answer_is_flagged_and_continued(serve: Any) -> None:
    llm = WordsLLM()
    client = serve(llm, mode_max_tokens={"translation": 8})
    with client.websocket_connect("/ws") as ws:
        request(ws, "t1", "이 글을 번역해 주세요")
        cut = reply(ws, "t1")[-1]
        assert cut["status"] == "completed" and cut["truncated"] is True
        assert cut["msg"] == "w0 w1 w2 w3 w4 w5 w6 w7" and llm.calls[-1][1] == 8
        request(ws, "t2", "이 글을 번역해 주세요", continue_from=cut["msg"])
        more = reply(ws, "t2")[-1]
        assert more["status"] == "completed" and more["truncated"] is True
        assert [m.role for m in llm.calls[-1][0]][-2:] == ["assistant", "user"]
        assert llm.calls[-1][0][-2].content == cut["msg"]
        request(ws, "s1", "좋아요", mode="sentiment")
        whole = reply(ws, "s1")[-1]
        assert "truncated" not in whole  # sent only when true
    turns = client.get("/api/history").json()["turns"]
    assert [(t["request_id"], t["question"]) for t in turns] == [
        ("t1", "이 글을 번역해 주세요"), ("t2", "계속"), ("s1", "좋아요"),
    ]  # fmt: skip
    assert turns[1]["answer"] == more["msg"]
    assert all(turn["time"].endswith("+00:00") for turn in turns)  # the client shows local time


def test_an_oversized_continuation_is_refused(serve: Any) -> None:
    client = serve(WordsLLM(), max_message_chars=100)
    with client.websocket_connect("/ws") as ws:
        request(ws, "x1", "번역", continue_from="가" * 101)
        [error] = reply(ws, "x1")
    assert error["error"]["code"] == "too_long"


def test_a_resent_request_answered_already_is_replayed_not_generated(serve: Any) -> None:
    """The answer was recorded but lost with a half-open socket: the copy sent again on a
    new socket gets the recorded answer, and the model is not asked twice."""
    llm = WordsLLM()
    client = serve(llm, mode_max_tokens={"translation": 5})
    with client.websocket_connect("/ws") as ws:
        request(ws, "r1", "번역해 주세요")
        first = reply(ws, "r1")[-1]
    with client.websocket_connect("/ws") as ws:
        request(ws, "r1", "번역해 주세요", resend=True)
        again = reply(ws, "r1")
    assert [m["status"] for m in again] == ["completed"]
    assert again[-1]["msg"] == first["msg"] and len(llm.calls) == 1
    assert len(client.get("/api/history").json()["turns"]) == 1


def test_a_resent_request_not_answered_yet_is_generated(serve: Any) -> None:
    llm = WordsLLM()
    client = serve(llm)
    with client.websocket_connect("/ws") as ws:
        request(ws, "n1", "번역해 주세요", resend=True)
        assert reply(ws, "n1")[-1]["status"] == "completed"
    assert len(llm.calls) == 1


def test_a_copy_sent_while_the_first_still_runs_waits_and_replays(serve: Any) -> None:
    """A half-open socket the server has not noticed yet: its request is still generating
    when the client resends it on a new socket. One generation, one turn, both answered."""
    llm = WordsLLM()
    llm.hold = threading.Event()
    client = serve(llm)
    with client.websocket_connect("/ws") as old, client.websocket_connect("/ws") as new:
        request(old, "h1", "번역해 주세요")
        assert old.receive_json()["status"] == "istyping"
        deadline = time.monotonic() + 10
        while not llm.calls and time.monotonic() < deadline:
            time.sleep(0.02)
        request(new, "h1", "번역해 주세요", resend=True)
        time.sleep(0.3)  # the copy waits for the first one instead of starting a second
        assert len(llm.calls) == 1
        llm.hold.set()
        first = reply(old, "h1")[-1]
        second = reply(new, "h1")[-1]
    assert first["status"] == second["status"] == "completed"
    assert second["msg"] == first["msg"] and len(llm.calls) == 1
    assert len(client.get("/api/history").json()["turns"]) == 1
