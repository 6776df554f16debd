"""The daemon's files in `<data dir>/run/` (0700) and the checks that they are the owner's."""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

RUN_DIR = "run"
LOG_FILE = "daemon.log"
_MAX_SUN_PATH = 100  # sockaddr_un holds 108 bytes on Linux, fewer elsewhere


@dataclass(frozen=True, slots=True)
class RunPaths:
    data_dir: Path
    run_dir: Path
    socket: Path
    lock: Path
    pid: Path
    log: Path

    @classmethod
    def of(cls, data_dir: Path) -> RunPaths:
        run_dir = data_dir / RUN_DIR
        return cls(
            data_dir=data_dir, run_dir=run_dir, socket=run_dir / "search.sock",
            lock=run_dir / "search.lock", pid=run_dir / "search.pid", log=data_dir / LOG_FILE,
        )  # fmt: skip


def owned_private(info: os.stat_result, uid: int) -> bool:
    """Owned by `uid` and neither group- nor world-accessible."""
    return info.st_uid == uid and not info.st_mode & (stat.S_IRWXG | stat.S_IRWXO)


def make_private_dir(run_dir: Path) -> bool:
    """Create `run_dir` 0700 (the data dir must exist); False if it is not ours to use."""
    try:
        run_dir.mkdir(mode=0o700, exist_ok=True)
        info = run_dir.lstat()
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
            if info.st_mode & 0o777 != 0o700:
                run_dir.chmod(0o700)
            return True
    except OSError:
        pass
    return False


def private_dir_ok(run_dir: Path) -> bool:
    """The run dir exists, is a real directory, is ours and is 0700 (else: no daemon)."""
    try:
        info = run_dir.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and owned_private(info, os.getuid())


def socket_ok(path: Path) -> bool:
    """A socket file owned by us with no group/other permissions."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISSOCK(info.st_mode) and owned_private(info, os.getuid())


@contextmanager
def socket_address(path: Path) -> Iterator[str]:
    """An address for bind/connect; a long path goes through /proc/self/fd (Linux)."""
    if len(os.fsencode(path)) <= _MAX_SUN_PATH:
        yield str(path)
        return
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def open_lock(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def daemon_running(paths: RunPaths) -> bool:
    """Someone holds the daemon lock: a daemon is up or starting."""
    try:
        fd = open_lock(paths.lock)
    except OSError:
        return True  # cannot tell: do not start another
    try:
        if not try_lock(fd):
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
