"""The import line that brings a Python unit of the context into the asker's code.

A small model given a team function that does what was asked tends to write it again from
scratch (`random.randint` next to the team's `randbelow`); the import line shows how to call
the real one instead. The module is read from the unit's path: a leading `src/` is a layout
directory, not a package, and a package's `__init__.py` stands for the package.
"""

from __future__ import annotations

from ragcode.domain import Record, UnitKind

_LAYOUT_DIRS = {"src"}


def python_module(path: str) -> str | None:
    """`pkg/sub/mod.py` -> `pkg.sub.mod`; None when a part is not an identifier."""
    if not path.endswith(".py"):
        return None
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    if len(parts) > 1 and parts[0] in _LAYOUT_DIRS:
        parts.pop(0)
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts)


def import_line(record: Record) -> str | None:
    """`from module import name` for a Python function, class or a method's class; None for
    other languages and for nested functions (nothing can import them)."""
    if record.language != "python" or not record.title:
        return None
    top, _, rest = record.title.partition(".")
    if rest and record.kind == UnitKind.FUNCTION:
        return None  # `outer.inner`: a function inside a function
    if record.kind not in (UnitKind.FUNCTION, UnitKind.METHOD, UnitKind.CLASS):
        return None
    module = python_module(record.path)
    if module is None or not top.isidentifier():
        return None
    return f"from {module} import {top}"
