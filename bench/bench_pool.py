"""Pool benchmark: the same units summarized through 1, 2 and 4 OpenAI-compatible endpoints.

Each endpoint is a small local server (a separate process, written for this benchmark) that
answers every chat completion after a fixed latency, streamed in a few SSE chunks, like a
remote model with a steady speed. The full product path runs: settings with
`[[llm.endpoints]]` -> build_llm (adapter or pool) -> SummaryRunner (threads sized by the pool)
-> summary embeddings -> SQLite. Printed: units/s per N and the ratio to N x the single
endpoint's throughput (the target is >= 0.9 at N=4).

    python bench/bench_pool.py [--units 200] [--latency 0.2] [--per-endpoint 1] [--repeat 2]

The summary embeddings run on one BLAS thread (`LocalEmbedder(threads=1)`, and
OPENBLAS_NUM_THREADS=1 unless set): with two, each small product spins waiting for a busy
second core (~110 ms a summary instead of ~2 ms here), which measures the machine's other load
rather than the pool (bench/README.md, "BLAS threads").
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ragcode.app import build_app
from ragcode.config import load_settings
from ragcode.embeddings.local import LocalEmbedder
from synthetic_units import write_units


def serve(port: int, latency_s: float, chunks: int) -> None:
    """The benchmark's endpoint: every answer takes `latency_s`, in `chunks` SSE events."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            words = ["요약: 입력을 ", "검사하고 ", "결과를 ", "돌려준다."]
            for index in range(chunks):
                time.sleep(latency_s / chunks)
                delta = {"choices": [{"index": 0, "delta": {"content": words[index % 4]}}]}
                self.write_event(json.dumps(delta, ensure_ascii=False))
            self.write_event("[DONE]")
            self.wfile.write(b"0\r\n\r\n")

        def write_event(self, data: str) -> None:
            event = f"data: {data}\n\n".encode()
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            self.wfile.flush()

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_servers(
    count: int, latency_s: float, chunks: int
) -> list[tuple[subprocess.Popen[bytes], str]]:
    started = []
    for _ in range(count):
        port = free_port()
        command = [sys.executable, __file__, "--serve", str(port), "--latency", str(latency_s)]
        process = subprocess.Popen([*command, "--chunks", str(chunks)])
        started.append((process, f"http://127.0.0.1:{port}/v1"))
    for _, url in started:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
    return started


def run_once(urls: list[str], per_endpoint: int, units: int, embedder: LocalEmbedder) -> float:
    """Seconds to summarize every unit through these endpoints (indexing not counted)."""
    endpoints = [
        {"kind": "openai", "url": url, "model": "bench", "max_concurrency": per_endpoint}
        for url in urls
    ]
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp:
        settings = load_settings(data_dir=Path(tmp) / "data", llm={"endpoints": endpoints})
        app = build_app(settings, embedder=embedder)
        try:
            write_units(Path(tmp) / "project", units)
            app.indexer.index(Path(tmp) / "project")
            started = time.perf_counter()
            report = app.summaries.run()
            elapsed = time.perf_counter() - started
        finally:
            app.close()
    if report.written != units or report.failed:
        raise SystemExit(f"expected {units} summaries, got {report}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    parser.add_argument("--chunks", type=int, default=4, help="SSE chunks per answer")
    parser.add_argument("--per-endpoint", type=int, default=1, help="max_concurrency each")
    parser.add_argument("--repeat", type=int, default=2, help="runs per N; the best is shown")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.latency, args.chunks)
        return
    servers = start_servers(4, args.latency, args.chunks)
    embedder = LocalEmbedder(threads=1)
    embedder.embed(["warm up"])
    try:
        print(
            f"units={args.units} latency_s={args.latency} chunks={args.chunks}"
            f" per_endpoint={args.per_endpoint} repeat={args.repeat}"
            f" OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}"
        )
        print("| endpoints | seconds | units/s | ideal units/s | ratio to ideal |")
        print("|---:|---:|---:|---:|---:|")
        single = 0.0
        for count in (1, 2, 4):
            urls = [url for _, url in servers[:count]]
            seconds = min(
                run_once(urls, args.per_endpoint, args.units, embedder) for _ in range(args.repeat)
            )
            rate = args.units / seconds
            single = single or rate
            ideal = count * single
            print(f"| {count} | {seconds:.1f} | {rate:.2f} | {ideal:.2f} | {rate / ideal:.3f} |")
    finally:
        for process, _ in servers:
            process.kill()


if __name__ == "__main__":
    main()
