"""Summaries never block uploads (issue 13): the ingest loop indexes every upload and moves
on; the summaries of code uploads follow on a thread of their own. The LLM is scripted and
its summaries wait for the test, which is what makes them "slow" here."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from ragcode.app import WEB_DB
from ragcode.domain import SummaryState, user_scope, visible_scopes
from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import ChatMessage
from ragcode.uploads.sqlite import SqliteRegistry
from tests.integration.test_isolation import (
    ALICE_CODE,
    ALICE_FAQ,
    ALICE_MEMO,
    CARD_QUESTION,
    LIMIT_QUESTION,
)
from tests.integration.test_upload_jobs import put_upload
from tests.scripted_llm import ScriptedLLM
from tests.server_support import PASSWORD, make_server, send, signup, wait_final

pytestmark = pytest.mark.integration

MORE_CODE = b'''

def refund_card(card_id, amount):
    """Give money back to a card."""
    ledger = open_ledger(card_id)
    ledger.credit(amount)
    return ledger.balance


def card_statement(card_id, month):
    """List the payments of a card in one month."""
    rows = load_payments(card_id, month)
    return [row for row in rows if row.amount > 0]
'''


class GatedSummaries:
    """Summary calls (their prompt holds a unit's code) wait until `release` is set, as a
    slow model would; chat answers at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.llm = ScriptedLLM(self.answer)

    def answer(self, messages: Sequence[ChatMessage]) -> str:
        if any("def " in message.content for message in messages):
            assert self.release.wait(120), "the test never released the summaries"
            return "설명: 카드 결제와 관련된 일을 처리한다.\n검색어: 카드, 결제"
        return "월 500만원입니다 [1]"


@pytest.fixture
def gated() -> Iterator[GatedSummaries]:
    summaries = GatedSummaries()
    yield summaries
    summaries.release.set()  # never leave a summary thread waiting


def listed(client: TestClient) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in client.get("/api/documents").json()["documents"]}


def wait_state(client: TestClient, doc_id: str, state: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while listed(client)[doc_id]["state"] != state:
        assert time.monotonic() < deadline, listed(client)[doc_id]
        time.sleep(0.05)


def events_until(
    ws: WebSocketTestSession, done: Callable[[dict[str, Any]], bool], events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every message received (appended to `events`) up to the first one `done` accepts."""
    while True:
        events.append(ws.receive_json())
        if done(events[-1]):
            return events


def test_a_document_is_ready_while_a_code_upload_is_still_summarized(
    tmp_path: Path, embedder: LocalEmbedder, gated: GatedSummaries
) -> None:
    core, api = make_server(tmp_path / "data", gated.llm, embedder)
    try:
        with TestClient(api) as client:
            signup(client, "alice")
            with client.websocket_connect("/ws") as ws:
                files = {"file": ("payments.py", ALICE_CODE + MORE_CODE)}
                code_id = client.post("/api/documents", files=files).json()["id"]
                wait_state(client, code_id, "summarizing")
                # Searchable as soon as it is indexed, summaries or not.
                found = core.searcher.search(CARD_QUESTION, scopes=visible_scopes(1))
                assert any(h.record.title == "charge_card" for h in found)

                faq = client.post("/api/documents", files={"file": ("policy.csv", ALICE_FAQ)})
                faq_id = faq.json()["id"]
                assert wait_final(client, faq_id, timeout_s=30)["state"] == "ready"
                assert listed(client)[code_id]["state"] == "summarizing"
                send(ws, "q1", LIMIT_QUESTION, "qa")
                events: list[dict[str, Any]] = []
                answer = events_until(
                    ws,
                    lambda e: e.get("request_id") == "q1" and e["status"] in ("completed", "error"),
                    events,
                )[-1]
                assert answer["status"] == "completed", answer
                assert ALICE_MEMO in str(answer["references"])  # answered from the FAQ
                assert listed(client)[code_id]["state"] == "summarizing"
                assert not gated.release.is_set()

                gated.release.set()
                assert client.app.state.server.ingest.wait_summaries(60)  # type: ignore[attr-defined]
                events = events_until(
                    ws,
                    lambda e: (
                        e.get("status") == "document"
                        and e["document"]["id"] == code_id
                        and e["document"]["state"] == "ready"
                    ),
                    events,
                )
            final = listed(client)[code_id]
        assert (final["state"], final["units"], final["error"]) == ("ready", 3, None)
    finally:
        core.close()
    states = [
        (e["document"]["id"], e["document"]["state"]) for e in events if e["status"] == "document"
    ]
    assert states == [(code_id, "summarizing"), (faq_id, "ready"), (code_id, "ready")]
    progress = [e for e in events if e["status"] == "progress"]
    assert {e["document_id"] for e in progress} == {code_id}
    assert [e["done"] for e in progress] == [0, 1, 2, 3] and {e["total"] for e in progress} == {3}
    assert {e["unit"]["name"] for e in progress[1:]} == {
        "charge_card", "refund_card", "card_statement",
    }  # fmt: skip
    assert all(e["summary"].startswith("카드 결제") for e in progress[1:])
    # The estimate: none before any unit settled (nothing measured), then from the rate.
    assert progress[0]["remaining_s"] is None
    assert all(e["remaining_s"] > 0 for e in progress[1:-1]), progress
    assert progress[-1]["remaining_s"] == 0


def test_an_upload_left_summarizing_is_continued_after_a_restart_without_reindexing(
    tmp_path: Path, embedder: LocalEmbedder, gated: GatedSummaries
) -> None:
    data_dir = tmp_path / "data"
    core, api = make_server(data_dir, gated.llm, embedder)
    with TestClient(api) as client:
        signup(client, "alice")
    core.close()

    # What a server stopped during summaries leaves: an indexed upload, its units pending,
    # and after it a document upload that was still queued.
    core, api = make_server(data_dir, gated.llm, embedder)  # the restarted server
    code = put_upload(data_dir, "summ1", "payments.py", ALICE_CODE + MORE_CODE)
    core.indexer.index(code, owner=user_scope(1), own_root=True)
    faq = put_upload(data_dir, "faq1", "policy.csv", ALICE_FAQ)
    registry = SqliteRegistry(data_dir / WEB_DB)
    registry.add("summ1", 1, "payments.py", "code", code)
    registry.update("summ1", state="summarizing", units=3)
    registry.add("faq1", 1, "policy.csv", "document", faq)
    registry.close()
    indexed: list[Path] = []
    real_index = core.indexer.index

    def spy(path: Path, **kwargs: Any) -> Any:
        indexed.append(Path(path))
        return real_index(path, **kwargs)

    core.indexer.index = spy  # type: ignore[method-assign,assignment]  # a spy in its place
    try:
        with TestClient(api) as client:
            client.post("/api/login", json={"username": "alice", "password": PASSWORD})
            # The document behind it is not held back by the summaries.
            assert wait_final(client, "faq1", timeout_s=30)["state"] == "ready"
            assert listed(client)["summ1"]["state"] == "summarizing"
            gated.release.set()
            final = wait_final(client, "summ1", timeout_s=60)
        assert (final["state"], final["units"], final["error"]) == ("ready", 3, None)
        assert indexed == []  # continued where it stopped: summaries, not indexing again
        states = core.store.summary_states(str(code))
        assert len(states) == 3 and set(states.values()) == {SummaryState.DONE}
    finally:
        core.close()
