"""`ragcode serve`: build the embedded product and run the web app under uvicorn."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from ragcode.app import build_app
from ragcode.config import ServerSettings, load_settings
from ragcode.server.protocol import frame_limit

log = logging.getLogger(__name__)


def proxy_options(server: ServerSettings) -> dict[str, Any]:
    """uvicorn's forwarded-header options. Its default believes X-Forwarded-For from
    127.0.0.1, so any local process could pose as many clients to the login limit."""
    if not server.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(server.trusted_proxies)}


def ws_max_bytes(server: ServerSettings) -> int:
    """uvicorn drops a WebSocket frame above this many bytes before it is buffered whole
    (its default is 16 MiB); the connection itself answers `too_large` to anything above
    `frame_limit` characters, which UTF-8 holds in at most 4 bytes each."""
    return 4 * frame_limit(server.max_message_chars)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ragcode.server.factory import create_app

    settings = load_settings(data_dir=args.data_dir)
    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    # The Host check (server/host_check.py) derives its default from the address bound.
    server = settings.server.model_copy(update={"host": host, "port": port})
    settings = settings.model_copy(update={"server": server})
    core = build_app(settings)
    try:
        api = create_app(core)
        print(f"ragcode 웹 앱: http://{host}:{port}/  (데이터: {settings.data_dir})", flush=True)
        uvicorn.run(
            api, host=host, port=port, log_level="info", ws_ping_interval=20.0,
            ws_max_size=ws_max_bytes(server), **proxy_options(server),
        )  # fmt: skip
    finally:
        core.close()
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="주소 (기본 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="포트 (기본 8000)")
