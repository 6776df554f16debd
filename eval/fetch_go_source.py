"""Download and extract the pinned Go source used by the held-out Go evaluation set.

Usage::

    python eval/fetch_go_source.py [TARGET_DIR]

The project is govalidator (``github.com/asaskevich/govalidator``), pinned to the
Debian bookworm package ``golang-github-asaskevich-govalidator-dev`` (upstream
commit f9ffefc3 of 2018-07-20, the v9 series). Debian's ``-dev`` package ships the
module's Go source, so ``apt-get download`` + ``dpkg-deb -x`` fetch it from a
registry this project already uses: no Go toolchain and no Go module proxy are
needed. The module directory is copied into ``TARGET_DIR`` (default
``eval/work/govalidator``), ``*_test.go`` files and example/benchmark/testdata
directories are removed so they do not compete with the real code, a ``.fetched``
marker is written and the path is printed. Running it again once the source is in
place does nothing but print the path.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from fetching import fetch_main, put_in_place

PROJECT = "govalidator"
MODULE = "github.com/asaskevich/govalidator"
DEB_PACKAGE = "golang-github-asaskevich-govalidator-dev"
DEB_VERSION = "9+git20180720.0.f9ffefc3-1.1"
DEFAULT_TARGET = Path(__file__).resolve().parent / "work" / PROJECT
# Directories (by name, anywhere in the tree) removed after extraction.
DROP_DIRS = ("example", "examples", "_examples", "benchmark", "benchmarks", "testdata")
PIN = f"{MODULE} {DEB_PACKAGE}={DEB_VERSION}"


def require_tools() -> None:
    """Stop with an install hint when the Debian tools are missing."""
    missing = [tool for tool in ("apt-get", "dpkg-deb") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(
            f"{', '.join(missing)} not found: this script needs a Debian (bookworm) machine; "
            f"it runs `apt-get download {DEB_PACKAGE}={DEB_VERSION}` (run `apt-get update` first)"
        )


def download_deb(dest: Path) -> Path:
    """Download the pinned ``.deb`` into ``dest`` (no install) and return its path."""
    cmd = ["apt-get", "download", f"{DEB_PACKAGE}={DEB_VERSION}"]
    result = subprocess.run(cmd, cwd=dest, capture_output=True, text=True)
    debs = sorted(dest.glob(f"{DEB_PACKAGE}_*.deb"))
    if result.returncode != 0 or not debs:
        raise SystemExit(
            f"`{' '.join(cmd)}` failed ({result.stderr.strip()}); "
            "run `apt-get update` and try again (the package is in Debian bookworm main)"
        )
    return debs[0]


def extract(deb: Path, target: Path) -> None:
    """Unpack ``deb`` and move the module's source directory to ``target``."""
    unpacked = deb.parent / "unpacked"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    source = unpacked / "usr" / "share" / "gocode" / "src" / MODULE
    if not source.is_dir():
        raise SystemExit(f"no {MODULE} source in {deb.name}")
    for path in sorted(source.rglob("*"), reverse=True):
        if path.is_dir() and path.name in DROP_DIRS:
            shutil.rmtree(path)
        elif path.is_file() and path.name.endswith("_test.go"):
            path.unlink()
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    put_in_place(staging, target, PIN)


def fetch(scratch: Path, target: Path) -> None:
    require_tools()
    extract(download_deb(scratch), target)


def main(argv: list[str] | None = None) -> int:
    return fetch_main(__doc__, DEFAULT_TARGET, PIN, fetch, argv)


if __name__ == "__main__":
    raise SystemExit(main())
