"""Two `ragcode serve` processes on one PostgreSQL database behave as one service: a user's
conversation, logout, login limits and upload progress all cross between the replicas, and
an upload is processed by one of them only.

The replicas are real processes (`ragcode serve`), the database a real PostgreSQL, and the
LLM and embeddings a scripted OpenAI-compatible server, so that both replicas start in
seconds and the test can count what each asked of the model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.llm_servers import FakeOpenAIServer, Reply, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SECRET = "replica-test-secret-" + "x" * 24
PASSWORD = "replica-test-password"
COOKIE = "ragcode_session"
UPLOAD = b'''def transfer_funds(source, target, amount):
    """Move money between two accounts."""
    source.balance -= amount
    target.balance += amount
    return amount


def audit_log(entry):
    return {"entry": entry, "level": "info"}
'''


@dataclass
class Replica:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0)

    def socket(self, cookie: str) -> ClientConnection:
        ws_url = self.url.replace("http://", "ws://") + "/ws"
        return connect(ws_url, additional_headers={"Cookie": f"{COOKIE}={cookie}"})


def _config(tmp_path: Path, pg_url: str, llm: FakeOpenAIServer, *, summarize: bool = True) -> Path:
    config = tmp_path / "ragcode.toml"
    config.write_text(
        f"""
[store]
url = {json.dumps(pg_url)}

[worker]
lease_s = 5.0

[server]
summarize = {json.dumps(summarize)}
secret_key = "{SECRET}"
uploads_dir = {json.dumps(str(tmp_path / "shared-uploads"))}
upload_lease_s = 5.0
login_max_failures = 3

[embeddings]
mode = "openai"
url = "{llm.url}"
model = "fake-embedding"
dimensions = 8

[[llm.endpoints]]
kind = "openai"
url = "{llm.url}"
model = "fake-chat"

[search]
expand_query = false
""",
        encoding="utf-8",
    )
    return config


def _start_worker(name: str, tmp_path: Path, config: Path) -> subprocess.Popen[bytes]:
    log = tmp_path / f"{name}.log"
    return subprocess.Popen(
        [sys.executable, "-m", "ragcode.cli", "worker", "--data-dir", str(tmp_path / name)],
        env={**os.environ, "RAGCODE_CONFIG": str(config)},
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def _start(name: str, tmp_path: Path, config: Path) -> Replica:
    port = free_port()
    data_dir = tmp_path / f"data-{name}"  # each replica its own: only models and caches
    log = tmp_path / f"{name}.log"
    env = {**os.environ, "RAGCODE_CONFIG": str(config)}
    process = subprocess.Popen(
        [sys.executable, "-m", "ragcode.cli", "serve", "--port", str(port),
         "--data-dir", str(data_dir)],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    replica = Replica(name, f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"replica {name} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(replica.url + "/api/me", timeout=2.0).status_code == 401:
                return replica
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"replica {name} did not start:\n{log.read_text()[-3000:]}")


@pytest.fixture
def cluster(
    tmp_path: Path, pg_database: str
) -> Iterator[tuple[Replica, Replica, FakeOpenAIServer]]:
    with ExitStack() as stack:
        llm = stack.enter_context(FakeOpenAIServer(Reply(chunks=("알겠습니다. ", "민수 님."))))
        config = _config(tmp_path, pg_database, llm)
        replicas = [_start(name, tmp_path, config) for name in ("a", "b")]
        try:
            yield replicas[0], replicas[1], llm
        finally:
            for replica in replicas:
                replica.process.terminate()
            for replica in replicas:
                try:
                    replica.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    replica.process.kill()


def _login(client: httpx.Client, username: str) -> str:
    response = client.post("/api/signup", json={"username": username, "password": PASSWORD})
    if response.status_code == 400:  # signed up already (on the other replica)
        response = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert response.status_code in (200, 201), response.text
    return str(response.cookies[COOKIE])


def _auth(cookie: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={cookie}"}


def _ask(ws: ClientConnection, request_id: str, body: str) -> dict[str, Any]:
    ws.send(json.dumps({"request_id": request_id, "type": "text", "conv_type": "normal",
                        "body": body}))  # fmt: skip
    while True:
        message = json.loads(ws.recv(timeout=60))
        if message.get("request_id") == request_id and message["status"] in ("completed", "error"):
            return dict(message)


def _messages_text(payload: dict[str, Any]) -> str:
    return " ".join(str(m.get("content", "")) for m in payload.get("messages", []))


def test_one_user_across_two_replicas(cluster: tuple[Replica, Replica, FakeOpenAIServer]) -> None:
    a, b, llm = cluster
    with a.client() as on_a, b.client() as on_b:
        cookie = _login(on_a, "minsu")
        # The session (and its signature) made on A is good on B.
        assert on_b.get("/api/me", headers=_auth(cookie)).json()["username"] == "minsu"

        # Conversation memory: a turn answered by A is remembered by B.
        with a.socket(cookie) as ws_a:
            assert (
                _ask(ws_a, "t1", "제 이름은 민수이고 결제 모듈을 맡고 있어요")["status"]
                == "completed"
            )
        with b.socket(cookie) as ws_b:
            assert _ask(ws_b, "t2", "제가 맡은 모듈이 뭐였죠?")["status"] == "completed"
        last = llm.stats.payloads[-1]
        assert "결제 모듈" in _messages_text(last), _messages_text(last)
        history = on_a.get("/api/history", headers=_auth(cookie)).json()
        assert [turn["request_id"] for turn in history["turns"]][-2:] == ["t1", "t2"]

        # An upload received by A: B's socket sees its progress, and it is processed once.
        with b.socket(cookie) as ws_b:
            files = {"file": ("payments.py", UPLOAD, "text/x-python")}
            response = on_a.post("/api/documents", files=files, headers=_auth(cookie))
            assert response.status_code == 202, response.text
            doc_id = response.json()["id"]
            events = _events_until_ready(ws_b, doc_id)
            assert any(e["status"] == "progress" for e in events), events
            time.sleep(3.0)  # a second processing (the other replica) would announce itself
            events += _drain(ws_b)
        states = [
            e["document"]["state"]
            for e in events
            if e["status"] == "document" and e["document"]["id"] == doc_id
        ]
        assert states == ["summarizing", "ready"], states  # each stage announced once
        summarized = [p for p in llm.stats.payloads if "transfer_funds" in _messages_text(p)]
        assert len(summarized) >= 1
        listed = on_b.get("/api/documents", headers=_auth(cookie)).json()
        assert [(d["id"], d["state"]) for d in listed["documents"]] == [(doc_id, "ready")]

        # Logout on A closes the socket open on B, without B's client sending anything.
        with b.socket(cookie) as ws_b:
            on_a.post("/api/logout", headers=_auth(cookie))
            started = time.monotonic()
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws_b.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
            assert time.monotonic() - started < 5.0
        assert on_b.get("/api/me", headers=_auth(cookie)).status_code == 401


def test_login_limits_hold_across_replicas(
    cluster: tuple[Replica, Replica, FakeOpenAIServer],
) -> None:
    a, b, _ = cluster
    with a.client() as on_a, b.client() as on_b:
        _login(on_a, "jiyoung")
        wrong = {"username": "jiyoung", "password": "not-the-password"}
        codes = [
            (on_a if n % 2 == 0 else on_b).post("/api/login", json=wrong).status_code
            for n in range(5)
        ]
        # login_max_failures = 3 per (user, client), counted in the shared database.
        assert codes == [401, 401, 401, 429, 429], codes
        right = {"username": "jiyoung", "password": PASSWORD}
        assert on_b.post("/api/login", json=right).status_code == 429


def _events_until_ready(ws: ClientConnection, doc_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        event = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        events.append(event)
        document = event.get("document") or {}
        final = document.get("state") in ("ready", "failed")
        if event.get("status") == "document" and document.get("id") == doc_id and final:
            return events
    raise AssertionError(f"no final state: {events}")


def _drain(ws: ClientConnection) -> list[dict[str, Any]]:
    events = []
    while True:
        try:
            events.append(json.loads(ws.recv(timeout=0.5)))
        except TimeoutError:
            return events


def test_replicas_leave_summaries_to_two_workers(tmp_path: Path, pg_database: str) -> None:
    """The scale-out shape of README: two replicas only index (`server.summarize = false`),
    two `ragcode worker` processes summarize; every unit is summarized exactly once."""
    with ExitStack() as stack:
        llm = stack.enter_context(FakeOpenAIServer(Reply(chunks=("요약: ", "돈을 옮긴다."))))
        config = _config(tmp_path, pg_database, llm, summarize=False)
        replicas = [_start(name, tmp_path, config) for name in ("a", "b")]
        workers = [_start_worker(f"worker-{n}", tmp_path, config) for n in (1, 2)]
        try:
            a, b = replicas
            with a.client() as on_a, b.client() as on_b:
                cookie = _login(on_a, "minsu")
                files = {"file": ("payments.py", UPLOAD, "text/x-python")}
                response = on_b.post("/api/documents", files=files, headers=_auth(cookie))
                assert response.status_code == 202, response.text
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    summarized = {
                        name: sum(name in _messages_text(p) for p in llm.stats.payloads)
                        for name in ("transfer_funds", "audit_log")
                    }
                    if all(summarized.values()):
                        break
                    time.sleep(0.5)
                time.sleep(2.0)  # a second summary of either would show up meanwhile
                summarized = {
                    name: sum(name in _messages_text(p) for p in llm.stats.payloads)
                    for name in ("transfer_funds", "audit_log")
                }
                # One request per unit (description, terms and questions), by one worker.
                assert summarized == {"transfer_funds": 1, "audit_log": 1}, summarized
                listed = on_a.get("/api/documents", headers=_auth(cookie)).json()["documents"]
                assert [d["state"] for d in listed] == ["ready"]
            status = subprocess.run(
                [sys.executable, "-m", "ragcode.cli", "status", "--json",
                 "--data-dir", str(tmp_path / "status")],
                env={**os.environ, "RAGCODE_CONFIG": str(config)},
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            report = json.loads(status.stdout)
            assert report["queue"]["pending"] == 0 and len(report["workers"]) == 2, report
        finally:
            for process in [*workers, *(r.process for r in replicas)]:
                process.terminate()
            for process in [*workers, *(r.process for r in replicas)]:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
