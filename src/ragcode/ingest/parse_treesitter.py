"""JavaScript, TypeScript, TSX, Java and Go units through tree-sitter.

The per-language rules live in ts_javascript, ts_java and ts_go; this module picks the
grammar, parses and hands the tree over.
"""

from __future__ import annotations

from collections.abc import Callable

from tree_sitter import Node

from ragcode.domain import CodeUnit
from ragcode.ingest import ts_go, ts_java, ts_javascript
from ragcode.ingest.ts_common import TreeContext, new_context, new_parser
from ragcode.ingest.units import normalize_text

Extractor = Callable[[TreeContext, Node], None]

TREESITTER_LANGUAGES: frozenset[str] = frozenset({"javascript", "typescript", "tsx", "java", "go"})


def parse_treesitter(path: str, language: str, text: str) -> list[CodeUnit]:
    """Units of one file in a tree-sitter language; raises ValueError for any other."""
    extractor, comment_types = _rules(language)
    text = normalize_text(text)
    tree = new_parser(language).parse(text.encode("utf-8"))
    ctx = new_context(path, language, text, comment_types, None)
    extractor(ctx, tree.root_node)
    return ctx.units


def _rules(language: str) -> tuple[Extractor, frozenset[str]]:
    match language:
        case "javascript" | "typescript" | "tsx":
            return ts_javascript.extract_javascript, ts_javascript.COMMENT_TYPES
        case "java":
            return ts_java.extract_java, ts_java.COMMENT_TYPES
        case "go":
            return ts_go.extract_go, ts_go.COMMENT_TYPES
    raise ValueError(f"not a tree-sitter language: {language!r}")
