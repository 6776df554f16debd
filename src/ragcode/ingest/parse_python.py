"""Python units from the standard `ast` module, with a tree-sitter fallback for old code.

ast gives exact line numbers and docstrings; it refuses Python 2 or broken files, which
tree-sitter still reads (see ts_python).
"""

from __future__ import annotations

import ast
import logging

from ragcode.domain import CodeUnit, UnitKind
from ragcode.ingest.ts_python import parse_python_treesitter
from ragcode.ingest.units import SourceLines, Span, UnitFactory, header_end, normalize_text

log = logging.getLogger(__name__)

_Function = ast.FunctionDef | ast.AsyncFunctionDef
_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_BLOCKS = (ast.stmt, ast.excepthandler, ast.match_case)


def parse_python(path: str, text: str) -> list[CodeUnit]:
    """Every function, method and class header of a Python file, in source order."""
    text = normalize_text(text)
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError) as exc:  # Python 2, NUL bytes, broken code
        log.info("python_fallback path=%s reason=%s", path, type(exc).__name__)
        return parse_python_treesitter(path, text)
    except (RecursionError, MemoryError):  # CPython's parser stack overflows at deep nesting
        # tree-sitter may still find the functions around the deep expression; when it finds
        # none, the error stands and the indexer skips the file as too complex, with a reason.
        units = parse_python_treesitter(path, text)
        if units:
            return units
        raise
    collector = _Collector(UnitFactory(path, "python", SourceLines(text)))
    collector.visit_body(tree.body, (), in_class=False)
    return collector.units


class _Collector:
    """Walks the tree once, carrying the qualified-name scope down to nested definitions."""

    def __init__(self, factory: UnitFactory) -> None:
        self.factory = factory
        self.units: list[CodeUnit] = []

    def visit_body(self, nodes: list[ast.stmt], scope: tuple[str, ...], in_class: bool) -> None:
        for node in nodes:
            self.visit(node, scope, in_class)

    def visit(self, node: ast.AST, scope: tuple[str, ...], in_class: bool) -> None:
        if isinstance(node, ast.ClassDef):
            self._class(node, scope)
        elif isinstance(node, _Function):
            self._function(node, scope, in_class)
        else:
            # Definitions under if/try/with/for still count (e.g. `if TYPE_CHECKING:`). Only
            # statements can hold one: expressions, which nest thousands deep, are not walked.
            for child in ast.iter_child_nodes(node):
                if isinstance(child, _BLOCKS):
                    self.visit(child, scope, in_class)

    def _function(self, node: _Function, scope: tuple[str, ...], in_class: bool) -> None:
        kind = UnitKind.METHOD if in_class else UnitKind.FUNCTION
        span = Span(_start_line(node), _end_line(node))
        self._add(node, scope, kind, span)
        self.visit_body(node.body, (*scope, node.name), in_class=False)

    def _class(self, node: ast.ClassDef, scope: tuple[str, ...]) -> None:
        start = _start_line(node)
        first = next((_start_line(n) for n in node.body if isinstance(n, _Definition)), None)
        span = Span(start, header_end(self.factory.lines, start, _end_line(node), first))
        self._add(node, scope, UnitKind.CLASS, span)
        self.visit_body(node.body, (*scope, node.name), in_class=True)

    def _add(self, node: _Definition, scope: tuple[str, ...], kind: UnitKind, span: Span) -> None:
        name = ".".join((*scope, node.name))
        self.units.append(self.factory.unit(name, kind, span, ast.get_docstring(node)))


def _start_line(node: _Definition) -> int:
    return min([node.lineno, *(d.lineno for d in node.decorator_list)])


def _end_line(node: _Definition) -> int:
    return node.end_lineno or node.lineno
