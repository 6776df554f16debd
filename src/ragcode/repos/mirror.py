"""A repository registered by URL lives as a bare mirror in the data directory,
`<data dir>/repos/<name>/mirror.git`, next to its index root `<name>/tree`. The registry
holds the mirror's path like any local repository's, so the registry needs no column of its
own: a repository whose path is that folder is a mirror (`mirror_path`), fetched before each
sync, and its URL is the mirror's `remote.origin.url` (git's own configuration).

The mirror follows the remote's branches as they are, force-pushes included
(`+refs/heads/*:refs/heads/*`, `--prune` drops deleted branches); tags are not fetched."""

from __future__ import annotations

import logging
from pathlib import Path

from ragcode.repos.git import Git, GitError
from ragcode.repos.urls import check_url, redact, redact_secrets

log = logging.getLogger(__name__)

MIRROR = "mirror.git"
_BRANCHES = "+refs/heads/*:refs/heads/*"


def mirror_path(folder: Path, name: str) -> Path:
    """Where the repository `name` is mirrored, under `<data dir>/repos` (`folder`)."""
    return (folder / name / MIRROR).resolve()


def clone(parent: Git, url: str, destination: Path) -> None:
    """A bare clone of `url` at `destination` (absolute), following the remote's branches.
    `parent` runs git in the folder that will hold it. The URL is checked here too."""
    check_url(url)
    log.info("repo clone url=%s into=%s", redact(url), destination)
    try:
        parent.remote("clone", "--bare", "--quiet", "--no-tags", "--", url, str(destination))
        Git(destination, parent.binary, parent.timeout_s).run(
            "config", "--replace-all", "remote.origin.fetch", _BRANCHES
        )
    except GitError as exc:
        raise GitError(redact_secrets(str(exc), url)) from exc


def remote_url(git: Git) -> str | None:
    """The mirror's URL as configured (credentials included: redact before showing it)."""
    found = git.probe("config", "--get", "remote.origin.url")
    return found.decode("utf-8", "replace").strip() if found else None


def fetch(git: Git) -> None:
    """Bring the mirror's branches to the remote's (`git fetch --prune`, with the timeout of
    every git command). The configured URL is checked again: the mirror's config is a file."""
    url = remote_url(git)
    if url is None:
        raise GitError(f"미러에 원격 주소(remote.origin.url)가 없습니다: {git.repo}")
    check_url(url)
    log.info("repo fetch url=%s mirror=%s", redact(url), git.repo)
    try:
        git.remote("fetch", "--prune", "--no-tags", "--quiet", "--end-of-options", "origin")
    except GitError as exc:
        raise GitError(redact_secrets(str(exc), url)) from exc
