"""The import line that brings a Python unit of the context into the asker's code.

A small model given a team function that does what was asked tends to write it again from
scratch (`random.randint` next to the team's `randbelow`); the import line shows how to call
the real one instead. The module is read from the unit's path, relative to the indexed root:
a `src/` directory is a layout directory, not a package, and a package's `__init__.py` stands
for the package. When the indexed root is itself a package, its name is not in the path:
the indexer records it with the unit (`PYTHON_PACKAGE`) and it comes first.
"""

from __future__ import annotations

import keyword
import sys

from ragcode.domain import PYTHON_PACKAGE, Record, UnitKind

_LAYOUT_DIR = "src"


def _name(part: str) -> bool:
    return part.isidentifier() and not keyword.iskeyword(part)


def python_module(path: str, package: str | None = None) -> str | None:
    """`pkg/sub/mod.py` -> `pkg.sub.mod`; None when a part is not a name an import can use,
    or when the module would be one of the standard library's (`secrets.py` uploaded alone:
    `from secrets import ...` would import Python's own). `package`: the indexed root's own
    package, put before the path's (not when the path has a `src/` layout directory)."""
    if not path.endswith(".py"):
        return None
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    layout = [i for i, part in enumerate(parts[:-1]) if part == _LAYOUT_DIR]
    if layout:  # `backend/src/app/io.py`: the packages start after the last `src/`
        parts = parts[layout[-1] + 1 :]
    elif package:
        parts = [*package.split("."), *parts]
    if not parts or not all(_name(part) for part in parts):
        return None
    if parts[0] in sys.stdlib_module_names:
        return None
    return ".".join(parts)


def import_line(record: Record) -> str | None:
    """`from module import name` for a module-level function or class, or a method's class;
    None for other languages and for what nothing can import (a function or class inside a
    function, a method of a nested class)."""
    if record.language != "python" or not record.title:
        return None
    parts = record.title.split(".")
    if record.kind in (UnitKind.FUNCTION, UnitKind.CLASS):
        if len(parts) != 1:
            return None
    elif record.kind != UnitKind.METHOD or len(parts) != 2:
        return None
    module = python_module(record.path, record.metadata.get(PYTHON_PACKAGE))
    if module is None or not _name(parts[0]):
        return None
    return f"from {module} import {parts[0]}"
