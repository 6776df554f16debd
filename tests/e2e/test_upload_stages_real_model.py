"""Summaries never block uploads, on the embedded default (issue 13): the real 0.5B model
summarizes a small code zip while a FAQ uploaded after it is indexed, ready and answered."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragcode.app import App
from ragcode.domain import SummaryState
from ragcode.server.factory import create_app
from tests.server_support import reply, send, signup, wait_final

pytestmark = pytest.mark.e2e

REPO = {
    "repo/config.py": b'''import json


def read_config(path):
    """Read a JSON configuration file and return it as a dict."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
''',
    "repo/checksum.py": b'''import hashlib


def file_checksum(path, chunk_size=65536):
    """Compute the SHA-256 checksum of a file, reading it in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def same_file(left, right):
    """Tell whether two files have the same content."""
    return file_checksum(left) == file_checksum(right)
''',
}
FAQ = (
    "질문,답변\n"
    "체크카드를 잃어버렸어요. 어떻게 하나요?,고객센터 1588-0000 으로 분실 신고를 하세요.\n"
    "해외에서 카드를 쓸 수 있나요?,해외 겸용 카드는 해외 가맹점에서 쓸 수 있습니다.\n"
).encode()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def listed(client: TestClient) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in client.get("/api/documents").json()["documents"]}


def test_a_faq_is_answerable_while_a_code_zip_is_summarized_by_the_real_model(
    make_app: Callable[..., App],
) -> None:
    core = make_app()  # the configured real 0.5B model
    core.settings.server.chat_max_tokens = 24
    with TestClient(create_app(core)) as client:
        signup(client, "real")
        with client.websocket_connect("/ws") as ws:
            files = {"file": ("repo.zip", zipped(REPO))}
            code_id = client.post("/api/documents", files=files).json()["id"]
            faq_id = client.post("/api/documents", files={"file": ("faq.csv", FAQ)}).json()["id"]
            assert wait_final(client, faq_id, timeout_s=120)["state"] == "ready"
            registry = client.app.state.server.registry  # type: ignore[attr-defined]
            root = str(registry.find(code_id).path)
            pending = [
                uid
                for uid, state in core.store.summary_states(root).items()
                if state is SummaryState.PENDING
            ]
            assert listed(client)[code_id]["state"] == "summarizing"
            assert pending, "the code zip's summaries were done before the FAQ was ready"

            send(ws, "q1", "체크카드 분실하면 어떻게 해요?", "qa")
            answer = reply(ws, "q1")[-1]
            assert answer["status"] == "completed", answer
            assert "1588-0000" in str(answer["references"])  # found in the FAQ
            final = wait_final(client, code_id, timeout_s=600)
        assert (final["state"], final["units"]) == ("ready", 3)
        states = core.store.summary_states(root)
        assert len(states) == 3 and SummaryState.PENDING not in states.values()
        assert SummaryState.DONE in states.values()
