"""Cut unit code out of source lines; shared by the ast and the tree-sitter parsers."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from ragcode.domain import CodeUnit, UnitKind


def normalize_text(text: str) -> str:
    """No BOM and Unix newlines, so ast, tree-sitter and editors agree on line numbers."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True, slots=True)
class Span:
    """Where a unit sits: 1-based inclusive lines, plus byte columns for inline units."""

    start_line: int
    end_line: int
    start_col: int = 0  # byte offset in the first line
    end_col: int | None = None  # byte offset in the last line; None = whole line


class SourceLines:
    """The lines of one normalized source text (split on "\\n" only, as parsers count)."""

    __slots__ = ("_lines",)

    def __init__(self, text: str) -> None:
        self._lines = tuple(text.split("\n"))

    def __len__(self) -> int:
        return len(self._lines)

    def line(self, number: int) -> str:
        return self._lines[number - 1]

    def code(self, span: Span) -> str:
        """The span's text; indented units are dedented so nested code reads cleanly."""
        chunk = list(self._lines[span.start_line - 1 : span.end_line])
        if span.end_col is not None:
            chunk[-1] = _cut(chunk[-1], 0, span.end_col)
        if span.start_col:
            chunk[0] = _cut(chunk[0], span.start_col, None)
        text = "\n".join(chunk)
        return textwrap.dedent(text) if chunk[0][:1] in (" ", "\t") else text

    def is_blank_before(self, line: int, col: int) -> bool:
        """True when nothing but whitespace precedes byte column col on that line."""
        return not _cut(self.line(line), 0, col).strip()

    def last_code_line(self, start: int, end: int) -> int:
        """end moved up past trailing blank lines, but never above start."""
        while end > start and not self.line(end).strip():
            end -= 1
        return end


def header_end(lines: SourceLines, start: int, class_end: int, first_member: int | None) -> int:
    """Last line of a class header: the line before its first member, or the whole class."""
    if first_member is None:
        return class_end
    return lines.last_code_line(start, max(start, first_member - 1))


@dataclass(frozen=True, slots=True)
class UnitFactory:
    """Builds the CodeUnits of one file, so callers only say what and where."""

    path: str
    language: str
    lines: SourceLines

    def unit(self, name: str, kind: UnitKind, span: Span, docstring: str | None) -> CodeUnit:
        return CodeUnit(
            path=self.path,
            name=name,
            kind=kind,
            language=self.language,
            start_line=span.start_line,
            end_line=span.end_line,
            code=self.lines.code(span),
            docstring=docstring or None,
        )


def _cut(line: str, start: int, end: int | None) -> str:
    # tree-sitter columns count UTF-8 bytes, and Korean text is 3 bytes per syllable.
    raw = line.encode("utf-8")
    return raw[start:end].decode("utf-8", errors="replace")
