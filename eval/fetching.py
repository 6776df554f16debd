"""What the eval fetch scripts share: the command line, the pin marker that makes a second
run a no-op, and moving a finished extraction into place (never half a tree)."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

MARKER = ".fetched"


def is_fetched(target: Path, pin: str) -> bool:
    """Whether ``target`` already holds the pinned version."""
    marker = target / MARKER
    return marker.is_file() and marker.read_text(encoding="utf-8").strip() == pin


def put_in_place(staging: Path, target: Path, pin: str) -> None:
    """Mark ``staging`` with the pin and make it ``target`` (an older one is replaced)."""
    (staging / MARKER).write_text(pin + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def fetch_main(
    doc: str | None, default_target: Path, pin: str, fetch: Callable[[Path, Path], None],
    argv: list[str] | None = None,
) -> int:  # fmt: skip
    """``fetch(scratch, target)`` downloads into the scratch folder and extracts to target;
    skipped when target already holds ``pin``. Prints the source folder."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument(
        "target", nargs="?", type=Path, default=default_target,
        help=f"directory to extract into (default: {default_target})",
    )  # fmt: skip
    target: Path = parser.parse_args(argv).target.resolve()
    if not is_fetched(target, pin):
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="ragcode-eval-") as scratch:
            fetch(Path(scratch), target)
    print(target)
    return 0
