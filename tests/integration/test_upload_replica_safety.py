"""Uploads when other processes share the registry and the queue: a held upload never blocks a
replica's start or a request for long, a database failure postpones an upload instead of
failing it, and an upload's own units are summarized before the rest of the backlog."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ragcode.embeddings.local import LocalEmbedder
from ragcode.server import ingest_worker
from ragcode.store.protocol import StoreError
from tests.integration.test_isolation import ALICE_CODE
from tests.scripted_llm import ScriptedLLM
from tests.server_support import make_server, signup, wait_final

pytestmark = pytest.mark.integration


def _post(client: TestClient, name: str, data: bytes) -> str:
    response = client.post("/api/documents", files={"file": (name, data)})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def test_a_held_upload_answers_busy_and_does_not_block_a_replicas_start(
    tmp_path: Path, embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_worker, "CHANGE_WAIT_S", 0.3)
    core, api = make_server(tmp_path / "data", ScriptedLLM(lambda m: "요약"), embedder)
    try:
        with TestClient(api) as client:
            signup(client, "alice")
            doc_id = _post(client, "payments.py", ALICE_CODE)
            assert wait_final(client, doc_id)["state"] == "ready"
            state = client.app.state.server  # type: ignore[attr-defined]
            held, release = threading.Event(), threading.Event()

            def hold() -> None:  # another replica indexing this upload
                with state.registry.exclusive(doc_id):
                    held.set()
                    release.wait(30)

            holder = threading.Thread(target=hold)
            holder.start()
            assert held.wait(10)
            started = time.monotonic()
            shared = client.post(f"/api/documents/{doc_id}/share")
            assert shared.status_code == 409 and "색인하는 중" in shared.json()["detail"]
            assert client.delete(f"/api/documents/{doc_id}").status_code == 409
            assert state.ingest.reconcile() == 0  # skips the held upload instead of waiting
            assert time.monotonic() - started < 5.0
            release.set()
            holder.join(10)
            assert client.post(f"/api/documents/{doc_id}/share").status_code == 200
    finally:
        core.close()


def test_a_database_failure_postpones_an_upload_instead_of_failing_it(
    tmp_path: Path, embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_worker, "RETRY_S", 0.2)
    core, api = make_server(tmp_path / "data", ScriptedLLM(lambda m: "요약"), embedder)
    real_index = core.indexer.index
    failures = [StoreError("PostgreSQL 색인 서버와의 연결이 끊겼습니다")]

    def flaky_index(*args: object, **kwargs: object) -> object:
        if failures:
            raise failures.pop()
        return real_index(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(core.indexer, "index", flaky_index)
    try:
        with TestClient(api) as client:
            signup(client, "alice")
            doc_id = _post(client, "payments.py", ALICE_CODE)
            final = wait_final(client, doc_id)
            assert final["state"] == "ready", final
            assert failures == []  # it did fail once on the way
    finally:
        core.close()


def test_an_uploads_units_are_summarized_before_the_backlog(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    summarized: list[str] = []

    def answer(messages: object) -> str:
        text = str(messages)
        summarized.append("backlog" if "backlog_" in text else "upload")
        return "요약"

    core, api = make_server(tmp_path / "data", ScriptedLLM(answer), embedder)
    try:
        team = tmp_path / "aaa_team"  # sorts before the uploads: claimed first by path order
        team.mkdir()
        backlog = "\n\n".join(
            f"def backlog_{n}(value):\n    total = value * {n}\n    return total + more_{n}(value)"
            for n in range(40)
        )
        (team / "aaa_backlog.py").write_text(backlog, encoding="utf-8")
        core.indexer.index(team)  # the team's index, summaries left to do (--no-summaries)
        with TestClient(api) as client:
            signup(client, "alice")
            doc_id = _post(client, "payments.py", ALICE_CODE)
            assert wait_final(client, doc_id)["state"] == "ready"
        first_backlog = summarized.index("backlog") if "backlog" in summarized else None
        assert "upload" in summarized
        assert first_backlog is None or first_backlog > summarized.index("upload")
        assert summarized.count("backlog") < 40  # the upload did not wait for the backlog
    finally:
        core.close()
