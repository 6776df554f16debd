"""`/mcp` on `ragcode serve`: the official SDK's streamable HTTP client against a real uvicorn,
with API keys: refused without a good key, and each key sees what its user sees."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from ragcode.embeddings.local import LocalEmbedder
from tests.mcp_support import FAQ_CSV, call, error_text, payload
from tests.openai_support import LiveServer, RecordingLLM, indexed_live_server
from tests.server_support import wait_final

pytestmark = pytest.mark.integration

Result = TypeVar("Result")
ALICE_CODE = '''def settle_ledger_payment(ledger, amount):
    """Settle one payment in Alice's private ledger."""
    return ledger.apply(amount * 7)
'''
INITIALIZE = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"},
    },
}  # fmt: skip
ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def llm() -> RecordingLLM:
    return RecordingLLM(lambda _messages: "```python\ndef load(path):\n    return path\n```")


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder, llm: RecordingLLM
) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("mcp-http")
    with indexed_live_server(root, llm, embedder, {"faq.csv": FAQ_CSV}) as server:
        yield server


@pytest.fixture(scope="module")
def keys(live: LiveServer) -> dict[str, str]:
    """Alice, with a private upload, and Bob, without."""
    alice = live.session("alice")
    upload = alice.post("/api/documents", files={"file": ("ledger.py", ALICE_CODE.encode())})
    assert upload.status_code == 202, upload.text
    assert wait_final(alice, str(upload.json()["id"]), timeout_s=120)["state"] == "ready"  # type: ignore[arg-type]
    return {"alice": str(live.new_key(alice)["key"]), "bob": live.user_key("bob")}


def with_key(
    live: LiveServer, key: str, body: Callable[[ClientSession], Awaitable[Result]]
) -> Result:
    async def main() -> Result:
        headers = {"Authorization": f"Bearer {key}"}
        async with (
            create_mcp_http_client(headers=headers) as http,
            streamable_http_client(f"{live.url}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await body(session)

    return anyio.run(main)


def test_no_key_or_a_wrong_key_is_refused_before_the_protocol(live: LiveServer) -> None:
    for headers in ({}, {"Authorization": "Bearer rck_0123456789ab_" + "x" * 43}):
        response = httpx.post(f"{live.url}/mcp", json=INITIALIZE, headers={**ACCEPT, **headers})
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "invalid_api_key"


def test_each_key_sees_what_its_user_sees(live: LiveServer, keys: dict[str, str]) -> None:
    async def alice(session: ClientSession) -> dict[str, Any]:
        assert len((await session.list_tools()).tools) == 5
        found = payload(await call(session, "search_code", query="settle a ledger payment"))
        first: dict[str, Any] = found["hits"][0]
        assert first["name"] == "settle_ledger_payment" and first["path"].endswith("ledger.py")
        unit = payload(await call(session, "get_unit", path=first["path"], name=first["name"]))
        assert "amount * 7" in unit["code"]
        team = payload(await call(session, "search_code", query="read a JSON configuration"))
        assert team["hits"][0]["name"] == "read_config"
        return first

    private = with_key(live, keys["alice"], alice)

    async def bob(session: ClientSession) -> None:
        found = payload(await call(session, "search_code", query="settle a ledger payment"))
        assert "settle_ledger_payment" not in {hit["name"] for hit in found["hits"]}
        result = await call(session, "get_unit", path=private["path"], name=private["name"])
        assert result.is_error and "찾지 못했습니다" in error_text(result)
        team = payload(await call(session, "search_code", query="read a JSON configuration"))
        assert team["hits"][0]["name"] == "read_config"

    with_key(live, keys["bob"], bob)


def test_ask_code_and_search_docs_over_http(
    live: LiveServer, keys: dict[str, str], llm: RecordingLLM
) -> None:
    async def body(session: ClientSession) -> None:
        answer = payload(
            await call(session, "ask_code", question="JSON 설정 파일을 읽는 함수를 만들어 줘")
        )
        assert answer["code_blocks"] == [
            {"language": "python", "code": "def load(path):\n    return path"}
        ]
        assert answer["references"][0]["name"] == "read_config"
        docs = payload(await call(session, "search_docs", query="배포는 언제 하나요?"))
        assert docs["hits"][0]["title"] == "배포는 언제 하나요?"
        refused = await call(session, "search_code", query="x", top_k=99)
        assert refused.is_error and "top_k 는 1 이상 50 이하" in error_text(refused)

    llm.calls.clear()
    with_key(live, keys["bob"], body)
    assert llm.calls, "ask_code ran on the server's LLM"


JS_CODE = """const fs = require("fs");

// Read a JSON configuration file and return it as an object.
function loadJsonConfig(path) {
  return JSON.parse(fs.readFileSync(path, "utf8"));
}
"""


def test_ask_code_in_a_chosen_language_refers_to_that_language_alone(
    live: LiveServer, keys: dict[str, str], llm: RecordingLLM, tmp_path: Path
) -> None:
    """`language` of ask_code reaches the store's filter (only JavaScript references, where
    the Python config reader is one without it) and the prompt; unknown ones are refused
    before the model runs."""
    js = tmp_path / "js"
    js.mkdir()
    (js / "config.js").write_text(JS_CODE, encoding="utf-8")
    live.core.indexer.index(js)  # the team's, as `ragcode index`
    question = "JSON 설정 파일을 읽는 함수를 만들어 줘"

    async def body(session: ClientSession) -> None:
        auto = payload(await call(session, "ask_code", question=question))
        assert "read_config" in {ref["name"] for ref in auto["references"]}
        chosen = payload(await call(session, "ask_code", question=question, language="JS"))
        assert chosen["code_language"] == "javascript"
        assert chosen["references"]
        assert {ref["language"] for ref in chosen["references"]} == {"javascript"}
        assert "javascript" in " ".join(m.content for m in llm.calls[-1].messages).lower()
        calls = len(llm.calls)
        refused = await call(session, "ask_code", question=question, language="cobol")
        assert refused.is_error
        assert "코드 언어로 고를 수 없는 언어입니다: 'cobol'" in error_text(refused)
        assert len(llm.calls) == calls

    with_key(live, keys["bob"], body)
