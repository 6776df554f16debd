"""Run an evaluation set through the searcher, hybrid and single-retriever baselines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from ragcode.evaluation.dataset import EvalCase
from ragcode.evaluation.metrics import RetrievalMetrics, compute_metrics
from ragcode.ingest.languages import detect_language
from ragcode.retrieve.hybrid import HybridSearcher, RetrieverChoice

CONFIGURATIONS: dict[str, RetrieverChoice] = {
    "hybrid": RetrieverChoice(lexical=True, vector=True),
    # Without any expansion (LLM or glossary): the single retrievers and the plain hybrid.
    "no-expand": RetrieverChoice(lexical=True, vector=True, expand=False, glossary=False),
    "lexical": RetrieverChoice(
        lexical=True, vector=False, rerank=False, expand=False, glossary=False
    ),
    "vector": RetrieverChoice(
        lexical=False, vector=True, rerank=False, expand=False, glossary=False
    ),
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


def language_of(case: EvalCase) -> str | None:
    """The language of an answerable case's gold file ("python", "go"; a document's format
    from its suffix, "csv"); None for an unanswerable one."""
    if case.path is None:
        return None
    return detect_language(case.path) or PurePosixPath(case.path).suffix.lstrip(".") or "other"


def by_language(results: Sequence[CaseResult]) -> dict[str, RetrievalMetrics]:
    """The answerable questions' figures per language of their gold file, by name."""
    ranks: dict[str, list[int | None]] = {}
    for result in results:
        language = language_of(result.case)
        if language is not None:
            ranks.setdefault(language, []).append(result.rank)
    return {language: compute_metrics(ranks[language]) for language in sorted(ranks)}
