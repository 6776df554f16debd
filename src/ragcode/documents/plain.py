"""Plain text: paragraphs (blank-line separated) with their line numbers."""

from __future__ import annotations

from ragcode.documents.blocks import Block


def paragraphs(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            if not lines:
                start = number
            lines.append(line.rstrip())
        elif lines:
            blocks.append(Block("\n".join(lines), start, number - 1))
            lines = []
    if lines:
        blocks.append(Block("\n".join(lines), start, start + len(lines) - 1))
    return blocks
