"""Download and extract the pinned lodash-es source used by the Korean JavaScript evaluation set.

Usage::

    python eval/fetch_js_source.py [TARGET_DIR]

The package tarball is fetched with ``npm pack``, only its JavaScript sources (the ``*.js``
files of ``SOURCE_DIR`` inside the tarball) are extracted into ``TARGET_DIR`` (default
``eval/work/lodash-es``), test files are removed so they do not compete with the real code,
and the path is printed. Running it again once the source is in place only prints the path.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path, PurePosixPath

from fetching import fetch_main, put_in_place

PACKAGE = "lodash-es"
VERSION = "4.17.21"
SOURCE_DIR = ""  # directory inside the tarball's "package/" root; lodash-es keeps it at the top
DEFAULT_TARGET = Path(__file__).resolve().parent / "work" / PACKAGE
TEST_PARTS = frozenset({"test", "tests", "__tests__"})
TEST_SUFFIXES = (".test.js", ".spec.js")
PIN = f"{PACKAGE}@{VERSION}"


def npm_pack(dest: Path) -> Path:
    """Download the pinned tarball into ``dest`` and return its path."""
    cmd = [
        "npm",
        "pack",
        "--loglevel=error",
        f"{PACKAGE}@{VERSION}",
        "--pack-destination",
        str(dest),
    ]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    archives = sorted(dest.glob("*.tgz"))
    if not archives:
        raise SystemExit(f"npm pack did not produce a tarball for {PACKAGE}@{VERSION}")
    return archives[0]


def is_source(parts: tuple[str, ...]) -> bool:
    """A ``.js`` file that is not a test (``parts`` are relative to SOURCE_DIR)."""
    name = parts[-1]
    return (
        name.endswith(".js")
        and not name.endswith(TEST_SUFFIXES)
        and not TEST_PARTS.intersection(parts[:-1])
    )


def source_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The regular source files under ``package/SOURCE_DIR``, renamed relative to it."""
    prefix = PurePosixPath("package", SOURCE_DIR).parts
    selected: list[tarfile.TarInfo] = []
    for member in archive.getmembers():
        parts = PurePosixPath(member.name).parts
        rel = parts[len(prefix) :]
        if member.isfile() and parts[: len(prefix)] == prefix and rel and is_source(rel):
            member.name = str(PurePosixPath(*rel))
            selected.append(member)
    return selected


def extract(archive_path: Path, target: Path) -> None:
    """Extract the sources of ``archive_path`` into ``target`` (atomically replaced)."""
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(archive_path, "r:gz") as archive:
        members = source_members(archive)
        if not members:
            raise SystemExit(f"no .js sources under package/{SOURCE_DIR} in {archive_path.name}")
        archive.extractall(staging, members=members, filter="data")
    put_in_place(staging, target, PIN)


def main(argv: list[str] | None = None) -> int:
    return fetch_main(
        __doc__, DEFAULT_TARGET, PIN,
        lambda scratch, target: extract(npm_pack(scratch), target), argv,
    )  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
