"""The per-repository lock: importing it never fails where `fcntl` is missing (Windows), so
`ragcode.app` imports everywhere; there the lock is left out, as for model files."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

import ragcode.repos.lock as lock
from ragcode.repos.protocol import RepoError

pytestmark = pytest.mark.unit


def test_a_second_holder_is_refused(tmp_path: Path) -> None:
    busy = pytest.raises(RepoError, match="다른 작업이 동기화하고 있습니다")
    with lock.exclusive(tmp_path / "repo", "api"), busy, lock.exclusive(tmp_path / "repo", "api"):
        pass
    with lock.exclusive(tmp_path / "repo", "api"):
        pass


def test_imports_and_works_without_fcntl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        with monkeypatch.context() as patch:
            patch.setitem(sys.modules, "fcntl", None)  # `import fcntl` raises ImportError
            reloaded = importlib.reload(lock)
            assert reloaded.fcntl is None
            with reloaded.exclusive(tmp_path / "repo", "api"):
                assert (tmp_path / "repo" / ".lock").exists()
    finally:
        importlib.reload(lock)
    assert lock.fcntl is not None  # type: ignore[attr-defined]  # the module's optional import
