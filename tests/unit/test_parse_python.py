"""Python units from ast, and the tree-sitter fallback for Python 2 files."""

from __future__ import annotations

import ast
import textwrap

import pytest

from ragcode.domain import CodeUnit, UnitKind
from ragcode.ingest.parse_python import parse_python
from ragcode.ingest.parser import parse_source

pytestmark = pytest.mark.unit


def _source(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def _by_name(units: list[CodeUnit]) -> dict[str, CodeUnit]:
    return {unit.name: unit for unit in units}


def _lines(unit: CodeUnit) -> tuple[int, int]:
    return unit.start_line, unit.end_line


STACKED = _source(
    '''
    import functools


    @functools.lru_cache(maxsize=None)
    @trace("load", level=2)
    def load(path: str) -> str:
        """Load a file.

        Returns its text.
        """
        return path
    '''
)

REPO = _source(
    '''
    class Repo(Base, metaclass=Meta):
        """저장소를 나타낸다."""

        kind = "git"

        @property
        def name(self) -> str:
            return self._name

        @staticmethod
        @cached(ttl=60)
        def create(url: str) -> "Repo":
            def normalize(u: str) -> str:
                return u.strip()
            return Repo(normalize(url))

        class Meta:
            ordering = ["name"]

            def describe(self) -> str:
                """Meta 설명."""
                return "meta"
    '''
)

MIXED = _source(
    """
    async def fetch(url):
        async def retry():
            return await get(url)
        return await retry()

    def one(): return 1

    TEMPLATE = \"\"\"
    def fake():
        pass
    \"\"\"

    def real():
        text = '''
    def fake2():
    '''
        return text
    square = lambda x: x * x
    """
)

PY2 = _source(
    '''
    # -*- coding: utf-8 -*-
    import urllib2

    class Client(object):
        """Old client."""

        def get(self, url):
            print "GET", url
            return urllib2.urlopen(url).read()

        @staticmethod
        def parse(data):
            """Parse it."""
            try:
                return json.loads(data)
            except ValueError, e:
                raise
    def main():
        print >>sys.stderr, "hi"
    '''
)


def test_stacked_decorators_with_arguments_start_the_function() -> None:
    (unit,) = parse_python("src/load.py", STACKED)
    assert (unit.name, unit.kind, _lines(unit)) == ("load", UnitKind.FUNCTION, (4, 11))
    assert unit.code.startswith('@functools.lru_cache(maxsize=None)\n@trace("load", level=2)\n')
    assert unit.code.endswith("    return path")
    assert unit.docstring == "Load a file.\n\nReturns its text."
    assert (unit.path, unit.language) == ("src/load.py", "python")


def test_class_methods_properties_and_nested_units() -> None:
    units = _by_name(parse_python("repo.py", REPO))
    assert list(units) == [
        "Repo",
        "Repo.name",
        "Repo.create",
        "Repo.create.normalize",
        "Repo.Meta",
        "Repo.Meta.describe",
    ]
    expected = {
        "Repo": (UnitKind.CLASS, (1, 4)),
        "Repo.name": (UnitKind.METHOD, (6, 8)),
        "Repo.create": (UnitKind.METHOD, (10, 15)),
        "Repo.create.normalize": (UnitKind.FUNCTION, (13, 14)),
        "Repo.Meta": (UnitKind.CLASS, (17, 18)),
        "Repo.Meta.describe": (UnitKind.METHOD, (20, 22)),
    }
    assert {name: (u.kind, _lines(u)) for name, u in units.items()} == expected
    assert units["Repo"].docstring == "저장소를 나타낸다."
    assert units["Repo.Meta.describe"].docstring == "Meta 설명."
    assert units["Repo.name"].docstring is None


def test_class_header_stops_before_first_method_without_trailing_blanks() -> None:
    units = _by_name(parse_python("repo.py", REPO))
    assert units["Repo"].code == (
        'class Repo(Base, metaclass=Meta):\n    """저장소를 나타낸다."""\n\n    kind = "git"'
    )
    assert units["Repo.Meta"].code == 'class Meta:\n    ordering = ["name"]'


def test_nested_units_are_dedented_and_keep_decorators() -> None:
    units = _by_name(parse_python("repo.py", REPO))
    assert (
        units["Repo.create.normalize"].code == "def normalize(u: str) -> str:\n    return u.strip()"
    )
    assert units["Repo.name"].code == "@property\ndef name(self) -> str:\n    return self._name"
    assert units["Repo.create"].code.startswith("@staticmethod\n@cached(ttl=60)\ndef create(")


def test_class_without_methods_is_whole_class() -> None:
    source = "@dataclass\nclass Point:\n    x: int\n    y: int\n"
    (unit,) = parse_python("p.py", source)
    assert (unit.name, unit.kind, _lines(unit)) == ("Point", UnitKind.CLASS, (1, 4))
    assert unit.code == "@dataclass\nclass Point:\n    x: int\n    y: int"


def test_async_nested_one_line_and_strings_that_look_like_code() -> None:
    units = _by_name(parse_python("m.py", MIXED))
    assert list(units) == ["fetch", "fetch.retry", "one", "real"]
    assert (units["fetch"].kind, _lines(units["fetch"])) == (UnitKind.FUNCTION, (1, 4))
    assert (units["fetch.retry"].kind, _lines(units["fetch.retry"])) == (UnitKind.FUNCTION, (2, 3))
    assert units["fetch.retry"].code == "async def retry():\n    return await get(url)"
    assert (_lines(units["one"]), units["one"].code) == ((6, 6), "def one(): return 1")
    assert _lines(units["real"]) == (13, 17)


def test_top_level_code_is_the_exact_source_text() -> None:
    source = "def f(x):\n    if x:\n\n        return 1  # 한글 주석\n"
    (unit,) = parse_python("f.py", source)
    assert unit.code == "def f(x):\n    if x:\n\n        return 1  # 한글 주석"


def test_definitions_inside_if_blocks_keep_their_kind() -> None:
    source = _source(
        """
        if TYPE_CHECKING:
            def typed() -> None: ...
        class A:
            if FAST:
                def go(self): pass
        """
    )
    units = _by_name(parse_python("t.py", source))
    assert (units["typed"].kind, units["typed"].code) == (
        UnitKind.FUNCTION,
        "def typed() -> None: ...",
    )
    assert (units["A.go"].kind, _lines(units["A.go"])) == (UnitKind.METHOD, (5, 5))


def test_crlf_line_endings_give_the_same_lines() -> None:
    units = parse_python("w.py", STACKED.replace("\n", "\r\n"))
    assert _lines(units[0]) == (4, 11)
    assert "\r" not in units[0].code


def test_python2_file_falls_back_to_tree_sitter() -> None:
    with pytest.raises(SyntaxError):
        ast.parse(PY2)
    units = _by_name(parse_python("legacy.py", PY2))
    assert list(units) == ["Client", "Client.get", "Client.parse", "main"]
    expected = {
        "Client": (UnitKind.CLASS, (4, 5)),
        "Client.get": (UnitKind.METHOD, (7, 9)),
        "Client.parse": (UnitKind.METHOD, (11, 17)),
        "main": (UnitKind.FUNCTION, (18, 19)),
    }
    assert {name: (u.kind, _lines(u)) for name, u in units.items()} == expected
    assert units["Client"].code == 'class Client(object):\n    """Old client."""'
    assert units["Client"].docstring == "Old client."
    assert units["Client.parse"].docstring == "Parse it."
    assert units["Client.parse"].code.startswith("@staticmethod\ndef parse(data):\n")


def test_parse_source_sorts_by_line_then_name() -> None:
    units = parse_source("repo.py", "python", REPO)
    assert [(u.start_line, u.name) for u in units] == sorted((u.start_line, u.name) for u in units)
    assert units[0].name == "Repo"


def test_empty_and_definition_free_files_have_no_units() -> None:
    assert parse_python("e.py", "") == []
    assert parse_python("c.py", "X = 1\nsquare = lambda x: x * x\n") == []
