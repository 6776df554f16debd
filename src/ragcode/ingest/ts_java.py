"""Java units: type declarations give class headers, methods and constructors are METHODs."""

from __future__ import annotations

from tree_sitter import Node

from ragcode.domain import UnitKind
from ragcode.ingest.ts_common import Scope, TreeContext, field_text

COMMENT_TYPES = frozenset({"block_comment", "line_comment"})

_TYPES = frozenset(
    {
        "class_declaration",
        "interface_declaration",
        "enum_declaration",
        "record_declaration",
        "annotation_type_declaration",
    }
)
_METHODS = frozenset(
    {"method_declaration", "constructor_declaration", "compact_constructor_declaration"}
)


def extract_java(ctx: TreeContext, root: Node) -> None:
    for child in root.named_children:
        if child.type in _TYPES:
            _type(ctx, child, ())


def _type(ctx: TreeContext, node: Node, scope: Scope) -> None:
    name = field_text(node, "name")
    members = _members(node)
    first = next((m for m in members if m.type in _METHODS or m.type in _TYPES), None)
    qualified = (*scope, name)
    ctx.add_class(".".join(qualified), node, first)
    for member in members:
        if member.type in _METHODS:
            method = ".".join((*qualified, field_text(member, "name")))
            ctx.add(method, UnitKind.METHOD, member)
        elif member.type in _TYPES:
            _type(ctx, member, qualified)


def _members(node: Node) -> list[Node]:
    """Body declarations; an enum keeps its methods after the constants, one level down."""
    body = node.child_by_field_name("body")
    if body is None:
        return []
    members: list[Node] = []
    for child in body.named_children:
        if child.type == "enum_body_declarations":
            members += child.named_children
        else:
            members.append(child)
    return members
