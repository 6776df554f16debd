"""Uploads survive a restart: the registry is the job queue, and scopes are re-aligned on start
(issue 11, defect 8 and the migration of uploads indexed before owner scopes)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragcode.app import WEB_DB
from ragcode.cli import main
from ragcode.domain import user_scope, visible_scopes
from ragcode.embeddings.local import LocalEmbedder
from ragcode.history.sqlite import SqliteHistory
from ragcode.uploads.protocol import UPLOADS_DIR
from ragcode.uploads.sqlite import SqliteRegistry
from tests.integration.test_isolation import ALICE_CODE, CARD_QUESTION, upload
from tests.scripted_llm import ScriptedLLM
from tests.server_support import make_server, reply, send, signup

pytestmark = pytest.mark.integration


def put_upload(data_dir: Path, doc_id: str, name: str, data: bytes | None) -> Path:
    """What a killed server leaves behind: the stored upload and its registry row."""
    files = (data_dir / UPLOADS_DIR / "1" / doc_id / "files").resolve()
    files.mkdir(parents=True)
    if data is not None:
        (files / name).write_bytes(data)
    else:
        files.rmdir()  # the files were lost meanwhile
    return files


def states(client: TestClient) -> dict[str, dict[str, object]]:
    return {d["id"]: d for d in client.get("/api/documents").json()["documents"]}


def test_unfinished_uploads_resume_after_a_restart(tmp_path: Path, embedder: LocalEmbedder) -> None:
    data_dir = tmp_path / "data"
    llm = ScriptedLLM(lambda m: "카드 결제를 처리합니다.")
    core, api = make_server(data_dir, llm, embedder)
    with TestClient(api) as client:
        signup(client, "alice")
    core.close()
    registry = SqliteRegistry(data_dir / WEB_DB)
    for doc_id, state in [
        ("queued1", "queued"),
        ("running1", "indexing"),
        ("summ1", "summarizing"),
    ]:
        path = put_upload(data_dir, doc_id, f"{doc_id}.py", ALICE_CODE)
        registry.add(doc_id, 1, f"{doc_id}.py", "code", path)
        registry.update(doc_id, state=state)
    lost = put_upload(data_dir, "lost1", "lost.py", None)
    registry.add("lost1", 1, "lost.py", "code", lost)
    registry.close()

    core, api = make_server(data_dir, llm, embedder)  # the restarted server
    with TestClient(api) as client:
        client.post("/api/login", json={"username": "alice", "password": "correct horse battery"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            docs = states(client)
            if all(d["state"] in ("ready", "failed") for d in docs.values()):
                break
            time.sleep(0.1)
        assert {k: d["state"] for k, d in docs.items()} == {
            "queued1": "ready", "running1": "ready", "summ1": "ready", "lost1": "failed",
        }  # fmt: skip
        assert docs["queued1"]["units"] == 1
        assert "찾을 수 없습니다" in str(docs["lost1"]["error"])
    core.close()


def test_uploads_indexed_before_scopes_are_narrowed_on_start(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    data_dir = tmp_path / "data"
    core, api = make_server(data_dir, ScriptedLLM(lambda m: "요약"), embedder)
    path = put_upload(data_dir, "old1", "payments.py", ALICE_CODE)
    core.indexer.index(path, own_root=True)  # as an older version did: in the team scope
    assert any(h.record.title == "charge_card" for h in core.searcher.search(CARD_QUESTION))
    registry = SqliteRegistry(data_dir / WEB_DB)
    registry.add("old1", 1, "payments.py", "code", path)
    registry.update("old1", state="ready", units=1)
    registry.close()
    with TestClient(api):
        team = core.searcher.search(CARD_QUESTION)
        own = core.searcher.search(CARD_QUESTION, scopes=visible_scopes(1))
    assert not any(h.record.title == "charge_card" for h in team)
    assert any(h.record.title == "charge_card" for h in own)
    core.close()


def test_removing_a_user_deletes_their_private_uploads_and_history(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    data_dir = tmp_path / "data"
    core, api = make_server(data_dir, ScriptedLLM(lambda m: "카드 결제를 처리합니다."), embedder)
    with TestClient(api) as client:
        signup(client, "alice")
        private = upload(client, "payments.py", ALICE_CODE)
        shared = upload(client, "shared.py", ALICE_CODE.replace(b"charge_card", b"refund_card"))
        assert client.post(f"/api/documents/{shared}/share").status_code == 200
        with client.websocket_connect("/ws") as ws:
            send(ws, "r1", "안녕", "normal")
            reply(ws, "r1")
    assert main(["user", "remove", "alice", "--data-dir", str(data_dir)]) == 0
    alice = visible_scopes(1)
    names = {h.record.title for h in core.searcher.search(CARD_QUESTION, top_k=20, scopes=alice)}
    assert "charge_card" not in names and "refund_card" in names
    assert not (data_dir / UPLOADS_DIR / "1" / private).exists()
    assert (data_dir / UPLOADS_DIR / "1" / shared).exists()
    registry = SqliteRegistry(data_dir / WEB_DB)
    history = SqliteHistory(data_dir / WEB_DB)
    try:
        assert [d.id for d in registry.all()] == [shared]
        assert history.recent(1, ["normal"], 10) == []
    finally:
        registry.close()
        history.close()
    core.close()


class HeldEmbedder:
    """The real embedder, held back until released: uploads stay queued or indexing."""

    def __init__(self, inner: LocalEmbedder, release: threading.Event) -> None:
        self._inner, self._release = inner, release
        self.name, self.dim = inner.name, inner.dim

    def embed(self, texts: Sequence[str]) -> Any:
        self._release.wait(30)
        return self._inner.embed(texts)


def test_one_user_cannot_queue_more_than_the_cap(tmp_path: Path, embedder: LocalEmbedder) -> None:
    release = threading.Event()
    core, api = make_server(
        tmp_path / "data", ScriptedLLM(lambda m: "요약"), HeldEmbedder(embedder, release),
        max_uploads_in_progress=2,
    )  # fmt: skip
    try:
        with TestClient(api) as client:
            signup(client, "alice")
            for n in range(2):
                files = {"file": (f"m{n}.py", ALICE_CODE.replace(b"charge_card", b"f%d" % n))}
                assert client.post("/api/documents", files=files).status_code == 202
            third = client.post("/api/documents", files={"file": ("m2.py", ALICE_CODE)})
            assert third.status_code == 429 and "색인을 기다리는 업로드" in third.json()["detail"]
            client.cookies.clear()
            signup(client, "bob")  # another user is not held back by Alice's cap
            files = {"file": ("b.py", ALICE_CODE)}
            assert client.post("/api/documents", files=files).status_code == 202
            release.set()
    finally:
        release.set()
        core.close()


def test_uploads_being_summarized_do_not_hold_places(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    """Summaries never block other uploads: a user whose uploads are searchable and only
    waiting for summaries may upload the next file (issue 13)."""
    release = threading.Event()

    def slow_summary(messages: object) -> str:
        release.wait(30)  # uploads stay "summarizing" until released
        return "요약"

    core, api = make_server(
        tmp_path / "data", ScriptedLLM(slow_summary), embedder, max_uploads_in_progress=1
    )
    try:
        with TestClient(api) as client:
            signup(client, "alice")
            for n in range(3):
                files = {"file": (f"m{n}.py", ALICE_CODE.replace(b"charge_card", b"f%d" % n))}
                created = client.post("/api/documents", files=files)
                assert created.status_code == 202, created.text
                wait_state(client, created.json()["id"], "summarizing")
            release.set()
    finally:
        release.set()
        core.close()


def wait_state(client: TestClient, doc_id: str, state: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        docs = {d["id"]: d for d in client.get("/api/documents").json()["documents"]}
        if docs[doc_id]["state"] == state:
            return
        time.sleep(0.05)
    raise AssertionError(f"{doc_id} never reached {state}")


def test_orphan_upload_entries_and_folders_are_swept_on_start(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    """A crash between removing an upload's registry row and its index entries (or a
    leftover of an older version) must not leave searchable code nobody can delete."""
    data_dir = tmp_path / "data"
    core, api = make_server(data_dir, ScriptedLLM(lambda m: "요약"), embedder)
    path = put_upload(data_dir, "gone1", "payments.py", ALICE_CODE)
    core.indexer.index(path, owner=user_scope(1), own_root=True)
    assert any(
        h.record.title == "charge_card"
        for h in core.searcher.search(CARD_QUESTION, scopes=visible_scopes(1))
    )
    an_hour_ago = time.time() - 3600
    os.utime(path.parent, (an_hour_ago, an_hour_ago))
    # Another replica may be writing a new upload's files before its registry row exists.
    fresh = put_upload(data_dir, "fresh1", "new.py", ALICE_CODE)
    with TestClient(api):
        found = core.searcher.search(CARD_QUESTION, scopes=visible_scopes(1))
    core.close()
    assert not any(h.record.title == "charge_card" for h in found)
    assert not path.parent.exists()
    assert fresh.is_dir()


def test_a_failed_unshare_never_leaves_the_upload_visible(
    tmp_path: Path, embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    core, api = make_server(tmp_path / "data", ScriptedLLM(lambda m: "요약"), embedder)
    try:
        with TestClient(api) as client:
            signup(client, "alice")
            doc_id = upload(client, "payments.py", ALICE_CODE)
            assert client.post(f"/api/documents/{doc_id}/share").status_code == 200
            registry = client.app.state.server.registry  # type: ignore[attr-defined]

            def broken(doc_id: str, shared: bool) -> None:
                raise OSError("disk gone")

            monkeypatch.setattr(registry, "set_shared", broken)
            with pytest.raises(OSError):
                client.delete(f"/api/documents/{doc_id}/share")
            team = core.searcher.search(CARD_QUESTION)
    finally:
        core.close()
    assert not any(h.record.title == "charge_card" for h in team)
