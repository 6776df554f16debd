"""Two users, each with private code and documents: nothing of one reaches the other through
any chat mode, search, history or the document API, until its owner shares it (issue 11).

The LLM echoes every prompt it is given, so any context the server puts in front of it
(retrieved code, documents, memory) comes back to the asking user and is caught here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ragcode.chat.modes import MODES
from ragcode.chat.prompts.rewrite import REWRITE_SYSTEM
from ragcode.domain import visible_scopes
from ragcode.embeddings.local import LocalEmbedder
from ragcode.ingest.indexer import IndexInputError
from ragcode.llm.protocol import ChatMessage
from tests.scripted_llm import ScriptedLLM
from tests.server_support import PASSWORD, make_server, reply, send, signup, wait_final

pytestmark = pytest.mark.integration

ALICE_KEY, BOB_KEY = "sk_live_ALICE_4f9a", "sk_live_BOB_77c1"
ALICE_MEMO, BOB_MEMO = "ALICEDOC77", "BOBDOC55"
ALICE_CHAT = "ALICECHAT31"
ALICE_CODE = f'''API_KEY = "{ALICE_KEY}"


def charge_card(amount, card_number):
    """Charge a credit card payment through the payment gateway."""
    headers = {{"Authorization": "Bearer {ALICE_KEY}"}}
    return post_payment(amount, card_number, headers)
'''.encode()
BOB_CODE = f'''TOKEN = "{BOB_KEY}"


def create_shipment(parcel, address):
    """Create a shipping label for a parcel and book the courier."""
    label = render_label(parcel, address, "{BOB_KEY}")
    return book_courier(label)
'''.encode()
ALICE_FAQ = (
    f"질문,답변\n법인카드 한도는 얼마인가요?,월 500만원입니다. 내부 코드 {ALICE_MEMO}\n".encode()
)
BOB_FAQ = (
    f"질문,답변\n출장비 정산은 어떻게 하나요?,영수증을 첨부합니다. 내부 코드 {BOB_MEMO}\n".encode()
)
CARD_QUESTION = "카드 결제를 처리하는 함수를 만들어 줘"
LIMIT_QUESTION = "법인카드 한도는 얼마인가요?"


def echo(messages: Sequence[ChatMessage]) -> str:
    if messages[0].content == REWRITE_SYSTEM:  # `code`/`qa` follow-ups: the question as is
        return messages[-1].content.rsplit("후속 질문:", 1)[-1].split("\n")[0].strip()
    return "\n".join(message.content for message in messages)


@pytest.fixture
def client(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[TestClient]:
    core, api = make_server(tmp_path / "data", ScriptedLLM(echo), embedder)
    with TestClient(api) as test_client:
        yield test_client
    core.close()


def login(client: TestClient, username: str) -> None:
    client.cookies.clear()
    response = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text


def upload(client: TestClient, name: str, data: bytes) -> str:
    response = client.post("/api/documents", files={"file": (name, data)})
    assert response.status_code == 202, response.text
    doc_id = str(response.json()["id"])
    final = wait_final(client, doc_id, timeout_s=120)
    assert final["state"] == "ready", final
    return doc_id


def ask(client: TestClient, mode: str, body: str) -> str:
    """Everything the asking user receives for one request, as one text."""
    request_id = f"{mode}-{time.monotonic_ns()}"
    with client.websocket_connect("/ws") as ws:
        send(ws, request_id, body, mode)
        messages = reply(ws, request_id)
    return json.dumps(messages, ensure_ascii=False)


def test_private_uploads_never_reach_another_user(client: TestClient) -> None:
    signup(client, "alice")
    alice_code = upload(client, "payments.py", ALICE_CODE)
    alice_faq = upload(client, "policy.csv", ALICE_FAQ)
    with client.websocket_connect("/ws") as ws:  # something private in Alice's memory too
        send(ws, "a-chat", f"내 키는 {ALICE_CHAT} 입니다", "normal")
        reply(ws, "a-chat")
    client.cookies.clear()
    signup(client, "bob")
    upload(client, "shipping.py", BOB_CODE)
    upload(client, "travel.csv", BOB_FAQ)

    # Positive controls: each user's own files do reach them (so the checks below can fail).
    assert BOB_KEY in ask(client, "code", "배송 라벨을 만드는 함수를 보여 줘")
    login(client, "alice")
    assert ALICE_KEY in ask(client, "code", CARD_QUESTION)
    assert ALICE_MEMO in ask(client, "qa", LIMIT_QUESTION)

    login(client, "bob")
    alice_things = (ALICE_KEY, ALICE_MEMO, ALICE_CHAT, "charge_card", "payments.py", "policy.csv")
    for mode in MODES:
        for question in (CARD_QUESTION, LIMIT_QUESTION):
            received = ask(client, mode, question)
            leaked = [thing for thing in alice_things if thing in received]
            assert not leaked, (mode, question, leaked)
    listed = json.dumps(client.get("/api/documents").json(), ensure_ascii=False)
    history = json.dumps(client.get("/api/history").json(), ensure_ascii=False)
    for text in (listed, history):
        assert not [thing for thing in alice_things if thing in text]
    for method, path in [("DELETE", f"/api/documents/{alice_code}"),
                         ("POST", f"/api/documents/{alice_faq}/share"),
                         ("DELETE", f"/api/documents/{alice_faq}/share")]:  # fmt: skip
        assert client.request(method, path).status_code == 404, path

    core = client.app.state.server.core  # type: ignore[attr-defined]
    assert not any(h.record.title == "charge_card" for h in core.searcher.search(CARD_QUESTION))


def test_sharing_with_the_team_and_taking_it_back(client: TestClient) -> None:
    signup(client, "alice")  # the first account: an admin
    alice_code = upload(client, "payments.py", ALICE_CODE)
    client.cookies.clear()
    signup(client, "bob")
    assert ALICE_KEY not in ask(client, "code", CARD_QUESTION)
    assert client.post(f"/api/documents/{alice_code}/share").status_code == 404

    login(client, "alice")
    shared = client.post(f"/api/documents/{alice_code}/share")
    assert shared.status_code == 200 and shared.json()["shared"] is True
    login(client, "bob")
    assert ALICE_KEY in ask(client, "code", CARD_QUESTION)
    listed = {d["id"]: d for d in client.get("/api/documents").json()["documents"]}
    assert listed[alice_code]["shared"] and not listed[alice_code]["mine"]
    # Team content: Bob (no admin) may neither delete it nor change its sharing.
    assert client.delete(f"/api/documents/{alice_code}").status_code == 403
    assert client.delete(f"/api/documents/{alice_code}/share").status_code == 403

    login(client, "alice")
    assert client.delete(f"/api/documents/{alice_code}/share").json()["shared"] is False
    login(client, "bob")
    # What Bob was shown while it was shared stays in his own history (and so in his
    # memory); a new conversation no longer finds it.
    assert client.delete("/api/history").status_code == 200
    assert ALICE_KEY not in ask(client, "code", CARD_QUESTION)
    assert alice_code not in {d["id"] for d in client.get("/api/documents").json()["documents"]}


@pytest.mark.parametrize("team_first", [True, False], ids=["team-indexed-first", "uploads-first"])
def test_a_data_directory_inside_a_team_folder_keeps_uploads_private(
    tmp_path: Path, embedder: LocalEmbedder, team_first: bool
) -> None:
    """`ragcode index /srv` with the data directory at /srv/ragcode-data: the team run must
    neither absorb the uploads' roots (making them team content) nor lend its own root to
    them (making the team's files one user's)."""
    project = tmp_path / "srv"
    project.mkdir()
    (project / "team.py").write_text(
        'def team_helper():\n    """Charge card helper of the team."""\n    return 1\n'
    )
    core, api = make_server(project / "ragcode-data", ScriptedLLM(echo), embedder)
    try:
        if team_first:
            core.indexer.index(project)
        with TestClient(api) as client:
            signup(client, "alice")
            upload(client, "payments.py", ALICE_CODE)
            client.cookies.clear()
            signup(client, "bob")
            upload(client, "shipping.py", BOB_CODE)
        if not team_first:
            core.indexer.index(project)
        seen = {
            who: {h.record.title for h in core.searcher.search(CARD_QUESTION, 20, scopes=scopes)}
            for who, scopes in [
                ("team", ("team",)),
                ("alice", visible_scopes(1)),
                ("bob", visible_scopes(2)),
            ]
        }
    finally:
        core.close()
    assert "charge_card" in seen["alice"] and "team_helper" in seen["alice"]
    assert "charge_card" not in seen["bob"] and "team_helper" in seen["bob"]
    assert "charge_card" not in seen["team"] and "create_shipment" not in seen["team"]
    with pytest.raises(IndexInputError, match="데이터 디렉터리"):
        core.indexer.index(project / "ragcode-data")
