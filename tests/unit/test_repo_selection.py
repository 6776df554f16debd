"""Which files of a repository are indexed: globs, the folders `ragcode index` skips, and
paths a crafted tree could use to write outside the checkout."""

from __future__ import annotations

import pytest

from ragcode.repos.selection import Selection, is_safe_path, shown_path, unusable_name

pytestmark = pytest.mark.unit


def test_everything_by_default_but_skipped_folders() -> None:
    everything = Selection()
    assert everything.wants("src/app.py") and everything.wants("README.md")
    assert everything.wants(".gitignore")  # a file, not a folder
    for skipped in ("node_modules/x/index.js", "build/gen.py", ".github/ci.py", "a/.venv/b.py"):
        assert not everything.wants(skipped)


def test_include_and_exclude_globs() -> None:
    selection = Selection(include=("*.py", "docs/*.md"), exclude=("tests/*", "*_old.py"))
    assert selection.wants("app.py") and selection.wants("src/deep/app.py")
    assert selection.wants("docs/guide.md") and not selection.wants("README.md")
    assert not selection.wants("tests/unit/test_app.py")
    assert not selection.wants("src/report_old.py")


UNSAFE = ["../etc/passwd", "a/../../b.py", "/abs.py", "a//b.py", ".git/config", "x/.GIT/hooks/x"]


@pytest.mark.parametrize("path", UNSAFE)
def test_unsafe_paths_are_refused(path: str) -> None:
    assert not is_safe_path(path)
    assert not Selection().wants(path)


def test_names_the_index_cannot_hold() -> None:
    assert unusable_name("src/app.py") is None and unusable_name("한글/파일.py") is None
    assert unusable_name("n" * 252 + ".py") is None  # 255 bytes: the limit
    assert "UTF-8" in (unusable_name("bad\udcff.py") or "")
    assert "255바이트" in (unusable_name("src/" + "n" * 253 + ".py") or "")
    assert "255바이트" in (unusable_name("가" * 86 + ".py") or "")  # 258 bytes in UTF-8
    assert shown_path("bad\udcff.py") == "bad\\xff.py" and shown_path("한.py") == "한.py"
