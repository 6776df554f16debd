"""A Korean summary of an uploaded document: per part for long ones, then overall.

A short document is summarised in one streamed call. A long one is cut into at most
`max_parts` parts of neighbouring chunks (sections, pages, FAQ records); every part is
summarised on its own, all at once (the embedded model decodes them in one batch), and the
overall summary is streamed from those part summaries. A part longer than the prompt allows
keeps every chunk's title and an equal share of each chunk's text, so the end of a long part
is not silently dropped in favour of its beginning.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ragcode.chat.language import Lang
from ragcode.chat.prompts import doc_summary as prompts
from ragcode.domain import Record
from ragcode.llm.protocol import LLM, ChatMessage


@dataclass(frozen=True, slots=True)
class SummaryLimits:
    part_chars: int = 2400  # of document text per prompt (~2k tokens of Korean)
    max_parts: int = 8  # the embedded model's batch decodes 8 at once
    part_tokens: int = 200
    overall_tokens: int = 400


@dataclass(frozen=True, slots=True)
class PartSummary:
    index: int  # 1-based
    total: int
    title: str  # the first chunk's title
    text: str


@dataclass(frozen=True, slots=True)
class SummaryDelta:
    text: str  # the next piece of the overall summary


@dataclass(frozen=True, slots=True)
class DocumentSummary:
    name: str
    title: str  # "문서 요약: <name>"
    parts: tuple[PartSummary, ...]
    text: str  # the overall summary

    def as_markdown(self) -> str:
        """The summary as it is stored and shown: heading, overall text, part summaries."""
        lines = [f"## {self.title}", "", self.text.strip()]
        for part in self.parts:
            lines += ["", f"### {part.index}/{part.total}. {part.title}", "", part.text.strip()]
        return "\n".join(lines)


SummaryEvent = PartSummary | SummaryDelta | DocumentSummary


def split_parts(chunks: Sequence[Record], limits: SummaryLimits) -> list[list[Record]]:
    """Neighbouring chunks grouped into at most `max_parts` parts of about `part_chars`."""
    total = sum(len(chunk.body) for chunk in chunks)
    wanted = min(limits.max_parts, max(1, -(-total // limits.part_chars)), max(1, len(chunks)))
    size = total / wanted
    parts: list[list[Record]] = [[]]
    filled = 0
    for chunk in chunks:
        if parts[-1] and filled + len(chunk.body) / 2 > size * len(parts) and len(parts) < wanted:
            parts.append([])
        parts[-1].append(chunk)
        filled += len(chunk.body)
    return [part for part in parts if part]


def part_text(part: Sequence[Record], budget: int) -> str:
    """The part's text within about `budget` characters, in document order: every chunk
    keeps its beginning (a chunk's text starts with its title) and an equal share of the
    budget; a chunk shorter than its share leaves the rest to the others."""
    texts = [chunk.body for chunk in part]
    if sum(len(text) for text in texts) <= budget:
        return "\n\n".join(texts)
    shares = fair_shares([len(text) for text in texts], budget)
    return "\n\n".join(
        text if len(text) <= share else text[:share].rstrip() + " …"
        for text, share in zip(texts, shares, strict=True)
    )


def fair_shares(lengths: Sequence[int], budget: int) -> list[int]:
    """How much of each length fits: shortest first, each at most an equal share of what
    is left."""
    shares = [0] * len(lengths)
    left = budget
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    for rank, index in enumerate(order):
        shares[index] = min(lengths[index], left // (len(lengths) - rank))
        left -= shares[index]
    return shares


class DocumentSummarizer:
    def __init__(self, llm: Callable[[], LLM], limits: SummaryLimits = SummaryLimits()) -> None:
        self._llm = llm
        self._limits = limits

    def summarize(
        self, name: str, chunks: Sequence[Record], lang: Lang = "ko"
    ) -> Iterator[SummaryEvent]:
        """Part summaries as they finish (long documents), the overall summary piece by piece,
        then the whole `DocumentSummary`. Raises `LLMError` when the LLM fails."""
        ko = lang == "ko"
        title = (prompts.TITLE_KO if ko else prompts.TITLE_EN).format(name=name)
        parts = split_parts(chunks, self._limits)
        summaries: list[PartSummary] = []
        system = prompts.SYSTEM_KO if ko else prompts.SYSTEM_EN
        if len(parts) == 1:
            text = part_text(parts[0], self._limits.part_chars)
            user = (prompts.OVERALL_USER_KO if ko else prompts.OVERALL_USER_EN).format(
                name=name, text=text
            )
        else:
            yield from (summaries := self._summarize_parts(name, parts, lang))
            joined = "\n".join(f"{p.index}. {p.title}: {p.text}" for p in summaries)
            template = (
                prompts.OVERALL_FROM_PARTS_USER_KO if ko else prompts.OVERALL_FROM_PARTS_USER_EN
            )
            user = template.format(name=name, text=joined[: self._limits.part_chars])
            system = prompts.PARTS_SYSTEM_KO if ko else prompts.PARTS_SYSTEM_EN
        pieces: list[str] = []
        for piece in self._llm().stream(
            [ChatMessage("system", system), ChatMessage("user", user)],
            max_tokens=self._limits.overall_tokens, temperature=0.0,
        ):  # fmt: skip
            pieces.append(piece)
            yield SummaryDelta(piece)
        yield DocumentSummary(name, title, tuple(summaries), "".join(pieces).strip())

    def _summarize_parts(
        self, name: str, parts: Sequence[Sequence[Record]], lang: Lang
    ) -> list[PartSummary]:
        """Every part at once, one thread each (the embedded model's batch decodes them
        together; a remote pool spreads them), in document order."""
        ko = lang == "ko"
        system = prompts.SYSTEM_KO if ko else prompts.SYSTEM_EN
        template = prompts.SECTION_USER_KO if ko else prompts.SECTION_USER_EN
        llm = self._llm()
        results: list[str | BaseException | None] = [None] * len(parts)

        def one(index: int) -> None:
            text = part_text(parts[index], self._limits.part_chars)
            user = template.format(name=name, index=index + 1, total=len(parts), text=text)
            messages = [ChatMessage("system", system), ChatMessage("user", user)]
            tokens = self._limits.part_tokens
            try:
                pieces = llm.stream(messages, max_tokens=tokens, temperature=0.0)
                results[index] = "".join(pieces).strip()
            except BaseException as exc:  # handed to the caller's thread below
                results[index] = exc

        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(parts))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        summaries = []
        for index, result in enumerate(results):
            if isinstance(result, BaseException):
                raise result
            summaries.append(
                PartSummary(index + 1, len(parts), parts[index][0].title, result or "")
            )
        return summaries
