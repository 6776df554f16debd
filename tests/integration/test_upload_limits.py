"""Upload bodies: refused before they are read (no session, declared too large), cut off at
the cap while streaming (also without Content-Length), zip bombs and broken files contained.

Body consumption is measured at the ASGI boundary: the app pulls the body through `receive`,
one chunk per call, and every byte it pulls is counted here.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ragcode.app import App
from ragcode.embeddings.local import LocalEmbedder
from tests.scripted_llm import ScriptedLLM
from tests.server_support import make_server, signup, wait_final
from tests.web_server import running_server
from tests.zip_samples import bomb_docx, zip_bytes

pytestmark = pytest.mark.integration
MAX_UPLOAD = 1_000_000
SLACK = 64 * 1024  # routes_documents._MULTIPART_SLACK
CHUNK = 64 * 1024
BOUNDARY = "ragcode-test-boundary"
DEEP_PYTHON = b"x = (\n" + b"-\n" * 20_000
GOOD_PYTHON = b'def greet(name):\n    """Say hello."""\n    return "hello " + name\n'


@pytest.fixture
def server(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[tuple[App, FastAPI]]:
    llm = ScriptedLLM(lambda m: "입력을 받아 결과를 돌려줍니다.")
    core, api = make_server(tmp_path / "data", llm, embedder, max_upload_bytes=MAX_UPLOAD)
    yield core, api
    core.close()


@pytest.fixture
def client(server: tuple[App, FastAPI]) -> Iterator[TestClient]:
    with TestClient(server[1]) as test_client:
        yield test_client


def part_head(filename: str, field: str = "file") -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()


def multipart_chunks(filename: str, size: int) -> Iterator[bytes]:
    """A one-file multipart body of `size` file bytes, in CHUNK-sized pieces, made lazily."""
    yield part_head(filename)
    sent = 0
    while sent < size:
        piece = min(CHUNK, size - sent)
        yield b"#" * piece
        sent += piece
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


class Exchange:
    """One HTTP request driven straight through the ASGI app, counting pulled body bytes."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.pulled = 0
        self.status = 0
        self.body = b""
        self.done = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        await asyncio.sleep(0)  # let the response side run, as a real socket would
        if self.done.is_set():
            return {"type": "http.disconnect"}
        chunk = next(self.chunks, None)
        if chunk is None:
            await self.done.wait()
            return {"type": "http.disconnect"}
        self.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
            if not message.get("more_body", False):
                self.done.set()


def post(api: FastAPI, chunks: Iterator[bytes], headers: dict[str, str]) -> Exchange:
    exchange = Exchange(chunks)
    raw = [(b"host", b"testserver")]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/documents", "raw_path": b"/api/documents",
        "query_string": b"", "root_path": "", "headers": raw,
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip

    async def run() -> None:
        await asyncio.wait_for(api(scope, exchange.receive, exchange.send), timeout=60)

    asyncio.run(run())
    return exchange


def session_cookie(client: TestClient, username: str = "alice") -> dict[str, str]:
    signup(client, username)
    return {"cookie": f"ragcode_session={client.cookies.get('ragcode_session')}"}


def left_under_uploads(core: App) -> list[Path]:
    uploads = core.settings.data_dir / "uploads"
    return [path for path in uploads.rglob("*") if path.is_file()] if uploads.exists() else []


def test_no_session_is_refused_before_the_body_is_read(client: TestClient) -> None:
    size = 50_000_000
    length = str(len(part_head("big.py")) + size + len(f"\r\n--{BOUNDARY}--\r\n"))
    api: FastAPI = client.app  # type: ignore[assignment]
    exchange = post(api, multipart_chunks("big.py", size), {"content-length": length})
    assert exchange.status == 401 and "로그인이 필요합니다" in exchange.body.decode()
    assert exchange.pulled < 2 * CHUNK, f"read {exchange.pulled:,} bytes before refusing"


def test_declared_length_over_the_cap_is_refused_unread(
    client: TestClient, server: tuple[App, FastAPI]
) -> None:
    headers = {**session_cookie(client), "content-length": str(100_000_000)}
    exchange = post(server[1], multipart_chunks("big.py", 100_000_000), headers)
    assert exchange.status == 413 and "너무 큽니다" in exchange.body.decode()
    assert exchange.pulled < 2 * CHUNK
    assert left_under_uploads(server[0]) == []


def test_chunked_body_is_cut_off_at_the_cap(
    client: TestClient, server: tuple[App, FastAPI]
) -> None:
    """No Content-Length (chunked): 30 MB offered, reading stops right after the cap."""
    exchange = post(server[1], multipart_chunks("big.py", 30_000_000), session_cookie(client))
    assert exchange.status == 413 and "너무 큽니다" in exchange.body.decode()
    assert exchange.pulled <= MAX_UPLOAD + SLACK + CHUNK
    assert left_under_uploads(server[0]) == []
    assert client.get("/api/documents").json()["documents"] == []


def test_file_over_the_limit_inside_the_slack_is_refused(
    client: TestClient, server: tuple[App, FastAPI]
) -> None:
    signup(client, "alice")
    files = {"file": ("big.py", b"#" * (MAX_UPLOAD + 10))}
    response = client.post("/api/documents", files=files)
    assert response.status_code == 413 and "최대 1 MB" in response.json()["detail"]
    assert left_under_uploads(server[0]) == []


def test_unsupported_type_is_refused_before_its_data(
    client: TestClient, server: tuple[App, FastAPI]
) -> None:
    exchange = post(server[1], multipart_chunks("movie.mkv", 900_000), session_cookie(client))
    assert exchange.status == 400 and "지원하지 않는" in exchange.body.decode()
    assert exchange.pulled < 2 * CHUNK


def test_one_file_per_upload_and_a_file_is_required(
    client: TestClient, server: tuple[App, FastAPI]
) -> None:
    signup(client, "alice")
    files = [("file", ("a.py", GOOD_PYTHON)), ("file", ("b.py", GOOD_PYTHON))]
    two = client.post("/api/documents", files=files)
    assert two.status_code == 400 and "하나만" in two.json()["detail"]
    none = client.post("/api/documents", data={"note": "파일 없음"})
    assert none.status_code == 400 and "파일" in none.json()["detail"]
    assert left_under_uploads(server[0]) == []
    assert client.get("/api/documents").json()["documents"] == []


def test_docx_bomb_upload_is_refused_fast_with_bounded_memory(
    client: TestClient, server: tuple[App, FastAPI]
) -> None:
    signup(client, "alice")
    bomb = bomb_docx()
    tracemalloc.start()
    started = time.monotonic()
    try:
        response = client.post("/api/documents", files={"file": ("manual.docx", bomb)})
    finally:
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert response.status_code == 400, response.text
    assert "DOCX 파일을 받지 않았습니다" in response.json()["detail"]
    assert elapsed < 5.0 and peak < 30_000_000
    assert left_under_uploads(server[0]) == []
    assert client.get("/api/documents").json()["documents"] == []


def test_a_bad_file_fails_alone_with_a_reason(client: TestClient) -> None:
    signup(client, "alice")
    deep = client.post("/api/documents", files={"file": ("deep.py", DEEP_PYTHON)}).json()
    failed = wait_final(client, deep["id"])
    assert failed["state"] == "failed" and "중첩" in failed["error"]
    archive = zip_bytes([("repo/deep.py", DEEP_PYTHON), ("repo/good.py", GOOD_PYTHON)])
    repo = client.post("/api/documents", files={"file": ("repo.zip", archive)}).json()
    ready = wait_final(client, repo["id"])
    assert ready["state"] == "ready" and ready["units"] == 1


def test_colliding_member_names_are_both_indexed(client: TestClient) -> None:
    signup(client, "alice")
    other = GOOD_PYTHON.replace(b"greet", b"farewell")
    archive = zip_bytes([("a b.py", GOOD_PYTHON), ("a_b.py", other)])
    doc = client.post("/api/documents", files={"file": ("repo.zip", archive)}).json()
    final = wait_final(client, doc["id"])
    assert final["state"] == "ready" and final["units"] == 2


def test_a_long_korean_name_is_shortened_to_fit_the_file_system(client: TestClient) -> None:
    """100 syllables are 300 bytes of UTF-8; a file name may have 255."""
    signup(client, "alice")
    name = "가" * 100 + ".md"
    response = client.post("/api/documents", files={"file": (name, "# 제목\n\n본문\n".encode())})
    assert response.status_code == 202, response.text
    stored = response.json()["name"]
    assert stored.endswith(".md") and stored.startswith("가") and len(stored.encode()) <= 150


def test_a_real_server_stops_reading_a_refused_body(server: tuple[App, FastAPI]) -> None:
    """Under uvicorn too: without `Connection: close` it would read (and drop) the whole
    rest of the body to keep the connection alive. What the client manages to send is
    then what the kernel buffers hold, not the body."""
    offered = 50_000_000
    pulled = 0

    def body() -> Iterator[bytes]:
        nonlocal pulled
        for chunk in multipart_chunks("big.py", offered):
            pulled += len(chunk)
            yield chunk

    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    with running_server(server[1]) as url:
        response = httpx.post(f"{url}/api/documents", content=body(), headers=headers)
    assert pulled < offered // 5, f"the server read {pulled:,} bytes of a refused body"
    assert response.status_code == 401 and response.headers["connection"] == "close"
