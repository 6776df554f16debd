"""Download and extract the pinned toolz source used by the Korean evaluation set.

Usage::

    python eval/fetch_source.py [TARGET_DIR]

The toolz sdist is fetched with pip, only the ``toolz/`` package directory is
extracted into ``TARGET_DIR`` (default ``eval/work/toolz``), its test packages are
removed so they do not compete with the real code, and the path is printed.
Running it again once the source is in place does nothing but print the path.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path, PurePosixPath

from fetching import fetch_main, put_in_place

PACKAGE = "toolz"
VERSION = "1.2.0"
DEFAULT_TARGET = Path(__file__).resolve().parent / "work" / "toolz"
# Test packages inside the sdist; removed after extraction.
TEST_DIRS = ("toolz/tests", "toolz/sandbox/tests")
PIN = f"{PACKAGE}=={VERSION}"


def download_sdist(dest: Path) -> Path:
    """Download the pinned sdist into ``dest`` and return the archive path."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-binary",
        ":all:",
        "--no-deps",
        f"{PACKAGE}=={VERSION}",
        "-d",
        str(dest),
    ]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    archives = sorted(dest.glob(f"{PACKAGE}-{VERSION}.tar.gz"))
    if not archives:
        raise SystemExit(f"pip did not produce {PACKAGE}-{VERSION}.tar.gz in {dest}")
    return archives[0]


def package_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Return the members under ``<root>/toolz/``, renamed to start at ``toolz/``."""
    selected: list[tarfile.TarInfo] = []
    for member in archive.getmembers():
        parts = PurePosixPath(member.name).parts
        if len(parts) < 2 or parts[1] != PACKAGE:
            continue
        member.name = str(PurePosixPath(*parts[1:]))
        selected.append(member)
    return selected


def extract(archive_path: Path, target: Path) -> None:
    """Extract the package directory of ``archive_path`` into ``target``."""
    staging = target.with_name(target.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    with tarfile.open(archive_path, "r:gz") as archive:
        members = package_members(archive)
        if not members:
            raise SystemExit(f"no {PACKAGE}/ directory in {archive_path.name}")
        archive.extractall(staging, members=members, filter="data")
    for rel in TEST_DIRS:
        shutil.rmtree(staging / rel, ignore_errors=True)
    put_in_place(staging, target, PIN)


def main(argv: list[str] | None = None) -> int:
    return fetch_main(
        __doc__, DEFAULT_TARGET, PIN,
        lambda scratch, target: extract(download_sdist(scratch), target), argv,
    )  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
