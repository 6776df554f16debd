"""`ragcode eval --answers`' printed table: the citation figures beside the others (issue 14)."""

from __future__ import annotations

import pytest

from ragcode.evaluation.answers import AnswerMetrics, answer_table

pytestmark = pytest.mark.unit


def test_the_printed_table_shows_the_citation_figures() -> None:
    metrics = AnswerMetrics(60, 0.917, 0.75, 0.776, 0.5, 0.033, 10, 0.6, 0.4)
    head, row, legend = answer_table(metrics).splitlines()
    assert head.split() == [
        "answered_right", "cited_right", "cited_of_answered", "citation_precision",
        "answerable_refused", "no_answer_rate", "unanswerable_cited",
    ]  # fmt: skip
    assert row.split() == ["0.917", "0.750", "0.776", "0.500", "0.033", "0.600", "0.400"]
    assert "질문 60개" in legend and "답이 없는 질문 10개" in legend
    assert "지어낸 답이 문서를 인용한 질문의 비율" in legend
    nothing = AnswerMetrics(5, 0.0, 0.0, None, None, 1.0, 0, None, None)
    assert answer_table(nothing).splitlines()[1].split() == [
        "0.000", "0.000", "-", "-", "1.000", "-", "-",
    ]  # fmt: skip
