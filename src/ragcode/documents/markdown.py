"""Markdown: ATX (`#`) and Setext (`===`/`---`) headings, paragraphs, fenced code kept whole."""

from __future__ import annotations

import re

from ragcode.documents.blocks import Block

_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


class _Reader:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.lines: list[str] = []
        self.start = 0
        self.fence: str | None = None

    def flush(self, end: int) -> None:
        if self.lines:
            self.blocks.append(Block("\n".join(self.lines), self.start, end))
            self.lines = []

    def add(self, number: int, line: str) -> None:
        if not self.lines:
            self.start = number
        self.lines.append(line.rstrip())

    def feed(self, number: int, line: str) -> None:
        fence = _FENCE.match(line)
        if self.fence is not None:  # inside a code block: nothing is a heading
            self.add(number, line)
            if fence and fence.group(1) == self.fence:
                self.fence = None
                self.flush(number)
            return
        if fence:
            self.flush(number - 1)
            self.fence = fence.group(1)
            self.add(number, line)
            return
        atx = _ATX.match(line)
        setext = _SETEXT.match(line)
        if atx:
            self.flush(number - 1)
            level = len(atx.group(1))
            self.blocks.append(Block(atx.group(2).strip(), number, number, level))
        elif setext and len(self.lines) == 1:  # "Title\n=====": the line above is a heading
            level = 1 if setext.group(1).startswith("=") else 2
            self.blocks.append(Block(self.lines[0].strip(), self.start, number, level))
            self.lines = []
        elif line.strip():
            self.add(number, line)
        else:
            self.flush(number - 1)


def markdown_blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    reader = _Reader()
    first = 0
    if lines and lines[0].strip() == "---":  # YAML front matter is metadata, not content
        closing = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        first = closing + 1 if closing is not None else 0
    for number, line in enumerate(lines[first:], start=first + 1):
        reader.feed(number, line)
    reader.flush(len(lines))
    return reader.blocks
