"""Document summaries on upload through the web app (scripted LLM for the orchestration;
tests/integration/test_doc_summary_real_model.py and the browser test run the real model):
streamed to the owner's socket only, kept in history, indexed beside the document in the
owner's scope, and gone with the upload."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from ragcode.app import App
from ragcode.domain import user_scope
from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import ChatMessage
from tests.scripted_llm import ScriptedLLM
from tests.server_support import make_server, signup, wait_final

pytestmark = pytest.mark.integration

GUIDE = (
    "# 출장비 정산 안내\n\n출장비는 출장이 끝난 뒤 7일 안에 정산합니다.\n\n"
    "## 숙박비\n\n숙박비는 1박에 12만 원까지 실비로 지급합니다.\n"
)
SUMMARY = "출장비 정산 규정입니다.\n- 7일 안에 정산\n- 숙박비 1박 12만 원까지"


def summarize(messages: Sequence[ChatMessage]) -> str:
    return SUMMARY if "문서" in messages[0].content else "안녕하세요"


@pytest.fixture
def served(
    tmp_path: Path, embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[App, TestClient, TestClient, ScriptedLLM]]:
    monkeypatch.setenv("RAGCODE_DOCUMENTS__SUMMARIZE_UPLOADS", "true")
    llm = ScriptedLLM(summarize)
    core, api = make_server(tmp_path / "data", llm, embedder)
    with TestClient(api) as alice, TestClient(api) as bob:
        signup(alice, "alice")
        signup(bob, "bob")
        yield core, alice, bob, llm
    core.close()


def summary_messages(ws: WebSocketTestSession) -> list[dict[str, Any]]:
    """`doc_summary` messages until "done" or "failed" (progress and state messages skipped)."""
    seen: list[dict[str, Any]] = []
    while True:
        message = json.loads(ws.receive_text())
        if message.get("status") == "doc_summary":
            seen.append(message)
            if message["phase"] in ("done", "failed"):
                return seen


def test_an_uploaded_document_is_summarised_into_its_owner_chat(served) -> None:  # type: ignore[no-untyped-def]
    core, alice, bob, llm = served
    with alice.websocket_connect("/ws") as ws:
        doc = alice.post("/api/documents", files={"file": ("출장.md", GUIDE.encode())}).json()
        messages = summary_messages(ws)
    assert wait_final(alice, doc["id"])["state"] == "ready"
    phases = [m["phase"] for m in messages]
    assert phases[0] == "start" and phases[-1] == "done" and "delta" in phases, phases
    assert all(m["title"] == "문서 요약: 출장.md" and m["file"] == "출장.md" for m in messages)
    streamed = "".join(m["text"] for m in messages if m["phase"] == "delta")
    assert streamed == SUMMARY
    done = messages[-1]
    assert done["text"].startswith("## 문서 요약: 출장.md\n\n" + SUMMARY)
    # The LLM read the document itself.
    assert any("숙박비는 1박에 12만 원" in call[-1].content for call in llm.calls)
    # Kept in history, in the conversation the message names.
    turns = alice.get("/api/history").json()["turns"]
    assert [(t["question"], t["answer"]) for t in turns] == [("문서 요약: 출장.md", done["text"])]
    assert turns[0]["conversation_id"] == done["conversation_id"]
    assert bob.get("/api/history").json()["turns"] == []
    # Searchable with the document, in its owner's scope only.
    hits = core.docs.searcher.search("출장비 정산 규정 요약", scopes=[user_scope(1)])
    assert any(h.record.path.endswith(".ragcode-summary.md") for h in hits), hits
    assert not any(
        h.record.path.endswith(".ragcode-summary.md")
        for h in core.docs.searcher.search("출장비 정산 규정 요약", scopes=[user_scope(2)])
    )
    # Gone with the upload.
    assert alice.delete(f"/api/documents/{doc['id']}").status_code == 204
    assert not core.docs.store.roots()


def test_another_users_socket_hears_nothing_and_a_failure_keeps_the_upload(served) -> None:  # type: ignore[no-untyped-def]
    core, alice, bob, llm = served
    llm.fail_when = lambda messages: "문서" in messages[0].content
    with bob.websocket_connect("/ws") as bob_ws, alice.websocket_connect("/ws") as ws:
        doc = alice.post("/api/documents", files={"file": ("출장.md", GUIDE.encode())}).json()
        messages = summary_messages(ws)
        assert wait_final(alice, doc["id"])["state"] == "ready"
        bob_ws.send_text(json.dumps({"type": "ping"}))
        assert json.loads(bob_ws.receive_text()) == {"type": "pong"}  # nothing queued before
    assert [m["phase"] for m in messages] == ["start", "failed"], messages
    assert "문서는 그대로 검색할 수 있습니다" in messages[-1]["text"]
    assert alice.get("/api/history").json()["turns"] == []
    hits = core.docs.searcher.search("숙박비 한도", scopes=[user_scope(1)])
    assert hits and hits[0].record.path == "출장.md"  # the document itself stays searchable
