"""An upload's documents read back as indexing reads them: per file, its records in order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from ragcode.documents.scan import scan_documents
from ragcode.domain import Record
from ragcode.ingest.files import FileLimits, SourceFile

# Files ragcode writes into an upload itself (document summaries): never summarised again.
SUMMARY_SUFFIX = ".ragcode-summary.md"

DocumentReader = Callable[[Path], Iterator[tuple[str, list[Record]]]]


def read_documents(
    root: Path, parse: Callable[[str, SourceFile], list[Record]], limits: FileLimits
) -> Iterator[tuple[str, list[Record]]]:
    """(relative path, records) of every readable document under `root` that has any,
    in path order; skipped files (too large, undecodable) and summaries are left out."""
    for item in scan_documents(root, limits).items:
        if isinstance(item, SourceFile) and not item.path.endswith(SUMMARY_SUFFIX):
            records = parse(item.path, item)
            if records:
                yield item.path, records
