"""Are the names generated Go uses real? The check of chat/grounding.py for Go, read with the
tree-sitter grammar ingest uses.

What the check trusts, and why (a false alarm is worse than a missed invention):
- Names the answer defines (functions, methods, types, variables, constants, parameters,
  results, `:=` and `range` names, type-switch aliases), Go's builtin functions and types
  (`len`, `append`, `int64(x)`, ...) are known.
- The standard library (an import path whose first segment has no dot and is one of the
  standard library's top directories: `fmt`, `net/http`) and modules outside the index
  (`github.com/pkg/errors`) are trusted: nothing here can tell their real names from invented
  ones. So are blank imports (`_ "github.com/lib/pq"`).
- A package the index holds: its import path ends with a package directory of the index,
  counted from the last name of the indexed root (`github.com/asaskevich/govalidator` over a
  root `.../govalidator`, `github.com/team/app/internal/store` over a root `.../app` with
  `internal/store/`). Then `pkg.Name` (a call, a value or a type `pkg.Client{}`) must exist in
  the index. go.mod files are not indexed, so a root whose directory is not named like its
  module's last segment is not recognised: its names are trusted (a missed invention).
- A bare call of a name neither defined in the answer nor builtin (`validateEmail(x)`: the
  answer's own package) must be defined in the index, unless a dot import from a package
  outside the index could have brought it.
- Members of values (`client.Fetch()`, `s.Run()`) are trusted: their type is unknown.

"Exists in the index" as for Python (chat/grounding.py): a package-level constant no function
or method mentions is not held by any unit, so it is reported as unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from ragcode.chat.grounding_common import EMPTY, GroundingReport, Lookup, parse, unique, walk
from ragcode.ingest.ts_common import text_of

GO_FENCES = frozenset({"go", "golang"})
# Top directories of the standard library (`go list std`, Go 1.18-1.24), and cgo's "C".
_STD_TOPS = """
    archive bufio builtin bytes cmp compress container context crypto database debug embed
    encoding errors expvar flag fmt go hash html image index internal io iter log maps math mime
    net os path plugin reflect regexp runtime slices sort strconv strings structs sync syscall
    testing text time unicode unique unsafe weak C"""
STD_TOPS = frozenset(_STD_TOPS.split())
_BUILTINS = """
    append cap clear close complex copy delete imag len make max min new panic print println
    real recover bool byte complex64 complex128 error float32 float64 int int8 int16 int32 int64
    rune string uint uint8 uint16 uint32 uint64 uintptr any comparable"""
BUILTINS = frozenset(_BUILTINS.split())
# Declarations whose `name` fields define names, and statements whose field binds them.
_NAMED = frozenset(
    {
        "function_declaration", "method_declaration", "type_spec", "type_alias", "var_spec",
        "const_spec", "parameter_declaration", "variadic_parameter_declaration",
        "type_parameter_declaration",
    }
)  # fmt: skip
_BINDINGS = {
    "short_var_declaration": "left",
    "range_clause": "left",
    "type_switch_statement": "alias",
    "receive_statement": "left",
}
_VERSION = re.compile(r"^v\d+$")


@dataclass(frozen=True, slots=True)
class _Package:
    path: str  # the import path
    bound: str  # the name the code uses it by ("." for a dot import)


@dataclass(frozen=True, slots=True)
class _Use:
    """A name the code uses; `package`: the import path it is reached through, None for a
    bare call that must come from the index."""

    name: str
    package: str | None


def check_go(code: str, defined: Lookup, modules: Lookup) -> GroundingReport:
    """`defined`/`modules`: as `grounding.check_code`; each is called at most once."""
    root = parse(code, "go")
    if root is None:
        return EMPTY
    names = _Names(root)
    uses = [use for use in names.uses() if use.name not in names.local]
    outside = sorted({package.path for package in names.packages if not _standard(package.path)})
    anchored = {path: package_dirs(path) for path in outside}
    held = modules(sorted({d for dirs in anchored.values() for d in dirs})) if outside else set()
    indexed = {path for path, dirs in anchored.items() if held & set(dirs)}
    # A dot import from a package outside the index may bring any bare name.
    open_dot = any(p.bound == "." and p.path not in indexed for p in names.packages)
    checked = [
        use
        for use in uses
        if (use.package is None and not open_dot) or (use.package and use.package in indexed)
    ]
    to_ask = sorted({use.name for use in checked})
    found = defined(to_ask) if to_ask else set()
    unknown = [use.name for use in checked if use.name not in found]
    return GroundingReport(used=unique(use.name for use in uses), unknown=unique(unknown))


def package_dirs(path: str) -> list[str]:
    """The index's names a package at this import path may have: its root-anchored directory
    (store/symbols.py `path_names`) is one of the path's trailing parts, "/a/b" for
    "x.org/a/b"."""
    parts = path.split("/")
    return ["/" + "/".join(parts[i:]) for i in range(len(parts))]


def _standard(path: str) -> bool:
    top = path.split("/", 1)[0]
    return "." not in top and top in STD_TOPS


def package_name(path: str) -> str:
    """The name an import binds by convention: the last segment without a major version
    (`.../v2`, `yaml.v3`) and without a `go-` prefix (`go-sqlite3` -> sqlite3)."""
    parts = path.split("/")
    last = parts[-2] if len(parts) > 1 and _VERSION.match(parts[-1]) else parts[-1]
    last = re.sub(r"\.v\d+$", "", last)
    return last.removeprefix("go-").replace("-", "_")


class _Names:
    """What one program defines, imports and uses."""

    def __init__(self, root: Node) -> None:
        self._root = root
        self.local: set[str] = set()
        self.packages: list[_Package] = []
        for node in walk(root):
            self._define(node)
        self._by_name = {p.bound: p.path for p in self.packages if p.bound not in (".", "_")}

    def _define(self, node: Node) -> None:
        if node.type in _NAMED:
            self.local |= {text_of(name) for name in node.children_by_field_name("name")}
        elif node.type == "import_spec":
            path = text_of(node.child_by_field_name("path")).strip('"`')
            alias = node.child_by_field_name("name")
            self.packages.append(_Package(path, text_of(alias) if alias else package_name(path)))
        elif (field := _BINDINGS.get(node.type)) and (bound := node.child_by_field_name(field)):
            self.local |= {text_of(n) for n in walk(bound) if n.type == "identifier"}

    def uses(self) -> Iterator[_Use]:
        for node in walk(self._root):
            if node.type == "selector_expression":
                yield from self._qualified(node, "operand", "field")
            elif node.type == "qualified_type":
                yield from self._qualified(node, "package", "name")
            elif node.type == "call_expression":
                callee = node.child_by_field_name("function")
                if callee is not None and callee.type == "identifier":
                    name = text_of(callee)
                    if name not in self.local and name not in BUILTINS:
                        yield _Use(name, None)

    def _qualified(self, node: Node, package: str, member: str) -> Iterator[_Use]:
        """`pkg.Name` where `pkg` is an import (not a local variable of the same name)."""
        target, name = node.child_by_field_name(package), node.child_by_field_name(member)
        if (
            target is None
            or name is None
            or target.type not in ("identifier", "package_identifier")
        ):
            return
        bound = text_of(target)
        if bound in self._by_name and bound not in self.local:
            yield _Use(text_of(name), self._by_name[bound])
