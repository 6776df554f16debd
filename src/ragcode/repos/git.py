"""The `git` binary, run as a subprocess with a timeout; failures become Korean `GitError`s.

Only plumbing commands whose output is stable (`rev-parse`, `ls-tree`, `diff-tree`,
`cat-file`), always with `-z` where paths are printed, so no path needs unquoting."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ragcode.repos.protocol import RepoError

_BLOB_MODES = frozenset({"100644", "100755"})  # regular files (not links, not submodules)
_BATCH_BYTES = 32 * 1024 * 1024  # blobs read per `cat-file --batch` run
# Variables that point git at another repository, index or object store (`git rev-parse
# --local-env-vars` and the like): inherited from a git hook or an IDE, they would make every
# command read some other repository than the registered one.
_SCRUBBED_ENV = frozenset({
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CEILING_DIRECTORIES", "GIT_COMMON_DIR",
    "GIT_CONFIG", "GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS", "GIT_DIR",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM", "GIT_GRAFT_FILE", "GIT_IMPLICIT_WORK_TREE",
    "GIT_INDEX_FILE", "GIT_NAMESPACE", "GIT_NO_REPLACE_OBJECTS", "GIT_OBJECT_DIRECTORY",
    "GIT_PREFIX", "GIT_QUARANTINE_PATH", "GIT_REPLACE_REF_BASE", "GIT_SHALLOW_FILE",
    "GIT_WORK_TREE",
})  # fmt: skip


def git_env() -> dict[str, str]:
    """The environment git runs in: no inherited repository pointers, no prompts."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    return env


# The transports a clone or fetch may use (git's own `GIT_ALLOW_PROTOCOL`, which overrides any
# `protocol.*.allow` configuration; `ext` runs a command, `fd` reads a file descriptor).
ALLOWED_PROTOCOLS = ("https", "http", "ssh", "git", "file")
_NETWORK_CONFIG = (
    "-c", "protocol.allow=never",
    *(arg for name in ALLOWED_PROTOCOLS for arg in ("-c", f"protocol.{name}.allow=always")),
    "-c", "protocol.ext.allow=never", "-c", "protocol.fd.allow=never",
)  # fmt: skip


def network_env() -> dict[str, str]:
    """`git_env` for commands that reach a remote: only the allowed transports, and nothing
    that could wait for a person (a password prompt, an askpass program, a credential
    manager's window), so a private repository without credentials fails at once."""
    env = git_env()
    env.update(
        GIT_ALLOW_PROTOCOL=":".join(ALLOWED_PROTOCOLS), GIT_ASKPASS="", SSH_ASKPASS="",
        SSH_ASKPASS_REQUIRE="never", GCM_INTERACTIVE="never",
    )  # fmt: skip
    return env


class GitError(RepoError):
    """git failed, timed out or is missing; the message says which and what to do."""


@dataclass(frozen=True, slots=True)
class TreeFile:
    path: str  # repo-relative, "/" separators
    blob: str  # object id
    size: int


@dataclass(frozen=True, slots=True)
class Change:
    status: str  # "A", "M", "D", "T", "R", "C" (diff-tree letters, score dropped)
    path: str  # the new path (the old one for "D")
    old_path: str | None = None  # renames and copies: where it came from


@dataclass(frozen=True, slots=True)
class Git:
    """One repository; `binary` and `timeout_s` from `[repos]` settings."""

    repo: Path
    binary: str = "git"
    timeout_s: float = 120.0

    def run(self, *args: str, stdin: bytes | None = None) -> bytes:
        command = [self.binary, "-C", str(self.repo), *args]
        try:
            done = subprocess.run(
                command, input=stdin, capture_output=True, timeout=self.timeout_s, env=git_env(),
                check=False,
            )  # fmt: skip
        except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
            raise self._not_run(args[0], exc) from exc
        if done.returncode != 0:
            raise GitError(_failure(self.repo, args[0], done.stderr))
        return done.stdout

    def remote(self, *args: str) -> bytes:
        """A command that reaches a remote (`clone`, `fetch`): `network_env`, the transports
        limited, no terminal (ssh cannot ask for a passphrase or a host key), and on timeout
        the whole process group killed (ssh and the remote helpers with git). A failure's
        message holds git's last `fatal:` line (it may name the URL: callers redact it)."""
        command = [self.binary, *_NETWORK_CONFIG, "-C", str(self.repo), *args]
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=network_env(), start_new_session=True,
            )  # fmt: skip
        except FileNotFoundError as exc:
            raise self._not_run(args[0], exc) from exc
        try:
            out, err = process.communicate(timeout=self.timeout_s)
        except subprocess.TimeoutExpired as exc:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise self._not_run(args[0], exc) from exc
        if process.returncode != 0:
            raise GitError(_network_failure(args[0], err))
        return out

    def _not_run(self, command: str, exc: Exception) -> GitError:
        if isinstance(exc, FileNotFoundError):
            return GitError(
                f"git 프로그램을 찾을 수 없습니다 ({self.binary}). git 을 설치하거나 "
                "[repos] git 설정에 경로를 적으세요"
            )
        return GitError(
            f"git {command} 이(가) {self.timeout_s:g}초 안에 끝나지 않았습니다 ({self.repo}). "
            "[repos] timeout_s 를 늘려 보세요"
        )

    def probe(self, *args: str) -> bytes | None:
        """Like `run`, but None when git answers no (a missing ref or object)."""
        try:
            return self.run(*args)
        except GitError as exc:
            if isinstance(exc.__cause__, FileNotFoundError | subprocess.TimeoutExpired):
                raise
            return None

    def top_level(self) -> Path:
        """The work tree's top level, or the git dir of a bare repository."""
        if self.probe("rev-parse", "--git-dir") is None:
            raise GitError(f"git 저장소가 아닙니다: {self.repo}")
        if self.run("rev-parse", "--is-bare-repository").strip() == b"true":
            return Path(self.run("rev-parse", "--absolute-git-dir").decode().strip())
        return Path(self.run("rev-parse", "--show-toplevel").decode().strip())

    def current_branch(self) -> str | None:
        found = self.probe("symbolic-ref", "--quiet", "--short", "HEAD")
        return found.decode().strip() if found else None

    def check_branch_name(self, branch: str) -> None:
        """A valid branch name (`git check-ref-format --branch`), else a GitError."""
        checked = (
            None if branch.startswith("-") else self.probe("check-ref-format", "--branch", branch)
        )
        if checked is None or checked.decode("utf-8", "replace").strip() != branch:  # "@{-1}"
            raise GitError(f"브랜치 이름으로 쓸 수 없습니다: {branch!r}")

    def branch_head(self, branch: str) -> str:
        """The commit a local branch (or, without one, origin's remote-tracking branch of that
        name) points at, as this repository has it now: nothing is fetched."""
        self.check_branch_name(branch)
        for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
            found = self.probe(
                "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"
            )
            if found:
                return found.decode().strip()
        raise GitError(f"브랜치를 찾을 수 없습니다: {branch} ({self.repo})")

    def has_commit(self, commit: str) -> bool:
        return self.probe("cat-file", "-e", "--end-of-options", f"{commit}^{{commit}}") is not None

    def is_ancestor(self, older: str, newer: str) -> bool:
        return (
            self.probe("merge-base", "--is-ancestor", "--end-of-options", older, newer) is not None
        )

    def tree(self, commit: str) -> list[TreeFile]:
        """Every regular file of the commit's tree (links and submodules left out)."""
        out = self.run("ls-tree", "-r", "-l", "-z", "--full-tree", "--end-of-options", commit)
        files: list[TreeFile] = []
        for entry in out.decode("utf-8", "surrogateescape").split("\0"):
            if not entry:
                continue
            meta, path = entry.split("\t", 1)
            mode, kind, blob, size = meta.split()
            if kind == "blob" and mode in _BLOB_MODES:
                files.append(TreeFile(path=path, blob=blob, size=int(size)))
        return files

    def changes(self, old: str, new: str) -> list[Change]:
        """What differs between two commits' trees (they need not be related), with renames."""
        out = self.run(
            "diff-tree", "-r", "-z", "-M", "--name-status", "--no-commit-id", "--end-of-options",
            old, new,
        )  # fmt: skip
        fields = out.decode("utf-8", "surrogateescape").split("\0")
        changes: list[Change] = []
        i = 0
        while i < len(fields) and fields[i]:
            status = fields[i][0]
            if status in "RC":
                changes.append(Change(status, fields[i + 2], old_path=fields[i + 1]))
                i += 3
            else:
                changes.append(Change(status, fields[i + 1]))
                i += 2
        return changes

    def blobs(self, files: Sequence[TreeFile]) -> Iterator[tuple[TreeFile, bytes]]:
        """The contents of these files, read in batches of about 32 MB."""
        batch: list[TreeFile] = []
        size = 0
        for file in files:
            batch.append(file)
            size += file.size
            if size >= _BATCH_BYTES:
                yield from self._read_batch(batch)
                batch, size = [], 0
        if batch:
            yield from self._read_batch(batch)

    def _read_batch(self, batch: list[TreeFile]) -> Iterator[tuple[TreeFile, bytes]]:
        out = self.run("cat-file", "--batch", stdin="".join(f"{f.blob}\n" for f in batch).encode())
        offset = 0
        for file in batch:
            header_end = out.index(b"\n", offset)
            header = out[offset:header_end].split()
            if len(header) != 3:  # "<id> missing"
                raise GitError(f"git 객체를 읽지 못했습니다: {file.path} ({file.blob})")
            length = int(header[2])
            start = header_end + 1
            yield file, out[start : start + length]
            offset = start + length + 1  # the newline after the contents


def _failure(repo: Path, command: str, stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    if "not a git repository" in text:
        return f"git 저장소가 아닙니다: {repo}"
    if "dubious ownership" in text:
        return (
            f"git 이 다른 사용자의 저장소라며 거부했습니다: {repo}. 저장소 주인으로 실행하거나 "
            "`git config --global --add safe.directory` 로 허용하세요"
        )
    first = text.splitlines()[0] if text else "알 수 없는 오류"
    return f"git {command} 실패 ({repo}): {first[:300]}"


def _network_failure(command: str, stderr: bytes) -> str:
    """git's reason, from the last `fatal:` (or `error:`) line of a clone or fetch."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    reasons = [line for line in lines if line.startswith(("fatal:", "error:"))]
    reason = (reasons or [line for line in lines if line] or ["알 수 없는 오류"])[-1]
    if "could not read Username" in reason or "terminal prompts disabled" in reason:
        reason += " (인증 정보가 필요합니다: credential helper 나 SSH 키를 설정하세요)"
    return f"git {command} 실패: {reason[:300]}"
