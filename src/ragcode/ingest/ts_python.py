"""Python through tree-sitter: the fallback for files `ast` refuses (Python 2, syntax errors).

tree-sitter recovers from errors, so most functions of a Python 2 file are still found,
with the same names and kinds the ast parser would give them.
"""

from __future__ import annotations

import ast
import inspect

from tree_sitter import Node

from ragcode.domain import CodeUnit, UnitKind
from ragcode.ingest.ts_common import Scope, TreeContext, field_text, new_context, new_parser

_DEFINITIONS = frozenset({"function_definition", "class_definition", "decorated_definition"})


def parse_python_treesitter(path: str, text: str) -> list[CodeUnit]:
    """Units of a Python file that may not be valid Python 3."""
    ctx = new_context(path, "python", text, frozenset(), _docstring)
    tree = new_parser("python").parse(text.encode("utf-8"))
    _visit_children(ctx, tree.root_node, (), in_class=False)
    return ctx.units


def _visit_children(ctx: TreeContext, node: Node, scope: Scope, in_class: bool) -> None:
    for child in node.named_children:
        _visit(ctx, child, scope, in_class)


def _visit(ctx: TreeContext, node: Node, scope: Scope, in_class: bool) -> None:
    definition = _definition(node)
    name = field_text(definition, "name") if definition is not None else ""
    if definition is None or not name:
        _visit_children(ctx, node, scope, in_class)
        return
    body = definition.child_by_field_name("body")
    qualified = ".".join((*scope, name))
    if definition.type == "class_definition":
        ctx.add_class(qualified, node, _first_definition(body))
    else:
        ctx.add(qualified, UnitKind.METHOD if in_class else UnitKind.FUNCTION, node)
    if body is not None:
        _visit_children(ctx, body, (*scope, name), definition.type == "class_definition")


def _definition(node: Node) -> Node | None:
    """The function/class node itself, unwrapping `decorated_definition`."""
    if node.type == "decorated_definition":
        return node.child_by_field_name("definition")
    return node if node.type in _DEFINITIONS else None


def _first_definition(body: Node | None) -> Node | None:
    if body is None:
        return None
    return next((c for c in body.named_children if c.type in _DEFINITIONS), None)


def _docstring(outer: Node) -> str | None:
    """The first statement of the body when it is a string literal, cleaned like ast does."""
    definition = _definition(outer)
    body = definition.child_by_field_name("body") if definition is not None else None
    first = body.named_children[0] if body is not None and body.named_children else None
    if first is None or first.type != "expression_statement":
        return None
    literal = first.named_children[0] if first.named_children else None
    if literal is None or literal.type != "string":
        return None
    return inspect.cleandoc(_string_value(literal))


def _string_value(literal: Node) -> str:
    try:
        value = ast.literal_eval(literal.text.decode("utf-8") if literal.text else "''")
    except (SyntaxError, ValueError):  # Python 2 prefixes such as ur"..."
        value = None
    if isinstance(value, str):
        return value
    parts = (c.text or b"" for c in literal.named_children if c.type == "string_content")
    return b"".join(parts).decode("utf-8", errors="replace")
