"""Go units: functions, methods named `Type.Method`, and struct/interface type declarations."""

from __future__ import annotations

from tree_sitter import Node

from ragcode.domain import UnitKind
from ragcode.ingest.ts_common import TreeContext, field_text, text_of

COMMENT_TYPES = frozenset({"comment"})

_TYPE_KINDS = frozenset({"struct_type", "interface_type"})


def extract_go(ctx: TreeContext, root: Node) -> None:
    for child in root.named_children:
        if child.type == "function_declaration":
            ctx.add(field_text(child, "name"), UnitKind.FUNCTION, child)
        elif child.type == "method_declaration":
            name = f"{_receiver_type(child)}.{field_text(child, 'name')}".lstrip(".")
            ctx.add(name, UnitKind.METHOD, child)
        elif child.type == "type_declaration":
            _types(ctx, child)


def _types(ctx: TreeContext, declaration: Node) -> None:
    specs = [c for c in declaration.named_children if c.type == "type_spec"]
    for spec in specs:
        kind = spec.child_by_field_name("type")
        if kind is None or kind.type not in _TYPE_KINDS:
            continue  # `type ID int` has no behaviour worth a unit
        # A lone `type X struct` keeps its `type` keyword and the doc above it.
        outer = declaration if len(specs) == 1 else spec
        ctx.add_class(field_text(spec, "name"), outer, None)


def _receiver_type(method: Node) -> str:
    """`(s *Server)` -> "Server", `(l *List[T])` -> "List": pointers and type args dropped."""
    receiver = method.child_by_field_name("receiver")
    parameter = receiver.named_children[0] if receiver and receiver.named_children else None
    node = parameter.child_by_field_name("type") if parameter is not None else None
    while node is not None and node.type in ("pointer_type", "generic_type", "parenthesized_type"):
        inner = node.child_by_field_name("type") or node.child_by_field_name("name")
        node = inner if inner is not None else _first_named(node)
    return text_of(node)


def _first_named(node: Node) -> Node | None:
    return node.named_children[0] if node.named_children else None
