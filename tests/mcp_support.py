"""A real `ragcode mcp` subprocess driven by the official MCP SDK client over stdio."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import CallToolResult, TextContent

Result = TypeVar("Result")

FAQ_CSV = """\
질문,답변,분류
비밀번호를 잊어버렸어요.,로그인 화면의 '비밀번호 재설정'을 누르고 메일의 링크로 새로 정하세요.,계정
배포는 언제 하나요?,정기 배포는 매주 목요일 오후 2시에 하고 긴급 배포는 팀장 승인 뒤에 합니다.,운영
휴가 신청은 어디서 하나요?,인사 시스템의 '근태' 메뉴에서 신청하고 팀장이 승인합니다.,인사
"""

RUNBOOK_MD = """\
# 장애 대응 절차

## 데이터베이스 장애
주 데이터베이스가 응답하지 않으면 읽기 전용 복제본으로 전환하고 온콜 담당자에게 알립니다.

## 디스크 부족
로그 디렉터리를 정리하고 보관 기간이 지난 백업을 지웁니다.
"""


def ragcode(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragcode.cli", *args],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


def write_documents(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "faq.csv").write_text(FAQ_CSV, encoding="utf-8")
    (root / "runbook.md").write_text(RUNBOOK_MD, encoding="utf-8")
    return root


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """What the server process gets: the SDK passes only a few safe variables by itself."""
    inherited = {key: value for key, value in os.environ.items() if key.startswith("RAGCODE_")}
    return {**inherited, **extra}


@asynccontextmanager
async def mcp_session(
    data_dir: Path, env: dict[str, str], errlog: Path
) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "ragcode.cli", "mcp", "--data-dir", str(data_dir)],
        env=server_env(env),
    )
    with errlog.open("a", encoding="utf-8") as log:
        async with (
            stdio_client(params, errlog=log) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


def run_session(
    data_dir: Path,
    env: dict[str, str],
    errlog: Path,
    body: Callable[[ClientSession], Awaitable[Result]],
) -> Result:
    async def main() -> Result:
        async with mcp_session(data_dir, env, errlog) as session:
            return await body(session)

    return anyio.run(main)


async def call(session: ClientSession, tool: str, **arguments: Any) -> CallToolResult:
    result = await session.call_tool(tool, arguments)
    assert isinstance(result, CallToolResult)
    return result


def payload(result: CallToolResult) -> dict[str, Any]:
    """A successful result's structured content, checked against its JSON text twin."""
    assert not result.is_error, error_text(result)
    assert result.structured_content is not None
    text = error_text(result)
    assert json.loads(text) == result.structured_content
    content: dict[str, Any] = result.structured_content
    return content


def error_text(result: CallToolResult) -> str:
    return "".join(part.text for part in result.content if isinstance(part, TextContent))
