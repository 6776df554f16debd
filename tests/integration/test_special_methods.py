"""Special methods are found by what their protocol does, not by their dunder name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ragcode.app import App
from ragcode.ingest.python_protocols import protocol_terms

pytestmark = pytest.mark.integration

SOURCE = """
class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __reduce__(self):
        return (Point, (self.x, self.y))

    def __hash__(self):
        return hash((self.x, self.y))

    def __eq__(self, other):
        return (self.x, self.y) == (other.x, other.y)

    def moved(self, dx, dy):
        return Point(self.x + dx, self.y + dy)


def distance(a, b):
    return ((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5
"""


def test_questions_about_a_protocol_find_its_special_method(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    (tmp_path / "geometry.py").write_text(SOURCE, encoding="utf-8")
    app = make_app()
    app.indexer.index(tmp_path / "geometry.py")  # no summaries: the terms work without the LLM
    for question, wanted in [
        ("점 객체를 피클로 직렬화하는 방법", "Point.__reduce__"),
        ("점을 딕셔너리 키로 쓸 수 있게 해시값을 계산하는 곳", "Point.__hash__"),
    ]:
        hits = app.searcher.search(question, top_k=3)
        assert hits and hits[0].record.title == wanted, [hit.record.title for hit in hits]


def test_terms_are_for_python_special_names_only() -> None:
    assert "pickle" in protocol_terms("Point.__reduce__", "python")
    assert protocol_terms("Point.__reduce__", "javascript") == ""
    assert protocol_terms("Point.reduce", "python") == ""
