"""Turn parsed units into index entries: analysed tokens per field and embeddings."""

from __future__ import annotations

from collections.abc import Sequence

from ragcode.domain import CodeUnit, SummaryState, content_hash
from ragcode.embeddings.protocol import Embedder
from ragcode.store.protocol import IndexEntry, Vector
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
    doc = (unit.docstring or "").strip()[:600]
    return f"{words}. {doc} {signature_line(unit)}".strip()


def summary_embedding_text(unit: CodeUnit, summary: str) -> str:
    return f"{summary} ({' '.join(split_identifier(unit.name))})"


class EntryBuilder:
    def __init__(self, analyzer: TextAnalyzer, embedder: Embedder, collection: str = "code"):
        self._analyzer = analyzer
        self._embedder = embedder
        self._collection = collection

    @property
    def analyzer(self) -> TextAnalyzer:
        return self._analyzer

    def build(
        self,
        root: str,
        units: Sequence[CodeUnit],
        summaries: Sequence[tuple[str | None, SummaryState]],
    ) -> list[IndexEntry]:
        if not units:
            return []
        code_vectors = self._embedder.embed([code_embedding_text(unit) for unit in units])
        with_summary = [i for i, (summary, _) in enumerate(summaries) if summary]
        summary_vectors = self._embedder.embed(
            [summary_embedding_text(units[i], summaries[i][0] or "") for i in with_summary]
        )
        summary_vector_of = dict(zip(with_summary, summary_vectors, strict=True))
        entries = []
        for index, unit in enumerate(units):
            summary, state = summaries[index]
            entry = IndexEntry(
                uid=unit_uid(self._collection, root, unit),
                unit=unit,
                summary=summary,
                summary_state=state,
                tokens={
                    "summary": self._analyzer.analyze_text(summary or ""),
                    "doc": self._analyzer.analyze_text(unit.docstring or ""),
                    "code": self._analyzer.analyze_code(unit.code),
                    "identifiers": self._analyzer.analyze_identifiers([unit.name]),
                },
                vectors={"code": code_vectors[index]},
            )
            if index in summary_vector_of:
                entry.vectors["summary"] = summary_vector_of[index]
            entries.append(entry)
        return entries

    def summary_fields(self, unit: CodeUnit, summary: str) -> tuple[list[str], Vector]:
        vector = self._embedder.embed([summary_embedding_text(unit, summary)])[0]
        return self._analyzer.analyze_text(summary), vector
