"""The store port: units with their lexical tokens and vectors, searchable both ways."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from ragcode.domain import (
    TEAM_ONLY,
    TEAM_SCOPE,
    CodeUnit,
    IndexStatus,
    SkippedFile,
    StoredUnit,
    SummaryState,
)

LexicalField = Literal["summary", "doc", "code", "identifiers"]
VectorField = Literal["code", "summary"]
LEXICAL_FIELDS: tuple[LexicalField, ...] = ("summary", "doc", "code", "identifiers")
VECTOR_FIELDS: tuple[VectorField, ...] = ("code", "summary")

Vector = npt.NDArray[np.float32]


class StoreError(RuntimeError):
    """The store cannot be opened or written (disk full, corrupt file, server down)."""


class EmbedderMismatchError(StoreError):
    """A collection's vectors come from another embedding model than the configured one."""


@dataclass(slots=True)
class IndexEntry:
    """A unit ready to be written: the analysis and embeddings are done by ingestion."""

    uid: str
    unit: CodeUnit
    summary: str | None
    summary_state: SummaryState
    tokens: dict[LexicalField, list[str]] = field(default_factory=dict)
    vectors: dict[VectorField, Vector] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FileRecord:
    root: str
    path: str
    file_hash: str
    language: str
    scope: str = TEAM_SCOPE  # who may find the file's units (domain.user_scope for uploads)


@dataclass(frozen=True, slots=True)
class ScoredId:
    uid: str
    score: float


class EmbedderClaim(Protocol):
    def claim_embedder(self, name: str, dim: int) -> None:
        """Record which embedding model this collection's vectors come from; raise
        EmbedderMismatchError when they come from another one (vectors of two models
        cannot be compared). An empty collection takes any model."""
        ...


class SummaryCache(Protocol):
    def cached_summary(self, code_hash: str) -> str | None: ...


class IndexWriter(EmbedderClaim, SummaryCache, Protocol):
    """What ingestion needs: files per indexed root, atomically replaced or removed."""

    def roots(self) -> list[str]: ...

    def file_hashes(self, root: str) -> dict[str, str]: ...

    def skipped_paths(self, root: str) -> list[str]: ...

    def replace_file(self, record: FileRecord, entries: Sequence[IndexEntry]) -> None:
        """Atomically replace every unit of one file (a crash leaves old or new, never half)."""
        ...

    def remove_files(self, root: str, paths: Iterable[str]) -> int: ...

    def set_skipped(self, root: str, skipped: SkippedFile) -> None: ...

    def set_scope(self, root: str, scope: str) -> int:
        """Move every unit of one indexed root to another owner scope (sharing an upload
        with the team, or taking it back); returns the number of units moved."""
        ...


class SummaryQueue(SummaryCache, Protocol):
    """What the summary runner needs: units waiting for the LLM, and where results go."""

    def units_needing_summary(self, *, include_failed: bool, limit: int) -> list[StoredUnitRef]: ...

    def set_summary(
        self,
        uid: str,
        *,
        summary: str | None,
        state: SummaryState,
        tokens: list[str],
        vector: Vector | None,
        model: str,
    ) -> None: ...


class SearchIndex(EmbedderClaim, Protocol):
    """What retrieval needs. `scopes`: the owner scopes the caller may see, applied inside
    the query before the `limit` cut; the team's alone unless a caller says otherwise."""

    def lexical_search(
        self,
        fld: LexicalField,
        tokens: Sequence[str],
        limit: int,
        scopes: Sequence[str] = TEAM_ONLY,
    ) -> list[ScoredId]: ...

    def vector_search(
        self, fld: VectorField, query: Vector, limit: int, scopes: Sequence[str] = TEAM_ONLY
    ) -> list[ScoredId]: ...

    def stored_vectors(self, uids: Sequence[str]) -> dict[str, list[Vector]]: ...

    def get_units(self, uids: Sequence[str]) -> dict[str, StoredUnit]: ...


class CodeStore(IndexWriter, SummaryQueue, SearchIndex, Protocol):
    """One collection of a store backend: every narrow port above, plus its status."""

    def status(self) -> IndexStatus: ...

    def export_summary_cache(self) -> list[tuple[str, str, str]]:
        """(code_hash, summary, model) rows, e.g. to ship summaries beside a dataset."""
        ...

    def import_summary_cache(self, rows: Iterable[tuple[str, str, str]]) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredUnitRef:
    uid: str
    unit: CodeUnit
