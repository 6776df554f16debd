"""The daemon process: holds the lock, keeps the App warm, answers on the socket until idle."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ragcode.search_daemon.paths import (
    RunPaths,
    make_private_dir,
    open_lock,
    socket_address,
    try_lock,
)
from ragcode.search_daemon.peer import peer_uid, same_user, supported
from ragcode.search_daemon.service import Outcome, SearchFn, SearchService
from ragcode.search_daemon.wire import (
    MAX_REQUEST_BYTES,
    discard,
    encode,
    error,
    read_all,
    settings_fingerprint,
)

if TYPE_CHECKING:
    from ragcode.app import App

log = logging.getLogger(__name__)
LOCK_WAIT_S = 3.0  # a daemon that is exiting releases the lock within this
CHECK_S = 5.0  # how often an idle daemon checks that its socket file is still its own
IO_TIMEOUT_S = 5.0  # a client must send its request within this
DISCARD_BYTES = 16 * 1024 * 1024  # of an oversized request, read before replying


def run(data_dir: Path) -> int:
    """Serve `data_dir` until idle; 0 also when another daemon already serves it."""
    paths = RunPaths.of(data_dir)
    if not supported():
        log.error("search daemon needs Unix sockets with SO_PEERCRED (Linux)")
        return 1
    if not make_private_dir(paths.run_dir):
        log.error("run dir unusable path=%s", paths.run_dir)
        return 1
    signal.signal(signal.SIGTERM, _exit_on_signal)
    lock = open_lock(paths.lock)
    try:
        if not _wait_for_lock(lock):
            log.info("search daemon already running data_dir=%s", data_dir)
            return 0
        return _serve_locked(paths)
    finally:
        os.close(lock)  # releases the flock


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # unwinds through the cleanup below


def _wait_for_lock(fd: int) -> bool:
    deadline = time.monotonic() + LOCK_WAIT_S
    while not try_lock(fd):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _serve_locked(paths: RunPaths) -> int:
    from ragcode.app import build_app
    from ragcode.config import load_settings

    fingerprint = settings_fingerprint(paths.data_dir)
    settings = load_settings(data_dir=paths.data_dir)
    if settings.data_dir.expanduser().absolute() != paths.data_dir:
        log.error("settings name another data dir data_dir=%s", settings.data_dir)
        return 1
    app = build_app(settings)
    try:
        _warm(app, expand=settings.search.expand_query)
        service = SearchService(_search_function(app), paths.data_dir, fingerprint)
        with _listening(paths) as (listener, inode):
            paths.pid.write_text(f"{os.getpid()}\n")
            log.info("search daemon ready pid=%d data_dir=%s", os.getpid(), paths.data_dir)
            _loop(listener, service, settings.search.daemon_idle_s, paths.socket, inode)
    finally:
        paths.pid.unlink(missing_ok=True)
        app.close()
    log.info("search daemon stopped pid=%d", os.getpid())
    return 0


def _search_function(app: App) -> SearchFn:
    from ragcode.retrieve.hybrid import RetrieverChoice

    def search(query: str, top_k: int, expand: bool) -> list[dict[str, Any]]:
        choice = RetrieverChoice(expand=expand)
        return [hit.as_dict() for hit in app.searcher.search(query, top_k, retrievers=choice)]

    return search


def _warm(app: App, *, expand: bool) -> None:
    """Load the analyzer, encoder, vectors and (with expansion) the LLM before listening."""
    from ragcode.retrieve.hybrid import RetrieverChoice

    try:
        app.searcher.search("검색 준비 warm up", 1, retrievers=RetrieverChoice(expand=expand))
    except Exception:  # an empty index or a missing model: searches will say so
        log.warning("warm-up search failed", exc_info=True)


@contextmanager
def _listening(paths: RunPaths) -> Iterator[tuple[socket.socket, int]]:
    """Bind the socket (replacing a stale file: we hold the lock, its daemon is gone)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    inode = 0
    try:
        with socket_address(paths.socket) as address:
            paths.socket.unlink(missing_ok=True)
            listener.bind(address)  # inside the 0700 run dir, then 0600 itself
        paths.socket.chmod(0o600)
        listener.listen(16)
        inode = _inode(paths.socket)
        yield listener, inode
    finally:
        listener.close()
        if _still_ours(paths.socket, inode):  # not a newer daemon's socket
            paths.socket.unlink(missing_ok=True)


def _inode(path: Path) -> int:
    try:
        return path.lstat().st_ino
    except OSError:
        return 0


def _still_ours(path: Path, inode: int) -> bool:
    return inode != 0 and _inode(path) == inode


def _loop(
    listener: socket.socket, service: SearchService, idle_s: float, path: Path, inode: int
) -> None:
    own_uid = os.getuid()
    deadline = time.monotonic() + idle_s
    while (remaining := deadline - time.monotonic()) > 0:
        listener.settimeout(min(remaining, CHECK_S))
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            if not _still_ours(path, inode):
                log.info("socket file replaced or removed, exiting path=%s", path)
                return
            continue
        with conn:
            outcome = _answer(conn, service, own_uid)
        if outcome is None:
            continue
        deadline = time.monotonic() + idle_s
        if outcome.stop:
            log.info("stop requested reason=%s", outcome.reply.get("error", "stop"))
            return
    log.info("idle for %.0f s, exiting", idle_s)


def _answer(conn: socket.socket, service: SearchService, own_uid: int) -> Outcome | None:
    """Serve one connection; None when nothing was served (foreign peer, broken socket)."""
    conn.settimeout(IO_TIMEOUT_S)
    uid = peer_uid(conn)
    try:
        if not same_user(uid, own_uid):
            log.warning("refused a connection from another user uid=%s", uid)
            conn.sendall(encode(error("forbidden", "다른 사용자의 요청은 받지 않습니다.")))
            return None
        raw = read_all(conn, MAX_REQUEST_BYTES)
        if raw is None:
            discard(conn, DISCARD_BYTES)
        outcome = service.handle(raw)
        try:
            payload = encode(outcome.reply)
        except (TypeError, ValueError):
            log.warning("reply not serializable", exc_info=True)
            payload = encode(error("internal", "검색 결과를 보내지 못했습니다."))
        conn.sendall(payload)
    except OSError as exc:
        log.warning("connection failed error=%s", type(exc).__name__)
        return None
    return outcome
