"""Stop, regenerate and edit-and-resend over the chat socket (a scripted or slow LLM: the
orchestration; tests/e2e/test_stop_real_model.py runs the stop through the real model)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from ragcode.embeddings.local import LocalEmbedder
from ragcode.history.protocol import HistoryError, NewTurn
from ragcode.llm.protocol import LLM, ChatMessage
from ragcode.server.protocol import ERRORS
from tests.scripted_llm import ScriptedLLM
from tests.server_support import PASSWORD, SlowLLM, make_server, reply, send, signup

pytestmark = pytest.mark.integration


@pytest.fixture
def serve(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[Any]:
    opened: list[tuple[Any, TestClient]] = []

    def start(llm: LLM) -> TestClient:
        core, api = make_server(tmp_path / f"data{len(opened)}", llm, embedder)
        client = TestClient(api)
        client.__enter__()
        opened.append((core, client))
        signup(client, "alice")
        return client

    yield start
    for core, client in opened:
        client.__exit__(None, None, None)
        core.close()


def stop(ws: WebSocketTestSession, request_id: str) -> None:
    ws.send_text(json.dumps({"type": "stop", "request_id": request_id}))


def ask(ws: WebSocketTestSession, request_id: str, body: str, **extra: object) -> dict[str, Any]:
    frame = {"request_id": request_id, "type": "text", "conv_type": "normal", "body": body}
    ws.send_text(json.dumps({**frame, **extra}))
    return reply(ws, request_id)[-1]


def history(client: TestClient) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = client.get("/api/history").json()["turns"]
    return turns


def test_stop_ends_generation_and_keeps_the_partial_answer(serve: Any) -> None:
    llm = SlowLLM(tokens=500, pause_s=0.02)
    client = serve(llm)
    with client.websocket_connect("/ws") as ws:
        send(ws, "long", "긴 답을 써 줘")
        deltas: list[str] = []
        while len(deltas) < 3:
            message = ws.receive_json()
            if message["status"] == "proceeding":
                deltas.append(message["delta"])
        stop(ws, "long")
        started = time.monotonic()
        rest = reply(ws, "long")
        elapsed = time.monotonic() - started
        final = rest[-1]
        deltas += [m["delta"] for m in rest if m["status"] == "proceeding"]
        assert final["status"] == "completed" and final["stopped"] is True
        assert final["msg"] == "".join(deltas) and len(deltas) < 50, len(deltas)
        assert elapsed < 2.0, elapsed
        deadline = time.monotonic() + 5
        while llm.closed == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert llm.closed == 1 and llm.finished == 0  # the model's stream was closed
        # the same socket answers the next request
        llm.tokens = 5
        after = ask(ws, "next", "짧게")
        assert after["status"] == "completed" and after["msg"] == "0 1 2 3 4 "
        assert "stopped" not in after
    turns = history(client)
    assert [(t["question"], t["stopped"]) for t in turns] == [
        ("긴 답을 써 줘", True),
        ("짧게", False),
    ]
    assert turns[0]["answer"] == final["msg"]


def test_a_stop_reaches_only_the_answers_of_its_own_socket(serve: Any) -> None:
    llm = SlowLLM(tokens=40, pause_s=0.01)
    client = serve(llm)
    with client.websocket_connect("/ws") as ws, client.websocket_connect("/ws") as other:
        send(ws, "mine", "답해 줘")
        while ws.receive_json()["status"] != "proceeding":
            pass
        stop(other, "mine")  # another socket (another tab, or anyone guessing the id)
        stop(ws, "unknown-request")  # nothing runs under that id: nothing happens
        final = reply(ws, "mine")[-1]
    assert final["status"] == "completed" and "stopped" not in final
    assert final["msg"] == "".join(f"{n} " for n in range(40))


def test_a_stopped_pii_question_is_kept_masked(serve: Any) -> None:
    client = serve(SlowLLM(tokens=500, pause_s=0.02))
    with client.websocket_connect("/ws") as ws:
        send(ws, "p", "제 번호는 010-1234-5678 입니다", mode="pii")
        while ws.receive_json()["status"] != "proceeding":
            pass
        stop(ws, "p")
        assert reply(ws, "p")[-1]["stopped"] is True
    (turn,) = history(client)
    assert "010-1234-5678" not in turn["question"] and turn["stopped"] is True


class Numbered:
    """Answers "답 N" (N: the call), recording the messages of each call."""

    def __init__(self) -> None:
        self.calls: list[Sequence[ChatMessage]] = []

    def __call__(self, messages: Sequence[ChatMessage]) -> str:
        self.calls.append(messages)
        return f"답 {len(self.calls)}"


def test_regenerate_replaces_the_last_answer_with_memory_before_it(serve: Any) -> None:
    answers = Numbered()
    client = serve(ScriptedLLM(answers))
    with client.websocket_connect("/ws") as ws:
        ask(ws, "q1", "첫 질문")
        second = ask(ws, "q2", "둘째 질문")
        again = ask(
            ws, "q2b", "둘째 질문", replace_turn_id=second["turn_id"],
            conversation_id=second["conversation_id"],
        )  # fmt: skip
    assert again["status"] == "completed" and again["msg"] == "답 3"
    turns = history(client)
    assert again["turn_id"] == second["turn_id"] == turns[-1]["id"]
    assert [(t["question"], t["answer"]) for t in turns] == [
        ("첫 질문", "답 1"),
        ("둘째 질문", "답 3"),
    ]
    assert turns[-1]["request_id"] == "q2b"
    said = [m.content for m in answers.calls[-1]]
    assert "첫 질문" in said and "답 1" in said  # earlier turns are memory
    assert "답 2" not in said and said.count("둘째 질문") == 1  # the replaced one is not


def test_edit_and_resend_replaces_the_last_question_and_answer(serve: Any) -> None:
    answers = Numbered()
    client = serve(ScriptedLLM(answers))
    with client.websocket_connect("/ws") as ws:
        ask(ws, "q1", "첫 질문")
        typo = ask(ws, "q2", "오타 있는 질문")
        edited = ask(ws, "q2e", "고친 질문", replace_turn_id=typo["turn_id"])
        after = ask(ws, "q3", "셋째 질문")
    assert edited["msg"] == "답 3" and after["msg"] == "답 4"
    turns = history(client)
    assert [t["question"] for t in turns] == ["첫 질문", "고친 질문", "셋째 질문"]
    said = [m.content for m in answers.calls[-1]]  # memory of the next question
    assert "고친 질문" in said and "답 3" in said and "오타 있는 질문" not in said


def test_a_turn_added_before_the_regenerate_is_saved_makes_it_a_conflict(serve: Any) -> None:
    """The client chose the turn it shows; a document summary (or another tab) added a turn
    to the conversation since: nothing is overwritten, the request ends in `conflict`."""
    answers = Numbered()
    client = serve(ScriptedLLM(answers))
    state = client.app.state.server
    with client.websocket_connect("/ws") as ws:
        ask(ws, "q1", "첫 질문")
        second = ask(ws, "q2", "둘째 질문")
        alice = state.accounts.authenticate("alice", PASSWORD)
        summary = NewTurn(
            alice.id, "doc-summary:d1:a.md", "qa", "a.md 요약", "요약입니다",
            conversation_id=second["conversation_id"],
        )  # fmt: skip
        state.history.add(summary)
        again = ask(ws, "q2b", "둘째 질문", replace_turn_id=second["turn_id"])
    assert again["status"] == "error" and again["error"]["code"] == "conflict", again
    assert again["error"]["message"] == ERRORS["conflict"]
    turns = history(client)
    assert [(t["request_id"], t["answer"]) for t in turns] == [
        ("q1", "답 1"),
        ("q2", "답 2"),
        ("doc-summary:d1:a.md", "요약입니다"),
    ]


def test_a_stopped_answer_replayed_after_a_reconnect_stays_stopped(serve: Any) -> None:
    client = serve(SlowLLM(tokens=500, pause_s=0.02))
    with client.websocket_connect("/ws") as ws:
        send(ws, "long", "긴 답을 써 줘")
        while ws.receive_json()["status"] != "proceeding":
            pass
        stop(ws, "long")
        final = reply(ws, "long")[-1]
    assert final["stopped"] is True
    with client.websocket_connect("/ws") as ws:  # the page sends it again after a reconnect
        frame = {"request_id": "long", "type": "text", "conv_type": "normal"}
        ws.send_text(json.dumps({**frame, "body": "긴 답을 써 줘", "resend": True}))
        replayed = reply(ws, "long")[-1]
    assert replayed["status"] == "completed" and replayed["msg"] == final["msg"]
    assert replayed["stopped"] is True and replayed["turn_id"] == final["turn_id"]


def test_a_failed_session_check_on_a_stop_frame_sends_no_error(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer keeps running (nothing stopped it): an error for its id would mark it
    failed on the page while it still streams."""
    client = serve(SlowLLM(tokens=40, pause_s=0.01))
    accounts = client.app.state.server.accounts
    with client.websocket_connect("/ws") as ws:
        send(ws, "mine", "답해 줘")
        while ws.receive_json()["status"] != "proceeding":
            pass

        def unreachable(token: str) -> None:
            raise HistoryError("database unreachable")

        monkeypatch.setattr(accounts, "session_user", unreachable)
        stop(ws, "mine")
        messages = reply(ws, "mine")
    assert [m for m in messages if m["status"] == "error"] == []
    assert messages[-1]["status"] == "completed"
    assert messages[-1]["msg"] == "".join(f"{n} " for n in range(40))
