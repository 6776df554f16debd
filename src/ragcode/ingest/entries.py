"""Turn parsed records into index entries: analysed tokens per field and embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ragcode.domain import DOCSTRING, Record, SummaryState, content_hash
from ragcode.embeddings.protocol import Embedder
from ragcode.ingest.python_protocols import protocol_terms
from ragcode.store.protocol import VECTOR_FIELDS, IndexEntry, LexicalField, Vector, VectorField
from ragcode.text.analyzer import TextAnalyzer
from ragcode.text.identifiers import split_identifier


def unit_uid(collection: str, root: str, record: Record) -> str:
    """Unique across collections and roots; content-addressed so unchanged units keep it."""
    return content_hash(f"{collection}\n{root}\n{record.unit_id}")[:32]


def signature_line(record: Record) -> str:
    for line in record.body.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("@"):
            return stripped[:200]
    return ""


def code_embedding_text(record: Record) -> str:
    """What the code vector encodes: the name in words, the docstring and the signature.

    The sentence encoder understands prose, not code, so the name is spelled out as words.
    """
    words = " ".join(split_identifier(record.title))
    doc = described_doc(record)[:700]
    return f"{words}. {doc} {signature_line(record)}".strip()


def summary_embedding_text(record: Record, summary: str) -> str:
    return f"{summary} ({' '.join(split_identifier(record.title))})"


def described_doc(record: Record) -> str:
    """A code unit's docstring plus what a special method's name means (`__reduce__` ->
    pickle): nobody asks for a dunder by name. Not in the summary field: only a few units have
    such terms, and a sparse field would put them at the top of its ranked lists for every
    question."""
    docstring = record.metadata.get(DOCSTRING, "")
    parts = [docstring.strip()[:600], protocol_terms(record.title, record.language)]
    return " ".join(part for part in parts if part)


class EntryTexts(Protocol):
    """Which texts a record's vectors encode and its lexical fields hold (code or documents)."""

    def embedding_texts(self, record: Record, summary: str | None) -> dict[VectorField, str]: ...

    def tokens(
        self, analyzer: TextAnalyzer, record: Record, summary: str | None
    ) -> dict[LexicalField, list[str]]: ...


class CodeTexts:
    """Code units: the name in words + docstring + signature, and the LLM summary if any."""

    def embedding_texts(self, record: Record, summary: str | None) -> dict[VectorField, str]:
        texts: dict[VectorField, str] = {"code": code_embedding_text(record)}
        if summary:
            texts["summary"] = summary_embedding_text(record, summary)
        return texts

    def tokens(
        self, analyzer: TextAnalyzer, record: Record, summary: str | None
    ) -> dict[LexicalField, list[str]]:
        return {
            "summary": analyzer.analyze_text(summary or ""),
            "doc": analyzer.analyze_text(described_doc(record)),
            "code": analyzer.analyze_code(record.body),
            "identifiers": analyzer.analyze_identifiers([record.title]),
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
        records: Sequence[Record],
        summaries: Sequence[tuple[str | None, SummaryState]],
    ) -> list[IndexEntry]:
        if not records:
            return []
        vectors = self._embed_fields(records, [summary for summary, _ in summaries])
        entries = []
        for index, record in enumerate(records):
            summary, state = summaries[index]
            entry = IndexEntry(
                uid=unit_uid(self._collection, root, record),
                record=record,
                summary=summary,
                summary_state=state,
                tokens=self._texts.tokens(self._analyzer, record, summary),
                vectors={fld: of[index] for fld, of in vectors.items() if index in of},
            )
            entries.append(entry)
        return entries

    def _embed_fields(
        self, records: Sequence[Record], summaries: Sequence[str | None]
    ) -> dict[VectorField, dict[int, Vector]]:
        """One batched embedding call per vector field, over the records that have its text."""
        texts = [
            self._texts.embedding_texts(record, summaries[i]) for i, record in enumerate(records)
        ]
        vectors: dict[VectorField, dict[int, Vector]] = {}
        for fld in VECTOR_FIELDS:
            indices = [i for i, unit_texts in enumerate(texts) if fld in unit_texts]
            if indices:
                embedded = self._embedder.embed([texts[i][fld] for i in indices])
                vectors[fld] = dict(zip(indices, embedded, strict=True))
        return vectors

    def summary_fields(self, record: Record, summary: str) -> tuple[list[str], Vector]:
        vector = self._embedder.embed([summary_embedding_text(record, summary)])[0]
        return self._analyzer.analyze_text(summary), vector
