"""What every benchmark prints with: lines flushed at once (progress shows under nohup and
pipes), and the machine's load, which every figure here must be read against."""

from __future__ import annotations

import os
import sys


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def load_note() -> str:
    one, five, _ = os.getloadavg()
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    cores = os.cpu_count()
    return (
        f"load avg {one:.2f} (1 min) {five:.2f} (5 min), {cores} cores, OPENBLAS_NUM_THREADS={blas}"
    )
