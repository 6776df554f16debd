"""The store port: records (code units and document chunks alike, domain.Record) with their
lexical tokens and vectors, searchable both ways. An adapter keeps every field of a record,
its metadata included, exactly as written; what the fields mean is ingestion's business."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from ragcode.domain import (
    TEAM_ONLY,
    TEAM_SCOPE,
    IndexStatus,
    Record,
    SkippedFile,
    StoredRecord,
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
    """A record ready to be written: the analysis and embeddings are done by ingestion."""

    uid: str
    record: Record
    summary: str | None  # the record's description (see StoredRecord)
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


# The prompt version of summary-cache rows written before the cache was keyed by prompt and
# model (SQLite schema 6, PostgreSQL 4): kept, exported, never reused as a current summary.
LEGACY_PROMPT = "legacy"


@dataclass(frozen=True, slots=True)
class SummaryOrigin:
    """What writes a summary: the version of the prompt (ingest/summary_prompt.py) and the
    name of the LLM's model (`LLM.name`). With the code hash, the key of the summary cache:
    a summary is reused only for the same code, prompt and model."""

    prompt: str
    model: str


@dataclass(frozen=True, slots=True)
class CachedSummary:
    """One row of the summary cache, as exported and imported (`ragcode migrate`, the
    evaluation's summary file)."""

    code_hash: str
    prompt: str
    model: str  # the model that wrote it
    summary: str


class SummaryCache(Protocol):
    def cached_summary(self, code_hash: str, origin: SummaryOrigin) -> str | None:
        """The summary this code got from this prompt version and model, if any (None for
        an origin without a model name)."""
        ...


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

    def summary_states(self, root: str) -> dict[str, SummaryState]:
        """Every unit of one indexed root and how far its summary got (an upload's progress)."""
        ...

    def set_scope(self, root: str, scope: str) -> int:
        """Move every unit of one indexed root to another owner scope (sharing an upload
        with the team, or taking it back); returns the number of units moved."""
        ...

    def bulk_writes(self, wait_for_lexicon: bool = False) -> AbstractContextManager[None]:
        """Many writes in a row follow (a whole indexing run): the store may leave index
        maintenance to the end of the block. Every write still commits on its own, and a
        search in between still finds it (maybe more slowly). `wait_for_lexicon`: the end
        of the block also waits for index work the store does in the background (a CLI
        process exits right after it); a store without such work ignores it."""
        ...


class SummaryQueue(SummaryCache, Protocol):
    """Units waiting for the LLM, and where results go."""

    def units_needing_summary(self, *, include_failed: bool, limit: int) -> list[RecordRef]: ...

    def set_summary(
        self,
        uid: str,
        *,
        summary: str | None,
        state: SummaryState,
        tokens: list[str],
        vector: Vector | None,
        model: str,
        worker: str | None = None,
        prompt: str | None = None,
    ) -> bool:
        """Write a unit's summary (DONE) or its failure (FAILED: one more attempt, retried
        after a back-off, see store/claims.py) and free its lease. With `worker`, only while
        that worker holds the unit's lease: False when the lease was lost (it expired and
        another worker took the unit, or the unit was re-indexed), so a late result never
        overwrites another's. False too when the unit is gone. A DONE summary written with
        its `prompt` version is also cached under (code hash, prompt, `model`): `model` is
        the one that wrote it, also when the summary itself came from the cache; nothing is
        cached without a model name."""
        ...


class SummaryClaims(Protocol):
    """The shared summary queue: any number of processes take units under a lease.

    A claimed unit belongs to its worker until `now + lease_s`; the worker renews the leases
    of the units it still holds, and a unit whose lease ran out (its worker died) is claimed
    by the next worker that asks. Time is the database's clock (PostgreSQL) or the machine's
    (SQLite, one machine), never the workers' own."""

    def claim_summaries(
        self, worker: str, limit: int, lease_s: float, first_root: str | None = None
    ) -> list[RecordRef]:
        """Atomically lease up to `limit` units: pending ones, and failed ones whose retry is
        due, whose lease is free or expired; in (root, path, line) order, the units of
        `first_root` (an upload its owner is waiting for) before all others."""
        ...

    def renew_leases(self, worker: str, uids: Sequence[str], lease_s: float) -> set[str]:
        """Extend this worker's leases on `uids`; returns those it still holds."""
        ...

    def release_leases(self, worker: str) -> int:
        """Give back every unit this worker holds and has not written (clean shutdown)."""
        ...

    def retry_failed(self) -> int:
        """Make every failed unit claimable now, whatever its attempts (`ragcode index`,
        `ragcode worker --retry-failed`); returns how many."""
        ...


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    """What a summarizing process says about itself on each heartbeat."""

    id: str
    host: str
    pid: int
    started: float  # time.time() of the machine the worker runs on
    lease_s: float  # a worker silent for two leases is taken for dead
    done: int  # summaries written since it started (LLM and cache)
    failed: int


@dataclass(frozen=True, slots=True)
class WorkerState:
    id: str
    host: str
    pid: int
    started: float
    last_seen: float  # the store's clock
    done: int
    failed: int


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """The summary queue of one collection, for `ragcode status` and the runners."""

    pending: int  # waiting, no live lease
    leased: int  # being summarized now (live lease)
    retrying: int  # failed, retried automatically once its back-off is over
    gave_up: int  # failed too often: waits for `ragcode index` or `worker --retry-failed`
    ready: int  # claimable right now (pending, and failed ones whose retry is due)
    workers: list[WorkerState]  # alive: a heartbeat within two of their leases
    recent: int  # summaries written within `window_s`
    window_s: float

    @property
    def failed(self) -> int:
        return self.retrying + self.gave_up

    @property
    def per_minute(self) -> float:
        return self.recent * 60.0 / self.window_s if self.window_s > 0 else 0.0


class WorkerRegistry(Protocol):
    """Who is summarizing: one row per runner, refreshed by its heartbeat."""

    def worker_heartbeat(self, beat: WorkerBeat) -> None: ...

    def worker_stopped(self, worker: str) -> None: ...

    def queue_status(self, window_s: float = 600.0) -> QueueStatus: ...


class SummaryWork(SummaryQueue, SummaryClaims, WorkerRegistry, Protocol):
    """What a summary runner needs: the queue, its leases, and the worker registry."""


class SearchIndex(EmbedderClaim, Protocol):
    """What retrieval needs. `scopes`: the owner scopes the caller may see, applied inside
    the query before the `limit` cut; the team's alone unless a caller says otherwise.
    `languages`: only records of these languages (`Record.language`), also applied before
    the cut; None: any language (issue 15.2, choosing the code language)."""

    def lexical_search(
        self,
        fld: LexicalField,
        tokens: Sequence[str],
        limit: int,
        scopes: Sequence[str] = TEAM_ONLY,
        languages: Sequence[str] | None = None,
    ) -> list[ScoredId]: ...

    def vector_search(
        self,
        fld: VectorField,
        query: Vector,
        limit: int,
        scopes: Sequence[str] = TEAM_ONLY,
        languages: Sequence[str] | None = None,
    ) -> list[ScoredId]: ...

    def vector_search_many(
        self,
        fld: VectorField,
        queries: Sequence[Vector],
        limit: int,
        scopes: Sequence[str] = TEAM_ONLY,
        languages: Sequence[str] | None = None,
    ) -> list[list[ScoredId]]:
        """`vector_search` of each query, in order (the embedded store scores them in one pass
        over its vectors: the question, its glossary words and its expansion together)."""
        ...

    def languages(self, scopes: Sequence[str] = TEAM_ONLY) -> dict[str, int]:
        """Records per language among those `scopes` may see (the web's language choice)."""
        ...

    def stored_vectors(self, uids: Sequence[str]) -> dict[str, list[Vector]]: ...

    def code_hashes(self, uids: Sequence[str], scopes: Sequence[str]) -> dict[str, str]:
        """`Record.code_hash` of each of these ids that `scopes` may see (missing ones left
        out): the search drops copies of the same code among its ~50 candidates from this
        before it reads the records of the few it returns (`get_units`)."""
        ...

    def get_units(
        self, uids: Sequence[str], scopes: Sequence[str] | None = None
    ) -> dict[str, StoredRecord]:
        """The records stored under these ids, with their descriptions (missing ones left out);
        with `scopes`, only those the owner scopes may see (the search's own ids came from
        scoped lists, but a root made private since must not be read back for another user).
        None: any scope (the caller's ids are its own, e.g. an upload's units)."""
        ...

    def units_in_file(self, path: str, scopes: Sequence[str] = TEAM_ONLY) -> list[StoredRecord]:
        """Every unit stored under this exact file path (in any root) that `scopes` may see,
        in file order: an exact look-up by location (MCP `get_unit`), no ranking."""
        ...


@dataclass(frozen=True, slots=True)
class Symbol:
    """A symbol the index defines: a code unit's qualified name and its file."""

    title: str
    path: str


class SymbolLookup(Protocol):
    """What the grounding check of generated code needs (chat/grounding.py); `scopes` as in
    `SearchIndex`. Only code units count (functions, methods, classes), not documents."""

    def defined_names(self, names: Sequence[str], scopes: Sequence[str] = TEAM_ONLY) -> set[str]:
        """Which of `names` exist in the indexed code: a part of a unit's qualified name, a
        module (a directory, file name without suffix, or the last part of an indexed root),
        or a whole word of a unit's code (a module-level or re-exported name)."""
        ...

    def indexed_modules(self, names: Sequence[str], scopes: Sequence[str] = TEAM_ONLY) -> set[str]:
        """Which of `names` are modules of the indexed code (a directory, a file name without
        suffix, or the last part of an indexed root), words of its code not counted."""
        ...

    def closest_symbols(
        self, names: Sequence[str], limit: int = 8, scopes: Sequence[str] = TEAM_ONLY
    ) -> list[Symbol]:
        """The real symbols closest to these (invented) names, best first
        (store/symbols.py `rank_closest`)."""
        ...


class CodeStore(IndexWriter, SummaryWork, SearchIndex, SymbolLookup, Protocol):
    """One collection of a store backend: every narrow port above, plus its status."""

    def status(self) -> IndexStatus: ...

    def export_summary_cache(self) -> list[CachedSummary]:
        """Every row of the summary cache (legacy ones included), in key order, e.g. to
        ship summaries beside a dataset."""
        ...

    def import_summary_cache(self, rows: Iterable[CachedSummary]) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RecordRef:
    """A stored record waiting for its summary, and its id in the store."""

    uid: str
    record: Record


# --- moving a collection to another backend (`ragcode migrate`) ----------------------------
@dataclass(frozen=True, slots=True)
class ExportedUnit:
    """A unit exactly as a store holds it: what ingestion computed (tokens, vectors) travels
    as it is, so nothing is analysed, embedded or summarized again. Leases do not travel:
    they belong to the processes of the old setup (an unfinished unit is claimable again)."""

    entry: IndexEntry
    scope: str
    summary_attempts: int = 0  # failed LLM attempts: the retry back-off goes on from there
    retry_at: float | None = None  # time.time() seconds, as both stores keep them
    summarized_at: float | None = None


@dataclass(frozen=True, slots=True)
class ExportedFile:
    """One indexed file and every unit of it (a file may have none)."""

    root: str
    path: str
    file_hash: str
    language: str
    indexed_at: float
    units: tuple[ExportedUnit, ...]


class IndexExport(Protocol):
    """Reading one collection out whole (the embedded store is the source)."""

    def collections(self) -> list[str]:
        """Every collection of the same index file or database, this one's included."""
        ...

    def roots(self) -> list[str]: ...

    def export_files(self) -> Iterator[ExportedFile]:
        """Every file of the collection, with its units, in the order they were written
        (a copy that keeps that order breaks ranking ties the same way)."""
        ...

    def export_skipped(self, root: str) -> list[SkippedFile]: ...

    def export_summary_cache(self) -> list[CachedSummary]: ...

    def status(self) -> IndexStatus: ...


class IndexImport(EmbedderClaim, Protocol):
    """Writing a collection copied from another store (PostgreSQL is the target). Each call
    is one transaction; files already there are replaced, so a copy can be run again."""

    def collections(self) -> list[str]: ...

    def file_hashes(self, root: str) -> dict[str, str]: ...

    def import_files(self, files: Sequence[ExportedFile]) -> int:
        """Write these files and their units as they are; returns the units written."""
        ...

    def import_skipped(self, root: str, skipped: Sequence[SkippedFile]) -> int: ...

    def import_summary_cache(self, rows: Iterable[CachedSummary]) -> int: ...

    def finish_import(self) -> None:
        """After the last batch: build what is faster built once than kept up row by row
        (vector indexes) and refresh the planner's statistics."""
        ...

    def export_summary_cache(self) -> list[CachedSummary]: ...

    def status(self) -> IndexStatus: ...
