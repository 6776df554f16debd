"""Choosing the code language over the web app (issue 15.2): the languages a user can choose
(`GET /api/code-languages`, counted over what they may see), a code question sent with
`code_language` searching that language alone, and an unknown language refused with a
Korean error before anything runs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragcode.app import App
from ragcode.chat.prompts.rewrite import REWRITE_SYSTEM
from ragcode.domain import Record, SummaryState, UnitKind, user_scope
from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import ChatMessage
from ragcode.store.protocol import FileRecord, IndexEntry
from tests.mixed_languages import QUESTION, write_mixed_project
from tests.scripted_llm import ScriptedLLM
from tests.server_support import make_server, reply, signup

pytestmark = pytest.mark.integration

ANSWER = "```javascript\nfunction readConfig(path) { return {}; }\n```"


def scripted(messages: Sequence[ChatMessage]) -> str:
    """The question itself for a follow-up's rewrite (the memory holds the earlier turns)."""
    return QUESTION if messages[0].content == REWRITE_SYSTEM else ANSWER


@pytest.fixture
def served(
    tmp_path: Path, embedder: LocalEmbedder
) -> Iterator[tuple[App, TestClient, ScriptedLLM]]:
    llm = ScriptedLLM(scripted)
    core, api = make_server(tmp_path / "data", llm, embedder)
    core.indexer.index(write_mixed_project(tmp_path / "project"))
    with TestClient(api) as client:
        signup(client, "alice")
        yield core, client, llm
    core.close()


def ask(ws: Any, request_id: str, body: str, **extra: object) -> list[dict[str, Any]]:
    frame = {"request_id": request_id, "type": "text", "conv_type": "code", "body": body}
    ws.send_text(json.dumps({**frame, **extra}))
    return reply(ws, request_id)


def test_the_languages_a_user_may_choose(served: tuple[App, TestClient, ScriptedLLM]) -> None:
    core, client, _llm = served
    # A private Go file of another user, and a TSX one of Alice's (user 1): counted for her
    # as TypeScript, the other never.
    for path, language, scope in [("b.go", "go", user_scope(2)), ("a.tsx", "tsx", user_scope(1))]:
        record = Record(path, "f", UnitKind.FUNCTION, language, 1, 2, "f()")
        entry = IndexEntry(f"{path}:f", record, None, SummaryState.PENDING, {"code": ["f"]})
        core.store.replace_file(FileRecord("/up", path, "h", language, scope), [entry])
    languages = client.get("/api/code-languages").json()["languages"]
    counts = {item["language"]: item["units"] for item in languages}
    assert counts == {"python": 2, "javascript": 2, "typescript": 1}
    client.post("/api/logout")
    assert client.get("/api/code-languages").status_code == 401


def test_a_chosen_language_is_the_only_one_searched(
    served: tuple[App, TestClient, ScriptedLLM],
) -> None:
    _core, client, llm = served
    with client.websocket_connect("/ws") as ws:
        auto = ask(ws, "a1", QUESTION)[-1]
        chosen = ask(ws, "a2", QUESTION, code_language="javascript")[-1]
        generation = llm.calls[-1]
        python = ask(ws, "a3", QUESTION, code_language="python")[-1]
    assert {ref["language"] for ref in auto["references"]} == {"python", "javascript"}
    assert chosen["status"] == "completed" and chosen["references"]
    assert {ref["language"] for ref in chosen["references"]} == {"javascript"}
    assert {ref["language"] for ref in python["references"]} == {"python"}
    # The prompt asks for the chosen language (the system message names it).
    system = generation[0].content
    assert "javascript" in system and "python" not in system


@pytest.mark.parametrize("language", ["cobol", "tsx", "", "Python"])
def test_an_unknown_language_is_refused_before_anything_runs(
    served: tuple[App, TestClient, ScriptedLLM], language: str
) -> None:
    _core, client, llm = served
    with client.websocket_connect("/ws") as ws:
        error = ask(ws, "u1", QUESTION, code_language=language)
    assert error == [error[-1]] and error[-1]["status"] == "error"  # not even "istyping"
    assert error[-1]["error"]["code"] == "unknown_language"
    assert "지원하지 않는 코드 언어" in error[-1]["error"]["message"]
    assert llm.calls == []
    assert client.get("/api/history").json()["turns"] == []
