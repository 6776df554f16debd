"""Entry point of the parse step: source text in, sorted code units out."""

from __future__ import annotations

from ragcode.domain import CodeUnit, ParsedFile
from ragcode.ingest.files import SourceFile
from ragcode.ingest.parse_python import parse_python
from ragcode.ingest.parse_treesitter import TREESITTER_LANGUAGES, parse_treesitter


class UnsupportedLanguageError(ValueError):
    """The language has no parser; callers should have filtered it with detect_language."""


def parse_source(path: str, language: str, text: str) -> list[CodeUnit]:
    """Functions, methods and class headers of one file, sorted by (start_line, name)."""
    if language == "python":
        units = parse_python(path, text)
    elif language in TREESITTER_LANGUAGES:
        units = parse_treesitter(path, language, text)
    else:
        raise UnsupportedLanguageError(f"no parser for language {language!r} ({path})")
    return sorted(units, key=lambda unit: (unit.start_line, unit.name))


def parse_file(source: SourceFile) -> ParsedFile:
    units = parse_source(source.path, source.language, source.text)
    return ParsedFile(
        path=source.path, language=source.language, file_hash=source.file_hash, units=units
    )
