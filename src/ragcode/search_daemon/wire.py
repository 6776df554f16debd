"""The request/reply format: one JSON object each way, the writer closing its side after it.

Request: {"v": 1, "op": "search"|"ping"|"stop", "data_dir": str, "settings": str,
"query": str, "top_k": int, "expand": bool}. Reply: {"ok": true, "hits": [Hit.as_dict()...]}
or {"ok": false, "error": code, "message": Korean text}.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path
from typing import Any

from ragcode.config_files import ENV_PREFIX, toml_path

VERSION = 1
MAX_REQUEST_BYTES = 64 * 1024
MAX_REPLY_BYTES = 64 * 1024 * 1024


def settings_fingerprint(data_dir: Path) -> str:
    """What the daemon's settings were built from: the data dir, RAGCODE_* variables and the
    TOML file. A search from a shell with other settings must not get the daemon's answer."""
    digest = hashlib.sha256(os.fsencode(data_dir))
    for key, value in sorted(os.environ.items()):
        if key.upper().startswith(ENV_PREFIX):
            digest.update(f"\0{key.upper()}={value}".encode("utf-8", "surrogateescape"))
    path = toml_path(data_dir)
    if path is not None:
        digest.update(b"\0toml\0" + os.fsencode(path))
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\0unreadable")
    return digest.hexdigest()


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode("utf-8")


def error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": code, "message": message}


def read_all(sock: socket.socket, limit: int) -> bytes | None:
    """Everything until the peer closes its side; None past `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = sock.recv(min(65536, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None


def discard(sock: socket.socket, limit: int) -> None:
    """Read and drop what the peer still sends (up to `limit` bytes), so that the reply to an
    oversized request is not lost to a reset when the socket closes with unread data."""
    size = 0
    while size <= limit and (chunk := sock.recv(65536)):
        size += len(chunk)
