"""Are the names generated code uses real? A check of code against the knowledge base (the
symbols the index defines), the builtins, the standard library and the code's imports.

Python is checked here (through `ast`); JavaScript/TypeScript (chat/grounding_js.py) and Go
(chat/grounding_go.py) through the tree-sitter grammars ingest uses, with the same rules
translated (their docstrings say what each trusts). Code of other languages (Java, ...) gets
an empty report: a regex cannot tell a method of the team's code from one of a library the
index does not hold, and a false alarm costs a repair round and misleads the user.

What the Python check trusts, and why (a false alarm is worse than a missed invention):
- Builtins, names the answer defines itself (functions, classes, methods, variables,
  parameters, assigned attributes) and the methods of builtin types (`str.split`,
  `dict.items`, ...) are known.
- A module of the standard library (`sys.stdlib_module_names`) and everything reached through
  it (`os.path.join`, `logging.getLogger(...).info`) is trusted: the index rarely holds it.
- A module the index does not hold (a third-party library) is trusted the same way: nothing
  here can tell its real names from invented ones.
- A module the index holds (its top-level name is a directory, file or root of the index):
  every name reached through it must exist in the index: imported names, submodules,
  attributes of the module and of the instances its classes make, also through a variable
  assigned from such an expression (`session = requests.Session();
  session.set_max_redirects(5)`). What a function returns is of a type the check cannot
  know (`loader.load_frame(...)` may return a pandas frame): its attributes are trusted;
  only a call of a CapWords name (a class by convention) keeps the check going.
  The way there may pass through calls and modules of the index only: past an attribute
  read without a call (`response.elapsed.total_seconds()`: `elapsed` is a timedelta) the
  type is unknown and the rest is trusted. Relative imports (`from .x import y`) are the
  team's own code: checked the same way. Dunder names (`__version__`) are trusted.
- A bare call of a name that is neither defined, imported nor a builtin (`retry_request()`)
  must be defined in the index, unless a star import from a module outside the index
  could have brought it.
- Receivers whose origin the check cannot follow (parameters, `self`, subscripts, results of
  builtins) are trusted: their type is unknown.

"Exists in the index" (the store's `defined_names`): a part of a code unit's qualified name,
a module, or a whole word of a unit's code (attributes, re-exported names). Code outside
every function and class is not stored in units, so a name that appears only there (a
module constant never used in a function) is reported as unknown.
"""

from __future__ import annotations

import ast
import builtins
import io
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ragcode.chat.code_blocks import CodeBlock, python_syntax_error
from ragcode.chat.grounding_common import EMPTY, merge, syntax_error
from ragcode.chat.grounding_common import GroundingReport as GroundingReport
from ragcode.chat.grounding_go import GO_FENCES, check_go
from ragcode.chat.grounding_js import GRAMMARS, check_js

_PYTHON = frozenset({"python", "py", "python3"})
_BUILTINS = frozenset(dir(builtins)) | {"__file__", "__name__", "__doc__", "__spec__"}
_BUILTIN_TYPES: tuple[type, ...] = (
    str, bytes, bytearray, list, dict, set, frozenset, tuple, int, float, complex, object,
    range, slice, memoryview, type, BaseException, io.TextIOWrapper, io.BufferedReader,
    io.BufferedWriter, io.BytesIO, io.StringIO,
)  # fmt: skip
_BUILTIN_METHODS = frozenset(name for kind in _BUILTIN_TYPES for name in dir(kind))
_LITERALS = (
    ast.Constant, ast.JoinedStr, ast.List, ast.Dict, ast.Set, ast.Tuple,
    ast.ListComp, ast.DictComp, ast.SetComp,
)  # fmt: skip
_FAMILY = {"typescript": "javascript", "tsx": "javascript"}  # grammars of one language family
_RELATIVE = "."  # the top module of a relative import: the team's own package
_LITERAL = "<literal>"  # the origin of a literal: a builtin type


# Where an expression leads: the top module it is reached through ("" when unknown or
# trusted, `_RELATIVE`, `_LITERAL`) and the attributes read on the way without a call
# (`requests.adapters.HTTPAdapter` -> ("requests", ("adapters", "HTTPAdapter"))).
_Origin = tuple[str, tuple[str, ...]]
_TRUSTED: _Origin = ("", ())


@dataclass(frozen=True, slots=True)
class _Use:
    """A name the code uses; `top`: the module it is reached through (see `_Origin`), None
    for a bare call that must come from the index. `through`: attributes read on the way:
    past one that is not a module of the index (`response.elapsed.total_seconds()`: a
    timedelta), the type is unknown and the name trusted."""

    name: str
    top: str | None
    through: tuple[str, ...] = ()


def check_code(
    code: str,
    language: str,
    defined: Callable[[Sequence[str]], set[str]],
    modules: Callable[[Sequence[str]], set[str]] | None = None,
) -> GroundingReport:
    """`defined(names)`: which of `names` the index defines (a unit's name or part of one, a
    module, a word of indexed code), for the caller's scopes. `modules(names)`: which of
    these top-level names are modules of the index (a directory, file or root), not merely
    words of its code: a team function that mentions `pandas` does not put pandas in the
    index. Without it `defined` answers. Each is called at most once. (Go asks `modules`
    about package directories anchored at a root's name, "/app/internal/store": see
    store/symbols.py `path_names`.)"""
    grammar = grammar_of(language)
    if grammar is None:
        return EMPTY
    if grammar == "go":
        return check_go(code, defined, modules or defined)
    if grammar != "python":
        return check_js(code, grammar, defined, modules or defined)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return GroundingReport(used=[], unknown=[])  # the syntax check reports it
    names = _Names(tree)
    uses = [use for use in names.uses() if use.name not in names.local]
    tops = {use.top for use in uses if use.top} | set(names.star_tops)
    outside = tops - set(sys.stdlib_module_names) - {_RELATIVE, _LITERAL}
    passed = {part for use in uses if use.top in outside | {_RELATIVE} for part in use.through}
    asked = sorted(outside | passed)
    indexed = {_RELATIVE, *((modules or defined)(asked) if asked else ())}
    to_ask = sorted({use.name for use in uses if use.top is None or _checked(use, indexed)})
    found = defined(to_ask) if to_ask else set()
    # A star import from a module outside the index may bring any bare name.
    open_star = any(top not in indexed for top in names.star_tops)
    unknown = [use.name for use in uses if not _known(use, indexed, found, open_star)]
    return GroundingReport(used=_unique(use.name for use in uses), unknown=_unique(unknown))


def check_blocks(
    blocks: Sequence[CodeBlock],
    default_language: str,
    defined: Callable[[Sequence[str]], set[str]],
    modules: Callable[[Sequence[str]], set[str]] | None = None,
) -> GroundingReport:
    """`check_code` over the blocks of an answer in each checked language, the blocks of one
    grammar read as one program (a later block may use what an earlier one defines); blocks
    that do not parse are left to the syntax check."""
    programs: dict[str, list[str]] = {}
    for block in blocks:
        grammar = grammar_of(block.language or default_language)
        if grammar is not None and _parses(block.code, grammar):
            programs.setdefault(grammar, []).append(block.code)
    return merge(
        check_code("\n\n".join(codes), grammar, defined, modules)
        for grammar, codes in programs.items()
    )


def grammar_of(language: str) -> str | None:
    """The grammar the check reads a fence language with ("python", "javascript",
    "typescript", "tsx", "go"; None: not checked)."""
    lowered = language.lower()
    if lowered in _PYTHON:
        return "python"
    if lowered in GO_FENCES:
        return "go"
    return GRAMMARS.get(lowered)


def repair_defect(
    blocks: Sequence[CodeBlock], code_language: str, first: Sequence[CodeBlock] = ()
) -> str | None:
    """Why a repaired answer is worse than the first one: in the answer's checked language,
    or in any language of the `first` answer's blocks the check read (a Python block of a
    Java answer starts a repair too), it has no block left or one that does not parse (None:
    it may replace the first answer)."""
    wanted = [grammar_of(code_language)] + [grammar_of(b.language or code_language) for b in first]
    read = [(b, g) for b in blocks if (g := grammar_of(b.language or code_language))]
    # A TypeScript repair of a JavaScript answer is fine: one family.
    for family in dict.fromkeys(_FAMILY.get(g, g) for g in wanted if g is not None):
        mine = [(b, g) for b, g in read if _FAMILY.get(g, g) == family]
        if not mine:
            return "Python 코드 블록 없음" if family == "python" else f"{family} 코드 블록 없음"
        if family == "python":
            error = python_syntax_error([b for b, _ in mine], "python")
        else:
            error = next((e for b, g in mine if (e := syntax_error(b.code, g))), None)
        if error:
            return error
    return None


def _known(use: _Use, indexed: set[str], found: set[str], open_star: bool) -> bool:
    if use.name.startswith("__") and use.name.endswith("__"):
        return True
    if use.top is None:
        return use.name in found or open_star
    if use.top == _LITERAL:
        return use.name in _BUILTIN_METHODS
    if not _checked(use, indexed):
        return True  # trusted: the standard library, a module outside the index, unknown types
    return use.name in found or use.name in _BUILTIN_METHODS


def _checked(use: _Use, indexed: set[str]) -> bool:
    """Reached through modules of the index only: the name must exist there."""
    return bool(use.top) and use.top in indexed and all(part in indexed for part in use.through)


class _Names:
    """What one module defines, imports and uses."""

    def __init__(self, tree: ast.Module) -> None:
        self._tree = tree
        self.local: set[str] = set()
        self.imports: dict[str, _Origin] = {}  # bound name -> where it comes from
        self.star_tops: list[str] = []
        self._origins: dict[str, set[_Origin]] = {}  # variable -> what was assigned to it
        for node in ast.walk(tree):
            self._define(node)
        for node in ast.walk(tree):
            self._follow(node)

    def _define(self, node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            self.local.add(node.name)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            self.local.add(node.id)
        elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            self.local.add(node.attr)  # self.x = ...: a later self.x is the answer's own
        elif isinstance(node, ast.arg):
            self.local.add(node.arg)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            self.local.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            self.local.add(node.rest)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top, *rest = alias.name.split(".")
                bound = (top, tuple(rest)) if alias.asname else (top, ())
                self.imports[alias.asname or top] = bound
        elif isinstance(node, ast.ImportFrom):
            top, parts = _from_module(node)
            for alias in node.names:
                if alias.name == "*":
                    self.star_tops.append(top)
                else:
                    self.imports[alias.asname or alias.name] = (top, (*parts, alias.name))

    def _follow(self, node: ast.AST) -> None:
        """Variables assigned from an expression reached through a module keep its origin."""
        pairs: list[tuple[ast.expr | None, ast.expr | None]] = []
        if isinstance(node, ast.Assign):
            pairs = [(target, node.value) for target in node.targets]
        elif isinstance(node, ast.AnnAssign | ast.NamedExpr):
            pairs = [(node.target, node.value)]
        elif isinstance(node, ast.With | ast.AsyncWith):
            pairs = [
                (item.optional_vars, item.context_expr) for item in node.items if item.optional_vars
            ]
        for target, value in pairs:
            if isinstance(target, ast.Name) and value is not None:
                self._origins.setdefault(target.id, set()).add(self._origin(value))

    def _origin(self, expr: ast.expr) -> _Origin:
        if isinstance(expr, ast.Name):
            if expr.id in self.imports:
                return self.imports[expr.id]
            origins = self._origins.get(expr.id, set())
            return next(iter(origins)) if len(origins) == 1 else _TRUSTED
        if isinstance(expr, ast.Attribute):
            if isinstance(expr.value, _LITERALS):
                return _TRUSTED  # a literal's method returns a builtin type, or anything
            top, through = self._origin(expr.value)
            return top, (*through, expr.attr)
        if isinstance(expr, ast.Call):  # what a call returns: the called name is not read
            if not _constructs(expr.func):
                return _TRUSTED  # a function's result (a data frame, a dict): type unknown
            top, through = self._origin(expr.func)
            return top, through[:-1]
        if isinstance(expr, _LITERALS):
            return _LITERAL, ()
        return _TRUSTED

    def uses(self) -> Iterator[_Use]:
        """In reading order: by where each node ends (`a.b().c` reads b before c)."""
        nodes = sorted(ast.walk(self._tree), key=_end)
        for node in nodes:
            yield from self._uses_of(node)

    def _uses_of(self, node: ast.AST) -> Iterator[_Use]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                top, *rest = alias.name.split(".")
                yield _Use(top, "")
                yield from (_Use(part, top, tuple(rest[:i])) for i, part in enumerate(rest))
        elif isinstance(node, ast.ImportFrom):
            top, parts = _from_module(node)
            if not node.level:
                yield _Use(top, "")
            yield from (_Use(part, top, parts[:i]) for i, part in enumerate(parts))
            for alias in node.names:
                if alias.name != "*":
                    yield _Use(alias.name, top, parts)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            yield _Use(node.attr, *self._origin(node.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name in self.imports or name in _BUILTINS:
                yield _Use(name, "")
            elif name not in self.local:
                yield _Use(name, None)


def _constructs(func: ast.expr) -> bool:
    """A call of a class (`Session()`, `requests.Session()`): its result is an instance of
    the index's class, whose methods the index holds. Any other call returns a type the
    check cannot know (`loader.load_frame()` may return a pandas frame). The index says
    which names exist, not which are classes: the CapWords convention tells them apart."""
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name[:1].isupper()


def _from_module(node: ast.ImportFrom) -> tuple[str, tuple[str, ...]]:
    """The top module of `from a.b import c` and its parts after the top (("a", ("b",)));
    a relative import's parts all follow `_RELATIVE`."""
    parts = tuple(part for part in (node.module or "").split(".") if part)
    if node.level:
        return _RELATIVE, parts
    return parts[0], parts[1:]


def _end(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "end_lineno", None) or 0, getattr(node, "end_col_offset", None) or 0


def _parses(code: str, grammar: str = "python") -> bool:
    if grammar != "python":
        return syntax_error(code, grammar) is None
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def _unique(names: Iterator[str] | list[str]) -> list[str]:
    return list(dict.fromkeys(names))
