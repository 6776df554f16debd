"""`ragcode serve`: build the embedded product and run the web app under uvicorn."""

from __future__ import annotations

import argparse
import logging

from ragcode.app import build_app
from ragcode.config import load_settings

log = logging.getLogger(__name__)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ragcode.server.factory import create_app

    settings = load_settings(data_dir=args.data_dir)
    server = settings.server
    host = args.host or server.host
    port = args.port if args.port is not None else server.port
    core = build_app(settings)
    try:
        api = create_app(core)
        print(f"ragcode 웹 앱: http://{host}:{port}/  (데이터: {settings.data_dir})", flush=True)
        uvicorn.run(api, host=host, port=port, log_level="info", ws_ping_interval=20.0)
    finally:
        core.close()
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="주소 (기본 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="포트 (기본 8000)")
