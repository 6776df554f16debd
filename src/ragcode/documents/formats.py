"""Which reader a document goes to, decided by its extension."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Literal

DocumentFormat = Literal["csv", "tsv", "json", "jsonl", "markdown", "text", "pdf", "docx"]

_BY_EXTENSION: dict[str, DocumentFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".pdf": "pdf",
    ".docx": "docx",
}

BINARY_FORMATS: frozenset[str] = frozenset({"pdf", "docx"})
FAQ_FORMATS: frozenset[str] = frozenset({"csv", "tsv", "json", "jsonl"})
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(sorted(_BY_EXTENSION))


def detect_format(path: str) -> DocumentFormat | None:
    suffix = PurePosixPath(path.replace("\\", "/")).suffix.lower()
    return _BY_EXTENSION.get(suffix)
