"""Copying one collection of the index, and the summary cache, from store to store.

Files travel with their units as the source holds them (records with their metadata, tokens,
vectors, summaries, states, owner scopes): nothing is analysed, embedded or summarized again.
Files go in batches, each one transaction on the target; a file the target already holds with
the same hash is left alone, so a copy interrupted between batches goes on where it stopped
when run again."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ragcode.store.protocol import ExportedFile, IndexExport, IndexImport

# A batch is one transaction: large enough that per-transaction costs vanish, small enough
# that little is redone after an interruption and memory stays flat (~2 KB of vectors a unit).
BATCH_UNITS = 500
BATCH_FILES = 200

Progress = Callable[[int], None]  # units written so far in this collection


@dataclass(frozen=True, slots=True)
class CollectionCopied:
    name: str
    files: int  # written now
    kept: int  # already in the target with the same hash (a copy run again)
    units: int  # written now
    skipped: int  # skipped files (and their reasons) written
    seconds: float

    @property
    def units_per_s(self) -> float:
        return self.units / self.seconds if self.seconds > 0 else 0.0


class _Batches:
    """Collects files into batches and writes each batch in one call."""

    def __init__(self, target: IndexImport, claim: Callable[[Sequence[ExportedFile]], None]):
        self._target = target
        self._claim = claim
        self.pending: list[ExportedFile] = []
        self.pending_units = 0
        self.files = 0
        self.units = 0

    def add(self, file: ExportedFile) -> bool:
        """True when a batch was written."""
        self.pending.append(file)
        self.pending_units += len(file.units)
        if self.pending_units >= BATCH_UNITS or len(self.pending) >= BATCH_FILES:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        if not self.pending:
            return
        self._claim(self.pending)
        self.units += self._target.import_files(self.pending)
        self.files += len(self.pending)
        self.pending, self.pending_units = [], 0


def copy_collection(
    name: str, source: IndexExport, target: IndexImport, progress: Progress | None = None
) -> CollectionCopied:
    started = time.perf_counter()
    embedder = source.status().embedder
    claimed = False

    def claim(files: Sequence[ExportedFile]) -> None:
        """Record the collection's embedding model before its first vectors arrive (the size
        only matters to a target holding vectors of an unrecorded model: never here)."""
        nonlocal claimed
        if not claimed and embedder is not None:
            target.claim_embedder(embedder, _code_dim(files))
        claimed = True

    batches = _Batches(target, claim)
    there: dict[str, dict[str, str]] = {}  # root -> the target's file hashes
    kept = 0
    for file in source.export_files():
        hashes = there.get(file.root)
        if hashes is None:
            hashes = there[file.root] = target.file_hashes(file.root)
        if hashes.get(file.path) == file.file_hash:
            kept += 1
            continue
        if batches.add(file) and progress is not None:
            progress(batches.units)
    batches.flush()
    claim([])  # a collection without files keeps its recorded model all the same
    skipped = 0
    for root in source.roots():
        reasons = source.export_skipped(root)
        if reasons:
            skipped += target.import_skipped(root, reasons)
    target.finish_import()
    seconds = time.perf_counter() - started
    return CollectionCopied(name, batches.files, kept, batches.units, skipped, seconds)


def copy_summary_cache(source: IndexExport, target: IndexImport) -> tuple[int, float]:
    """The summary cache (one per index file or database, keyed by code hash, prompt version
    and model; legacy rows too): (rows, s)."""
    started = time.perf_counter()
    rows = target.import_summary_cache(source.export_summary_cache())
    return rows, time.perf_counter() - started


def _code_dim(files: Sequence[ExportedFile]) -> int:
    for file in files:
        for unit in file.units:
            vector = unit.entry.vectors.get("code")
            if vector is not None:
                return len(vector)
    return 0
