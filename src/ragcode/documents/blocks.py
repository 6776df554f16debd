"""Structure-aware chunking shared by the readers: paragraphs under a heading path.

A chunk never cuts a paragraph in the middle unless that paragraph alone is longer than
the budget; then it is cut at sentence ends. Short neighbouring paragraphs of one section
are packed together so that each chunk reads as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+|\n+")
TITLE_CHARS = 80


@dataclass(frozen=True, slots=True)
class Block:
    """A paragraph or a heading with its position (line, page or paragraph number)."""

    text: str
    start: int
    end: int
    level: int = 0  # 0: body text; 1..9: heading level


@dataclass(frozen=True, slots=True)
class Chunk:
    title: str  # heading path "장 > 절", or the first line when there is no heading
    body: str
    start: int
    end: int


def first_line(text: str, limit: int = TITLE_CHARS) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def split_sentences(text: str, max_chars: int) -> list[str]:
    """An oversized paragraph cut at sentence ends into pieces of at most ~max_chars."""
    pieces: list[str] = []
    current = ""
    for sentence in (s.strip() for s in _SENTENCE_END.split(text)):
        if not sentence:
            continue
        if current and len(current) + 1 + len(sentence) > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        pieces.append(current)
    return pieces


def pack(blocks: Sequence[Block], max_chars: int) -> list[list[Block]]:
    """Consecutive body blocks grouped greedily so that each group stays within max_chars."""
    expanded: list[Block] = []
    for block in blocks:
        if len(block.text) <= max_chars:
            expanded.append(block)
            continue
        for piece in split_sentences(block.text, max_chars):
            expanded.append(Block(piece, block.start, block.end))
    groups: list[list[Block]] = []
    size = 0
    for block in expanded:
        if groups and size + 2 + len(block.text) <= max_chars:
            groups[-1].append(block)
            size += 2 + len(block.text)
        else:
            groups.append([block])
            size = len(block.text)
    return groups


def _chunks(path: list[str], blocks: list[Block], start: int | None, max_chars: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    for number, group in enumerate(pack(blocks, max_chars)):
        body = "\n\n".join(block.text for block in group)
        title = " > ".join(path) if path else first_line(body)
        first = group[0].start if number or start is None else min(start, group[0].start)
        chunks.append(Chunk(title=title, body=body, start=first, end=group[-1].end))
    return chunks


def sections(blocks: Sequence[Block], max_chars: int) -> list[Chunk]:
    """Chunks of a headed document: every section's paragraphs under its heading path."""
    chunks: list[Chunk] = []
    stack: list[tuple[int, str]] = []
    body: list[Block] = []
    heading_start: int | None = None
    for block in blocks:
        if block.level == 0:
            body.append(block)
            continue
        chunks += _chunks([t for _, t in stack], body, heading_start, max_chars)
        body = []
        while stack and stack[-1][0] >= block.level:
            stack.pop()
        stack.append((block.level, block.text.strip()))
        heading_start = block.start
    chunks += _chunks([t for _, t in stack], body, heading_start, max_chars)
    return chunks
