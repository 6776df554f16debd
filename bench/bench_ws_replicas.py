"""Two `ragcode serve` replicas on one PostgreSQL against one, under bench_ws_load's load.

Configurations (`--configs`, run in the order given; a name may repeat):
  sqlite  one replica on the embedded default (SQLite web.sqlite3): the reference;
  pg1     one replica on PostgreSQL (`[store] url`);
  pg2     two replicas on the same PostgreSQL database (the same `server.secret_key`).
Each configuration gets fresh data directories and, on PostgreSQL, a fresh database of one
PostgreSQL 18 + pgvector server (tests/pg_server.py, its test settings: fsync off,
synchronous_commit off, max_connections 50, shared_buffers 64MB).

The load is bench_ws_load's phase 1, with its client code (`session`, `Tally`): `--sessions`
sockets over `--users` accounts, each sending a `normal` message, waiting for its final
message, pausing `--think` s (x0.5-1.5), again. User n's sockets all go to replica n % R (no
load balancer: users alternate between replicas). Accounts and their sessions are made by the
first replica before it listens, as in bench_ws_load; the others check the same sessions in
the shared database.

Each replica is `ragcode serve` (server/run.py `cmd_serve`: `load_settings` through
RAGCODE_CONFIG, `build_app`, `create_app`, uvicorn with the same options) in its own process,
except that the LLM is bench_ws_load's `ScriptedLLM` inside the replica: 8 deltas at once, no
network, no CPU to speak of. That keeps the answers and their timing identical in every run
and measures what the server adds. A scripted OpenAI-compatible server (tests/llm_servers.py)
would be one more Python process on the same 2 cores that every replica's answers pass
through: its own GIL and HTTP work would cap both replica counts alike and hide the change.

Reported per run: requests sent / completed (and per replica), lost (no final message),
duplicated (more than one), errors, send -> completed p50/p95/p99/max, throughput (completed
per second of the whole run, ramp-up included, as bench_ws_load), RSS of each replica (idle,
then start / middle / end of the load), CPU seconds used by the replicas, PostgreSQL and the
clients, and the turns saved in the history (each completed request saved exactly once).
Then a table and the ratios pg2/pg1 of throughput and p95. Server logs (WARNING and up, and
uvicorn's info) go to one file per replica under `--log-dir`.

    python bench/bench_ws_replicas.py [--duration 60] [--sessions 200] [--users 50]
        [--think 1.0] [--configs sqlite,pg1,pg2] [--log-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.pg_server
sys.path.insert(0, str(ROOT / "bench"))  # for bench_ws_load's client

from bench_ws_load import PASSWORD, ScriptedLLM, Tally, free_port, pct, rss_mb, session  # noqa: E402

if TYPE_CHECKING:
    from tests.pg_server import PgServer

# Each replica's process imports this module again (spawn): psycopg and tests.pg_server (with
# pytest) are imported only where this process uses them, so a replica's RSS is the server's.

SECRET = "bench-replicas-secret-" + "x" * 24  # every replica signs and checks the same cookies
CONFIGS = {"sqlite": (False, 1), "pg1": (True, 1), "pg2": (True, 2)}  # name: (postgres, replicas)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def serve_replica(config: str, data_dir: str, port: int, accounts: int, log: str,
                  cookies_out: Connection) -> None:  # fmt: skip
    """`ragcode serve` with the scripted LLM; the first replica makes the accounts."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ["RAGCODE_CONFIG"] = config
    import logging

    import uvicorn

    from ragcode.app import build_app
    from ragcode.config import load_settings
    from ragcode.server.factory import create_app
    from ragcode.server.run import proxy_options, ws_max_bytes

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s "
                        "%(message)s")  # fmt: skip
    settings = load_settings(data_dir=Path(data_dir))
    server = settings.server.model_copy(update={"host": "127.0.0.1", "port": port})
    settings = settings.model_copy(update={"server": server})
    core = build_app(settings, llm=ScriptedLLM())
    try:
        api = create_app(core)
        state = api.state.server
        cookies = []
        for n in range(accounts):
            user = state.accounts.create(f"load{n:03d}", PASSWORD)
            token = state.accounts.open_session(user, 86400)
            cookies.append(f"ragcode_session={state.session_cookie(token)}")
        cookies_out.send(cookies)
        uvicorn.run(
            api, host="127.0.0.1", port=port, log_level="info", ws_ping_interval=20.0,
            ws_max_size=ws_max_bytes(server), **proxy_options(server),
        )  # fmt: skip
    finally:
        core.close()


@dataclass
class Replica:
    process: multiprocessing.process.BaseProcess
    url: str
    log: Path

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def stop(self) -> None:
        self.process.terminate()  # uvicorn shuts down on SIGTERM, the stores close
        self.process.join(20)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


def start_replica(config: Path, work: Path, log: Path, name: str, accounts: int
                  ) -> tuple[Replica, list[str]]:  # fmt: skip
    port = free_port()
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    data_dir = work / f"data-{name}"  # each replica its own: only models and caches
    process = context.Process(
        target=serve_replica,
        args=(str(config), str(data_dir), port, accounts, str(log), send), daemon=True,
    )  # fmt: skip
    process.start()
    replica = Replica(process, f"http://127.0.0.1:{port}", log)
    if not receive.poll(300):
        replica.stop()
        raise RuntimeError(f"replica {name} did not start; see {log}")
    cookies = receive.recv()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(replica.url + "/api/me", timeout=2.0).status_code == 401:
                return replica, cookies
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    replica.stop()
    raise RuntimeError(f"replica {name} does not answer; see {log}")


def write_config(path: Path, pg_url: str | None) -> Path:
    store = f"[store]\nurl = {json.dumps(pg_url)}\n\n" if pg_url else ""
    path.write_text(f'{store}[server]\nsecret_key = "{SECRET}"\n', encoding="utf-8")
    return path


# --- CPU accounting -----------------------------------------------------------------------
def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def postgres_pids() -> list[int]:
    """The postmaster (our child) and its backends."""
    pids = []
    for pid in children(os.getpid()):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "postgres":
                pids += [pid, *children(pid)]
        except OSError:
            continue
    return pids


def cpu_snapshot(replicas: list[int]) -> dict[str, dict[int, float]]:
    return {
        "replicas": {pid: cpu_s(pid) for pid in replicas},
        "postgres": {pid: cpu_s(pid) for pid in postgres_pids()},
        "clients": {os.getpid(): cpu_s(os.getpid())},
    }


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]
             ) -> dict[str, float]:  # fmt: skip
    return {
        group: sum(now - before[group].get(pid, 0.0) for pid, now in after[group].items())
        for group in after
    }


# --- one run ------------------------------------------------------------------------------
@dataclass
class Run:
    config: str
    replicas: int
    elapsed: float = 0.0
    tallies: list[Tally] = field(default_factory=list)
    rss: list[dict[str, float]] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    pg_connections: int | None = None
    saved: Counter[str] = field(default_factory=Counter)  # request_id -> history rows
    load: tuple[float, float] = (0.0, 0.0)

    @property
    def latencies(self) -> list[float]:
        return [x for t in self.tallies for x in t.latencies]

    @property
    def sent(self) -> set[str]:
        return set().union(*(t.sent for t in self.tallies))

    @property
    def finals(self) -> Counter[str]:
        return sum((t.finals for t in self.tallies), Counter())

    @property
    def errors(self) -> Counter[str]:
        return sum((t.errors for t in self.tallies), Counter())

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.completed / self.elapsed if self.elapsed else 0.0

    @property
    def lost(self) -> int:
        return len(self.sent - set(self.finals))

    @property
    def duplicated(self) -> int:
        return sum(1 for count in self.finals.values() if count > 1)


def pg_connection_count(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) - 1 if row else 0  # not this one


async def drive(run: Run, replicas: list[Replica], cookies: list[str], pg_url: str | None,
                args: argparse.Namespace) -> None:  # fmt: skip
    run.tallies = [Tally() for _ in replicas]
    pids = [r.pid for r in replicas]
    run.rss = [{"idle": rss_mb(pid)} for pid in pids]
    ramp = min(5.0, args.duration / 10)
    started = time.monotonic()
    until = started + ramp + args.duration
    before = cpu_snapshot(pids)
    sessions = []
    for n in range(args.sessions):
        user = n % args.users
        at = user % len(replicas)
        url = replicas[at].url.replace("http://", "ws://") + "/ws"
        delay = ramp * n / args.sessions
        sessions.append(session(url, cookies[user], delay, until, args.think, run.tallies[at]))

    async def sample() -> None:
        await asyncio.sleep(ramp + 1.0)  # every socket open, the first requests answered
        for rss, pid in zip(run.rss, pids, strict=True):
            rss["start"] = rss_mb(pid)
        await asyncio.sleep(max(0.0, args.duration / 2 - 1.0))
        for rss, pid in zip(run.rss, pids, strict=True):
            rss["middle"] = rss_mb(pid)
        if pg_url:
            run.pg_connections = await asyncio.to_thread(pg_connection_count, pg_url)
        await asyncio.sleep(max(0.0, until - time.monotonic()))
        for rss, pid in zip(run.rss, pids, strict=True):
            rss["end"] = rss_mb(pid)

    await asyncio.gather(sample(), *sessions)
    run.elapsed = time.monotonic() - started
    run.cpu = cpu_used(before, cpu_snapshot(pids))


def saved_turns(pg_url: str | None, data_dir: Path) -> Counter[str]:
    """Rows of the history per request id (the turn is saved before `completed` is sent)."""
    if pg_url:
        import psycopg

        with psycopg.connect(pg_url) as conn:
            rows = conn.execute(
                "SELECT request_id, count(*) FROM history_turns GROUP BY request_id"
            ).fetchall()
    else:
        with closing(sqlite3.connect(data_dir / "web.sqlite3")) as conn:
            rows = conn.execute(
                "SELECT request_id, count(*) FROM turns GROUP BY request_id"
            ).fetchall()
    return Counter({str(rid): int(count) for rid, count in rows})


def run_config(name: str, pg: PgServer | None, work: Path, log_prefix: Path,
               args: argparse.Namespace) -> Run:  # fmt: skip
    postgres, count = CONFIGS[name]
    run = Run(name, count)
    pg_url = pg.url(pg.create_database()) if postgres and pg is not None else None
    config = write_config(work / "ragcode.toml", pg_url)
    run.load = (os.getloadavg()[0], 0.0)
    with ExitStack() as stack:
        replicas: list[Replica] = []
        cookies: list[str] = []
        for index in range(count):
            tag = f"{name}-{chr(ord('a') + index)}"
            replica, made = start_replica(
                config, work, Path(f"{log_prefix}-{tag}.log"), tag, args.users if index == 0 else 0
            )
            stack.callback(replica.stop)
            replicas.append(replica)
            cookies += made
        time.sleep(2.0)  # settle after start-up (argon2 hashing of the accounts)
        asyncio.run(drive(run, replicas, cookies, pg_url, args))
        run.saved = saved_turns(pg_url, work / f"data-{name}-a")
    run.load = (run.load[0], os.getloadavg()[0])
    report(run, replicas)
    return run


# --- reporting ----------------------------------------------------------------------------
def report(run: Run, replicas: list[Replica]) -> None:
    lat = run.latencies
    print(f"\n== {run.config}: {run.replicas} replica(s), load average {run.load[0]:.2f} -> "
          f"{run.load[1]:.2f}")  # fmt: skip
    print(f"requests sent {len(run.sent)}, completed {run.completed} ({run.throughput:.1f}/s "
          f"over {run.elapsed:.1f} s), lost {run.lost}, duplicated {run.duplicated}")  # fmt: skip
    print(f"errors: {dict(run.errors) or 'none'}")
    print(f"latency send -> completed: p50 {pct(lat, 0.50):.1f} ms, p95 {pct(lat, 0.95):.1f} ms, "
          f"p99 {pct(lat, 0.99):.1f} ms, max {max(lat, default=0) * 1000:.1f} ms")  # fmt: skip
    for index, (tally, rss, replica) in enumerate(zip(run.tallies, run.rss, replicas, strict=True)):
        print(f"replica {chr(ord('a') + index)}: completed {len(tally.latencies)}, "
              f"p95 {pct(tally.latencies, 0.95):.1f} ms; RSS idle {rss['idle']:.1f} MB, "
              f"under load {rss['start']:.1f} / {rss['middle']:.1f} / {rss['end']:.1f} MB; "
              f"log {replica.log}")  # fmt: skip
    cpu = run.cpu
    available = (os.cpu_count() or 1) * run.elapsed
    connections = ""
    if run.pg_connections is not None:
        connections = f"; PostgreSQL connections mid-load {run.pg_connections}"
    print(f"CPU s: replicas {cpu['replicas']:.1f}, PostgreSQL {cpu['postgres']:.1f}, clients "
          f"{cpu['clients']:.1f} (of {available:.0f} core-seconds){connections}")  # fmt: skip
    twice = sum(1 for c in run.saved.values() if c > 1)
    completed_ids = set(run.finals) if not run.errors else None
    unsaved = len(completed_ids - set(run.saved)) if completed_ids is not None else "n/a"
    print(f"history: {sum(run.saved.values())} turns saved for {run.completed} completed; "
          f"request ids saved twice {twice}, completed but not saved {unsaved}, saved but not "
          f"sent {len(set(run.saved) - run.sent)}")  # fmt: skip


def summary(runs: list[Run]) -> None:
    print("\n| config | replicas | completed | req/s | lost | dup | errors | p50 ms | p95 ms "
          "| p99 ms | RSS end MB (per replica) | CPU s replicas / PG / clients |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for run in runs:
        lat = run.latencies
        rss = " + ".join(f"{r['end']:.1f}" for r in run.rss)
        cpu = " / ".join(f"{run.cpu[k]:.0f}" for k in ("replicas", "postgres", "clients"))
        print(f"| {run.config} | {run.replicas} | {run.completed:,} | {run.throughput:.1f} | "
              f"{run.lost} | {run.duplicated} | {sum(run.errors.values())} | "
              f"{pct(lat, 0.5):.1f} | {pct(lat, 0.95):.1f} | {pct(lat, 0.99):.1f} | {rss} | "
              f"{cpu} |")  # fmt: skip

    def figures(name: str) -> tuple[float, float]:
        """Median throughput and p95 over the runs of one configuration."""
        mine = [r for r in runs if r.config == name]
        return (statistics.median(r.throughput for r in mine),
                statistics.median(pct(r.latencies, 0.95) for r in mine))  # fmt: skip

    names = {r.config for r in runs}
    for top, bottom in (("pg2", "pg1"), ("pg1", "sqlite")):
        if {top, bottom} <= names:
            (t1, p1), (t0, p0) = figures(top), figures(bottom)
            print(f"ratio {top}/{bottom}: throughput {t1 / t0:.2f}, p95 {p1 / p0:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per run")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between messages")
    parser.add_argument("--configs", default="sqlite,pg1,pg2", help="comma-separated, in order")
    parser.add_argument("--log-dir", type=Path, default=None, help="server logs (kept)")
    args = parser.parse_args()
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    if unknown := [n for n in names if n not in CONFIGS]:
        parser.error(f"unknown configurations {unknown}; choose from {list(CONFIGS)}")
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="rc-bench-replicas-logs-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    one, five, _ = os.getloadavg()
    blas = os.environ.get("OPENBLAS_NUM_THREADS")
    print(f"load average at start: {one:.2f} (1 min), {five:.2f} (5 min); cores: "
          f"{os.cpu_count()}; OPENBLAS_NUM_THREADS={blas}")  # fmt: skip
    print(f"sessions {args.sessions} over {args.users} users, {args.duration:.0f} s per run, "
          f"think {args.think} s; server logs in {log_dir}")  # fmt: skip
    runs = []
    from tests.pg_server import running_server

    with ExitStack() as stack:
        pg = stack.enter_context(running_server()) if any(CONFIGS[n][0] for n in names) else None
        for number, name in enumerate(names, 1):
            with tempfile.TemporaryDirectory(prefix="rc-bench-replicas-") as work:
                runs.append(run_config(name, pg, Path(work), log_dir / f"run{number}", args))
        if pg is not None:
            shutil.copy(pg.log, log_dir / "postgres.log")
    summary(runs)
    one, five, _ = os.getloadavg()
    print(f"load average at end: {one:.2f} (1 min), {five:.2f} (5 min); "
          f"OPENBLAS_NUM_THREADS={blas}")  # fmt: skip


if __name__ == "__main__":
    main()
