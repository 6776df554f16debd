"""LLM servers for tests: a scriptable in-process OpenAI-compatible fake, and real llama.cpp.

The fake speaks `/v1/chat/completions` (SSE, chunked) and `/v1/embeddings`; each request gets
a `Reply` from a script (ok with latency, an HTTP error, a hang, a death mid-stream) and the
server counts what it saw: requests, concurrency, clients that went away.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import httpx


@dataclass(frozen=True)
class Reply:
    kind: Literal["ok", "status", "hang", "die"] = "ok"
    chunks: tuple[str, ...] = ("요약: ", "설정을 ", "읽는다.")
    delay_s: float = 0.0  # before each chunk
    status: int = 200
    retry_after: str | None = None


@dataclass
class Stats:
    requests: int = 0
    completed: int = 0
    disconnected: int = 0
    active: int = 0
    max_active: int = 0
    payloads: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fake_embedding(text: str, dim: int = 8) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [digest[i] / 255.0 + 0.01 for i in range(dim)]


class FakeOpenAIServer:
    """`with FakeOpenAIServer() as server:` ... `server.url` is an OpenAI base URL."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self.script: deque[Reply] = deque()  # consumed first, one per request
        self.responder: Callable[[dict[str, Any]], Reply | None] | None = None
        self.stats = Stats()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.port = free_port()
        self.connections: set[socket.socket] = set()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        """Die like a killed process: refuse new connections, cut the open ones."""
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self.lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def next_reply(self, payload: dict[str, Any]) -> Reply:
        with self.lock:
            self.stats.requests += 1
            self.stats.payloads.append(payload)
            if self.script:
                return self.script.popleft()
        if self.responder is not None:
            return self.responder(payload) or self.default
        return self.default


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.fake.lock:
            self.fake.connections.add(self.connection)

    def finish(self) -> None:
        with self.fake.lock:
            self.fake.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        payload = json.loads(body or b"{}")
        with self.fake.lock:
            self.fake.stats.headers.append(dict(self.headers))
        if self.path == "/v1/embeddings":
            self._embeddings(payload)
            return
        if self.path != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        reply = self.fake.next_reply(payload)
        stats = self.fake.stats
        with self.fake.lock:
            stats.active += 1
            stats.max_active = max(stats.max_active, stats.active)
        try:
            self._reply(reply)
        finally:
            with self.fake.lock:
                stats.active -= 1

    def _reply(self, reply: Reply) -> None:
        if reply.kind == "status":
            headers = {"Retry-After": reply.retry_after} if reply.retry_after else {}
            self._send_json(reply.status, {"error": {"message": "scripted"}}, headers)
            return
        if reply.kind == "hang":
            self.fake.stopping.wait(30)
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for index, text in enumerate(reply.chunks):
                time.sleep(reply.delay_s)
                if reply.kind == "die" and index == 1:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                chunk = {"choices": [{"index": 0, "delta": {"content": text}}]}
                self._write_chunk(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n")
            self._write_chunk("data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            with self.fake.lock:
                self.fake.stats.disconnected += 1
            self.close_connection = True
            return
        with self.fake.lock:
            self.fake.stats.completed += 1

    def _write_chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _embeddings(self, payload: dict[str, Any]) -> None:
        texts = payload["input"]
        dim = int(payload.get("dimensions") or 8)
        rows = [
            {"index": i, "embedding": fake_embedding(text, dim)} for i, text in enumerate(texts)
        ]
        self._send_json(200, {"data": list(reversed(rows))})  # the index orders them

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def start_llama_server(
    model: Path, *, timeout_s: float = 120.0
) -> tuple[subprocess.Popen[bytes], str]:
    """A real `python -m llama_cpp.server` on a free port; returns (process, base URL)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "llama_cpp.server", "--model", str(model),
            "--host", "127.0.0.1", "--port", str(port), "--n_threads", "1", "--n_ctx", "1024",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {process.returncode}")
        try:
            if httpx.get(url + "/models", timeout=1.0).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("llama_cpp.server did not start in time")
