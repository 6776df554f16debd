"""Git repositories as sources, with real repositories made by the `git` binary: the first
sync indexes the committed, tracked, selected files of the branch head; later syncs read only
what changed (edits, deletes, renames); the registered branch is followed whatever is checked
out; a rewritten history (amend, reset + new commits, the old commit garbage collected) and an
interrupted sync still end with the index equal to the head's tree; removal leaves nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ragcode.app import App, build_app, build_repo_registry, build_repo_sources
from ragcode.config import Settings
from ragcode.domain import SkippedFile
from ragcode.embeddings.local import LocalEmbedder
from ragcode.ingest.progress import SilentProgress
from ragcode.llm.protocol import ChatMessage
from ragcode.repos.protocol import RepoError, RepoRegistry, RepoSyncConflictError
from ragcode.repos.sources import RepoSources
from ragcode.repos.sync import ChangeCounts, SyncMode
from tests.git_repos import GitRepo, Tree, function, module
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.integration


def summary_answer(messages: Sequence[ChatMessage]) -> str:
    return "요약: 항목을 걸러 정해진 개수만큼 돌려준다."


@dataclass
class Sources:
    app: App
    registry: RepoRegistry
    repos: RepoSources
    llm: ScriptedLLM

    def units(self, name: str) -> set[tuple[str, str]]:
        """(path, name) of every unit the repository's root holds."""
        root = self.repos.get(name).root
        uids = list(self.app.store.summary_states(root))
        stored = self.app.store.get_units(uids).values()
        return {(s.record.path, s.record.title) for s in stored}

    def paths(self, name: str) -> set[str]:
        return set(self.app.store.file_hashes(self.repos.get(name).root))


@pytest.fixture
def repo_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", search={"expand_query": False})


@pytest.fixture
def sources(repo_settings: Settings, embedder: LocalEmbedder) -> Iterator[Sources]:
    llm = ScriptedLLM(summary_answer)
    app = build_app(repo_settings, llm=llm, embedder=embedder)
    registry = build_repo_registry(repo_settings)
    yield Sources(app, registry, build_repo_sources(app, registry), llm)
    registry.close()
    app.close()


@dataclass
class Reads(SilentProgress):
    """The files the indexer read during one sync (done or skipped)."""

    paths: list[str] = field(default_factory=list)

    def file_done(self, path: str, units: int, done: int) -> None:
        self.paths.append(path)

    def file_skipped(self, skipped: SkippedFile) -> None:
        self.paths.append(skipped.path)


PAYMENTS = """class Payment:
    def pay(self, account: str, amount: int) -> bool:
        if amount <= 0:
            raise ValueError("금액은 0보다 커야 합니다")
        self.ledger.append((account, amount))
        return self.gateway.charge(account, amount)
"""


@pytest.fixture
def project(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "project")
    repo.commit(
        {
            "src/orders.py": module("load_orders", "save_orders"),
            "src/users.py": module("find_user"),
            "src/legacy.py": module("old_report"),
            "tests/test_orders.py": module("check_orders"),
            "build/generated.py": module("built_thing"),
            ".gitignore": "ignored.py\n",
        },
        message="처음",
    )
    return repo


def test_first_sync_indexes_the_committed_tracked_selected_files(
    sources: Sources, project: GitRepo
) -> None:
    project.write({"ignored.py": module("secret_thing"), "src/draft.py": module("draft")})
    project.write({"src/users.py": module("find_user", "uncommitted_edit")})  # not committed
    repo = sources.repos.add(str(project.path), exclude=["tests/*"])
    assert (repo.name, repo.branch, repo.commit) == ("project", "main", None)
    reads = Reads()
    report = sources.repos.sync("project", reads)
    assert report.mode is SyncMode.FIRST and report.commit == project.head()
    assert report.previous is None and not report.rewritten
    assert sources.units("project") == {
        ("src/orders.py", "load_orders"), ("src/orders.py", "save_orders"),
        ("src/users.py", "find_user"), ("src/legacy.py", "old_report"),
    }  # fmt: skip
    assert sorted(reads.paths) == [".gitignore", "src/legacy.py", "src/orders.py", "src/users.py"]
    assert sources.repos.get("project").commit == project.head()
    found = sources.repos.for_root(repo.root)  # a hit's root names its repository
    assert found is not None and found.name == "project" and found.commit == project.head()
    again = sources.repos.sync("project")
    assert again.mode is SyncMode.UNCHANGED and again.index is None


def test_later_syncs_read_only_the_changed_files(sources: Sources, project: GitRepo) -> None:
    sources.repos.add(str(project.path), include=["*.py"], exclude=["tests/*"])
    first = sources.repos.sync("project")
    assert first.index is not None and first.index.files_seen == 3
    old = project.head()
    new = project.commit(
        {
            "src/orders.py": module("load_orders", "save_orders_v2"),
            "src/payments.py": PAYMENTS,  # unlike legacy.py: git must not see a rename
            "README.md": "# 설명\n",  # not included
        },
        delete=["src/legacy.py"],
        rename={"src/users.py": "src/accounts/users.py"},
    )
    reads = Reads()
    report = sources.repos.sync("project", reads)
    assert (report.mode, report.previous, report.commit) == (SyncMode.CHANGES, old, new)
    assert report.changes == ChangeCounts(added=1, modified=1, deleted=1, renamed=1)
    # only the touched paths: edited, added, renamed-to (read); deleted, renamed-from (removed)
    assert sorted(reads.paths) == ["src/accounts/users.py", "src/orders.py", "src/payments.py"]
    assert report.index is not None and report.index.files_removed == 2
    assert sources.units("project") == {
        ("src/orders.py", "load_orders"), ("src/orders.py", "save_orders_v2"),
        ("src/payments.py", "Payment"), ("src/payments.py", "Payment.pay"),
        ("src/accounts/users.py", "find_user"),
    }  # fmt: skip
    assert sources.repos.get("project").commit == new
    checkout = Path(sources.repos.get("project").root)
    assert not (checkout / "src/legacy.py").exists() and not (checkout / "src/users.py").exists()
    assert (checkout / "src/accounts/users.py").read_text() == module("find_user")


def test_the_registered_branch_is_followed_not_the_checked_out_one(
    sources: Sources, project: GitRepo
) -> None:
    sources.repos.add(str(project.path), name="main-line", branch="main")
    sources.repos.sync("main-line")
    project.git("checkout", "-q", "-b", "feature")
    feature_head = project.commit({"src/feature.py": module("new_feature")})
    assert sources.repos.sync("main-line").mode is SyncMode.UNCHANGED
    assert ("src/feature.py", "new_feature") not in sources.units("main-line")
    sources.repos.add(str(project.path), name="feature-line", branch="feature")
    report = sources.repos.sync("feature-line")
    assert report.commit == feature_head
    assert ("src/feature.py", "new_feature") in sources.units("feature-line")
    # each repository has a root of its own: the same file twice, once per branch
    assert ("src/orders.py", "load_orders") in sources.units("main-line")
    project.git("checkout", "-q", "main")
    project.git("merge", "-q", "--ff-only", "feature")
    merged = sources.repos.sync("main-line")
    assert merged.mode is SyncMode.CHANGES and merged.changes.added == 1
    assert ("src/feature.py", "new_feature") in sources.units("main-line")


def test_a_rewritten_history_is_still_indexed_exactly(sources: Sources, project: GitRepo) -> None:
    sources.repos.add(str(project.path))
    project.commit({"src/wrong.py": module("wrong_turn")}, message="잘못된 커밋")
    sources.repos.sync("project")
    assert ("src/wrong.py", "wrong_turn") in sources.units("project")
    project.git("reset", "-q", "--hard", "HEAD~1")  # then force-pushed new work
    project.commit({"src/right.py": module("right_turn")}, delete=["src/legacy.py"])
    amended = project.commit({"src/right.py": module("right_turn_v2")}, amend=True)
    report = sources.repos.sync("project")
    assert report.rewritten and report.mode is SyncMode.CHANGES and report.commit == amended
    assert sources.units("project") == {
        ("src/orders.py", "load_orders"), ("src/orders.py", "save_orders"),
        ("src/users.py", "find_user"), ("tests/test_orders.py", "check_orders"),
        ("src/right.py", "right_turn_v2"),
    }  # fmt: skip


def test_an_indexed_commit_gone_from_the_repository_falls_back_to_a_full_compare(
    sources: Sources, project: GitRepo
) -> None:
    sources.repos.add(str(project.path))
    project.commit({"src/temp.py": module("temporary")})
    sources.repos.sync("project")
    project.git("reset", "-q", "--hard", "HEAD~1")
    head = project.commit({"src/users.py": module("find_user", "return 2")})
    project.git("reflog", "expire", "--expire=now", "--all")
    project.git("gc", "-q", "--prune=now")
    reads = Reads()
    report = sources.repos.sync("project", reads)
    assert report.mode is SyncMode.FULL and report.rewritten and report.commit == head
    assert report.index is not None
    # every file compared, only the one that differs re-indexed, the gone one removed
    assert (report.index.files_changed, report.index.files_removed) == (1, 1)
    assert ("src/temp.py", "temporary") not in sources.units("project")
    assert sources.paths("project") == {
        "src/orders.py", "src/users.py", "src/legacy.py", "tests/test_orders.py",
    }  # fmt: skip


def test_an_interrupted_sync_is_completed_by_the_next(
    sources: Sources, project: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources.repos.add(str(project.path))
    sources.repos.sync("project")
    start = project.head()
    project.commit({"src/orders.py": module("load_orders_v2")}, delete=["src/legacy.py"])
    indexer = sources.app.indexer

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(indexer, "index_paths", crash)
        with pytest.raises(KeyboardInterrupt):
            sources.repos.sync("project")
    assert sources.repos.get("project").commit == start  # not recorded
    project.git("reset", "-q", "--hard", start)  # and the branch moved back meanwhile
    report = sources.repos.sync("project")
    assert report.mode is SyncMode.FULL and report.commit == start
    checkout = Path(sources.repos.get("project").root)
    assert (checkout / "src/orders.py").read_text() == module("load_orders", "save_orders")
    assert ("src/legacy.py", "old_report") in sources.units("project")


def test_remove_unregisters_and_empties_the_index(sources: Sources, project: GitRepo) -> None:
    sources.repos.add(str(project.path))
    sources.repos.sync("project")
    root = sources.repos.get("project").root
    assert sources.app.store.file_hashes(root)
    assert sources.repos.remove("project") == 5  # 4 Python files and .gitignore (not build/)
    assert sources.app.store.file_hashes(root) == {}
    assert sources.app.store.summary_states(root) == {}
    assert sources.repos.all() == [] and not Path(root).exists()


def test_unchanged_units_are_not_summarized_again(sources: Sources, project: GitRepo) -> None:
    sources.repos.add(str(project.path))
    sources.repos.sync("project")
    first = sources.app.summaries.run()
    assert first.written == 5 and len(sources.llm.calls) >= 5
    calls_before = len(sources.llm.calls)
    project.commit(
        {"src/orders.py": module("load_orders", "save_orders") + "\n\n" + function("ship")},
        rename={"src/users.py": "src/people.py"},
    )
    sources.repos.sync("project")
    second = sources.app.summaries.run()
    new_calls = sources.llm.calls[calls_before:]
    assert second.written == 1  # `ship` only: the rest of orders.py and users.py came cached
    assert all("ship" in messages[-1].content for messages in new_calls)
    states = sources.app.store.summary_states(sources.repos.get("project").root)
    assert len(states) == 6 and {str(s) for s in states.values()} == {"done"}


# --- crafted trees, odd names, drift, concurrent syncs, the environment ----------------------


def secret_outside(tmp_path: Path) -> Path:
    """A Python file next to the data directory: four ".." up from a repository's checkout
    (<tmp>/data/repos/<name>/tree)."""
    secret = tmp_path / "secret.py"
    secret.write_text(function("leaked_secret"), encoding="utf-8")
    return secret


def dotdots(depth: int, leaf: Tree) -> Tree:
    return leaf if depth == 0 else [("..", dotdots(depth - 1, leaf))]


def every_unit_name(sources: Sources) -> set[str]:
    names: set[str] = set()
    for repo in sources.repos.all():
        names |= {title for _, title in sources.units(repo.name)}
        names |= {path for path in sources.app.store.skipped_paths(repo.root)}
        names |= sources.paths(repo.name)
    return names


def test_a_tree_naming_dotdot_never_reads_outside_the_checkout(
    sources: Sources, tmp_path: Path
) -> None:
    secret_outside(tmp_path)
    repo = GitRepo(tmp_path / "project")
    repo.commit({"src/ok.py": module("ok_thing")})
    sources.repos.add(str(repo.path))
    sources.repos.sync("project")
    crafted: Tree = [
        ("src", [("ok.py", module("ok_thing"))]),
        *dotdots(4, [("secret.py", "x = 1\n")]),
    ]
    head = repo.commit_tree(crafted)
    assert "../../../../secret.py" in repo.git("diff-tree", "-r", "--name-only", "HEAD~1", head)
    changes = sources.repos.sync("project")  # the diff names ../../../../secret.py
    assert changes.mode is SyncMode.CHANGES and changes.commit == head
    full = sources.repos.sync("project", full=True)
    assert full.mode is SyncMode.FULL
    sources.repos.add(str(repo.path), name="fresh")  # a first sync of that head
    assert sources.repos.sync("fresh").mode is SyncMode.FIRST
    found = every_unit_name(sources)
    assert "leaked_secret" not in found and not any(".." in path for path in found)
    assert ("src/ok.py", "ok_thing") in sources.units("fresh")


def test_index_paths_reads_nothing_outside_its_root(sources: Sources, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "inside.py").write_text(function("inside_thing"), encoding="utf-8")
    outside = tmp_path / "x.py"
    outside.write_text(function("outside_thing"), encoding="utf-8")
    (root / "link_to_outside.py").symlink_to(outside)
    (root / "link_inside.py").symlink_to(root / "inside.py")
    paths = ["../x.py", "/etc/passwd", str(outside), "link_to_outside.py", "link_inside.py"]
    report = sources.app.indexer.index_paths(root, [*paths, "inside.py"])
    store = sources.app.store
    assert set(store.file_hashes(str(root.resolve()))) == {"inside.py"}
    assert {s.path for s in report.skipped} == {"link_to_outside.py", "link_inside.py"}
    uids = list(store.summary_states(str(root.resolve())))
    assert {s.record.title for s in store.get_units(uids).values()} == {"inside_thing"}


def test_names_the_index_cannot_hold_are_skipped_and_the_sync_goes_on(
    sources: Sources, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "project")
    long_name = "n" * 247 + ".py"  # 250 bytes: fits the file system, not with a long suffix
    bad = "bad\udcff.py"  # not UTF-8 (bytes 0xff), as git hands it over
    first = repo.commit(
        {"src/ok.py": module("ok_thing"), f"src/{long_name}": module("long_thing"), bad: "x=1\n"}
    )
    sources.repos.add(str(repo.path))
    report = sources.repos.sync("project")
    assert report.commit == first and sources.repos.get("project").commit == first
    assert [(s.path, s.reason) for s in report.skipped] == [
        ("bad\\xff.py", "파일 이름이 UTF-8 이 아니어서 색인할 수 없습니다")
    ]
    assert ("src/ok.py", "ok_thing") in sources.units("project")
    assert (f"src/{long_name}", "long_thing") in sources.units("project")
    crafted: Tree = [
        ("src", [("ok.py", module("ok_thing", "return 2")), (long_name, module("long_thing"))]),
        ("x" * 300 + ".py", "x = 1\n"),  # longer than any file name may be
        ("dup.py", function("dup_file")),  # a file and a folder of one name
        ("dup.py", [("inner.py", function("inner_thing"))]),
        (bad, "x = 2\n"),
    ]
    head = repo.commit_tree(crafted)
    again = sources.repos.sync("project")
    assert again.mode is SyncMode.CHANGES and sources.repos.get("project").commit == head
    reasons = {s.path: s.reason for s in again.skipped}
    assert reasons["bad\\xff.py"].startswith("파일 이름이 UTF-8")
    assert reasons["x" * 300 + ".py"].startswith("파일 이름이 255바이트보다 길어")
    assert reasons["dup.py/inner.py"] == "같은 이름의 파일과 폴더가 함께 있어 꺼낼 수 없습니다"
    assert sources.paths("project") == {"src/ok.py", f"src/{long_name}", "dup.py"}
    assert ("src/ok.py", "ok_thing") in sources.units("project")
    full = sources.repos.sync("project", full=True)  # the same again, comparing everything
    assert full.mode is SyncMode.FULL and len(full.skipped) == 3
    assert full.index is not None and full.index.files_changed == 0
    assert sources.paths("project") == {"src/ok.py", f"src/{long_name}", "dup.py"}


def test_full_sync_repairs_what_changes_mode_never_looks_at(
    sources: Sources, project: GitRepo
) -> None:
    repo = sources.repos.add(str(project.path))
    sources.repos.sync("project")
    sources.app.store.remove_files(repo.root, ["src/users.py"])  # the index drifted
    assert sources.repos.sync("project").mode is SyncMode.UNCHANGED
    assert "src/users.py" not in sources.paths("project")
    report = sources.repos.sync("project", full=True)
    assert report.mode is SyncMode.FULL and report.commit == project.head()
    assert report.index is not None and report.index.files_changed == 1
    assert ("src/users.py", "find_user") in sources.units("project")


def test_a_removed_root_is_indexed_again_by_the_next_sync(
    sources: Sources, project: GitRepo
) -> None:
    repo = sources.repos.add(str(project.path))
    sources.repos.sync("project")
    before = sources.units("project")
    sources.app.indexer.remove(Path(repo.root))  # `ragcode remove <root>`
    assert sources.units("project") == set()
    report = sources.repos.sync("project")  # same head: still everything compared
    assert report.mode is SyncMode.FULL and sources.units("project") == before
    assert sources.repos.sync("project").mode is SyncMode.UNCHANGED


def test_a_sync_overtaken_by_another_records_nothing_and_the_next_compares_all(
    sources: Sources, project: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources.repos.add(str(project.path))
    start = sources.repos.sync("project").commit
    newer = project.commit({"src/orders.py": module("load_orders_v2")})
    indexer = sources.app.indexer
    real = indexer.index_paths

    def overtaken(*args: Any, **kwargs: Any) -> Any:
        # another machine finishes first and records its commit
        sources.registry.record_sync("project", "f" * 40, 1.0, start)
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(indexer, "index_paths", overtaken)
        with pytest.raises(RepoSyncConflictError, match="다른 동기화가 먼저 기록했습니다"):
            sources.repos.sync("project")
    assert sources.repos.get("project").commit == "f" * 40  # not overwritten
    report = sources.repos.sync("project")
    assert report.mode is SyncMode.FULL and report.commit == newer


def test_inherited_git_variables_do_not_redirect_git(
    sources: Sources, project: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = GitRepo(tmp_path / "other")
    other.commit({"elsewhere.py": module("not_this_repo")})
    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other.path))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other.path / ".git" / "index"))
    sources.repos.add(str(project.path))
    monkeypatch.delenv("GIT_DIR")  # the helper's own git calls need the real repository
    monkeypatch.delenv("GIT_WORK_TREE")
    monkeypatch.delenv("GIT_INDEX_FILE")
    head = project.head()
    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    report = sources.repos.sync("project")
    assert report.commit == head and sources.repos.get("project").path == str(project.path)
    assert ("src/orders.py", "load_orders") in sources.units("project")
    assert not any(title == "not_this_repo" for _, title in sources.units("project"))


@pytest.mark.parametrize("branch", ["-x", "a..b", "@{-1}", "main~1", "--end-of-options"])
def test_branch_names_are_checked(sources: Sources, project: GitRepo, branch: str) -> None:
    with pytest.raises(RepoError, match="브랜치 이름으로 쓸 수 없습니다"):
        sources.repos.add(str(project.path), branch=branch)


def test_hits_carry_the_repository_and_the_commit_their_file_was_read_at(
    sources: Sources, project: GitRepo
) -> None:
    sources.repos.add(str(project.path), exclude=["tests/*"])
    sources.repos.sync("project")
    first = project.head()
    second = project.commit({"src/orders.py": module("load_orders", "save_orders_v2")})
    sources.repos.sync("project")
    hits = sources.app.searcher.search("load_orders save_orders_v2 find_user", top_k=10)
    origin = {hit.record.title: (hit.as_dict()["repo"], hit.as_dict()["commit"]) for hit in hits}
    # the edited file was read at the new head; an untouched one keeps the commit it was read
    # at (its content is the same there and at the head)
    assert origin["save_orders_v2"] == ("project", second)
    assert origin["find_user"] == ("project", first)
    assert first != second
