"""`ragcode mcp` over stdio: the official SDK client against a real server subprocess, on a
data dir indexed by the real CLI (code without summaries, documents), no LLM loaded."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from mcp.client.session import ClientSession

from ragcode.app import build_app
from ragcode.config import load_settings
from ragcode.domain import user_scope
from ragcode.embeddings.local import LocalEmbedder
from tests.mcp_support import call, error_text, payload, ragcode, run_session, write_documents
from tests.sample_project import write_sample_project

pytestmark = pytest.mark.integration

TOOLS = {"search_code", "get_unit", "ask_code", "search_docs", "ask_docs"}
HANGUL = re.compile(r"[가-힣]")
NO_LLM = {"RAGCODE_SEARCH__EXPAND_QUERY": "false"}  # searches never load the model here
PRIVATE_PY = '''\
def compute_secret_salary(employee):
    """Compute the secret salary of one employee (a web user's private upload)."""
    return employee.base * 3
'''


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder) -> Path:
    """A data dir with the sample project and two documents for the team, and one private
    upload of a web user that the MCP server must never show."""
    root = tmp_path_factory.mktemp("mcp")
    data_dir = root / "data"
    env = {**os.environ, **NO_LLM}
    project = write_sample_project(root / "project")
    done = ragcode("index", str(project), "--no-summaries", "--data-dir", str(data_dir), env=env)
    assert done.returncode == 0, done.stderr
    docs = write_documents(root / "docs")
    done = ragcode("docs", "add", str(docs), "--data-dir", str(data_dir), env=env)
    assert done.returncode == 0, done.stderr
    private = root / "uploads" / "7"
    private.mkdir(parents=True)
    (private / "payroll.py").write_text(PRIVATE_PY, encoding="utf-8")
    app = build_app(load_settings(data_dir=data_dir), embedder=embedder)
    try:
        app.indexer.index(private, owner=user_scope(7), own_root=True)
    finally:
        app.close()
    return data_dir


def session_run(
    indexed: Path,
    tmp_path: Path,
    body: Callable[[ClientSession], Awaitable[None]],
    env: dict[str, str] | None = None,
) -> None:
    run_session(indexed, env or NO_LLM, tmp_path / "server.stderr", body)


def test_tools_are_listed_with_korean_descriptions_and_schemas(
    indexed: Path, tmp_path: Path
) -> None:
    async def body(session: ClientSession) -> None:
        init = session.initialize_result
        assert init is not None and init.server_info.name == "ragcode"
        assert init.instructions and HANGUL.search(init.instructions)
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(tools) == TOOLS
        for tool in tools.values():
            assert tool.description and HANGUL.search(tool.description), tool.name
            assert tool.output_schema is not None, tool.name
            assert tool.annotations is not None and tool.annotations.read_only_hint
        search = tools["search_code"].input_schema
        assert search["required"] == ["query"]
        assert set(search["properties"]) == {"query", "language", "top_k"}
        assert search["properties"]["top_k"]["maximum"] == 50
        assert tools["get_unit"].input_schema["required"] == ["path", "name"]
        assert tools["ask_code"].input_schema["properties"]["top_k"]["maximum"] == 20

    session_run(indexed, tmp_path, body)


def test_search_code_and_get_unit(indexed: Path, tmp_path: Path) -> None:
    async def body(session: ClientSession) -> None:
        found = payload(await call(session, "search_code", query="read a JSON configuration file"))
        first = found["hits"][0]
        assert (first["path"], first["name"], first["kind"]) == (
            "app/config.py",
            "read_config",
            "function",
        )
        assert (first["language"], first["start_line"], first["end_line"]) == ("python", 4, 7)
        assert "json.load(handle)" in first["code"]
        assert first["docstring"] == "Read a JSON configuration file and return it as a dict."
        assert first["summary"] is None  # indexed with --no-summaries
        assert first["scores"]["final"] > 0 and first["scores"]["ranks"]
        assert found["language"] is None

        limited = payload(await call(session, "search_code", query="e-mail", top_k=2))
        assert len(limited["hits"]) == 2

        js = payload(await call(session, "search_code", query="checksum", language="JS"))
        assert js["language"] == "javascript" and js["hits"]
        assert {hit["path"] for hit in js["hits"]} == {"web/checksum.js"}
        py = payload(await call(session, "search_code", query="checksum", language="python"))
        assert all(hit["language"] == "python" for hit in py["hits"])

        unit = payload(
            await call(session, "get_unit", path="app/mailer.py", name="Mailer.send_email")
        )
        assert (unit["name"], unit["kind"], unit["start_line"]) == (
            "Mailer.send_email",
            "method",
            12,
        )
        assert "smtp.send_message(message)" in unit["code"]
        assert unit["summary_state"] in {"pending", "trivial"}
        short = payload(await call(session, "get_unit", path="app\\mailer.py", name="send_email"))
        assert short == unit  # the last part of the name, a Windows path: the same unit

    session_run(indexed, tmp_path, body)


def test_bad_input_is_a_tool_error_and_the_server_goes_on(indexed: Path, tmp_path: Path) -> None:
    async def refused(session: ClientSession, tool: str, **arguments: object) -> str:
        result = await call(session, tool, **arguments)
        assert result.is_error, (tool, arguments)
        return error_text(result)

    async def body(session: ClientSession) -> None:
        assert "검색어가 비어 있습니다" in await refused(session, "search_code", query="  ")
        assert "질문이 비어 있습니다" in await refused(session, "ask_code", question="")
        assert "질문이 비어 있습니다" in await refused(session, "ask_docs", question="\n")
        cobol = await refused(session, "search_code", query="payroll", language="cobol")
        assert "지원하지 않는 언어입니다: 'cobol'" in cobol and "python" in cobol
        for top_k in (0, 51):
            text = await refused(session, "search_code", query="config", top_k=top_k)
            assert text.startswith(f"top_k 는 1 이상 50 이하여야 합니다: {top_k}")
        assert "1 이상 20 이하" in await refused(session, "ask_code", question="x", top_k=21)
        assert "1 이상 50 이하" in await refused(session, "search_docs", query="x", top_k=-1)
        missing = await refused(session, "get_unit", path="app/mailer.py", name="send_sms")
        assert "'app/mailer.py'의 'send_sms' 단위를 찾지 못했습니다" in missing
        elsewhere = await refused(session, "get_unit", path="app/config.py", name="send_email")
        assert "같은 이름이 있는 파일: app/mailer.py" in elsewhere
        assert "이름이 비어 있습니다" in await refused(session, "get_unit", path="a.py", name=" ")
        await refused(session, "search_code", query="config", top_k="many")  # SDK's own check
        # After every refusal the server still answers.
        hits = payload(await call(session, "search_code", query="write configuration"))["hits"]
        assert hits[0]["name"] == "write_config"

    session_run(indexed, tmp_path, body)


def test_only_the_team_knowledge_base_is_visible(indexed: Path, tmp_path: Path) -> None:
    async def body(session: ClientSession) -> None:
        found = payload(await call(session, "search_code", query="compute secret salary"))
        assert "compute_secret_salary" not in {hit["name"] for hit in found["hits"]}
        result = await call(session, "get_unit", path="payroll.py", name="compute_secret_salary")
        assert result.is_error and "찾지 못했습니다" in error_text(result)

    session_run(indexed, tmp_path, body)


def test_search_docs_and_an_unanswerable_question(indexed: Path, tmp_path: Path) -> None:
    async def body(session: ClientSession) -> None:
        faq = payload(
            await call(session, "search_docs", query="비밀번호를 잊어버렸는데 어떻게 하나요?")
        )
        first = faq["hits"][0]
        assert (first["number"], first["source"], first["kind"]) == (1, "faq.csv", "faq")
        assert first["title"] == "비밀번호를 잊어버렸어요."
        assert "비밀번호 재설정" in first["text"] and first["location"].endswith("행")
        runbook = payload(
            await call(session, "search_docs", query="데이터베이스가 응답하지 않아요")
        )
        assert runbook["hits"][0]["source"] == "runbook.md"
        assert "읽기 전용 복제본" in runbook["hits"][0]["text"]
        # Nothing relevant: answered without loading the model (no citations).
        movie = payload(
            await call(session, "ask_docs", question="주말에 볼 만한 영화를 추천해 주세요")
        )
        assert movie["answered"] is False and movie["references"] == []
        assert "답이 없습니다" in movie["answer"]

    session_run(indexed, tmp_path, body)


def test_startup_opens_nothing_and_store_errors_are_tool_errors(
    indexed: Path, tmp_path: Path
) -> None:
    """The store (and every model) opens at the first tool call: a store that cannot be
    reached lets `initialize` and `tools/list` answer, and fails calls with its reason."""
    down = {**NO_LLM, "RAGCODE_STORE__URL": "postgresql://nobody@127.0.0.1:9/none"}

    async def body(session: ClientSession) -> None:
        assert len((await session.list_tools()).tools) == len(TOOLS)
        for _ in range(2):  # a failed build is tried again, and fails the same way
            result = await call(session, "search_code", query="config")
            assert result.is_error and "PostgreSQL" in error_text(result)
        assert len((await session.list_tools()).tools) == len(TOOLS)

    session_run(indexed, tmp_path, body, down)
    assert "Traceback" not in (tmp_path / "server.stderr").read_text(encoding="utf-8")


def test_stdout_carries_protocol_messages_only(indexed: Path, tmp_path: Path) -> None:
    """Raw JSON-RPC lines, through a call that opens the store and loads the embedder: every
    line the server writes to stdout is a JSON-RPC message, and logs go to stderr."""
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"},
        }},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "search_code", "arguments": {"query": "send an e-mail"}}},
    ]  # fmt: skip
    env = {**os.environ, **NO_LLM}
    command = [sys.executable, "-m", "ragcode.cli", "-v", "mcp", "--data-dir", str(indexed)]
    errlog = tmp_path / "server.stderr"
    with errlog.open("w", encoding="utf-8") as stderr, subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
        env=env, text=True, encoding="utf-8",
    ) as server:  # fmt: skip
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write("".join(json.dumps(line) + "\n" for line in lines))
        server.stdin.flush()
        replies = [json.loads(server.stdout.readline()) for _ in range(2)]
        server.stdin.close()  # end of input: the server exits
        rest = server.stdout.read()
        assert server.wait(timeout=60) == 0
    assert [reply["id"] for reply in replies] == [1, 2]
    assert replies[1]["result"]["structuredContent"]["hits"][0]["name"] == "Mailer.send_email"
    assert all(json.loads(line)["jsonrpc"] == "2.0" for line in rest.splitlines())
    assert "DEBUG" in errlog.read_text(encoding="utf-8")  # `-v`: debug logs went to stderr
