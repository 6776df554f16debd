"""`ragcode postgres start|stop|status`: the single-machine PostgreSQL + pgvector of the scale-out
recipe in README — created once, password-protected, restartable with its data."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.pg_server import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def ragcode(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragcode.cli", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def cluster_dir() -> Iterator[Path]:
    """Under a directory every user may enter (as root the server runs as another user)."""
    parent = Path(tempfile.mkdtemp(prefix="ragcode-pglocal-"))
    parent.chmod(0o755)
    yield parent / "pg"
    shutil.rmtree(parent, ignore_errors=True)


def test_start_prints_a_working_url_and_the_data_survives_a_restart(cluster_dir: Path) -> None:
    port = str(free_port())
    where = ["--dir", str(cluster_dir), "--port", port]
    started = ragcode("postgres", "start", *where)
    try:
        assert started.returncode == 0, started.stderr
        found = re.search(r"RAGCODE_STORE__URL='([^']+)'", started.stdout)
        assert found, started.stdout
        url = found.group(1)
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'vector'")
            conn.execute("CREATE TABLE kept (note text)")
            conn.execute("INSERT INTO kept VALUES ('살아남음')")
        with pytest.raises(psycopg.OperationalError):  # the password is required
            psycopg.connect(re.sub(r":[^:@/]+@", ":wrong@", url), connect_timeout=5)
        assert ragcode("postgres", "status", *where).returncode == 0
        assert ragcode("postgres", "stop", *where).returncode == 0
        assert ragcode("postgres", "status", *where).returncode == 1
        again = ragcode("postgres", "start", *where)
        assert again.returncode == 0 and url in again.stdout  # same cluster, same password
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT note FROM kept").fetchall() == [("살아남음",)]
        assert "이미 실행 중" in ragcode("postgres", "start", *where).stdout
    finally:
        ragcode("postgres", "stop", *where)


def test_a_directory_the_server_user_cannot_enter_is_refused_in_korean(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    result = ragcode("postgres", "start", "--dir", str(closed / "pg"), "--port", str(free_port()))
    if os.geteuid() == 0:  # the server must run as another user, who cannot enter it
        assert result.returncode == 2 and "들어갈 수 없습니다" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    else:  # an ordinary user runs the server as itself
        assert result.returncode == 0, result.stderr
        ragcode("postgres", "stop", "--dir", str(closed / "pg"))
