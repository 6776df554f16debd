"""Shared tree-sitter plumbing: grammars, parsers, node helpers and unit building.

Each language module only decides which nodes are units and how they are named; spans,
decorators, doc comments and class headers are worked out here the same way for all.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import tree_sitter_go
import tree_sitter_java
import tree_sitter_javascript
import tree_sitter_python
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser

from ragcode.domain import CodeUnit, UnitKind
from ragcode.ingest.units import SourceLines, Span, UnitFactory, header_end

Scope = tuple[str, ...]
DocReader = Callable[[Node], str | None]


@functools.lru_cache(maxsize=8)  # one entry per grammar; six exist
def get_language(name: str) -> Language:
    """The compiled grammar for a language name; loaded once, it is immutable."""
    return Language(_grammar(name))


def new_parser(name: str) -> Parser:
    """A fresh parser per call: Parser objects are cheap but not safe to share across threads."""
    return Parser(get_language(name))


def _grammar(name: str) -> object:
    match name:
        case "python":
            return tree_sitter_python.language()
        case "javascript":
            return tree_sitter_javascript.language()
        case "typescript":
            return tree_sitter_typescript.language_typescript()
        case "tsx":
            return tree_sitter_typescript.language_tsx()
        case "java":
            return tree_sitter_java.language()
        case "go":
            return tree_sitter_go.language()
    raise ValueError(f"no tree-sitter grammar for {name!r}")


def text_of(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def field_text(node: Node, name: str) -> str:
    return text_of(node.child_by_field_name(name))


def first_line(node: Node) -> int:
    return node.start_point.row + 1


def last_line(node: Node) -> int:
    """1-based last line; a node ending at column 0 really ended on the line before."""
    row, column = node.end_point
    if column == 0 and row > node.start_point.row:
        return row
    return row + 1


def anchor_of(node: Node) -> Node:
    """The first node of a unit: its earliest decorator when decorators are siblings (TS)."""
    anchor = node
    while (previous := anchor.prev_named_sibling) is not None and previous.type == "decorator":
        anchor = previous
    return anchor


def clean_comment(texts: Iterable[str]) -> str | None:
    """Doc text without comment markers (`//`, `/** */`, leading `*`), common indent removed."""
    lines: list[str] = []
    for text in texts:
        if text.startswith("/*"):
            body = text[2:-2] if text.endswith("*/") else text[2:]
            lines += [_strip_star(line) for line in body.lstrip("*!").split("\n")]
        else:
            lines.append(text.lstrip("/#!"))
    cleaned = inspect.cleandoc("\n".join(lines)).strip()
    return cleaned or None


def _strip_star(line: str) -> str:
    stripped = line.lstrip()
    return stripped[1:] if stripped.startswith("*") else line


@dataclass
class TreeContext:
    """Collects the units of one file while a language module walks its syntax tree."""

    factory: UnitFactory
    comment_types: frozenset[str]
    docstring: DocReader | None = None  # None: the comment block above the unit
    units: list[CodeUnit] = field(default_factory=list)

    @property
    def lines(self) -> SourceLines:
        return self.factory.lines

    def add(self, name: str, kind: UnitKind, outer: Node) -> None:
        anchor = anchor_of(outer)
        span = self._span(anchor, outer)
        self.units.append(self.factory.unit(name, kind, span, self._doc(anchor, outer)))

    def add_class(self, name: str, outer: Node, first_member: Node | None) -> None:
        """A class header: from the class (or its decorators) to before its first member."""
        anchor = anchor_of(outer)
        span = self._span(anchor, outer)
        if span.end_col is None:
            member_line = None if first_member is None else self._doc_start(first_member)
            end = header_end(self.lines, span.start_line, span.end_line, member_line)
            span = Span(span.start_line, end)
        unit = self.factory.unit(name, UnitKind.CLASS, span, self._doc(anchor, outer))
        self.units.append(unit)

    def comment_block(self, anchor: Node) -> list[Node]:
        """Comments that end on the line just above anchor, each on its own line(s)."""
        block: list[Node] = []
        row = anchor.start_point.row
        sibling = anchor.prev_named_sibling
        while sibling is not None and self._is_own_line_comment(sibling, row):
            block.append(sibling)
            row = sibling.start_point.row
            sibling = sibling.prev_named_sibling
        return block[::-1]

    def _is_own_line_comment(self, node: Node, next_row: int) -> bool:
        if node.type not in self.comment_types or node.end_point.row != next_row - 1:
            return False
        return self.lines.is_blank_before(first_line(node), node.start_point.column)

    def _doc(self, anchor: Node, outer: Node) -> str | None:
        if self.docstring is not None:
            return self.docstring(outer)
        return clean_comment(text_of(c) for c in self.comment_block(anchor))

    def _doc_start(self, member: Node) -> int:
        anchor = anchor_of(member)
        block = self.comment_block(anchor)
        return first_line(block[0] if block else anchor)

    def _span(self, anchor: Node, outer: Node) -> Span:
        start = first_line(anchor)
        if self.lines.is_blank_before(start, anchor.start_point.column):
            return Span(start, last_line(outer))
        # Inline unit (`{ get: () => 1 }`): cut by column, not the neighbours' whole line.
        return Span(start, last_line(outer), anchor.start_point.column, outer.end_point.column)


def new_context(
    path: str, language: str, text: str, comment_types: frozenset[str], doc: DocReader | None
) -> TreeContext:
    factory = UnitFactory(path, language, SourceLines(text))
    return TreeContext(factory, comment_types, doc)
