"""Download and extract the pinned toolz source used by the Korean evaluation set.

Usage::

    python eval/fetch_source.py [TARGET_DIR]

The toolz sdist is fetched with pip, only the ``toolz/`` package directory is
extracted into ``TARGET_DIR`` (default ``eval/work/toolz``), its test packages are
removed so they do not compete with the real code, and the path is printed.
Running it again once the source is in place does nothing but print the path.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

PACKAGE = "toolz"
VERSION = "1.2.0"
DEFAULT_TARGET = Path(__file__).resolve().parent / "work" / "toolz"
# Test packages inside the sdist; removed after extraction.
TEST_DIRS = ("toolz/tests", "toolz/sandbox/tests")
MARKER = ".fetched"


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
    (staging / MARKER).write_text(f"{PACKAGE}=={VERSION}\n", encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)


def is_fetched(target: Path) -> bool:
    """Whether ``target`` already holds the pinned version."""
    marker = target / MARKER
    return marker.is_file() and marker.read_text(encoding="utf-8").strip() == (
        f"{PACKAGE}=={VERSION}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "target",
        nargs="?",
        type=Path,
        default=DEFAULT_TARGET,
        help=f"directory to extract into (default: {DEFAULT_TARGET})",
    )
    args = parser.parse_args(argv)
    target: Path = args.target.resolve()
    if not is_fetched(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="ragcode-eval-") as tmp:
            extract(download_sdist(Path(tmp)), target)
    print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
