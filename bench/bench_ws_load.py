"""WebSocket load benchmark: many chat sessions for a fixed time against a live server.

The server is `ragcode serve`'s app under uvicorn on 127.0.0.1 in its own process, with the
default `[server]` settings and a scripted LLM that answers at once (8 deltas), so latency is
what the server adds: session check per frame, memory read, the mode on a worker thread, the
turn written to SQLite. Accounts and sessions are created in the server process before it
listens (sign-up is rate-limited per address, and argon2 is not what is measured here).

Phase 1 (`--duration` s): `--sessions` sockets spread over `--users` accounts; each sends a
`normal` message, waits for its end, pauses `--think` s (x0.5-1.5), again. Reported: errors,
requests lost (no final message) or duplicated (more than one), server RSS idle and then at
the start (1 s after ramp-up), middle and end of the load, p50/p95/p99 of send -> completed.
Phase 2 (fairness): a light user's latency alone, then while a heavy user floods from 5
sockets, 4 requests in flight on each, with answers that stream for 2 s (the same LLM streams
slowly for those) and a new request for every final message; the ratio loaded/unloaded.

    python bench/bench_ws_load.py [--sessions 200] [--users 50] [--duration 300] [--think 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import socket
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

ANSWER = "네, 알겠습니다. 요청하신 내용을 처리했습니다. " * 3
DELTAS = 8
SLOW = "천천히"  # the heavy user's questions: 20 deltas, 0.1 s apart
PASSWORD = "bench-load-password"
RECV_TIMEOUT_S = 30.0


class ScriptedLLM:
    name = "scripted"

    def stream(self, messages: Sequence[object], *, max_tokens: int, temperature: float = 0.2,
               stop: Sequence[str] = ()) -> Iterator[str]:  # fmt: skip
        if SLOW in str(getattr(messages[-1], "content", "")):
            for n in range(20):
                time.sleep(0.1)
                yield f"{n} "
            return
        step = max(1, len(ANSWER) // DELTAS)
        for start in range(0, len(ANSWER), step):
            yield ANSWER[start : start + step]


def serve(data_dir: str, port: int, accounts: int, cookies_out: Connection) -> None:
    import logging

    import uvicorn

    from ragcode.app import build_app
    from ragcode.config import Settings
    from ragcode.server.factory import create_app

    logging.disable(logging.WARNING)
    core = build_app(Settings(data_dir=Path(data_dir)), llm=ScriptedLLM())
    api = create_app(core)
    state = api.state.server
    cookies = []
    for n in range(accounts):
        user = state.accounts.create(f"load{n:03d}", PASSWORD)
        token = state.accounts.open_session(user, 86400)
        cookies.append(f"ragcode_session={state.session_cookie(token)}")
    cookies_out.send(cookies)
    uvicorn.run(api, host="127.0.0.1", port=port, log_level="error", ws_ping_interval=20.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Tally:
    sent: set[str] = field(default_factory=set)
    finals: Counter[str] = field(default_factory=Counter)  # request_id -> final messages
    errors: Counter[str] = field(default_factory=Counter)  # error code or exception name
    latencies: list[float] = field(default_factory=list)


def frame(body: str) -> tuple[str, str]:
    rid = uuid.uuid4().hex
    message = {"request_id": rid, "type": "text", "conv_type": "normal", "body": body}
    return rid, json.dumps(message, ensure_ascii=False)


async def request(ws: ClientConnection, body: str, tally: Tally) -> float | None:
    """One request to its final message; its latency when completed."""
    rid, text = frame(body)
    tally.sent.add(rid)
    started = time.perf_counter()
    await ws.send(text)
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_S))
        final_rid = message.get("request_id")
        if final_rid is None or message.get("status") not in ("completed", "error"):
            continue
        tally.finals[final_rid] += 1  # a late duplicate of an earlier request counts too
        if final_rid != rid:
            continue
        if message["status"] == "error":
            tally.errors[message["error"]["code"]] += 1
            return None
        latency = time.perf_counter() - started
        tally.latencies.append(latency)
        return latency


async def drain(ws: ClientConnection, tally: Tally, seconds: float) -> None:
    """Anything still arriving (a duplicate final would) is counted before closing."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            return
        if message.get("status") in ("completed", "error") and message.get("request_id"):
            tally.finals[message["request_id"]] += 1


async def session(url: str, cookie: str, delay: float, until: float, think: float,
                  tally: Tally) -> None:  # fmt: skip
    await asyncio.sleep(delay)
    try:
        async with connect(url, additional_headers={"Cookie": cookie}, open_timeout=30) as ws:
            n = 0
            while time.monotonic() < until:
                await request(ws, f"질문 {n}: 오늘 회의 내용을 정리해 주세요", tally)
                n += 1
                await asyncio.sleep(think * random.uniform(0.5, 1.5))
            await drain(ws, tally, 1.0)
    except Exception as exc:  # counted, and the other sessions go on
        tally.errors[type(exc).__name__] += 1


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


async def load(url: str, cookies: list[str], args: argparse.Namespace, pid: int) -> None:
    tally = Tally()
    ramp = min(5.0, args.duration / 10)
    started = time.monotonic()
    until = started + ramp + args.duration
    rss = {"idle": rss_mb(pid)}
    sessions = [
        session(url, cookies[n % args.users], ramp * n / args.sessions, until, args.think, tally)
        for n in range(args.sessions)
    ]

    async def sample() -> None:
        await asyncio.sleep(ramp + 1.0)  # every socket open, the first requests answered
        rss["start"] = rss_mb(pid)
        await asyncio.sleep(max(0.0, args.duration / 2 - 1.0))
        rss["middle"] = rss_mb(pid)
        await asyncio.sleep(max(0.0, until - time.monotonic()))
        rss["end"] = rss_mb(pid)

    await asyncio.gather(sample(), *sessions)
    elapsed = time.monotonic() - started
    completed = len(tally.latencies)
    lost = len(tally.sent - set(tally.finals))
    duplicated = sum(1 for count in tally.finals.values() if count > 1)
    print(f"sessions {args.sessions} over {args.users} users, {args.duration:.0f} s "
          f"(+{ramp:.1f} s ramp-up), think {args.think} s")  # fmt: skip
    print(f"requests sent {len(tally.sent)}, completed {completed} "
          f"({completed / elapsed:.1f}/s), lost {lost}, duplicated {duplicated}")  # fmt: skip
    print(f"errors: {dict(tally.errors) or 'none'}")
    print(f"latency send -> completed: p50 {pct(tally.latencies, 0.50):.1f} ms, "
          f"p95 {pct(tally.latencies, 0.95):.1f} ms, p99 {pct(tally.latencies, 0.99):.1f} ms, "
          f"max {max(tally.latencies, default=0) * 1000:.1f} ms")  # fmt: skip
    print(f"server RSS: idle {rss['idle']:.1f} MB; under load: start {rss['start']:.1f} MB, "
          f"middle {rss['middle']:.1f} MB, end {rss['end']:.1f} MB")  # fmt: skip


async def flood(url: str, cookie: str, stop: asyncio.Event, tally: Tally) -> None:
    """One of the heavy user's sockets: 4 slow requests at a time, a new one for every final
    message (after `busy`, 10 ms later)."""
    async with connect(url, additional_headers={"Cookie": cookie}, open_timeout=30) as ws:
        for _ in range(4):
            await ws.send(frame(f"{SLOW} 긴 답을 써 주세요")[1])
        while not stop.is_set():
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                continue
            if message.get("status") == "completed":
                tally.latencies.append(0.0)
            elif message.get("status") == "error":
                tally.errors[message["error"]["code"]] += 1
                await asyncio.sleep(0.01)
            else:
                continue
            await ws.send(frame(f"{SLOW} 긴 답을 써 주세요")[1])


async def light_latencies(url: str, cookie: str, samples: int) -> list[float]:
    tally = Tally()
    async with connect(url, additional_headers={"Cookie": cookie}, open_timeout=30) as ws:
        for n in range(samples):
            await request(ws, f"가벼운 질문 {n}", tally)
            await asyncio.sleep(0.05)
    return tally.latencies


async def fairness(url: str, heavy: str, light: str, samples: int) -> None:
    await light_latencies(url, light, 3)  # warm-up: the user's first memory read and save
    alone = await light_latencies(url, light, samples)
    stop, tally = asyncio.Event(), Tally()
    floods = [asyncio.create_task(flood(url, heavy, stop, tally)) for _ in range(5)]
    await asyncio.sleep(1.0)
    loaded = await light_latencies(url, light, samples)
    stop.set()
    await asyncio.wait(floods, timeout=RECV_TIMEOUT_S)
    a, b = statistics.median(alone) * 1000, statistics.median(loaded) * 1000
    print(f"fairness: light user p50 alone {a:.1f} ms, while a heavy user floods {b:.1f} ms "
          f"(p95 {pct(loaded, 0.95):.1f} ms): ratio {b / a:.2f}; heavy user: "
          f"{len(tally.latencies)} completed, {tally.errors['busy']} busy")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between messages")
    parser.add_argument("--fairness-samples", type=int, default=20)
    args = parser.parse_args()
    port = free_port()
    one, five, _ = os.getloadavg()
    print(f"load average at start: {one:.2f} (1 min), {five:.2f} (5 min); cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="rc-bench-ws-load-") as data_dir:
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        process = context.Process(
            target=serve, args=(data_dir, port, args.users + 2, send), daemon=True
        )
        process.start()
        try:
            if not receive.poll(300):
                raise RuntimeError("the server did not start")
            cookies = receive.recv()
            time.sleep(1.0)  # uvicorn binds right after the accounts are made
            url = f"ws://127.0.0.1:{port}/ws"
            assert process.pid is not None
            asyncio.run(load(url, cookies[: args.users], args, process.pid))
            asyncio.run(fairness(url, cookies[-2], cookies[-1], args.fairness_samples))
        finally:
            process.terminate()
            process.join(10)
    one, five, _ = os.getloadavg()
    print(f"load average at end: {one:.2f} (1 min), {five:.2f} (5 min)")


if __name__ == "__main__":
    main()
