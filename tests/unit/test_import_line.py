"""The import line shown with a Python unit of the generation context (retrieve/imports.py):
the model is shown how to call the team's function instead of writing it again."""

from __future__ import annotations

import pytest

from ragcode.domain import PYTHON_PACKAGE, Hit, Record, Scores, UnitKind
from ragcode.retrieve.context import render_unit
from ragcode.retrieve.imports import import_line, python_module

pytestmark = pytest.mark.unit


def record(path: str, title: str, kind: UnitKind, language: str = "python") -> Record:
    return Record(path, title, kind, language, 1, 2, "def f():\n    pass\n")


@pytest.mark.parametrize(
    ("path", "module"),
    [
        ("toolz/itertoolz.py", "toolz.itertoolz"),
        ("src/app/io.py", "app.io"),  # src/ layout: not a package
        ("backend/src/app/io.py", "app.io"),
        ("pkg/class.py", None),  # a keyword: `from pkg.class import ...` does not parse
        ("secrets.py", None),  # would import the standard library's module
        ("json/__init__.py", None),
        ("app/__init__.py", "app"),
        ("lib/secrets.py", "lib.secrets"),
        ("tool.py", "tool"),
        ("my-tools/io.py", None),  # not importable by that name
        ("app/io.pyi", None),
        ("app/io.js", None),
    ],
)
def test_the_module_comes_from_the_path(path: str, module: str | None) -> None:
    assert python_module(path) == module


def test_functions_classes_and_methods_import_their_top_level_name() -> None:
    assert import_line(record("toolz/itertoolz.py", "unique", UnitKind.FUNCTION)) == (
        "from toolz.itertoolz import unique"
    )
    assert import_line(record("toolz/functoolz.py", "curry.__call__", UnitKind.METHOD)) == (
        "from toolz.functoolz import curry"
    )
    assert import_line(record("toolz/functoolz.py", "Compose", UnitKind.CLASS)) == (
        "from toolz.functoolz import Compose"
    )


def test_nothing_is_offered_where_nothing_can_be_imported() -> None:
    assert import_line(record("toolz/functoolz.py", "memoize.memof", UnitKind.FUNCTION)) is None
    # A class inside a function, its methods, a method of a nested class.
    assert import_line(record("app/mod.py", "factory.Local", UnitKind.CLASS)) is None
    assert import_line(record("app/mod.py", "factory.Local.run", UnitKind.METHOD)) is None
    assert import_line(record("app/mod.py", "Outer.Inner.run", UnitKind.METHOD)) is None
    assert import_line(record("src/app.js", "load", UnitKind.FUNCTION, "javascript")) is None
    assert import_line(record("faq.csv", "카드 분실?", UnitKind.FAQ, "csv")) is None


def test_the_context_block_carries_the_import_line() -> None:
    hit = Hit(record=record("lib/secrets.py", "randbelow", UnitKind.FUNCTION), summary=None,
              scores=Scores(final=0.5))  # fmt: skip
    block = render_unit(1, hit)
    assert block.splitlines()[1] == "import: from lib.secrets import randbelow"
    assert block.index("import:") < block.index("```python")


@pytest.mark.parametrize(
    ("path", "package", "module"),
    [
        ("itertoolz.py", "toolz", "toolz.itertoolz"),  # `ragcode index toolz/`
        ("__init__.py", "toolz", "toolz"),
        ("sandbox/parallel.py", "toolz", "toolz.sandbox.parallel"),
        ("io.py", "app.core", "app.core.io"),
        ("src/app/io.py", "tools", "app.io"),  # a src/ layout below: its packages only
        ("io.py", None, None),  # the standard library's name, no package to qualify it
    ],
)
def test_the_indexed_roots_package_comes_first(
    path: str, package: str | None, module: str | None
) -> None:
    assert python_module(path, package) == module


def test_a_unit_carries_its_roots_package_to_the_import_line() -> None:
    unit = Record("itertoolz.py", "unique", UnitKind.FUNCTION, "python", 1, 2, "def f(): pass",
                  metadata={PYTHON_PACKAGE: "toolz"})  # fmt: skip
    assert import_line(unit) == "from toolz.itertoolz import unique"
