"""JavaScript, TypeScript and TSX units: the three grammars share their node names."""

from __future__ import annotations

from tree_sitter import Node

from ragcode.domain import UnitKind
from ragcode.ingest.ts_common import Scope, TreeContext, field_text, text_of

COMMENT_TYPES = frozenset({"comment"})

_FUNCTION_VALUES = frozenset(
    {"arrow_function", "function_expression", "function", "generator_function"}
)
_FUNCTION_DECLARATIONS = frozenset({"function_declaration", "generator_function_declaration"})
_CLASS_NODES = frozenset({"class_declaration", "abstract_class_declaration", "class"})
_FIELD_NODES = frozenset({"field_definition", "public_field_definition"})
_VARIABLE_DECLARATIONS = frozenset({"lexical_declaration", "variable_declaration"})
_CALLABLES = _FUNCTION_VALUES | _FUNCTION_DECLARATIONS | {"method_definition"}


def extract_javascript(ctx: TreeContext, root: Node) -> None:
    _visit_children(ctx, root, ())


def _visit_children(ctx: TreeContext, node: Node, scope: Scope) -> None:
    for child in node.named_children:
        _visit(ctx, child, scope, child)


def _visit(ctx: TreeContext, node: Node, scope: Scope, outer: Node) -> None:
    """outer is the node the unit's lines and doc comment hang on (`export ...` if any)."""
    kind = node.type
    if kind == "export_statement":
        _export(ctx, node, scope)
    elif kind in _FUNCTION_DECLARATIONS:
        _named_value(ctx, field_text(node, "name"), node, scope, outer, UnitKind.FUNCTION)
    elif kind in _CLASS_NODES:
        _class(ctx, field_text(node, "name") or "default", node, scope, outer)
    elif kind == "interface_declaration":
        ctx.add_class(_qualify(scope, field_text(node, "name")), outer, None)
    elif kind in _VARIABLE_DECLARATIONS:
        _variables(ctx, node, scope, outer)
    elif kind == "method_definition":
        _named_value(ctx, _member_name(node, "name"), node, scope, node, UnitKind.METHOD)
    elif kind in _FIELD_NODES:
        _field(ctx, node, scope)
    elif kind == "pair":
        _pair(ctx, node, scope)
    elif kind == "expression_statement" and _assignment(node) is not None:
        _assigned(ctx, node, scope)
    else:
        _visit_children(ctx, node, scope)


def _export(ctx: TreeContext, node: Node, scope: Scope) -> None:
    declaration = node.child_by_field_name("declaration")
    value = node.child_by_field_name("value")  # `export default <expression>`
    if declaration is not None:
        _visit(ctx, declaration, scope, node)
    elif value is not None and (value.type in _FUNCTION_VALUES or value.type in _CLASS_NODES):
        name = field_text(value, "name") or "default"
        _named_value(ctx, name, value, scope, node, UnitKind.FUNCTION)
    else:
        _visit_children(ctx, node, scope)


def _named_value(
    ctx: TreeContext, name: str, value: Node, scope: Scope, outer: Node, kind: UnitKind
) -> None:
    """A name bound to a value: functions and classes become units, objects give a scope."""
    if not name:
        _visit_children(ctx, value, scope)
    elif value.type in _CALLABLES:
        ctx.add(_qualify(scope, name), kind, outer)
        _visit_children(ctx, value, (*scope, name))
    elif value.type in _CLASS_NODES:
        _class(ctx, name, value, scope, outer)
    elif value.type == "object":
        _visit_children(ctx, value, (*scope, name))
    else:
        _visit(ctx, value, scope, value)


def _class(ctx: TreeContext, name: str, node: Node, scope: Scope, outer: Node) -> None:
    body = node.child_by_field_name("body")
    members = body.named_children if body is not None else []
    first = next((m for m in members if _is_unit_member(m)), None)
    ctx.add_class(_qualify(scope, name), outer, first)
    for member in members:
        _visit(ctx, member, (*scope, name), member)


def _is_unit_member(member: Node) -> bool:
    if member.type == "method_definition":
        return True
    value = member.child_by_field_name("value")
    return member.type in _FIELD_NODES and value is not None and value.type in _FUNCTION_VALUES


def _variables(ctx: TreeContext, node: Node, scope: Scope, outer: Node) -> None:
    declarators = [c for c in node.named_children if c.type == "variable_declarator"]
    for declarator in declarators:
        target = declarator.child_by_field_name("name")
        value = declarator.child_by_field_name("value")
        if value is None:
            continue
        # With `const a = ..., b = ...` each unit is only its own declarator.
        unit_outer = outer if len(declarators) == 1 else declarator
        name = text_of(target) if target is not None and target.type == "identifier" else ""
        _named_value(ctx, name, value, scope, unit_outer, UnitKind.FUNCTION)


def _field(ctx: TreeContext, node: Node, scope: Scope) -> None:
    value = node.child_by_field_name("value")
    if value is not None:
        name = _member_name(node, "property") or _member_name(node, "name")
        _named_value(ctx, name, value, scope, node, UnitKind.METHOD)


def _pair(ctx: TreeContext, node: Node, scope: Scope) -> None:
    value = node.child_by_field_name("value")
    if value is not None:
        _named_value(ctx, _member_name(node, "key"), value, scope, node, UnitKind.METHOD)


def _assignment(statement: Node) -> Node | None:
    children = statement.named_children
    if len(children) == 1 and children[0].type == "assignment_expression":
        return children[0]
    return None


def _assigned(ctx: TreeContext, statement: Node, scope: Scope) -> None:
    """`exports.f = function...`, `Foo.prototype.bar = () => ...`: named by the target."""
    assignment = _assignment(statement)
    left = assignment.child_by_field_name("left") if assignment is not None else None
    right = assignment.child_by_field_name("right") if assignment is not None else None
    if left is None or right is None:
        _visit_children(ctx, statement, scope)
    elif left.type == "member_expression":
        target = text_of(left)
        kind = UnitKind.METHOD if ".prototype." in target else UnitKind.FUNCTION
        _named_value(ctx, target.replace(".prototype.", "."), right, (), statement, kind)
    elif left.type == "identifier":
        _named_value(ctx, text_of(left), right, scope, statement, UnitKind.FUNCTION)
    else:
        _visit_children(ctx, statement, scope)


def _member_name(node: Node, field: str) -> str:
    """Method/property name; quoted keys lose their quotes, `[computed]` keeps brackets."""
    return field_text(node, field).strip("'\"`")


def _qualify(scope: Scope, name: str) -> str:
    return ".".join((*scope, name))
