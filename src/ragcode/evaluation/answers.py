"""End-to-end evaluation of document Q&A: retrieval, cut-off and the LLM's answer together.

Retrieval metrics say whether the right record was found; a user sees the answer. Here each
question goes through the whole assistant, so "no answer" counts both ways of saying it (the
relevance cut-off, and the LLM's fixed refusal sentence), and an answerable question counts
as answered only if the answer cites the record that answers it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass

from ragcode.chat.doc_answer import DocAnswer, DocEvent
from ragcode.evaluation.dataset import EvalCase


@dataclass(frozen=True, slots=True)
class AnswerResult:
    case: EvalCase
    answered: bool
    answer_given: bool  # answered, with the right record among the documents the LLM read
    cites_answer: bool  # answered, and the right record is among the cited documents
    answer: str
    cited_records: int = 0  # how many documents the answer cites
    cited_other: int = 0  # of those, how many are not the right record


@dataclass(frozen=True, slots=True)
class AnswerMetrics:
    questions: int
    answered_right: float  # answerable questions answered with the right record in context
    cited_right: float  # answerable questions answered with the right record cited
    # Of the answerable questions that got an answer, those citing the right record.
    cited_of_answered: float | None
    # Of the documents cited in answers to answerable questions, the right record's share
    # (citations added for every sentence would raise `cited_right` and lower this).
    citation_precision: float | None
    answerable_refused: float  # answerable questions that got "no answer" (cut-off or LLM)
    unanswerable: int
    no_answer_rate: float | None  # unanswerable questions answered "no answer"
    # Unanswerable questions given an answer that cites a document: a made-up answer that
    # looks sourced (the sentence citations of issue 14 could attach one), worse than a bare one.
    unanswerable_cited: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


Ask = Callable[[str], Iterator[DocEvent]]


def answer_case(ask: Ask, case: EvalCase) -> AnswerResult:
    final = next(event for event in ask(case.question) if isinstance(event, DocAnswer))
    cited = [final.references[n - 1] for n in final.cited]
    cites_answer = final.answered and any(case.matches(hit.record) for hit in cited)
    given = final.answered and any(case.matches(hit.record) for hit in final.references)
    other = sum(not case.matches(hit.record) for hit in cited)
    return AnswerResult(case, final.answered, given, cites_answer, final.answer, len(cited), other)


def answer_metrics(results: Sequence[AnswerResult]) -> AnswerMetrics:
    answerable = [result for result in results if result.case.answerable]
    unanswerable = [result for result in results if not result.case.answerable]
    if not answerable:
        raise ValueError("no answerable questions to score")
    refused = sum(1 for result in unanswerable if not result.answered)
    sourced = sum(1 for result in unanswerable if result.answered and result.cited_records)
    answered = [result for result in answerable if result.answered]
    citations = sum(result.cited_records for result in answered)
    wrong = sum(result.cited_other for result in answered)
    return AnswerMetrics(
        questions=len(answerable),
        answered_right=sum(result.answer_given for result in answerable) / len(answerable),
        cited_right=sum(result.cites_answer for result in answerable) / len(answerable),
        cited_of_answered=(
            sum(result.cites_answer for result in answered) / len(answered) if answered else None
        ),
        citation_precision=(citations - wrong) / citations if citations else None,
        answerable_refused=sum(not result.answered for result in answerable) / len(answerable),
        unanswerable=len(unanswerable),
        no_answer_rate=refused / len(unanswerable) if unanswerable else None,
        unanswerable_cited=sourced / len(unanswerable) if unanswerable else None,
    )


# Column heads of the printed table (`ragcode eval --answers`): `AnswerMetrics`' names, as in
# eval/README.md's tables.
TABLE_COLUMNS = (
    "answered_right", "cited_right", "cited_of_answered", "citation_precision",
    "answerable_refused", "no_answer_rate", "unanswerable_cited",
)  # fmt: skip


def answer_table(metrics: AnswerMetrics) -> str:
    """The metrics as the terminal shows them: a head line, a value line ("-" where nothing
    was there to count) and a Korean line saying what each column counts."""

    def shown(value: float | int | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    figures = metrics.as_dict()
    values = [figures[name] for name in TABLE_COLUMNS]  # a column added there is shown here
    widths = [max(len(head), 5) for head in TABLE_COLUMNS]
    head = " ".join(f"{name:>{width}}" for name, width in zip(TABLE_COLUMNS, widths, strict=True))
    row = " ".join(f"{shown(v):>{width}}" for v, width in zip(values, widths, strict=True))
    legend = (
        f"(질문 {metrics.questions}개: 맞는 문서를 보고 답한 비율, 그 문서를 [n]으로 인용한 "
        "비율, 답한 것 가운데 그 문서를 인용한 비율, 인용한 문서 가운데 맞는 문서의 비율, "
        f"답이 있는데 '답 없음'이라 한 비율; 답이 없는 질문 {metrics.unanswerable}개에 "
        "'답 없음'이라 한 비율, 그 가운데 지어낸 답이 문서를 인용한 질문의 비율)"
    )
    return f"{head}\n{row}\n{legend}"


def evaluate_answers(
    ask: Ask, cases: Sequence[EvalCase], progress: Callable[[AnswerResult], None] | None = None
) -> tuple[AnswerMetrics, list[AnswerResult]]:
    results = []
    for case in cases:
        result = answer_case(ask, case)
        if progress is not None:
            progress(result)
        results.append(result)
    return answer_metrics(results), results
