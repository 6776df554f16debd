"""`ragcode mcp`: serve the team knowledge base to an MCP client over stdio.

stdout carries protocol messages only: logs go to stderr (cli.main), and while serving
the SDK points file descriptor 1 at stderr, so stray output of a library misses the wire.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from ragcode.app import build_app
from ragcode.config import load_settings

log = logging.getLogger(__name__)


def cmd_mcp(args: argparse.Namespace) -> int:
    # Imported here: the SDK is needed by this command alone.
    from ragcode.mcp_server.server import build_server
    from ragcode.mcp_server.tools import KnowledgeTools, LazyApp

    data_dir: Path | None = args.data_dir
    app = LazyApp(lambda: build_app(load_settings(data_dir=data_dir)))
    server = build_server(KnowledgeTools(app.get))
    log.info("mcp stdio data_dir=%s", data_dir)
    try:
        server.run("stdio")
    finally:
        app.close()
    return 0


def register(sub: Any) -> None:
    """Add `mcp` to the main parser's subparsers."""
    command = sub.add_parser(
        "mcp", help="MCP 서버를 stdio 로 실행합니다 (IDE 도우미가 팀 지식 베이스를 씁니다)"
    )
    command.add_argument("--data-dir", type=Path, default=None, help="데이터 디렉터리")
    command.set_defaults(handler=cmd_mcp)
