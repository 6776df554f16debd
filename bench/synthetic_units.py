"""A synthetic project for the summary benchmarks: distinct, non-trivial functions, so that
every unit needs its own LLM call (bench_pool.py, bench_workers.py)."""

from __future__ import annotations

from pathlib import Path

FUNCTIONS_PER_FILE = 20


def write_units(root: Path, count: int) -> None:
    """`count` distinct, non-trivial functions (so every one needs an LLM call)."""
    root.mkdir(parents=True)
    for file_index in range(0, count, FUNCTIONS_PER_FILE):
        functions = []
        for number in range(file_index, min(count, file_index + FUNCTIONS_PER_FILE)):
            functions.append(
                f"def check_record_{number}(record, limit={number + 3}):\n"
                f'    """Validate record {number} against its size limit."""\n'
                f"    if not record:\n"
                f'        raise ValueError("empty record {number}")\n'
                f"    return record[:limit]\n"
            )
        (root / f"module_{file_index:04d}.py").write_text("\n\n".join(functions))
