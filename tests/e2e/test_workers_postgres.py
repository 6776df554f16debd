"""Distributed summarization end to end: `ragcode index --no-summaries` into a real PostgreSQL,
then `ragcode worker` processes against a scripted OpenAI-compatible endpoint with a fixed
latency. Two workers summarize every unit exactly once between them; a worker killed with
SIGKILL while it holds leases has its units finished by the other once the leases run out;
SIGTERM lets a worker finish the units at the LLM, give back the rest and exit 0; a worker
rides out a restart of the database server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.llm_servers import FakeOpenAIServer, Reply
from tests.pg_server import running_server

pytestmark = pytest.mark.e2e

FILES, FUNCTIONS = 8, 6  # 48 units, none trivial, no two with the same code


def write_project(root: Path) -> Path:
    root.mkdir(parents=True)
    for f in range(FILES):
        body = "\n\n".join(
            f'def task_{f}_{n}(items):\n    """Step {n} of stage {f}."""\n'
            f"    return [item * {f * 10 + n + 2} for item in items if item > {n}]\n"
            for n in range(FUNCTIONS)
        )
        (root / f"stage_{f}.py").write_text(body)
    return root


def unit_names() -> set[str]:
    return {f"task_{f}_{n}" for f in range(FILES) for n in range(FUNCTIONS)}


def summary_requests(server: FakeOpenAIServer) -> Counter[str]:
    """Summary prompts per unit name (`이름: <name>` in the prompt) the endpoint received."""
    with server.lock:
        payloads = list(server.stats.payloads)
    names: Counter[str] = Counter()
    for payload in payloads:
        prompt = payload["messages"][-1]["content"]
        if "이름: " in prompt:
            names[prompt.split("이름: ", 1)[1].split("\n", 1)[0]] += 1
    return names


@pytest.fixture
def endpoint() -> Iterator[FakeOpenAIServer]:
    reply = Reply(chunks=("요약: 항목을 걸러 곱한 목록을 돌려준다.",), delay_s=0.3)
    with FakeOpenAIServer(reply) as server:
        yield server


@pytest.fixture
def env(cli_env: dict[str, str], pg_database: str, endpoint: FakeOpenAIServer) -> dict[str, str]:
    llm = [{"kind": "openai", "url": endpoint.url, "model": "fake", "max_concurrency": 2}]
    return {
        **cli_env,
        "RAGCODE_STORE__URL": pg_database,
        "RAGCODE_LLM__ENDPOINTS": json.dumps(llm),
        # The scripted endpoint embeds too: no sentence encoder to load in every process.
        "RAGCODE_EMBEDDINGS__MODE": "openai",
        "RAGCODE_EMBEDDINGS__URL": endpoint.url,
        "RAGCODE_EMBEDDINGS__MODEL": "fake-embed",
        "RAGCODE_INDEX__SUMMARY_QUESTIONS": "false",  # one request per unit
        "RAGCODE_WORKER__IDLE_MAX_S": "0.3",
    }


def ragcode(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragcode.cli", *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def worker(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ragcode.cli", "worker", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish(process: subprocess.Popen[str], timeout_s: float = 180) -> tuple[int, str]:
    _, err = process.communicate(timeout=timeout_s)
    return process.returncode, err


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql.encode()).fetchall()


def wait_for(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def indexed(tmp_path: Path, env: dict[str, str]) -> Path:
    project = write_project(tmp_path / "project")
    done = ragcode("index", str(project), "--no-summaries", env=env)
    assert done.returncode == 0, done.stderr
    status = json.loads(ragcode("status", "--json", env=env).stdout)
    assert status["summaries"]["pending"] == status["queue"]["ready"] == FILES * FUNCTIONS
    return project


def test_two_workers_summarize_every_unit_exactly_once(
    indexed: Path, env: dict[str, str], endpoint: FakeOpenAIServer, pg_database: str
) -> None:
    workers = [worker("--once", env=env) for _ in range(2)]
    results = [finish(process) for process in workers]
    assert [code for code, _ in results] == [0, 0], [err for _, err in results]
    requests = summary_requests(endpoint)
    assert set(requests) == unit_names()
    assert set(requests.values()) == {1}, {n: c for n, c in requests.items() if c != 1}
    status = json.loads(ragcode("status", "--json", env=env).stdout)
    assert status["summaries"]["done"] == FILES * FUNCTIONS
    assert status["summaries"]["pending"] == status["queue"]["leased"] == 0
    assert status["workers"] == []  # both retired
    assert status["throughput"]["summaries"] == FILES * FUNCTIONS
    done = sorted(row[0] for row in query(pg_database, "SELECT done FROM store_workers"))
    assert len(done) == 2 and done[0] > 0 and sum(done) == FILES * FUNCTIONS  # both worked


def test_a_killed_workers_units_are_finished_by_the_other_after_its_lease(
    indexed: Path, env: dict[str, str], endpoint: FakeOpenAIServer, pg_database: str
) -> None:
    lease = ("--lease-seconds", "2")
    doomed = worker(*lease, env=env)
    held = (
        "SELECT u.uid, u.name, u.lease_until FROM store_units u JOIN store_workers w"
        f" ON u.lease_owner = w.id WHERE w.pid = {doomed.pid}"
    )
    # Killed mid-unit: it holds leases and a request of it is at the endpoint.
    wait_for(lambda: bool(query(pg_database, held)) and endpoint.stats.active > 0)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(30)
    orphaned = {uid: (name, until) for uid, name, until in query(pg_database, held)}
    at_the_llm = {name for name, count in summary_requests(endpoint).items() if count}
    code, err = finish(worker("--once", *lease, env=env))
    assert code == 0, err
    assert orphaned, "the killed worker held no lease any more"
    rows = query(pg_database, "SELECT uid, name, summary_state, summarized_at FROM store_units")
    assert {state for _, _, state, _ in rows} == {"done"}
    for uid, _, _, summarized_at in rows:
        if uid in orphaned:  # taken over only once the dead worker's lease had run out
            assert summarized_at >= orphaned[uid][1]
    requests = summary_requests(endpoint)
    retried = {name for name, _ in orphaned.values() if name in at_the_llm}
    assert retried and all(requests[name] == 2 for name in retried)  # the dead one's, then ours
    assert all(count == 1 for name, count in requests.items() if name not in retried)
    status = json.loads(ragcode("status", "--json", env=env).stdout)
    assert status["summaries"]["done"] == FILES * FUNCTIONS
    assert status["queue"]["leased"] == 0


def test_sigterm_finishes_the_units_at_the_llm_and_gives_back_the_rest(
    indexed: Path, env: dict[str, str], endpoint: FakeOpenAIServer, pg_database: str
) -> None:
    endpoint.default = Reply(chunks=("요약: 천천히 쓴 요약.",), delay_s=1.5)
    process = worker(env=env)
    wait_for(lambda: sum(summary_requests(endpoint).values()) >= 2)  # two units at the LLM
    process.send_signal(signal.SIGTERM)
    code, err = finish(process, timeout_s=60)
    assert code == 0, err
    assert "종료합니다" in err and "Traceback" not in err
    leased = query(pg_database, "SELECT count(*) FROM store_units WHERE lease_owner IS NOT NULL")
    assert leased[0][0] == 0  # nothing kept: the next worker starts at once
    status = json.loads(ragcode("status", "--json", env=env).stdout)
    assert status["summaries"]["done"] == sum(summary_requests(endpoint).values()) >= 2
    assert status["queue"]["ready"] == FILES * FUNCTIONS - status["summaries"]["done"]
    assert status["workers"] == []


def test_an_explicit_index_run_takes_back_a_killed_local_workers_units_at_once(
    indexed: Path, env: dict[str, str], endpoint: FakeOpenAIServer, pg_database: str
) -> None:
    """`ragcode index` after a `kill -9` on this machine: the dead process's units are given
    back at once, not one (here: ten-minute) lease later."""
    doomed = worker("--lease-seconds", "600", env=env)
    held = (
        "SELECT count(*) FROM store_units u JOIN store_workers w ON u.lease_owner = w.id"
        f" WHERE w.pid = {doomed.pid}"
    )
    wait_for(lambda: query(pg_database, held)[0][0] > 0 and endpoint.stats.active > 0)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(30)
    assert query(pg_database, held)[0][0] > 0
    again = ragcode("index", str(indexed), env=env)
    assert again.returncode == 0, again.stderr
    status = json.loads(ragcode("status", "--json", env=env).stdout)
    assert status["summaries"]["done"] == FILES * FUNCTIONS
    assert status["queue"]["leased"] == status["queue"]["pending"] == 0


def test_a_worker_rides_out_a_database_restart(
    tmp_path: Path, env: dict[str, str], endpoint: FakeOpenAIServer
) -> None:
    with running_server() as server:  # its own server: the shared one must stay up
        env = {**env, "RAGCODE_STORE__URL": server.url()}
        project = write_project(tmp_path / "project")
        assert ragcode("index", str(project), "--no-summaries", env=env).returncode == 0
        process = worker("--once", "--lease-seconds", "2", env=env)
        wait_for(lambda: sum(summary_requests(endpoint).values()) >= 8)
        server.stop()  # summaries in flight cannot be written, nor leases renewed
        time.sleep(2)
        server.start()
        code, err = finish(process)
        assert code == 0, err
        assert "색인 저장소 오류" in err and "Traceback" not in err
        status = json.loads(ragcode("status", "--json", env=env).stdout)
    assert status["summaries"]["done"] == FILES * FUNCTIONS
    assert set(summary_requests(endpoint)) == unit_names()
