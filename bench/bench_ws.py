"""WebSocket chat benchmark: N concurrent clients against `ragcode serve` with an instant LLM.

The server (a separate process, real uvicorn on 127.0.0.1) runs the full chat path: session
cookie check, frame parsing, the mode on a worker thread, deltas through an asyncio queue,
the turn written to the SQLite history. The LLM answers at once (a fixed text in a few
deltas), so the latency measured is what the server adds. Each client sends `--requests`
messages one after the other (mode `normal`, with history memory). Printed: completed
messages/s, and p50/p95/max of send -> first delta and send -> completed.

    python bench/bench_ws.py [--clients 1,10,50] [--requests 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

ANSWER = "네, 알겠습니다. 요청하신 내용을 처리했습니다. " * 3
DELTAS = 8


class InstantLLM:
    name = "instant"

    def stream(self, messages: Sequence[object], *, max_tokens: int, temperature: float = 0.2,
               stop: Sequence[str] = ()) -> Iterator[str]:  # fmt: skip
        step = max(1, len(ANSWER) // DELTAS)
        for start in range(0, len(ANSWER), step):
            yield ANSWER[start : start + step]


def serve(data_dir: str, port: int) -> None:
    import logging

    import uvicorn

    from ragcode.app import build_app
    from ragcode.config import load_settings
    from ragcode.server.factory import create_app

    logging.disable(logging.WARNING)
    settings = load_settings(data_dir=Path(data_dir), server={"max_requests_in_flight": 8})
    core = build_app(settings, llm=InstantLLM())
    uvicorn.run(create_app(core), host="127.0.0.1", port=port, log_level="error")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("server did not start")


def session_cookie(base: str, username: str) -> str:
    body = {"username": username, "password": "benchmark-password"}
    response = httpx.post(f"{base}/api/signup", json=body, timeout=30)
    response.raise_for_status()
    return f"ragcode_session={response.cookies['ragcode_session']}"


async def client(url: str, cookie: str, requests: int) -> tuple[list[float], list[float]]:
    first: list[float] = []
    total: list[float] = []
    async with connect(url, additional_headers={"Cookie": cookie}, max_size=None) as ws:
        for n in range(requests):
            rid = uuid.uuid4().hex
            frame = {"request_id": rid, "type": "text", "conv_type": "normal", "body": f"질문 {n}"}
            started = time.perf_counter()
            await ws.send(json.dumps(frame))
            while True:
                message = json.loads(await ws.recv())
                if message.get("request_id") != rid:
                    continue
                if message["status"] == "proceeding" and len(first) == n:
                    first.append(time.perf_counter() - started)
                if message["status"] in ("completed", "error"):
                    assert message["status"] == "completed", message
                    total.append(time.perf_counter() - started)
                    break
    return first, total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def round_of(base: str, clients: int, requests: int) -> None:
    cookies = [
        await asyncio.to_thread(session_cookie, base, f"b{clients}_{i}") for i in range(clients)
    ]
    url = base.replace("http", "ws") + "/ws"
    started = time.perf_counter()
    results = await asyncio.gather(*(client(url, c, requests) for c in cookies))
    elapsed = time.perf_counter() - started
    first = [v for f, _ in results for v in f]
    total = [v for _, t in results for v in t]
    print(
        f"{clients:>7} {len(total):>8} {len(total) / elapsed:>9.1f} "
        f"{pct(first, 0.5):>8.1f} {pct(first, 0.95):>8.1f} "
        f"{statistics.median(total) * 1000:>8.1f} {pct(total, 0.95):>8.1f} "
        f"{max(total) * 1000:>8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--requests", type=int, default=20, help="messages per client")
    args = parser.parse_args()
    port = free_port()
    one, five, _ = os.getloadavg()
    print(f"load average at start: {one:.2f} (1 min), {five:.2f} (5 min); cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="rc-bench-ws-") as data_dir:
        context = multiprocessing.get_context("spawn")
        process = context.Process(target=serve, args=(data_dir, port), daemon=True)
        process.start()
        try:
            wait_for(port)
            base = f"http://127.0.0.1:{port}"
            print(f"{'clients':>7} {'messages':>8} {'msg/s':>9} {'1st p50':>8} {'1st p95':>8} "
                  f"{'end p50':>8} {'end p95':>8} {'end max':>8}   (ms)")  # fmt: skip
            for clients in (int(n) for n in args.clients.split(",")):
                asyncio.run(round_of(base, clients, args.requests))
        finally:
            process.terminate()
            process.join(10)
    one, five, _ = os.getloadavg()
    print(f"load average at end: {one:.2f} (1 min), {five:.2f} (5 min)")


if __name__ == "__main__":
    main()
