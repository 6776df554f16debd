"""The citation figures of the answer evaluation: of the answered questions, and precision."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragcode.chat.doc_answer import DocAnswer, DocEvent
from ragcode.evaluation.answers import AnswerResult, answer_case, answer_metrics
from ragcode.evaluation.dataset import EvalCase
from tests.unit.test_doc_answer import faq_hit

pytestmark = pytest.mark.unit
FAQ = "bank_faq_ko.csv"


def result(answerable: bool, answered: bool, cites: bool, cited: int, other: int) -> AnswerResult:
    case = EvalCase("질문", FAQ, "레코드") if answerable else EvalCase("질문", None, None)
    return AnswerResult(case, answered, answered, cites, "답", cited, other)


def test_cited_of_answered_counts_only_answered_answerable_questions() -> None:
    metrics = answer_metrics(
        [
            result(True, True, True, cited=2, other=1),  # right record and one other
            result(True, True, False, cited=1, other=1),  # answered from another record
            result(True, False, False, cited=0, other=0),  # refused: not in the ratio
            result(False, True, False, cited=3, other=3),  # unanswerable: not counted
        ]
    )
    assert metrics.cited_right == pytest.approx(1 / 3)
    assert metrics.cited_of_answered == pytest.approx(1 / 2)
    assert metrics.citation_precision == pytest.approx(1 / 3)  # 1 right of 3 cited


def test_unanswerable_cited_counts_made_up_answers_that_cite_a_document() -> None:
    metrics = answer_metrics(
        [
            result(True, True, True, cited=1, other=0),  # answerable: not in this figure
            result(False, True, False, cited=2, other=2),  # made up, and cites: counted
            result(False, True, False, cited=0, other=0),  # made up, no citation
            result(False, False, False, cited=0, other=0),  # "no answer"
            result(False, False, False, cited=1, other=1),  # "no answer" with a stray [n]
        ]
    )
    assert metrics.unanswerable_cited == pytest.approx(1 / 4)
    assert metrics.no_answer_rate == pytest.approx(2 / 4)
    assert answer_metrics([result(True, True, True, 1, 0)]).unanswerable_cited is None


def test_no_answers_no_citation_figures() -> None:
    metrics = answer_metrics([result(True, False, False, 0, 0)])
    assert metrics.cited_of_answered is None and metrics.citation_precision is None


def test_answer_case_counts_the_cited_records_that_are_not_the_answer() -> None:
    right, other = faq_hit("레코드", "답입니다.", 3), faq_hit("다른 레코드", "다른 답.", 4)

    def ask(question: str) -> Iterator[DocEvent]:
        yield DocAnswer(question, "답입니다 [1]. 다른 답 [2].", [right, other], True, [1, 2])

    found = answer_case(ask, EvalCase("질문", FAQ, "레코드"))
    assert found.cites_answer and found.cited_records == 2 and found.cited_other == 1
