"""Pack the best hits into an LLM context within a token budget.

Whole units only (a cut function teaches the model nothing about conventions); short units
let more of them in; a few per file at most, so one big file does not crowd out the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ragcode.chat.references import display_summary
from ragcode.domain import Hit
from ragcode.retrieve.imports import import_line

# Code averages ~3.2 characters per token with Qwen's tokenizer; err on the safe side.
CHARS_PER_TOKEN = 3.0


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


@dataclass(frozen=True, slots=True)
class PackedContext:
    hits: list[Hit]  # the units in the context, in the order given to the model
    text: str
    tokens: int


def render_unit(number: int, hit: Hit) -> str:
    unit = hit.record
    header = f"[{number}] {unit.path}:{unit.start_line}-{unit.end_line} {unit.title} ({unit.kind})"
    # The description only: the search-term and expected-question lines under it are for
    # retrieval, and a small model copies them into its answer ("예상 질문: ...").
    description = display_summary(hit.summary)
    summary = f"\n설명: {description}" if description else ""
    importing = import_line(unit)
    usage = f"\nimport: {importing}" if importing else ""
    return f"{header}{summary}{usage}\n```{unit.language}\n{unit.body}\n```"


def pack_context(
    hits: Sequence[Hit],
    *,
    max_tokens: int,
    max_per_file: int = 3,
    small_file_units: int = 6,
) -> PackedContext:
    """Greedy by rank: a unit goes in if it fits whole and its file is not over its share."""
    per_file: dict[str, int] = {}
    file_sizes: dict[str, int] = {}
    for hit in hits:
        file_sizes[hit.record.path] = file_sizes.get(hit.record.path, 0) + 1
    chosen: list[Hit] = []
    blocks: list[str] = []
    used = 0
    for hit in hits:
        path = hit.record.path
        # A file whose every hit is short may contribute all of them.
        limit = (
            small_file_units
            if file_sizes[path] <= small_file_units and _short(hit)
            else max_per_file
        )
        if per_file.get(path, 0) >= limit:
            continue
        block = render_unit(len(chosen) + 1, hit)
        cost = estimate_tokens(block)
        if used + cost > max_tokens:
            continue  # a later, shorter unit may still fit
        chosen.append(hit)
        blocks.append(block)
        per_file[path] = per_file.get(path, 0) + 1
        used += cost
    return PackedContext(hits=chosen, text="\n\n".join(blocks), tokens=used)


def _short(hit: Hit) -> bool:
    return hit.record.end_line - hit.record.start_line < 15
