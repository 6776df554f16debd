"""`ragcode repo add|sync|list|remove` from the command line, and the Korean errors a user
gets for a folder that is not a repository, a missing branch, a refused URL, a missing git
binary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragcode.cli import main
from tests.conftest import TEST_MODEL
from tests.git_repos import GitRepo, module

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def small_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGCODE_LLM__MODEL", TEST_MODEL)
    monkeypatch.setenv("RAGCODE_LLM__N_THREADS", "2")


def run(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str, str]:
    command, rest = args[0], args[1:]
    code = main(["repo", command, "--data-dir", str(data_dir), *rest])
    out, err = capsys.readouterr()
    return code, out, err


def test_add_sync_list_search_remove(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    project = GitRepo(tmp_path / "shop")
    first = project.commit({"src/cart.py": module("add_to_cart"), "docs/x.py": module("doc")})
    code, out, _ = run(capsys, data_dir, "add", str(project.path), "--exclude", "docs/*")
    assert code == 0 and "shop" in out and "main" in out
    code, out, _ = run(capsys, data_dir, "sync", "--no-summaries")
    assert code == 0 and f"shop: {first[:12]} (처음 색인" in out
    second = project.commit({"src/cart.py": module("add_to_cart", "return 2")})
    code, out, _ = run(capsys, data_dir, "sync", "shop", "--no-summaries")
    assert code == 0 and f"{first[:12]} → {second[:12]} (바뀐 파일만" in out and "수정 1" in out
    code, out, _ = run(capsys, data_dir, "list", "--json")
    [listed] = json.loads(out)
    assert (listed["name"], listed["commit"], listed["units"]) == ("shop", second, 1)
    assert listed["exclude"] == ["docs/*"] and listed["synced_at"]
    assert (
        main(["search", "add_to_cart", "--json", "--no-expand", "--data-dir", str(data_dir)]) == 0
    )
    hits = json.loads(capsys.readouterr().out)
    assert [(h["path"], h["name"]) for h in hits] == [("src/cart.py", "add_to_cart")]
    code, out, _ = run(capsys, data_dir, "remove", "shop")
    assert code == 0 and "파일 1개" in out
    code, out, _ = run(capsys, data_dir, "list")
    assert code == 0 and "등록된 저장소가 없습니다" in out


def test_errors_are_korean_and_name_what_to_do(
    capsys: pytest.CaptureFixture[str],
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    code, _, err = run(capsys, data_dir, "add", str(plain))
    assert code == 2 and "git 저장소가 아닙니다" in err
    project = GitRepo(tmp_path / "proj")
    project.commit({"a.py": module("a")})
    code, _, err = run(capsys, data_dir, "add", str(project.path), "--branch", "release")
    assert code == 2 and "브랜치를 찾을 수 없습니다: release" in err
    code, _, err = run(capsys, data_dir, "add", "ext::sh -c true")  # URLs: test_repo_urls.py
    assert code == 2 and "저장소 URL 로 쓸 수 없습니다" in err
    code, _, err = run(capsys, data_dir, "add", str(project.path), "--name", "../escape")
    assert code == 2 and "저장소 이름으로 쓸 수 없습니다" in err
    assert run(capsys, data_dir, "add", str(project.path))[0] == 0
    code, _, err = run(capsys, data_dir, "add", str(project.path))
    assert code == 2 and "이미 등록된 저장소 이름입니다: proj" in err
    code, _, err = run(capsys, data_dir, "sync", "nope", "--no-summaries")
    assert code == 2 and "등록되지 않은 저장소입니다: nope" in err
    project.git("branch", "-m", "main", "renamed")  # the registered branch is gone
    code, _, err = run(capsys, data_dir, "sync", "proj", "--no-summaries")
    assert code == 2 and "proj: 브랜치를 찾을 수 없습니다: main" in err
    monkeypatch.setenv("RAGCODE_REPOS__GIT", str(tmp_path / "no-such-git"))
    code, _, err = run(capsys, data_dir, "sync", "proj", "--no-summaries")
    assert code == 2 and "git 프로그램을 찾을 수 없습니다" in err


def test_full_sync_and_what_sync_reads(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    project = GitRepo(tmp_path / "shop")
    head = project.commit({"src/cart.py": module("add_to_cart")})
    code, _, err = run(capsys, data_dir, "add", str(project.path))
    assert code == 0 and "fetch/pull 하지 않습니다" in err  # the local branch, as it is
    assert run(capsys, data_dir, "sync", "--no-summaries")[0] == 0
    code, out, _ = run(capsys, data_dir, "sync", "shop", "--no-summaries")
    assert code == 0 and "이미 최신입니다" in out
    code, out, _ = run(capsys, data_dir, "sync", "shop", "--full", "--no-summaries")
    assert code == 0 and f"shop: {head[:12]} → {head[:12]} (전체 비교: 추가 0" in out
    assert "변경 0, 그대로 1" in out
