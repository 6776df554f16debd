"""Conversations over REST and the WebSocket, with a scripted LLM that says what memory it
was given: separate memory per conversation, memory shared by the conversational modes and
never by the single-shot ones, "forget", a `qa` follow-up rewritten with the memory, and no
way into another user's conversation (404, like a missing one)."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from ragcode.app import App, build_app
from ragcode.chat.prompts.rewrite import REWRITE_SYSTEM
from ragcode.config import Settings
from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import ChatMessage
from ragcode.server.factory import create_app
from tests.scripted_llm import ScriptedLLM
from tests.server_support import PASSWORD, TEST_HOSTS, reply, signup

pytestmark = pytest.mark.integration

SAMPLE_FAQ = Path(__file__).resolve().parents[2] / "samples" / "bank_faq_ko.csv"
FOREIGN = {"Origin": "http://evil.example"}
REQUEST_IDS = itertools.count(1)
Serve = Callable[..., tuple[App, TestClient]]


def remembered(messages: Sequence[ChatMessage]) -> str:
    """What the scripted model answers: the user turns of its memory (between the system
    prompt and the question), so every answer says what memory the server gave it."""
    return "기억=" + "|".join(m.content for m in messages[1:-1] if m.role == "user")


@pytest.fixture
def serve(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[Serve]:
    opened: list[tuple[App, TestClient]] = []

    def start(llm: ScriptedLLM, max_conversations: int = 500) -> tuple[App, TestClient]:
        settings = Settings(
            data_dir=tmp_path / f"data{len(opened)}",
            server={"allowed_hosts": TEST_HOSTS, "max_conversations": max_conversations},
            search={"expand_query": False},  # the scripted model answers the chat only
        )
        core = build_app(settings, llm=llm, embedder=embedder)
        client = TestClient(create_app(core))
        client.__enter__()
        opened.append((core, client))
        signup(client, "alice")
        return core, client

    yield start
    for core, client in opened:
        client.__exit__(None, None, None)
        core.close()


def login(client: TestClient, username: str) -> None:
    client.cookies.clear()
    response = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text


def ask(
    ws: WebSocketTestSession, body: str, conversation: int | None, mode: str = "normal"
) -> dict[str, Any]:
    """The final message of one request."""
    request_id = f"r{next(REQUEST_IDS)}"
    frame: dict[str, Any] = {
        "request_id": request_id, "type": "text", "conv_type": mode, "body": body,
    }  # fmt: skip
    if conversation is not None:
        frame["conversation_id"] = conversation
    ws.send_text(json.dumps(frame))
    return reply(ws, request_id)[-1]


def create(client: TestClient, title: str | None = None) -> int:
    response = client.post("/api/conversations", json={} if title is None else {"title": title})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def listed(client: TestClient) -> list[dict[str, Any]]:
    response = client.get("/api/conversations")
    assert response.status_code == 200, response.text
    return list(response.json()["conversations"])


def questions(client: TestClient, conversation: int) -> list[str]:
    response = client.get("/api/history", params={"conversation": conversation})
    assert response.status_code == 200, response.text
    return [turn["question"] for turn in response.json()["turns"]]


def test_two_conversations_keep_separate_memory(serve: Serve) -> None:
    _, client = serve(ScriptedLLM(remembered))
    minsu, cheolsu = create(client, "민수 대화"), create(client)
    with client.websocket_connect("/ws") as ws:
        ask(ws, "내 이름은 민수야", minsu)
        ask(ws, "내 이름은 철수야", cheolsu)
        in_minsu = ask(ws, "내 이름이 뭐야?", minsu)
        assert in_minsu["status"] == "completed" and in_minsu["conversation_id"] == minsu
        assert in_minsu["msg"] == "기억=내 이름은 민수야"
        in_cheolsu = ask(ws, "내 이름이 뭐야?", cheolsu)
        assert in_cheolsu["msg"] == "기억=내 이름은 철수야"
        # No conversation named (today's client): the most recently active one.
        default = ask(ws, "방금 뭐라고 했지?", None)
        assert default["conversation_id"] == cheolsu
        assert default["msg"] == "기억=내 이름은 철수야|내 이름이 뭐야?"
    assert questions(client, minsu) == ["내 이름은 민수야", "내 이름이 뭐야?"]
    assert questions(client, cheolsu) == [
        "내 이름은 철수야",
        "내 이름이 뭐야?",
        "방금 뭐라고 했지?",
    ]
    conversations = listed(client)
    assert [(c["id"], c["title"], c["turns"]) for c in conversations] == [
        (cheolsu, "내 이름은 철수야", 3), (minsu, "민수 대화", 2),
    ]  # fmt: skip
    assert conversations[0]["last_activity"] > conversations[1]["last_activity"]
    everything = client.get("/api/history").json()["turns"]  # no conversation: all of them
    assert {t["conversation_id"] for t in everything} == {minsu, cheolsu}


def test_memory_is_shared_by_chat_modes_and_untouched_by_single_shot_ones(
    serve: Serve,
) -> None:
    llm = ScriptedLLM(remembered)
    _, client = serve(llm)
    with client.websocket_connect("/ws") as ws:
        ask(ws, "fetch_user 함수가 뭘 하는지 설명해 줘", None)
        calls = len(llm.calls)
        translated = ask(ws, "좋은 아침입니다", None, mode="translation")
        assert translated["msg"] == "기억="  # no memory read
        assert len(llm.calls[calls]) == 2  # system prompt and the text only
        calls = len(llm.calls)
        code = ask(ws, "그걸 비동기로 바꿔줘", None, mode="code")
        assert code["status"] == "completed", code
        # Switching to code generation keeps the chat's context: the follow-up is rewritten
        # with it before the search, and the model sees the earlier turn.
        rewrite = next(c for c in llm.calls[calls:] if c[0].content == REWRITE_SYSTEM)
        assert "fetch_user 함수가 뭘 하는지 설명해 줘" in rewrite[1].content
        assert "좋은 아침입니다" not in rewrite[1].content
        generation = llm.calls[-1]
        assert "fetch_user 함수가 뭘 하는지 설명해 줘" in [m.content for m in generation]
        step = ask(ws, "다음 단계는?", None, mode="step-by-step")
        assert step["msg"] == "기억=fetch_user 함수가 뭘 하는지 설명해 줘|그걸 비동기로 바꿔줘"
        back = ask(ws, "정리해 줘", None)
        assert "좋은 아침입니다" not in back["msg"] and "다음 단계는?" in back["msg"]


def test_forget_clears_memory_and_keeps_the_history(serve: Serve) -> None:
    _, client = serve(ScriptedLLM(remembered))
    conversation = create(client)
    with client.websocket_connect("/ws") as ws:
        ask(ws, "비밀번호는 사과야", conversation)
        assert ask(ws, "비밀번호가 뭐지?", conversation)["msg"] == "기억=비밀번호는 사과야"
        response = client.post(f"/api/conversations/{conversation}/forget")
        assert response.status_code == 200, response.text
        assert (response.json()["forgotten_turns"], response.json()["turns"]) == (2, 2)
        assert "memory_after" not in response.json()  # a turn id: kept server-side
        assert ask(ws, "비밀번호가 뭐지?", conversation)["msg"] == "기억="
        assert ask(ws, "그럼 지금은?", conversation)["msg"] == "기억=비밀번호가 뭐지?"
    assert questions(client, conversation) == [
        "비밀번호는 사과야", "비밀번호가 뭐지?", "비밀번호가 뭐지?", "그럼 지금은?",
    ]  # fmt: skip


def test_rest_create_rename_delete_and_validation(serve: Serve) -> None:
    _, client = serve(ScriptedLLM(remembered))
    untitled = client.post("/api/conversations")  # no body at all
    assert untitled.status_code == 201 and untitled.json()["title"] is None
    assert untitled.json()["turns"] == 0
    titled = client.post("/api/conversations", json={"title": "  배포\n 스크립트\x07 "})
    assert titled.status_code == 201 and titled.json()["title"] == "배포 스크립트"
    assert client.post("/api/conversations", json={"title": "가" * 101}).status_code == 422
    first = untitled.json()["id"]
    assert client.patch(f"/api/conversations/{first}", json={"title": " \n "}).status_code == 422
    renamed = client.patch(f"/api/conversations/{first}", json={"title": "새 이름"})
    assert renamed.status_code == 200 and renamed.json()["title"] == "새 이름"
    with client.websocket_connect("/ws") as ws:
        ask(ws, "질문 하나", first)
        ask(ws, "질문 둘", first)
    deleted = client.delete(f"/api/conversations/{first}")
    assert deleted.status_code == 200 and deleted.json() == {"deleted": 2}
    assert client.get("/api/history", params={"conversation": first}).status_code == 404
    assert client.delete(f"/api/conversations/{first}").status_code == 404
    assert [c["title"] for c in listed(client)] == ["배포 스크립트"]
    assert client.get("/api/history").json()["turns"] == []
    too_big = client.patch(f"/api/conversations/{2**63}", json={"title": "x"})
    assert too_big.status_code == 422  # not a 500 from the database
    assert client.delete("/api/history").status_code == 200  # every conversation goes too
    assert listed(client) == []


def test_rest_needs_a_login_and_a_same_origin_request(serve: Serve) -> None:
    _, client = serve(ScriptedLLM(remembered))
    conversation = create(client, "원래 제목")
    for method, path, body in [
        ("POST", "/api/conversations", {"title": "남의 사이트"}),
        ("PATCH", f"/api/conversations/{conversation}", {"title": "바뀜"}),
        ("DELETE", f"/api/conversations/{conversation}", None),
        ("POST", f"/api/conversations/{conversation}/forget", None),
    ]:
        response = client.request(method, path, json=body, headers=FOREIGN)
        assert response.status_code == 403, (method, path)
    assert [(c["title"], c["forgotten_turns"]) for c in listed(client)] == [("원래 제목", 0)]
    client.cookies.clear()
    assert client.get("/api/conversations").status_code == 401
    assert client.post("/api/conversations", json={}).status_code == 401
    assert client.post(f"/api/conversations/{conversation}/forget").status_code == 401


def test_another_users_conversation_cannot_be_read_written_renamed_or_deleted(
    serve: Serve,
) -> None:
    llm = ScriptedLLM(remembered)
    _, client = serve(llm)
    secret = create(client, "앨리스의 비밀")
    with client.websocket_connect("/ws") as ws:
        ask(ws, "앨리스의 비밀번호는 사과야", secret)
    signup(client, "bob")  # logs bob in
    missing = 10**9
    for target in (secret, missing):  # the same answer for another user's and a missing one
        answers = [
            client.get("/api/history", params={"conversation": target}),
            client.patch(f"/api/conversations/{target}", json={"title": "밥이 바꿈"}),
            client.post(f"/api/conversations/{target}/forget"),
            client.delete(f"/api/conversations/{target}"),
        ]
        assert [a.status_code for a in answers] == [404] * 4, target
        assert len({a.json()["detail"] for a in answers}) == 1
    assert listed(client) == []
    with client.websocket_connect("/ws") as ws:
        intruding = ask(ws, "비밀번호가 뭐야?", secret)
        assert intruding["status"] == "error"
        assert intruding["error"]["code"] == "unknown_conversation"
        own = ask(ws, "비밀번호가 뭐야?", None)  # bob's own new conversation
        assert own["status"] == "completed" and own["conversation_id"] != secret
        assert "사과" not in own["msg"]
    assert all("사과" not in m.content for call in llm.calls[1:] for m in call)
    login(client, "alice")
    mine = listed(client)
    assert [(c["id"], c["title"], c["turns"], c["forgotten_turns"]) for c in mine] == [
        (secret, "앨리스의 비밀", 1, 0),
    ]  # fmt: skip
    assert questions(client, secret) == ["앨리스의 비밀번호는 사과야"]


def faq_reply(messages: Sequence[ChatMessage]) -> str:
    """Rewrites a follow-up only when the memory names the lost bankbook; answers citing [1]."""
    if messages[0].content == REWRITE_SYSTEM:
        if "통장을 잃어버렸는데" in messages[1].content:
            return "통장 재발행 수수료는 얼마인가요?"
        return "기억 없이 다시 쓴 질문"
    return "문서에 따르면 그렇습니다 [1]"


def test_a_qa_follow_up_is_rewritten_with_the_conversations_memory(
    serve: Serve, tmp_path: Path
) -> None:
    llm = ScriptedLLM(faq_reply)
    core, client = serve(llm)
    faq = tmp_path / "bank_faq_ko.csv"
    shutil.copy(SAMPLE_FAQ, faq)
    core.docs.indexer.index(faq)
    conversation = create(client)
    with client.websocket_connect("/ws") as ws:
        first = ask(ws, "통장을 잃어버렸는데 재발행은 어떻게 하나요?", conversation, mode="qa")
        assert first["status"] == "completed", first
        calls = len(llm.calls)
        follow_up = ask(ws, "그럼 수수료는?", conversation, mode="qa")
    assert follow_up["status"] == "completed", follow_up
    rewrite, answer = llm.calls[calls:]
    assert rewrite[0].content == REWRITE_SYSTEM
    assert "통장을 잃어버렸는데 재발행은 어떻게 하나요?" in rewrite[1].content
    # The standalone question is what was searched for and asked.
    assert "통장 재발행 수수료는 얼마인가요?" in answer[-1].content
    assert "그럼 수수료는?" not in answer[-1].content
    top = follow_up["references"][0]
    assert "재발행" in str(top["title"]) + str(top["text"]), follow_up["references"]
    assert "2,000원" in answer[-1].content  # the bankbook row's fee reached the model
    history = client.app.state.server.history  # type: ignore[attr-defined]
    stored = history.list(1, 10, conversation_id=conversation)
    assert [t.standalone_question for t in stored] == [None, "통장 재발행 수수료는 얼마인가요?"]


def test_a_malformed_conversation_id_is_refused_before_anything_runs(serve: Serve) -> None:
    llm = ScriptedLLM(remembered)
    _, client = serve(llm)
    with client.websocket_connect("/ws") as ws:
        for bad in (0, -1, 2**63, "하나", 1.5):
            ws.send_text(json.dumps({
                "request_id": "bad", "type": "text", "conv_type": "normal", "body": "안녕",
                "conversation_id": bad,
            }))  # fmt: skip
            error = ws.receive_json()
            assert error["status"] == "error" and error["request_id"] == "bad", bad
            assert error["error"]["code"] == "invalid_message", bad
    assert llm.calls == [] and listed(client) == []


def test_conversations_stop_at_the_configured_cap_and_list_a_page_at_a_time(
    serve: Serve,
) -> None:
    _, client = serve(ScriptedLLM(remembered), max_conversations=3)
    made = [create(client, f"대화 {n}") for n in range(3)]
    refused = client.post("/api/conversations", json={"title": "넷째"})
    assert refused.status_code == 409 and "3개까지" in refused.json()["detail"]
    with client.websocket_connect("/ws") as ws:  # no conversation named: the latest one
        answer = ask(ws, "상한에서도 질문은 됩니다", None)
    assert answer["status"] == "completed" and answer["conversation_id"] == made[-1]
    assert len(listed(client)) == 3
    first = client.get("/api/conversations", params={"limit": 2}).json()
    assert [c["id"] for c in first["conversations"]] == [made[2], made[1]]
    rest = client.get(
        "/api/conversations", params={"limit": 2, "before": first["next_before"]}
    ).json()
    assert [c["id"] for c in rest["conversations"]] == [made[0]] and rest["next_before"] is None
    assert client.get("/api/conversations").json()["next_before"] is None
    for bad in (0, 201):
        assert client.get("/api/conversations", params={"limit": bad}).status_code == 422
    client.delete(f"/api/conversations/{made[0]}")
    assert client.post("/api/conversations", json={}).status_code == 201


def test_a_conversation_deleted_while_it_is_answered(serve: Serve) -> None:
    """The latest conversation (no id named) deleted mid-answer: the answer is saved in a
    new one rather than lost. A named one: `unknown_conversation`, not `internal`."""
    doomed: list[int] = []

    def reply_and_delete(messages: Sequence[ChatMessage]) -> str:
        history = client.app.state.server.history  # type: ignore[attr-defined]
        history.delete_conversation(1, doomed.pop())
        return "긴 답"

    _, client = serve(ScriptedLLM(reply_and_delete))
    with client.websocket_connect("/ws") as ws:
        doomed.append(create(client))
        unnamed = ask(ws, "지워질 대화에서 질문", None)
        assert unnamed["status"] == "completed" and unnamed["msg"] == "긴 답", unnamed
        kept = listed(client)
        assert [(c["id"], c["turns"]) for c in kept] == [(unnamed["conversation_id"], 1)]
        assert questions(client, unnamed["conversation_id"]) == ["지워질 대화에서 질문"]
        doomed.append(kept[0]["id"])
        named = ask(ws, "이름 붙인 대화", kept[0]["id"])
        assert named["status"] == "error", named
        assert named["error"]["code"] == "unknown_conversation"
    assert listed(client) == [] and client.get("/api/history").json()["turns"] == []
