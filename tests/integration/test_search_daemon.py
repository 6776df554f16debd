"""The per-user search daemon, through real `ragcode` processes and a real socket."""

from __future__ import annotations

import json
import math
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragcode.search_daemon import client
from ragcode.search_daemon.paths import RunPaths, socket_address
from tests.sample_project import write_sample_project
from tests.search_daemon_support import (
    QUESTION,
    daemon_env,
    daemon_pids,
    ping,
    ragcode,
    served,
    start_daemon,
    stop_daemons,
    wait_ready,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    return daemon_env(cli_env)


@pytest.fixture
def project(tmp_path: Path, data_dir: Path, env: dict[str, str]) -> Iterator[Path]:
    root = write_sample_project(tmp_path / "project")
    indexed = ragcode("index", str(root), "--no-summaries", env=env)
    assert indexed.returncode == 0, indexed.stderr
    yield root
    stop_daemons(data_dir)


def exchange(data_dir: Path, payload: bytes) -> dict[str, object]:
    """One raw request on the daemon's socket."""
    with (
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock,
        socket_address(RunPaths.of(data_dir).socket) as address,
    ):
        sock.settimeout(30)
        sock.connect(address)
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    reply = json.loads(b"".join(chunks))
    assert isinstance(reply, dict)
    return reply


def fingerprint_under(env: dict[str, str], data_dir: Path) -> str:
    code = (
        "import sys; from pathlib import Path; "
        "from ragcode.search_daemon.wire import settings_fingerprint; "
        "print(settings_fingerprint(Path(sys.argv[1])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(data_dir)], env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return done.stdout.strip()


def same_results(*outputs: str | bytes) -> bool:
    """`--json` outputs equal, scores within 1e-6: the encoder's fast path
    (embeddings/use_forward.py) computes an id's rows with whatever other ids are new in the
    batch, so a warm daemon and a fresh process embed the same question within ~1e-7."""

    def same(a: object, b: object) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            return math.isclose(a, b, rel_tol=0.0, abs_tol=1e-6)
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
        return a == b

    first, *rest = [json.loads(output) for output in outputs]
    return all(same(first, other) for other in rest)


def test_second_search_is_answered_by_the_daemon(
    project: Path, data_dir: Path, env: dict[str, str]
) -> None:
    first = ragcode("search", QUESTION, "--json", env=env)  # none running: in-process
    assert first.returncode == 0, first.stderr
    assert served(data_dir) == 0
    wait_ready(data_dir)
    paths = RunPaths.of(data_dir)
    assert stat.S_IMODE(paths.run_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(paths.socket.lstat().st_mode) == 0o600

    second = ragcode("search", QUESTION, "--json", env=env)
    reference = ragcode("search", QUESTION, "--json", "--no-daemon", env=env)
    assert second.returncode == 0, second.stderr
    assert served(data_dir) == 1
    assert same_results(second.stdout, reference.stdout, first.stdout)
    assert json.loads(second.stdout)[0]["name"] == "Mailer.send_email"

    plain = ragcode("search", QUESTION, "--top-k", "3", env=env)
    plain_reference = ragcode("search", QUESTION, "--top-k", "3", "--no-daemon", env=env)
    assert served(data_dir) == 2
    assert plain.stdout == plain_reference.stdout
    assert plain.stdout.startswith("1. app/mailer.py:12-20  Mailer.send_email (method)\n")

    # The client path imports no model, settings model or numpy.
    traced = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ragcode.cli", "search", QUESTION],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert served(data_dir) == 3
    imported = {line.rsplit("|", 1)[-1].strip() for line in traced.stderr.splitlines()}
    heavy = {"ragcode.app", "ragcode.config", "numpy", "pydantic", "llama_cpp", "ragcode.store"}
    assert "ragcode.search_daemon.client" in imported
    assert not heavy & imported


def test_no_daemon_flag_and_setting_never_start_one(
    project: Path, data_dir: Path, env: dict[str, str]
) -> None:
    run_dir = RunPaths.of(data_dir).run_dir
    flagged = ragcode("search", QUESTION, "--no-daemon", env=env)
    assert flagged.returncode == 0 and "Mailer.send_email" in flagged.stdout
    assert not run_dir.exists()

    off = ragcode("search", QUESTION, env={**env, "RAGCODE_SEARCH__DAEMON": "false"})
    assert off.stdout == flagged.stdout
    assert not run_dir.exists()

    (data_dir / "ragcode.toml").write_text("[search]\ndaemon = false\n", encoding="utf-8")
    no_env = {k: v for k, v in env.items() if k != "RAGCODE_SEARCH__DAEMON"}
    from_file = ragcode("search", QUESTION, env=no_env)
    assert from_file.stdout == flagged.stdout
    assert not run_dir.exists() and not (data_dir / "daemon.log").exists()
    assert daemon_pids(data_dir) == []


def test_daemon_exits_when_idle(project: Path, data_dir: Path, env: dict[str, str]) -> None:
    process = start_daemon(data_dir, {**env, "RAGCODE_SEARCH__DAEMON_IDLE_S": "2"})
    wait_ready(data_dir)
    assert process.wait(timeout=60) == 0
    paths = RunPaths.of(data_dir)
    assert not paths.socket.exists() and not paths.pid.exists()
    assert "idle for 2 s, exiting" in (data_dir / "daemon.log").read_text("utf-8")


def test_stale_socket_of_a_killed_daemon_is_replaced(
    project: Path, data_dir: Path, env: dict[str, str]
) -> None:
    process = start_daemon(data_dir, env)
    old_pid = wait_ready(data_dir)
    assert old_pid == process.pid
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert RunPaths.of(data_dir).socket.exists()  # left behind: nobody listens
    assert not ping(data_dir)

    answered = ragcode("search", QUESTION, "--json", env=env)  # in-process; starts a daemon
    assert answered.returncode == 0 and json.loads(answered.stdout)
    new_pid = wait_ready(data_dir)
    assert new_pid != old_pid
    again = ragcode("search", QUESTION, "--json", env=env)
    assert same_results(again.stdout, answered.stdout)
    assert served(data_dir) == 1


def test_concurrent_starts_give_one_daemon(
    project: Path, data_dir: Path, env: dict[str, str]
) -> None:
    command = [sys.executable, "-m", "ragcode.cli", "search", QUESTION, "--json"]
    searches = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    outputs = [search.communicate(timeout=300)[0] for search in searches]
    assert all(search.returncode == 0 for search in searches)
    assert same_results(*outputs)
    direct = [start_daemon(data_dir, env) for _ in range(3)]  # racing for the lock at once
    pid = wait_ready(data_dir)
    for process in direct:
        assert process.pid == pid or process.wait(timeout=60) == 0
    deadline = time.monotonic() + 30
    while len(daemon_pids(data_dir)) > 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert daemon_pids(data_dir) == [pid]
    assert "search daemon already running" in (data_dir / "daemon.log").read_text("utf-8")


def test_malformed_requests_get_error_replies(
    project: Path, data_dir: Path, env: dict[str, str]
) -> None:
    process = start_daemon(data_dir, env)
    wait_ready(data_dir)
    good = {
        "v": 1, "op": "search", "data_dir": str(data_dir), "query": QUESTION, "top_k": 2,
        "expand": False, "settings": fingerprint_under(env, data_dir),
    }  # fmt: skip
    cases = [
        (b"not json", "bad_request"),
        (b"\xff\xfe\x00", "bad_request"),
        (b"[1, 2]", "bad_request"),
        (b"", "bad_request"),
        (b"a" * 70_000, "too_large"),
        (json.dumps({**good, "v": 99}).encode(), "bad_request"),
        (json.dumps({**good, "op": "drop"}).encode(), "bad_request"),
        (json.dumps({**good, "data_dir": "/elsewhere"}).encode(), "wrong_data_dir"),
        (json.dumps({**good, "top_k": 0}).encode(), "bad_request"),
        (json.dumps({**good, "top_k": True}).encode(), "bad_request"),
        (json.dumps({**good, "query": "  "}).encode(), "bad_request"),
        (json.dumps({**good, "expand": "yes"}).encode(), "bad_request"),
    ]
    for payload, code in cases:
        reply = exchange(data_dir, payload)
        assert reply["ok"] is False and reply["error"] == code, payload[:40]
        assert isinstance(reply["message"], str) and reply["message"]
    with (  # connect, then vanish without a request
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock,
        socket_address(RunPaths.of(data_dir).socket) as address,
    ):
        sock.connect(address)
    answer = exchange(data_dir, json.dumps(good).encode())
    assert answer["ok"] is True
    hits = answer["hits"]
    assert isinstance(hits, list) and len(hits) == 2

    changed = exchange(data_dir, json.dumps({**good, "settings": "other"}).encode())
    assert changed["error"] == "settings_changed"  # and that daemon makes way for a new one
    assert process.wait(timeout=30) == 0


def test_daemon_sees_a_file_indexed_after_it_started(
    project: Path, data_dir: Path, env: dict[str, str]
) -> None:
    process = start_daemon(data_dir, env)
    wait_ready(data_dir)
    (project / "billing").mkdir()
    (project / "billing" / "refunds.py").write_text(
        "def issue_refund_voucher(order_id, amount):\n"
        '    """Issue a refund voucher for a cancelled order."""\n'
        "    return {'order': order_id, 'amount': amount}\n",
        encoding="utf-8",
    )
    indexed = ragcode("index", str(project), "--no-summaries", env=env)
    assert indexed.returncode == 0, indexed.stderr
    found = ragcode("search", "issue_refund_voucher", "--json", "--top-k", "1", env=env)
    assert served(data_dir) == 1
    assert json.loads(found.stdout)[0]["name"] == "issue_refund_voucher"
    assert process.poll() is None


def test_loose_permissions_and_other_settings_are_not_served(
    project: Path, data_dir: Path, env: dict[str, str]
) -> None:
    process = start_daemon(data_dir, env)
    wait_ready(data_dir)
    paths = RunPaths.of(data_dir)
    reference = ragcode("search", QUESTION, "--json", "--no-daemon", env=env).stdout

    paths.socket.chmod(0o666)
    assert client.request(data_dir, {"op": "ping"}) is None
    assert ragcode("search", QUESTION, "--json", env=env).stdout == reference
    paths.socket.chmod(0o600)
    paths.run_dir.chmod(0o755)
    assert client.request(data_dir, {"op": "ping"}) is None
    paths.run_dir.chmod(0o700)
    assert served(data_dir) == 0

    other = {**env, "RAGCODE_SEARCH__TOP_K": "3"}  # another shell's settings
    answered = ragcode("search", QUESTION, "--json", env=other)
    assert answered.stdout == reference  # answered in-process with its own settings
    assert served(data_dir) == 0
    assert process.wait(timeout=30) == 0  # the daemon with the old settings made way
