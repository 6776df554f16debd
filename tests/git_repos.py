"""Real git repositories for tests: commits, renames, deletes, branches and rewrites made with
the `git` binary, as a developer would."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

# A crafted tree, as `git mktree` takes it: (name, contents) pairs where contents is a file's
# text or a folder's entries. Names may repeat or be "..", which `git commit` never makes.
Tree = Sequence[tuple[str, "str | Tree"]]


class GitRepo:
    def __init__(self, path: Path, branch: str = "main") -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", branch)
        self.git("config", "user.email", "dev@example.com")
        self.git("config", "user.name", "개발자")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(self.path), *args], capture_output=True, text=True, timeout=60,
            check=True,
        )  # fmt: skip
        return done.stdout.strip()

    def write(self, files: Mapping[str, str]) -> None:
        """Change the work tree only (not committed)."""
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")

    def commit(
        self,
        files: Mapping[str, str] | None = None,
        *,
        delete: Sequence[str] = (),
        rename: Mapping[str, str] | None = None,
        message: str = "변경",
        amend: bool = False,
    ) -> str:
        """Write, delete and rename files, commit everything; the new commit's id."""
        self.write(files or {})
        for name in delete:
            self.git("rm", "-q", name)
        for old, new in (rename or {}).items():
            (self.path / new).parent.mkdir(parents=True, exist_ok=True)
            self.git("mv", old, new)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message, *(["--amend"] if amend else []))
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def _input(self, stdin: str, *args: str) -> str:
        done = subprocess.run(  # names that are not UTF-8 go through as their bytes
            ["git", "-C", str(self.path), *args], input=stdin.encode("utf-8", "surrogateescape"),
            capture_output=True, timeout=60, check=True,
        )  # fmt: skip
        return done.stdout.decode().strip()

    def tree(self, entries: Tree) -> str:
        """Write a crafted tree with `git mktree` (no checks on names); its object id."""
        lines = []
        for name, contents in entries:
            if isinstance(contents, str):
                blob = self._input(contents, "hash-object", "-w", "--stdin")
                lines.append(f"100644 blob {blob}\t{name}\n")
            else:
                lines.append(f"040000 tree {self.tree(contents)}\t{name}\n")
        return self._input("".join(lines), "mktree")

    def commit_tree(self, entries: Tree, branch: str = "main") -> str:
        """Commit a crafted tree on top of the branch (`commit-tree`, `update-ref`)."""
        parent = self.git("rev-parse", f"refs/heads/{branch}")
        commit = self.git("commit-tree", self.tree(entries), "-p", parent, "-m", "crafted")
        self.git("update-ref", f"refs/heads/{branch}", commit)
        return commit


def function(name: str, body: str = "return 1") -> str:
    """A small Python function long enough to be summarized (not trivial)."""
    return (
        f"def {name}(items, limit):\n"
        f'    """{name} 는 항목을 걸러 돌려준다."""\n'
        "    result = []\n"
        "    for item in items:\n"
        "        if len(result) >= limit:\n"
        "            break\n"
        "        result.append(item)\n"
        f"    {body}\n"
    )


def module(*names: str) -> str:
    return "\n\n".join(function(name) for name in names)
