"""Are the names generated JavaScript/TypeScript uses real? The check of chat/grounding.py
for JS, JSX, TS and TSX, read with the tree-sitter grammars ingest uses.

What the check trusts, and why (a false alarm is worse than a missed invention):
- Names the answer defines (functions, classes, variables, parameters, destructured names,
  methods, TS types and enums) and the globals of a browser, Node.js and the usual test
  runners (chat/js_globals.py) are known.
- A module the index holds: a relative specifier (`./retry`, `../lib/http`: the team's own
  code, like Python's relative imports) or a bare one whose first segment is a module of the
  index (`lodash-es/debounce` over an index of lodash-es). Names imported from it
  (`import {a, b as c}`, `const {a} = require(...)`, `require(...).a`) and members of its
  namespace (`import * as ns`, `const ns = require(...)`: `ns.a`) must exist in the index.
  Only the first member is checked (`ns.config.timeout`: `timeout` may be a key of an object
  literal outside every unit, which the index does not hold as a name).
- Trusted: Node built-ins (`fs`, `node:path`), packages outside the index, scoped packages
  (`@angular/core`: their last name is often a common directory name of a team's code),
  URL imports, assets (`./app.css`, `./data.json`), type-only imports (`import type`: a type
  alias outside every unit is not a name the index holds), members of a default import (the
  module's default export may be any library's object) and members of anything else
  (`client.fetchAll()`: the type of `client` is unknown).
- A bare call or `new` of a name neither defined, imported nor global must be defined in
  the index.

"Exists in the index" as for Python (chat/grounding.py): a package-level constant no function
or method mentions is not held by any unit, so it is reported as unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from ragcode.chat.grounding_common import EMPTY, GroundingReport, Lookup, parse, unique, walk
from ragcode.chat.js_globals import JS_GLOBALS
from ragcode.ingest.ts_common import text_of

# Fence languages -> the grammar that reads them (JSX is part of the JavaScript grammar).
GRAMMARS: dict[str, str] = {
    **dict.fromkeys(("js", "javascript", "jsx", "mjs", "cjs", "node", "nodejs"), "javascript"),
    **dict.fromkeys(("ts", "typescript", "mts", "cts"), "typescript"),
    "tsx": "tsx",
}
# require("module").builtinModules of Node.js 20, by first segment ("fs/promises" -> fs).
_NODE_BUILTINS = """
    _http_agent _http_client _http_common _http_incoming _http_outgoing _http_server
    _stream_duplex _stream_passthrough _stream_readable _stream_transform _stream_wrap
    _stream_writable _tls_common _tls_wrap assert async_hooks buffer child_process cluster
    console constants crypto dgram diagnostics_channel dns domain events fs http http2 https
    inspector module net os path perf_hooks process punycode querystring readline repl stream
    string_decoder sys timers tls trace_events tty url util v8 vm wasi worker_threads
    zlib"""
NODE_BUILTINS = frozenset(_NODE_BUILTINS.split())
_ASSET = re.compile(
    r"\.(?:css|scss|sass|less|json|svg|png|jpe?g|gif|webp|ico|html?|md|txt|wasm|vue|svelte"
    r"|ya?ml|graphql|gql)$",
    re.IGNORECASE,
)
_RELATIVE = "."  # the module of a relative specifier: the team's own code
_DECLARED = frozenset(
    {
        "function_declaration", "generator_function_declaration", "function_expression",
        "function", "generator_function", "class_declaration", "abstract_class_declaration",
        "class", "method_definition", "interface_declaration", "type_alias_declaration",
        "enum_declaration", "function_signature", "internal_module", "module",
    }
)  # fmt: skip
# Where names are bound, by node type -> the field holding the binding pattern.
_BINDINGS = {
    "variable_declarator": "name",
    "arrow_function": "parameter",
    "catch_clause": "parameter",
    "for_in_statement": "left",
    "assignment_expression": "left",
}
_PATTERN_NAMES = frozenset({"identifier", "shorthand_property_identifier_pattern"})


@dataclass(frozen=True, slots=True)
class _Use:
    """A name the code uses; `module`: the top module it comes from ("" trusted,
    `_RELATIVE`), None for a bare call that must come from the index."""

    name: str
    module: str | None


def check_js(code: str, grammar: str, defined: Lookup, modules: Lookup) -> GroundingReport:
    """`defined`/`modules`: as `grounding.check_code`; each is called at most once."""
    root = parse(code, grammar)
    if root is None:
        return EMPTY
    names = _Names(root)
    uses = [use for use in names.uses() if use.name not in names.local]
    tops = sorted({use.module for use in uses if use.module and use.module != _RELATIVE})
    indexed = {_RELATIVE, *(modules(tops) if tops else ())}
    checked = [use for use in uses if use.module is None or use.module in indexed]
    to_ask = sorted({use.name for use in checked})
    found = defined(to_ask) if to_ask else set()
    unknown = [use.name for use in checked if use.name not in found]
    return GroundingReport(used=unique(use.name for use in uses), unknown=unique(unknown))


def module_of(specifier: str) -> str:
    """The module a specifier names for the check: `_RELATIVE`, a bare package's first
    segment, or "" when it is trusted whatever the index holds (see the module docstring)."""
    if "?" in specifier or _ASSET.search(specifier) or ":" in specifier:
        return ""  # bundler queries, assets, `node:fs`, URL imports
    if specifier.startswith((".", "/")):
        return _RELATIVE
    top = specifier.split("/", 1)[0]
    if top.startswith("@") or top in NODE_BUILTINS:
        return ""
    return top


class _Names:
    """What one program defines, imports and uses."""

    def __init__(self, root: Node) -> None:
        self._root = root
        self.local: set[str] = set()
        self.imported: set[str] = set()  # names bound by imports: known for bare calls
        self.namespaces: dict[str, str] = {}  # `ns` of `import * as ns` -> its module
        self._named: list[_Use] = []  # names imported by name
        for node in walk(root):
            self._define(node)

    def _define(self, node: Node) -> None:
        if node.type in _DECLARED and (name := node.child_by_field_name("name")) is not None:
            self.local.add(text_of(name))
        elif node.type == "import_statement":
            self._import(node)
        elif node.type == "variable_declarator" and (spec := _required(node, "value")):
            self._require(node, spec)
        elif node.type == "formal_parameters":
            self.local |= _pattern_names(node)
        elif (field := _BINDINGS.get(node.type)) and (bound := node.child_by_field_name(field)):
            self.local |= _pattern_names(bound)

    def _import(self, node: Node) -> None:
        source = node.child_by_field_name("source")
        module = module_of(_string(source))
        type_only = _has_token(node, "type")
        for part in walk(node):
            if part.type == "import_specifier":
                name = text_of(part.child_by_field_name("name"))
                alias = part.child_by_field_name("alias")
                self.imported.add(text_of(alias) if alias is not None else name)
                if not (type_only or _has_token(part, "type")):
                    self._named.append(_Use(name, module))
            elif part.type == "namespace_import" or part.type == "import_require_clause":
                bound = next((c for c in part.named_children if c.type == "identifier"), None)
                if bound is not None:
                    self.imported.add(text_of(bound))
                    self.namespaces[text_of(bound)] = module
            elif part.type == "identifier" and part.parent and part.parent.type == "import_clause":
                self.imported.add(text_of(part))  # a default import: its members are trusted

    def _require(self, declarator: Node, specifier: str) -> None:
        """`const ns = require(spec)` or `const {a, b: c} = require(spec)`."""
        module = module_of(specifier)
        target = declarator.child_by_field_name("name")
        if target is None:
            return
        if target.type == "identifier":
            self.imported.add(text_of(target))
            self.namespaces[text_of(target)] = module
            return
        self.imported |= _pattern_names(target)
        for part in target.named_children:
            if part.type == "shorthand_property_identifier_pattern":
                self._named.append(_Use(text_of(part), module))
            elif part.type == "pair_pattern":
                key = part.child_by_field_name("key")
                if key is not None and key.type == "property_identifier":
                    self._named.append(_Use(text_of(key), module))

    def uses(self) -> Iterator[_Use]:
        yield from self._named
        for node in walk(self._root):
            if node.type == "member_expression":
                yield from self._member(node)
            elif node.type in ("call_expression", "new_expression"):
                callee = node.child_by_field_name(
                    "function" if node.type == "call_expression" else "constructor"
                )
                if callee is not None and callee.type == "identifier":
                    yield from self._bare(text_of(callee))

    def _member(self, node: Node) -> Iterator[_Use]:
        target, member = node.child_by_field_name("object"), node.child_by_field_name("property")
        if target is None or member is None or member.type != "property_identifier":
            return
        if text_of(member) == "default":
            return  # `ns.default`: the module's default export, named in no unit
        bound = text_of(target) if target.type == "identifier" else ""
        if bound in self.namespaces and bound not in self.local:  # not a parameter `ns`
            yield _Use(text_of(member), self.namespaces[bound])
        elif specifier := _required_call(target):
            yield _Use(text_of(member), module_of(specifier))

    def _bare(self, name: str) -> Iterator[_Use]:
        if name not in self.local and name not in self.imported and name not in JS_GLOBALS:
            yield _Use(name, None)


def _pattern_names(pattern: Node) -> set[str]:
    """The names a binding pattern binds (default values' names count too: harmless, they
    only make more names known). `a.b = ...` binds none."""
    if pattern.type in ("member_expression", "subscript_expression"):
        return set()
    return {text_of(node) for node in walk(pattern) if node.type in _PATTERN_NAMES}


def _required(node: Node, field: str) -> str:
    value = node.child_by_field_name(field)
    return _required_call(value) if value is not None else ""


def _required_call(node: Node) -> str:
    """The specifier of `require("spec")` ("" for anything else)."""
    if node.type != "call_expression":
        return ""
    callee, arguments = node.child_by_field_name("function"), node.child_by_field_name("arguments")
    if callee is None or text_of(callee) != "require" or arguments is None:
        return ""
    strings = [child for child in arguments.named_children if child.type == "string"]
    return _string(strings[0]) if len(arguments.named_children) == 1 and strings else ""


def _string(node: Node | None) -> str:
    return text_of(node).strip("'\"`")


def _has_token(node: Node, token: str) -> bool:
    """An anonymous keyword among the node's children (`import type {...}`)."""
    return any(not child.is_named and child.type == token for child in node.children)
