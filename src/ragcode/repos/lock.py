"""One sync (or removal) of a repository at a time on this machine: a `flock` on a file in
the repository's folder, released when the process dies. Without `fcntl` (Windows) the lock
is left out, like the model files' (`llm.weights`): importing this never fails."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ragcode.repos.protocol import RepoError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock
    fcntl = None  # type: ignore[assignment]


def busy(name: str) -> str:
    return f"저장소 {name} 를 다른 작업이 동기화하고 있습니다. 끝난 뒤 다시 실행하세요"


@contextmanager
def exclusive(folder: Path, name: str) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise RepoError(busy(name)) from exc
        yield
    finally:
        os.close(fd)
