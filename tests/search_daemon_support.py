"""Real `ragcode search` / `ragcode search-daemon` processes for the search daemon tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ragcode.search_daemon import client
from ragcode.search_daemon.paths import RunPaths

QUESTION = "이메일을 보내는 메서드"


def daemon_env(cli_env: dict[str, str], **extra: str) -> dict[str, str]:
    """The CLI environment with the daemon on (conftest switches it off for other tests);
    expansion off unless asked, so the daemon's warm-up loads no LLM."""
    env = {**cli_env, "RAGCODE_SEARCH__DAEMON": "true", "RAGCODE_SEARCH__EXPAND_QUERY": "false"}
    env.update(extra)
    return env


def ragcode(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragcode.cli", *args],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def start_daemon(data_dir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`ragcode search-daemon` in the foreground of a child process, logging to daemon.log."""
    log = (data_dir / "daemon.log").open("ab")
    command = [sys.executable, "-m", "ragcode.cli", "search-daemon", "--data-dir", str(data_dir)]
    with log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=log)


def ping(data_dir: Path) -> bool:
    return client.request(data_dir, {"op": "ping"}, timeout_s=5.0) is not None


def wait_ready(data_dir: Path, timeout_s: float = 180.0) -> int:
    """The pid of the daemon once it answers."""
    deadline = time.monotonic() + timeout_s
    while not ping(data_dir):
        assert time.monotonic() < deadline, (data_dir / "daemon.log").read_text("utf-8")
        time.sleep(0.2)
    return int(RunPaths.of(data_dir).pid.read_text().strip())


def served(data_dir: Path) -> int:
    """Searches the daemon answered, from its log."""
    log = data_dir / "daemon.log"
    return log.read_text("utf-8").count("search served") if log.exists() else 0


def daemon_pids(data_dir: Path) -> list[int]:
    """Live `search-daemon` processes for this data dir (read from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"search-daemon" in argv and os.fsencode(data_dir) in argv and state != "Z":
            pids.append(int(entry.name))
    return pids


def wait_gone(pid: int, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if not Path(f"/proc/{pid}").exists() or _zombie(pid):
            return True
        time.sleep(0.1)
    return False


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def stop_daemons(data_dir: Path) -> None:
    """Test teardown: end this data dir's daemons (by their pids), politely first."""
    for pid in daemon_pids(data_dir):
        os.kill(pid, signal.SIGTERM)
        if not wait_gone(pid, 15.0):
            os.kill(pid, signal.SIGKILL)
