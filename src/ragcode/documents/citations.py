"""Numbered document chunks: where each came from, as context for the LLM and as citations."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ragcode.chat.references import found_by
from ragcode.domain import Hit, Record

_HANGUL = re.compile(r"[가-힣]")
_CITATION = re.compile(r"\[(\d{1,2})\]")


def location(record: Record) -> str:
    """Human position of a chunk in its file: lines, record, page or paragraphs."""
    start, end = record.start_line, record.end_line
    span = str(start) if start == end else f"{start}-{end}"
    if record.language == "pdf":
        return f"{span}쪽"
    if record.language == "docx":
        return f"문단 {span}"
    if record.language == "json":
        return f"{span}번째 항목"
    return f"{span}행"


def render_chunk(number: int, hit: Hit) -> str:
    record = hit.record
    return f"[{number}] {record.title} (출처: {record.path} {location(record)})\n{record.body}"


def reference(number: int, hit: Hit) -> dict[str, object]:
    record = hit.record
    return {
        "number": number,
        "title": record.title,
        "source": record.path,
        "location": location(record),
        "kind": str(record.kind),
        "format": record.language,
        "start": record.start_line,
        "end": record.end_line,
        "score": hit.scores.final,
        "relevance": hit.scores.rerank,
        "retrievers": found_by(hit.scores),
        "text": record.body,
    }


def estimate_tokens(text: str) -> int:
    """Qwen spends about one token per Hangul syllable and one per ~3 other characters."""
    hangul = len(_HANGUL.findall(text))
    return hangul + (len(text) - hangul) // 3 + 1


@dataclass(frozen=True, slots=True)
class DocumentContext:
    hits: list[Hit]  # numbered [1], [2] ... in this order
    text: str


def pack_documents(hits: Sequence[Hit], *, max_tokens: int) -> DocumentContext:
    """Whole chunks by rank while they fit the budget (the best one always goes in)."""
    chosen: list[Hit] = []
    blocks: list[str] = []
    used = 0
    for hit in hits:
        block = render_chunk(len(chosen) + 1, hit)
        cost = estimate_tokens(block)
        if chosen and used + cost > max_tokens:
            continue
        chosen.append(hit)
        blocks.append(block)
        used += cost
    return DocumentContext(hits=chosen, text="\n\n".join(blocks))


def cited_numbers(answer: str, count: int) -> list[int]:
    """The [n] markers of an answer that point at one of the `count` documents, in order."""
    numbers = (int(match) for match in _CITATION.findall(answer))
    return list(dict.fromkeys(n for n in numbers if 1 <= n <= count))
