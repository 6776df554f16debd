"""Turn parsed units into index entries: analysed tokens per field and embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ragcode.domain import CodeUnit, SummaryState, content_hash
from ragcode.embeddings.protocol import Embedder
from ragcode.ingest.python_protocols import protocol_terms
from ragcode.store.protocol import VECTOR_FIELDS, IndexEntry, LexicalField, Vector, VectorField
from ragcode.text.analyzer import TextAnalyzer
from ragcode.text.identifiers import split_identifier


def unit_uid(collection: str, root: str, unit: CodeUnit) -> str:
    """Unique across collections and roots; content-addressed so unchanged units keep it."""
    return content_hash(f"{collection}\n{root}\n{unit.unit_id}")[:32]


def signature_line(unit: CodeUnit) -> str:
    for line in unit.code.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("@"):
            return stripped[:200]
    return ""


def code_embedding_text(unit: CodeUnit) -> str:
    """What the code vector encodes: the name in words, the docstring and the signature.

    The sentence encoder understands prose, not code, so the name is spelled out as words.
    """
    words = " ".join(split_identifier(unit.name))
    doc = described_doc(unit)[:700]
    return f"{words}. {doc} {signature_line(unit)}".strip()


def summary_embedding_text(unit: CodeUnit, summary: str) -> str:
    return f"{summary} ({' '.join(split_identifier(unit.name))})"


def described_doc(unit: CodeUnit) -> str:
    """The docstring plus what a special method's name means (`__reduce__` -> pickle): nobody
    asks for a dunder by name. Not in the summary field: only a few units have such terms,
    and a sparse field would put them at the top of its ranked lists for every question."""
    parts = [(unit.docstring or "").strip()[:600], protocol_terms(unit.name, unit.language)]
    return " ".join(part for part in parts if part)


class EntryTexts(Protocol):
    """Which texts a unit's vectors encode and its lexical fields hold (code or documents)."""

    def embedding_texts(self, unit: CodeUnit, summary: str | None) -> dict[VectorField, str]: ...

    def tokens(
        self, analyzer: TextAnalyzer, unit: CodeUnit, summary: str | None
    ) -> dict[LexicalField, list[str]]: ...


class CodeTexts:
    """Code units: the name in words + docstring + signature, and the LLM summary if any."""

    def embedding_texts(self, unit: CodeUnit, summary: str | None) -> dict[VectorField, str]:
        texts: dict[VectorField, str] = {"code": code_embedding_text(unit)}
        if summary:
            texts["summary"] = summary_embedding_text(unit, summary)
        return texts

    def tokens(
        self, analyzer: TextAnalyzer, unit: CodeUnit, summary: str | None
    ) -> dict[LexicalField, list[str]]:
        return {
            "summary": analyzer.analyze_text(summary or ""),
            "doc": analyzer.analyze_text(described_doc(unit)),
            "code": analyzer.analyze_code(unit.code),
            "identifiers": analyzer.analyze_identifiers([unit.name]),
        }


class EntryBuilder:
    def __init__(
        self,
        analyzer: TextAnalyzer,
        embedder: Embedder,
        collection: str = "code",
        texts: EntryTexts | None = None,
    ):
        self._analyzer = analyzer
        self._embedder = embedder
        self._collection = collection
        self._texts: EntryTexts = texts or CodeTexts()

    @property
    def analyzer(self) -> TextAnalyzer:
        return self._analyzer

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def build(
        self,
        root: str,
        units: Sequence[CodeUnit],
        summaries: Sequence[tuple[str | None, SummaryState]],
    ) -> list[IndexEntry]:
        if not units:
            return []
        vectors = self._embed_fields(units, [summary for summary, _ in summaries])
        entries = []
        for index, unit in enumerate(units):
            summary, state = summaries[index]
            entry = IndexEntry(
                uid=unit_uid(self._collection, root, unit),
                unit=unit,
                summary=summary,
                summary_state=state,
                tokens=self._texts.tokens(self._analyzer, unit, summary),
                vectors={fld: of[index] for fld, of in vectors.items() if index in of},
            )
            entries.append(entry)
        return entries

    def _embed_fields(
        self, units: Sequence[CodeUnit], summaries: Sequence[str | None]
    ) -> dict[VectorField, dict[int, Vector]]:
        """One batched embedding call per vector field, over the units that have its text."""
        texts = [self._texts.embedding_texts(unit, summaries[i]) for i, unit in enumerate(units)]
        vectors: dict[VectorField, dict[int, Vector]] = {}
        for fld in VECTOR_FIELDS:
            indices = [i for i, unit_texts in enumerate(texts) if fld in unit_texts]
            if indices:
                embedded = self._embedder.embed([texts[i][fld] for i in indices])
                vectors[fld] = dict(zip(indices, embedded, strict=True))
        return vectors

    def summary_fields(self, unit: CodeUnit, summary: str) -> tuple[list[str], Vector]:
        vector = self._embedder.embed([summary_embedding_text(unit, summary)])[0]
        return self._analyzer.analyze_text(summary), vector
