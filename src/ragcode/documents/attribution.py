"""Citations attached after generation: each sentence of an answer matched to the chunks it
draws on.

The small embedded model often leaves out the [n] markers the prompt asks for (eval/README.md:
the right record was cited in a third of the answers that used it). Here every sentence is
compared with the numbered chunks the model read, by the content morphemes they share and by
the cosine of their embeddings; a sentence without a valid marker gets the best chunk's [n]
when the match clears a threshold chosen on eval/bank_faq_ko.jsonl, or, a little below it,
when that best chunk is the only one holding the sentence's numbers. Markers pointing at no
chunk are removed; the model's valid markers are kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ragcode.embeddings import local_e5
from ragcode.embeddings.protocol import Embedder

# Chosen on eval/bank_faq_ko.jsonl (the tuning set for this; see eval/README.md), on the
# answers of the 0.5B model: combined = 0.5 * share of the sentence's content morphemes found in
# the chunk + 0.5 * e5 cosine. Unrelated sentences ("네.", "(출처: ...)") scored 0.41-0.44,
# sentences taken from a chunk mostly >= 0.9, invented answers to unanswerable questions 0.61
# and 0.70; 0.75 is the highest threshold that still cites as many right records as any lower.
CALIBRATED = {local_e5.MODEL_NAME: 0.75}
LEXICAL_WEIGHT = 0.5
# Other embedders put unrelated sentences elsewhere on the cosine scale: there only the
# morphemes count (on the same answers 0.65 kept the most right records, 0.759 against 0.776).
LEXICAL_ONLY_THRESHOLD = 0.65

# A sentence below the threshold whose numbers (amounts, limits, rates of two digits or
# more) all occur in its best chunk and in no other takes that chunk when it scores at least
# this: a figure an answer repeats comes from where it is written. Chosen on
# eval/bank_faq_ko.jsonl with the 1.5B model ("현금인출기 이용 수수료는 500원입니다." scored 0.700
# against the ATM record, the only one with 500), above unrelated sentences (0.41-0.44) and a
# sentence sharing only a price with a chunk (0.63, tests/unit/test_attribution.py); an
# invented answer (0.61, 0.70 with the 0.5B model) is cited only if its figure is the best
# chunk's alone. e5 scores only: with other embedders the rule is off.
NUMBER_FLOOR = {local_e5.MODEL_NAME: 0.65}
# 1,300 / 3.15 / 100만 as one number each (a Korean unit word is part of it: 100만 is not 100).
_NUMBER = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*[만천억조])?")

_MARKER = re.compile(r"\[(\d{1,2})\]")
_MARKERS_AFTER = re.compile(r"(?:[ \t]*\[\d{1,2}\])+")
_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)", re.M | re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
# A sentence ends at . ? ! (or their full-width forms) followed by a blank or the end; a
# Korean sentence usually ends in 다./요./니다., which this covers without a word list.
_END = re.compile(r"[.?!。？！]+(?=\s|$)")
_LIST_NUMBER = re.compile(r"^[ \t]*\d{1,3}$")  # "1." opening a numbered list item
# Morphemes every Korean answer uses whatever its source ("하다", "있다", "수", "것").
_GENERIC = frozenset({"하", "되", "있", "없", "수", "것", "등", "때", "경우", "이", "그", "저"})


class Tokenizer(Protocol):
    def analyze_text(self, text: str) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int  # offsets in the answer text
    end: int

    def text(self, answer: str) -> str:
        return answer[self.start : self.end]


@dataclass(frozen=True, slots=True)
class SentenceSources:
    """One sentence of the final answer (offsets into it) and the chunk numbers it cites."""

    index: int
    start: int
    end: int
    sources: list[int]

    def as_dict(self) -> dict[str, object]:
        return {"index": self.index, "start": self.start, "end": self.end, "sources": self.sources}


@dataclass(frozen=True, slots=True)
class Attributed:
    answer: str  # with markers added and invalid ones removed
    sentences: list[SentenceSources]
    cited: list[int]  # every valid [n] of `answer`, in order of first use


def _fences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _FENCE.finditer(text)]


def _protected(text: str) -> list[tuple[int, int]]:
    """Spans no sentence boundary or marker edit may fall in: code blocks and inline code."""
    fences = _fences(text)
    inline = [(m.start(), m.end()) for m in _INLINE_CODE.finditer(text)]
    return fences + [span for span in inline if not _inside(span[0], fences)]


def _inside(position: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


def _cut_points(text: str) -> list[int]:
    """Offsets where one sentence ends and the next may start; a code block is a sentence."""
    spans = _protected(text)
    cuts = [offset for span in _fences(text) for offset in span]
    for match in _END.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if _inside(match.start(), spans) or _LIST_NUMBER.match(text[line_start : match.start()]):
            continue
        after = _MARKERS_AFTER.match(text, match.end())  # "...입니다. [2]" keeps its marker
        cuts.append(after.end() if after else match.end())
    cuts += [m.start() for m in re.finditer("\n", text) if not _inside(m.start(), spans)]
    return sorted(set(cuts))


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of an answer, blanks trimmed; code blocks and inline code are never split."""
    sentences: list[Sentence] = []
    start = 0
    for cut in [*_cut_points(text), len(text)]:
        piece = text[start:cut]
        stripped = piece.strip()
        if stripped:
            left = start + len(piece) - len(piece.lstrip())
            sentences.append(Sentence(left, left + len(stripped)))
        start = max(start, cut)
    return sentences


class SentenceAttributor:
    """Matches answer sentences to the chunks given to the LLM (see the module docstring)."""

    def __init__(self, analyzer: Tokenizer, embedder: Embedder) -> None:
        self._analyzer = analyzer
        self._embedder = embedder
        calibrated = CALIBRATED.get(embedder.name)
        self._lexical_weight = LEXICAL_WEIGHT if calibrated is not None else 1.0
        self.threshold = calibrated if calibrated is not None else LEXICAL_ONLY_THRESHOLD
        self.number_floor = NUMBER_FLOOR.get(embedder.name)

    def scores(self, sentences: Sequence[str], chunks: Sequence[str]) -> np.ndarray:
        """(sentences x chunks) combined scores in [0, 1]."""
        if not sentences or not chunks:
            return np.zeros((len(sentences), len(chunks)), dtype=np.float32)
        lexical = self._lexical(sentences, chunks)
        if self._lexical_weight == 1.0:
            return lexical
        vectors = self._embedder.embed([*sentences, *chunks])
        cosine = np.clip(vectors[: len(sentences)] @ vectors[len(sentences) :].T, 0.0, 1.0)
        weight = self._lexical_weight
        combined: np.ndarray = weight * lexical + (1 - weight) * cosine
        return combined

    def _lexical(self, sentences: Sequence[str], chunks: Sequence[str]) -> np.ndarray:
        """Share of a sentence's content morphemes that also occur in the chunk."""
        chunk_tokens = [self._content(chunk) for chunk in chunks]
        table = np.zeros((len(sentences), len(chunks)), dtype=np.float32)
        for row, sentence in enumerate(sentences):
            tokens = self._content(sentence)
            for column, vocabulary in enumerate(chunk_tokens):
                if tokens:
                    table[row, column] = len(tokens & vocabulary) / len(tokens)
        return table

    def _content(self, text: str) -> set[str]:
        return set(self._analyzer.analyze_text(_MARKER.sub(" ", text))) - _GENERIC

    def _source(self, sentence: str, chunks: Sequence[str], row: np.ndarray) -> int | None:
        """The chunk a sentence without a marker draws on, or None: the best match when it
        clears the threshold, or when it scores at least the number floor and is the only
        chunk holding all of the sentence's numbers."""
        best = int(np.argmax(row))
        if row[best] >= self.threshold:
            return best
        if self.number_floor is None or row[best] < self.number_floor:
            return None
        wanted = numbers(sentence)
        if not wanted:
            return None
        holders = [i for i, chunk in enumerate(chunks) if wanted <= numbers(chunk)]
        return best if holders == [best] else None

    def attribute(self, answer: str, chunks: Sequence[str]) -> Attributed:
        """`chunks`: the bodies numbered [1], [2] ... as the LLM read them."""
        sentences = split_sentences(answer)
        texts = [_MARKER.sub("", s.text(answer)).strip() for s in sentences]
        table = self.scores(texts, chunks)
        pieces: list[str] = []
        result: list[SentenceSources] = []
        position = 0
        for index, sentence in enumerate(sentences):
            pieces.append(_drop_invalid(answer[position : sentence.start], len(chunks)))
            text = _drop_invalid(sentence.text(answer), len(chunks))
            sources = list(dict.fromkeys(markers(text)))
            if not sources and texts[index] and len(chunks):
                best = self._source(texts[index], chunks, table[index])
                if best is not None:
                    sources = [best + 1]
                    text = _with_marker(text, best + 1)
            start = sum(len(piece) for piece in pieces)
            pieces.append(text)
            result.append(SentenceSources(index, start, start + len(text), sources))
            position = sentence.end
        pieces.append(_drop_invalid(answer[position:], len(chunks)))
        final = "".join(pieces)
        cited = list(dict.fromkeys(n for s in result for n in s.sources))
        return Attributed(final, result, cited)


def numbers(text: str) -> set[str]:
    """The numbers of two digits or more in a text outside its [n] markers and its code
    ("1,300" as "1300", "3.15", "100만"); one digit ("1회", "2개") says too little about where
    a sentence came from, and a number in code (a port, `range(10)`) is the model's own."""
    for start, end in sorted(_protected(text), reverse=True):
        text = text[:start] + " " + text[end:]
    found = (re.sub(r"[,\s]", "", m.group()) for m in _NUMBER.finditer(_MARKER.sub(" ", text)))
    return {number for number in found if sum(ch.isdigit() for ch in number) >= 2}


def _drop_invalid(text: str, count: int) -> str:
    """Markers that point at no chunk removed (with the blank before them); code untouched."""
    spans = _protected(text)

    def keep(match: re.Match[str]) -> str:
        valid = 1 <= int(match.group(1)) <= count
        return match.group() if valid or _inside(match.end() - 1, spans) else ""

    return re.sub(r"[ \t]?\[(\d{1,2})\]", keep, text)


def markers(text: str) -> list[int]:
    """The [n] of a text outside its code."""
    spans = _protected(text)
    found = (m for m in _MARKER.finditer(text) if not _inside(m.start(), spans))
    return [int(m.group(1)) for m in found]


def _with_marker(sentence: str, number: int) -> str:
    """The marker before the sentence's closing punctuation ("...입니다 [2]."), or at the end
    of a code block or a sentence without one."""
    if sentence.startswith(("```", "~~~")):
        return f"{sentence}\n[{number}]"
    ending = re.search(r"[.?!。？！]+$", sentence)
    if ending is None:
        return f"{sentence} [{number}]"
    return f"{sentence[: ending.start()]} [{number}]{sentence[ending.start() :]}"
