"""The chat WebSocket: protocol, malformed frames, concurrency, cancellation, modes, errors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ragcode.app import App
from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import LLM
from tests.scripted_llm import ScriptedLLM
from tests.server_support import SlowLLM, make_server, reply, send, signup

pytestmark = pytest.mark.integration


@pytest.fixture
def serve(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[object]:
    cores: list[App] = []

    def start(llm: LLM, **server: object) -> TestClient:
        core, api = make_server(tmp_path / f"data{len(cores)}", llm, embedder, **server)
        cores.append(core)
        client = TestClient(api)
        client.__enter__()
        clients.append(client)
        signup(client, "alice")
        return client

    clients: list[TestClient] = []
    yield start
    for client in clients:
        client.__exit__(None, None, None)
    for core in cores:
        core.close()


def test_one_request_streams_then_completes(serve) -> None:  # type: ignore[no-untyped-def]
    client = serve(ScriptedLLM(lambda m: "안녕하세요, 무엇을 도와드릴까요?"))
    with client.websocket_connect("/ws") as ws:
        send(ws, "r1", "안녕")
        messages = reply(ws, "r1")
    assert messages[0] == {"request_id": "r1", "status": "istyping"}
    deltas = [m["delta"] for m in messages if m["status"] == "proceeding"]
    assert len(deltas) > 3 and "".join(deltas) == "안녕하세요, 무엇을 도와드릴까요?"
    assert messages[-1] == {
        "request_id": "r1", "status": "completed", "msg": "".join(deltas), "references": [],
        "mode": "normal", "conversation_id": 1, "turn_id": 1,
    }  # fmt: skip


def test_malformed_frames_get_errors_and_the_socket_stays_open(serve) -> None:  # type: ignore[no-untyped-def]
    client = serve(ScriptedLLM(lambda m: "ok"), max_message_chars=50)
    with client.websocket_connect("/ws") as ws:

        def text(request_id: str, mode: str, body: str) -> str:
            frame = {"request_id": request_id, "type": "text", "conv_type": mode, "body": body}
            return json.dumps(frame)

        frames = [
            ("not json", None, "invalid_json"),
            (json.dumps({"type": "text", "body": "no id"}), None, "invalid_message"),
            (json.dumps({"request_id": "x1", "type": "bogus"}), "x1", "invalid_message"),
            (json.dumps([1, 2, 3]), None, "invalid_message"),
            (text("x2", "poem", "a"), "x2", "unknown_mode"),
            (text("x3", "normal", "  "), "x3", "empty"),
            (text("x4", "normal", "가" * 51), "x4", "too_long"),
        ]
        for frame, request_id, code in frames:
            ws.send_text(frame)
            error = ws.receive_json()
            assert error["status"] == "error" and error["request_id"] == request_id
            assert error["error"]["code"] == code and error["error"]["message"]
            assert "Traceback" not in error["error"]["message"]
        ws.send_bytes(b"\xff\xfe")
        assert ws.receive_json()["error"]["code"] == "invalid_json"
        ws.send_text(json.dumps({"type": "ping"}))
        assert ws.receive_json() == {"type": "pong"}
        send(ws, "ok1", "still there?")
        assert reply(ws, "ok1")[-1]["msg"] == "ok"


def test_requests_in_flight_run_concurrently(serve) -> None:  # type: ignore[no-untyped-def]
    llm = SlowLLM(tokens=15, pause_s=0.02)
    client = serve(llm, max_requests_in_flight=3)
    with client.websocket_connect("/ws") as ws:
        for n in range(4):
            send(ws, f"c{n}", f"질문 {n}", mode="translation")
        finals: dict[str, dict[str, object]] = {}
        before_first_completion: set[str] = set()
        while len(finals) < 4:
            message = ws.receive_json()
            if message["status"] == "proceeding" and not any(
                f["status"] == "completed" for f in finals.values()
            ):
                before_first_completion.add(message["request_id"])
            if message["status"] in ("completed", "error"):
                finals[message["request_id"]] = message
    assert finals["c3"]["error"]["code"] == "busy"  # type: ignore[index]
    for n in range(3):
        assert finals[f"c{n}"]["msg"] == "".join(f"{i} " for i in range(15))
    assert before_first_completion == {"c0", "c1", "c2"}, "the three streams interleave"


def test_closing_the_socket_stops_generation(serve) -> None:  # type: ignore[no-untyped-def]
    llm = SlowLLM(tokens=500, pause_s=0.02)
    client = serve(llm)
    with client.websocket_connect("/ws") as ws:
        send(ws, "long", "긴 답을 써 줘")
        proceeding = 0
        while proceeding < 3:
            proceeding += ws.receive_json()["status"] == "proceeding"
    deadline = time.monotonic() + 5
    while llm.closed == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert llm.closed == 1 and llm.finished == 0
    assert client.get("/api/history").json()["turns"] == []  # nothing half-done is stored


def test_memory_is_rebuilt_from_history(serve) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM(lambda m: f"답{len(m)}")
    client = serve(llm)
    with client.websocket_connect("/ws") as ws:
        send(ws, "m1", "내 이름은 민수야")
        reply(ws, "m1")
    with client.websocket_connect("/ws") as ws:  # a new socket: memory comes from the store
        send(ws, "m2", "내 이름이 뭐야?")
        reply(ws, "m2")
        send(ws, "t1", "hello", mode="translation")
        reply(ws, "t1")
    second = llm.calls[1]
    assert [m.content for m in second[1:]] == ["내 이름은 민수야", "답2", "내 이름이 뭐야?"]
    assert len(llm.calls[2]) == 2  # translation has no memory


PII_QUESTION = "홍길동 님 연락처는 010-9876-5432, hong@example.com, 주민번호 800101-1234567"
PII_SECRETS = ("홍길동", "010-9876-5432", "hong@example.com", "800101-1234567", "1234567")


def stored_bytes(client: TestClient) -> bytes:
    data_dir = client.app.state.server.core.settings.data_dir  # type: ignore[attr-defined]
    return b"".join(path.read_bytes() for path in data_dir.glob("web.sqlite3*"))  # WAL too


@pytest.mark.parametrize(
    ("name", "llm_answer"),
    [
        ("echo", lambda m: m[-1].content),  # masks nothing: writes back what it was given
        ("leaky", lambda _m: PII_QUESTION),  # writes the original numbers itself
    ],
)
def test_pii_mode_never_shows_or_stores_numbers(serve, name, llm_answer) -> None:  # type: ignore[no-untyped-def]
    """Whatever the model does, phones, e-mails, resident numbers and the names the
    deterministic layer finds are masked in the answer, the history and the database file."""
    llm = ScriptedLLM(llm_answer)
    client = serve(llm)
    with client.websocket_connect("/ws") as ws:
        send(ws, "p1", PII_QUESTION, mode="pii")
        final = reply(ws, "p1")[-1]
    expected = "[이름] 님 연락처는 [전화번호], [이메일], 주민번호 [주민등록번호]"
    assert llm.calls[0][-1].content == expected  # the model never saw the numbers
    assert final["status"] == "completed" and final["msg"] == expected
    turns = client.get("/api/history").json()["turns"]
    assert len(turns) == 1
    assert turns[0]["question"] == turns[0]["answer"] == expected
    raw = stored_bytes(client)
    assert "[주민등록번호]".encode() in raw  # the masked turn is what the file holds
    for secret in PII_SECRETS:
        assert secret not in json.dumps(turns, ensure_ascii=False)
        assert secret.encode() not in raw


def test_pii_mode_keeps_names_the_model_masked(serve) -> None:  # type: ignore[no-untyped-def]
    """A given name alone has no cue for the deterministic layer: the model's masking of it
    is what the answer and the history keep."""
    client = serve(ScriptedLLM(lambda m: m[-1].content.replace("영희", "[이름]")))
    with client.websocket_connect("/ws") as ws:
        send(ws, "p2", "영희가 010-9876-5432로 연락했어요", mode="pii")
        final = reply(ws, "p2")[-1]
    assert final["msg"] == "[이름]가 [전화번호]로 연락했어요"
    assert "영희".encode() not in stored_bytes(client)


def test_llm_failure_is_a_user_message(serve) -> None:  # type: ignore[no-untyped-def]
    client = serve(ScriptedLLM(lambda m: "x", fail_when=lambda m: True))
    with client.websocket_connect("/ws") as ws:
        send(ws, "f1", "안녕")
        final = reply(ws, "f1")[-1]
    assert final["status"] == "error" and final["error"]["code"] == "llm_error"
    assert final["error"]["message"].startswith("언어 모델이")


def test_code_and_qa_modes_answer_with_references(serve) -> None:  # type: ignore[no-untyped-def]
    client = serve(ScriptedLLM(lambda m: "```python\ndef hello():\n    return 1\n```\n[1]"))
    source = b'def greet(name):\n    """Greet someone by name."""\n    text = "hi " + name\n'
    files = {"file": ("greet.py", source + b"    return text\n")}
    doc = client.post("/api/documents", files=files).json()
    client.app.state.server.ingest.wait_idle()
    with client.websocket_connect("/ws") as ws:
        send(ws, "c1", "이름으로 인사하는 함수 greet", mode="code")
        final = reply(ws, "c1")[-1]
        send(ws, "q1", "환불 규정이 어떻게 되나요?", mode="qa")
        qa = reply(ws, "q1")[-1]
    assert final["status"] == "completed" and doc["kind"] == "code"
    assert (
        final["references"][0]["name"] == "greet" and "def greet" in final["references"][0]["code"]
    )
    assert qa["status"] == "completed" and qa["references"] == []  # no documents: said so


def test_a_collection_of_another_embedding_model_is_explained(serve) -> None:  # type: ignore[no-untyped-def]
    client = serve(ScriptedLLM(lambda m: "답 [1]"))
    faq = "질문,답변\n카드를 잃어버렸어요.,분실 신고를 하세요.\n".encode()
    client.post("/api/documents", files={"file": ("faq.csv", faq)})
    client.app.state.server.ingest.wait_idle()
    docs_store = client.app.state.server.core.docs.store
    # As if the collection had been indexed before the embedding model was changed.
    docs_store._conn.execute("UPDATE meta SET value = 'old-model' WHERE key = 'embedder:docs'")
    docs_store._embedder_claimed = None
    with client.websocket_connect("/ws") as ws:
        send(ws, "m1", "카드 분실 신고", mode="qa")
        final = reply(ws, "m1")[-1]
    assert final["status"] == "error" and final["error"]["code"] == "index_mismatch"
    assert "old-model" in final["error"]["message"]


def test_a_lone_surrogate_in_a_message_is_answered_and_recorded(serve) -> None:  # type: ignore[no-untyped-def]
    """JSON can carry "\\ud800"; the history store (SQLite or PostgreSQL) cannot encode it,
    so the answer used to stream and then the turn was lost."""
    client = serve(ScriptedLLM(lambda m: "네"))
    with client.websocket_connect("/ws") as ws:
        frame = '{"request_id": "s1", "type": "text", "conv_type": "normal", "body": "a\\ud800b"}'
        ws.send_text(frame)
        messages = reply(ws, "s1")
    assert messages[-1]["status"] == "completed"
    turns = client.get("/api/history").json()["turns"]
    assert [(t["request_id"], t["question"]) for t in turns] == [("s1", "a\ufffdb")]
