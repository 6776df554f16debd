"""Run an evaluation set through the searcher, hybrid and single-retriever baselines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ragcode.evaluation.dataset import EvalCase
from ragcode.evaluation.metrics import RetrievalMetrics, compute_metrics
from ragcode.retrieve.hybrid import HybridSearcher, RetrieverChoice

CONFIGURATIONS: dict[str, RetrieverChoice] = {
    "hybrid": RetrieverChoice(lexical=True, vector=True),
    "no-expand": RetrieverChoice(lexical=True, vector=True, expand=False),
    "lexical": RetrieverChoice(lexical=True, vector=False, rerank=False, expand=False),
    "vector": RetrieverChoice(lexical=False, vector=True, rerank=False, expand=False),
}


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: EvalCase
    rank: int | None
    top: str | None  # "path:name" of the first hit, to see what won instead
    hits: int


def rank_case(searcher: HybridSearcher, case: EvalCase, choice: RetrieverChoice) -> CaseResult:
    hits = searcher.search(case.question, top_k=10, retrievers=choice)
    rank = next((i for i, hit in enumerate(hits, start=1) if case.matches(hit.record)), None)
    top = f"{hits[0].record.path}:{hits[0].record.title}" if hits else None
    return CaseResult(case=case, rank=rank, top=top, hits=len(hits))


def evaluate(
    searcher: HybridSearcher, cases: Sequence[EvalCase], choice: RetrieverChoice
) -> tuple[RetrievalMetrics, list[CaseResult]]:
    results = [rank_case(searcher, case, choice) for case in cases]
    ranks = [result.rank for result in results if result.case.answerable]
    no_answer = [result.hits == 0 for result in results if not result.case.answerable]
    return compute_metrics(ranks, no_answer), results
