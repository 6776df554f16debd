"""The CLI's side: ask the daemon (socket + json only), or start one in the background.

Everything here must stay cheap to import: a search answered by the daemon costs the
Python start, this module and the printing, nothing else.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from ragcode.search_daemon.paths import (
    RunPaths,
    daemon_running,
    make_private_dir,
    private_dir_ok,
    socket_address,
    socket_ok,
)
from ragcode.search_daemon.peer import peer_uid, same_user, supported
from ragcode.search_daemon.wire import (
    MAX_REPLY_BYTES,
    VERSION,
    encode,
    read_all,
    settings_fingerprint,
)

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 1.0
REPLY_TIMEOUT_S = 60.0  # a search waits behind at most a few others (expansion: 30 s cap)


def search(data_dir: Path, query: str, top_k: int, expand: bool) -> list[dict[str, Any]] | None:
    """The daemon's hits (`Hit.as_dict()` each), or None: search in-process instead."""
    reply = request(data_dir, {
        "op": "search", "settings": settings_fingerprint(data_dir),
        "query": query, "top_k": top_k, "expand": expand,
    })  # fmt: skip
    if reply is None:
        return None
    hits = reply.get("hits")
    if reply.get("ok") is True and isinstance(hits, list):
        return hits
    log.debug("search daemon declined error=%s", reply.get("error"))
    return None


def request(
    data_dir: Path, fields: dict[str, Any], timeout_s: float = REPLY_TIMEOUT_S
) -> dict[str, Any] | None:
    """One request to the daemon of `data_dir` (absolute); None if none answers properly."""
    paths = RunPaths.of(data_dir)
    if not supported() or not private_dir_ok(paths.run_dir) or not socket_ok(paths.socket):
        return None
    message = {"v": VERSION, "data_dir": str(data_dir), **fields}
    try:
        with (
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock,
            socket_address(paths.socket) as address,
        ):
            sock.settimeout(CONNECT_TIMEOUT_S)
            sock.connect(address)
            if not same_user(peer_uid(sock), os.getuid()):
                log.warning("search socket served by another user path=%s", paths.socket)
                return None
            sock.settimeout(timeout_s)
            sock.sendall(encode(message))
            sock.shutdown(socket.SHUT_WR)
            raw = read_all(sock, MAX_REPLY_BYTES)
        reply = json.loads(raw) if raw is not None else None
    except (OSError, ValueError) as exc:  # stale socket, refused, timed out, garbled
        log.debug("search daemon unavailable error=%s", type(exc).__name__)
        return None
    return reply if isinstance(reply, dict) else None


def start(data_dir: Path) -> bool:
    """Start a daemon for `data_dir` in the background, unless one is up or starting."""
    paths = RunPaths.of(data_dir)
    if not supported() or not make_private_dir(paths.run_dir) or daemon_running(paths):
        return False
    import subprocess  # only on the path that starts one

    command = [sys.executable, "-m", "ragcode.cli", "search-daemon", "--data-dir", str(data_dir)]
    try:
        log_fd = os.open(paths.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    except OSError:
        return False
    try:
        subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
    except OSError:
        return False
    finally:
        os.close(log_fd)
    return True
