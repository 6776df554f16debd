"""HTTP API of the web app: accounts, sessions, rate limit, history, uploads (scripted LLM)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from ragcode.domain import visible_scopes
from ragcode.embeddings.local import LocalEmbedder
from tests.scripted_llm import ScriptedLLM
from tests.server_support import PASSWORD, make_server, reply, send, signup, wait_final

pytestmark = pytest.mark.integration
HELLO_PY = b'''def greet(name):
    """Return a greeting for a person."""
    message = "hello " + name
    print(message)
    return message


def add_numbers(a, b):
    total = a + b
    print(total)
    return total
'''


@pytest.fixture
def client(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[TestClient]:
    llm = ScriptedLLM(lambda m: "이 함수는 입력을 받아 결과를 돌려줍니다.")
    core, api = make_server(tmp_path / "data", llm, embedder, login_max_failures=3)
    with TestClient(api) as test_client:
        yield test_client
    core.close()


def test_everything_requires_a_session(client: TestClient) -> None:
    for method, path in [("GET", "/api/history"), ("DELETE", "/api/history"),
                         ("GET", "/api/documents"), ("GET", "/api/me")]:  # fmt: skip
        response = client.request(method, path)
        assert response.status_code == 401 and response.json()["detail"] == "로그인이 필요합니다."
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/ws") as ws:
        ws.receive_json()  # accepted, then closed with a code the client understands
    assert closed.value.code == 4401
    client.cookies.set("ragcode_session", "forged.value")
    assert client.get("/api/me").status_code == 401


def test_signup_login_logout(client: TestClient) -> None:
    assert (
        client.post("/api/signup", json={"username": "a", "password": PASSWORD}).status_code == 400
    )
    assert (
        client.post("/api/signup", json={"username": "alice", "password": "short"}).status_code
        == 400
    )
    signup(client, "alice")
    cookie = client.cookies.get("ragcode_session")
    assert cookie and "." in cookie
    assert (
        client.post("/api/signup", json={"username": "ALICE", "password": PASSWORD}).json()[
            "detail"
        ]
        == "이미 사용 중인 사용자 이름입니다."
    )
    assert client.get("/api/me").json() == {"username": "alice", "is_admin": True}  # the first
    assert client.post("/api/logout").status_code == 204
    client.cookies.set("ragcode_session", cookie)  # the old cookie is revoked server-side
    assert client.get("/api/me").status_code == 401
    response = client.post("/api/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    set_cookie = response.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie


def test_login_is_rate_limited(client: TestClient) -> None:
    signup(client, "bob")
    client.cookies.clear()
    for _ in range(3):
        bad = client.post("/api/login", json={"username": "bob", "password": "wrong password"})
        assert bad.status_code == 401
    blocked = client.post("/api/login", json={"username": "bob", "password": PASSWORD})
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert "너무 많습니다" in blocked.json()["detail"]


def test_cross_site_requests_are_refused(client: TestClient) -> None:
    response = client.post(
        "/api/signup", json={"username": "eve", "password": PASSWORD},
        headers={"Origin": "http://evil.example"},
    )  # fmt: skip
    assert response.status_code == 403
    signup(client, "carol")
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws", headers={"Origin": "http://evil.example"}) as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 4403


def test_history_is_per_user_paginated_and_deletable(client: TestClient) -> None:
    signup(client, "alice")
    with client.websocket_connect("/ws") as ws:
        for n in range(5):
            send(ws, f"r{n}", f"질문 {n}")
            assert reply(ws, f"r{n}")[-1]["status"] == "completed"
    page = client.get("/api/history", params={"limit": 3}).json()
    assert [t["question"] for t in page["turns"]] == ["질문 2", "질문 3", "질문 4"]
    assert page["turns"][0]["time"].count(".") == 1  # sub-second precision
    older = client.get("/api/history", params={"limit": 3, "before": page["next_before"]}).json()
    assert [t["question"] for t in older["turns"]] == ["질문 0", "질문 1"]
    assert older["next_before"] is None
    client.cookies.clear()
    signup(client, "mallory")
    assert client.get("/api/history").json()["turns"] == []
    assert client.delete("/api/history").json() == {"deleted": 0}
    client.cookies.clear()
    client.post("/api/login", json={"username": "alice", "password": PASSWORD})
    assert client.delete("/api/history").json() == {"deleted": 5}


def test_upload_streams_progress_and_stays_private(client: TestClient) -> None:
    signup(client, "alice")
    with client.websocket_connect("/ws") as ws:
        files = {"file": ("../../hello.py", HELLO_PY, "text/x-python")}
        created = client.post("/api/documents", files=files)
        assert created.status_code == 202, created.text
        doc = created.json()
        assert doc["name"] == "hello.py" and doc["kind"] == "code"
        events = []
        while True:
            message = ws.receive_json()
            events.append(message)
            if message.get("status") == "document" and message["document"]["state"] == "ready":
                break
    # Searchable first (indexed, summaries pending), then ready when its units are settled.
    states = [e["document"]["state"] for e in events if e["status"] == "document"]
    assert states == ["summarizing", "ready"]
    progress = [e for e in events if e["status"] == "progress"]
    assert progress[0]["done"] == 0 and progress[0]["total"] == 2
    named = {e["unit"]["name"]: e["summary"] for e in progress[1:]}
    assert set(named) == {"greet", "add_numbers"} and "입력을 받아" in named["greet"]
    assert events[-1]["document"]["state"] == "ready"
    stored = list((client.app.state.server.core.settings.data_dir / "uploads").rglob("*.py"))  # type: ignore[attr-defined]
    assert [p.name for p in stored] == ["hello.py"] and "uploads" in str(stored[0])

    alice_cookie = client.cookies.get("ragcode_session")
    client.cookies.clear()
    signup(client, "bob")
    assert client.get("/api/documents").json()["documents"] == []
    assert client.delete(f"/api/documents/{doc['id']}").status_code == 404
    client.cookies.clear()  # bob's cookie (with the server's domain) would be sent too
    client.cookies.set("ragcode_session", alice_cookie or "")
    core = client.app.state.server.core  # type: ignore[attr-defined]
    alice = visible_scopes(1)  # the first account
    found = core.searcher.search("greeting for a person", scopes=alice)
    assert any(h.record.title == "greet" for h in found)
    assert not any(h.record.title == "greet" for h in core.searcher.search("greeting for a person"))
    assert client.delete(f"/api/documents/{doc['id']}").status_code == 204
    assert client.get("/api/documents").json()["documents"] == []
    found = core.searcher.search("greeting for a person", scopes=alice)
    assert not any(h.record.title == "greet" for h in found)
    assert not list((core.settings.data_dir / "uploads").rglob("*.py"))


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_unsafe_uploads_are_rejected(client: TestClient, tmp_path: Path) -> None:
    signup(client, "alice")
    cases = [
        ("evil.zip", zip_bytes({"ok.py": HELLO_PY, "../../escape.py": b"x = 1"}), "안전하지 않은"),
        ("bomb.zip", zip_bytes({"big.py": b"0" * 120_000_000}), "너무 큽니다"),
        ("image.png", b"\x89PNG", "지원하지 않는"),
    ]
    for name, data, reason in cases:
        response = client.post("/api/documents", files={"file": (name, data)})
        assert response.status_code == 400 and reason in response.json()["detail"], name
    assert client.get("/api/documents").json()["documents"] == []
    data_dir = client.app.state.server.core.settings.data_dir  # type: ignore[attr-defined]
    assert not list(data_dir.rglob("escape.py")) and not list(data_dir.rglob("big.py"))


def test_zip_repository_is_indexed(client: TestClient) -> None:
    signup(client, "alice")
    archive = zip_bytes({"repo/pkg/hello.py": HELLO_PY, "repo/README.txt": b"readme"})
    doc = client.post("/api/documents", files={"file": ("repo.zip", archive)}).json()
    final = wait_final(client, doc["id"])
    assert final["state"] == "ready" and final["units"] == 2
