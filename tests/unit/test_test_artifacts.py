"""Tests never write into docs/: their screenshots go to tests/artifacts.py's folder, outside
the repository, so a test run neither replaces the README's real screenshots (taken by
docs/take_screenshots.py) with scripted output nor leaves the tree changed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.artifacts import ENV, artifacts_dir

pytestmark = pytest.mark.unit
TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent


def sources() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in TESTS.rglob("*.py")]


def strings(node: ast.AST) -> list[str]:
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def from_artifacts(node: ast.AST) -> bool:
    """The expression is built from the artifacts folder (its call or a SCREENSHOTS made by it)."""
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and n.id == "SCREENSHOTS":
            return True
        if (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name)
            and n.func.id == "artifacts_dir"
        ):
            return True
    return False


def test_every_screenshot_a_test_takes_goes_to_the_artifacts_folder() -> None:
    calls = 0
    for path, tree in sources():
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "screenshot"
            ):
                continue
            target = next((k.value for k in node.keywords if k.arg == "path"), None)
            if target is None:  # no file: the picture is returned as bytes
                continue
            calls += 1
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            assert from_artifacts(target), f"{where}: a screenshot outside artifacts_dir()"
            assert not any("docs" in text for text in strings(target)), where
    assert calls >= 5  # the browser tests' screenshots were all looked at


def test_screenshot_folders_of_the_tests_are_the_artifacts_folder() -> None:
    node: ast.AST  # a statement of the module, then any node of it
    for path, tree in sources():
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "SCREENSHOTS" for t in node.targets
            ):
                value = node.value
                assert isinstance(value, ast.Call) and getattr(value.func, "id", "") == (
                    "artifacts_dir"
                ), f"{path.relative_to(REPO)}:{node.lineno}: SCREENSHOTS not from artifacts_dir()"
        for node in ast.walk(tree):  # Path(...) / "docs" / "screenshots", "docs/screenshots/x"
            if isinstance(node, ast.BinOp | ast.Constant) and path.name != Path(__file__).name:
                texts = strings(node)
                spelled = any("docs/screenshots" in text for text in texts)
                joined = isinstance(node, ast.BinOp) and {"docs", "screenshots"} <= set(texts)
                assert not (spelled or joined), f"{path.relative_to(REPO)}:{node.lineno}"


def test_the_artifacts_folder_is_outside_the_repository(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    default = artifacts_dir().resolve()
    assert default.is_dir() and not default.is_relative_to(REPO)
    monkeypatch.setenv(ENV, str(tmp_path / "ci"))
    assert artifacts_dir("screenshots") == tmp_path / "ci" / "screenshots"
    assert (tmp_path / "ci" / "screenshots").is_dir()
