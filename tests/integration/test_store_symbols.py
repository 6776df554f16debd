"""The symbol look-ups of the grounding check (protocol.SymbolLookup) on every backend: the
embedded SQLite file and a real PostgreSQL + pgvector (tests/pg_server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ragcode.domain import Record, SummaryState, UnitKind, user_scope
from ragcode.store.protocol import CodeStore, FileRecord, IndexEntry, Symbol
from ragcode.store.sqlite_store import SqliteStore
from ragcode.text.analyzer import TextAnalyzer

pytestmark = pytest.mark.integration

ROOT = "/src/requests"
UNITS = {
    "requests/sessions.py": [
        ("Session", UnitKind.CLASS, "class Session(SessionRedirectMixin):\n    max_redirects = 30"),
        ("Session.mount", UnitKind.METHOD, "def mount(self, prefix, adapter):\n    pass"),
        ("Session.resolve_redirects", UnitKind.METHOD, "def resolve_redirects(self):\n    pass"),
    ],
    "requests/adapters.py": [
        ("HTTPAdapter", UnitKind.CLASS, "class HTTPAdapter(BaseAdapter):\n    retry = Retry(0)"),
        ("HTTPAdapter.send", UnitKind.METHOD, "def send(self, request):\n    pass"),
    ],
}


def entry(path: str, title: str, kind: UnitKind, code: str, line: int) -> IndexEntry:
    record = Record(path, title, kind, "python", line, line + 1, code)
    vector = np.ones(8, dtype=np.float32) / np.sqrt(8)
    return IndexEntry(
        uid=f"{path}:{title}",
        record=record,
        summary=None,
        summary_state=SummaryState.PENDING,
        tokens={"code": code.split()},
        vectors={"code": vector},
    )


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CodeStore]:
    if request.param == "sqlite":
        opened: CodeStore = SqliteStore(tmp_path / "index.sqlite3", "code")
    else:
        from ragcode.store.postgres import PostgresStore

        opened = PostgresStore(request.getfixturevalue("pg_database"), collection="code")
    for path, units in UNITS.items():
        entries = [entry(path, *unit, line=10 * n + 1) for n, unit in enumerate(units)]
        opened.replace_file(FileRecord(ROOT, path, "h", "python"), entries)
    # A private upload (someone else's scope) and a document chunk: neither defines a symbol
    # for the team.
    private = entry("mine/retry.py", "set_max_redirects", UnitKind.FUNCTION, "def x(): pass", 1)
    opened.replace_file(FileRecord("/up", "mine/retry.py", "h", "python", user_scope(9)), [private])
    # A module of imports only: a file with no unit is a module all the same.
    opened.replace_file(FileRecord(ROOT, "requests/packages.py", "h", "python"), [])
    doc = Record("faq.md", "retry_policy", UnitKind.SECTION, "markdown", 1, 2, "retry_policy")
    opened.replace_file(
        FileRecord("/docs", "faq.md", "h", "markdown"),
        [IndexEntry("faq", doc, None, SummaryState.PENDING, {"code": ["retry"]}, {})],
    )
    yield opened
    opened.close()


def test_defined_names_are_unit_names_modules_and_words_of_code(store: CodeStore) -> None:
    asked = [
        "Session", "mount", "HTTPAdapter", "requests", "sessions", "adapters", "packages",
        "Retry", "max_redirects",  # words of indexed code (re-exported, attributes)
        "set_max_redirects", "retry_policy", "Sess", "max",  # not defined
    ]  # fmt: skip
    assert store.defined_names(asked) == {
        "Session", "mount", "HTTPAdapter", "requests", "sessions", "adapters", "packages",
        "Retry", "max_redirects",
    }  # fmt: skip


def test_indexed_modules_are_paths_and_roots_not_words(store: CodeStore) -> None:
    asked = ["requests", "sessions", "adapters", "packages", "Retry", "Session", "faq", "docs"]
    assert store.indexed_modules(asked) == {"requests", "sessions", "adapters", "packages"}
    assert store.indexed_modules(["mine", "retry"]) == set()  # someone else's upload
    assert store.indexed_modules(["mine", "retry"], ("team", user_scope(9))) == {"mine", "retry"}


def test_defined_names_follow_the_callers_scopes(store: CodeStore) -> None:
    assert store.defined_names(["set_max_redirects"]) == set()
    scopes = ("team", user_scope(9))
    assert store.defined_names(["set_max_redirects", "mount"], scopes) == {
        "set_max_redirects",
        "mount",
    }
    assert store.defined_names(["mount"], scopes=()) == set()


def test_closest_symbols_share_identifier_parts(store: CodeStore) -> None:
    closest = store.closest_symbols(["set_max_redirects"], limit=3)
    assert closest[0] == Symbol("Session.resolve_redirects", "requests/sessions.py")
    assert all(symbol.path.startswith("requests/") for symbol in closest)
    assert len(store.closest_symbols(["set_max_redirects"], limit=1)) == 1
    # The private upload's exact match is someone else's: not offered to the team.
    assert Symbol("set_max_redirects", "mine/retry.py") not in closest
    assert store.closest_symbols(["zzz_qqq"]) == []


def test_words_of_code_are_looked_up_in_the_code_postings(store: CodeStore) -> None:
    """Only the units whose indexed `code` postings hold a name are read for it (no scan of
    every unit's code): the analyser's form of a name (a single word stemmed) finds it."""
    code = "def tally(self):\n    return len(self.items) + self.hidden_word"
    tokens = TextAnalyzer().analyze_code(code)
    assert "item" in tokens and "items" not in tokens  # stemmed in the postings
    tokens.remove("hidden_word")  # a word of the code its postings do not hold
    unit = entry("requests/tally.py", "tally", UnitKind.FUNCTION, code, 1)
    unit = IndexEntry(unit.uid, unit.record, None, SummaryState.PENDING, {"code": tokens}, {})
    store.replace_file(FileRecord(ROOT, "requests/tally.py", "h", "python"), [unit])
    assert store.defined_names(["items", "hidden_word", "item"]) == {"items"}
