"""Retrieval metrics over the 1-based rank of the right answer (None when not found)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class RetrievalMetrics:
    questions: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    unanswerable: int = 0
    no_answer_rate: float | None = None  # share of unanswerable questions given no hit

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    return sum(1 for rank in ranks if rank is not None and rank <= k) / len(ranks)


def mrr_at(ranks: Sequence[int | None], k: int) -> float:
    return sum(1.0 / rank for rank in ranks if rank is not None and rank <= k) / len(ranks)


def compute_metrics(
    ranks: Sequence[int | None], no_answer: Sequence[bool] = ()
) -> RetrievalMetrics:
    """`ranks` of the answerable questions; `no_answer[i]`: unanswerable i got no hit."""
    if not ranks:
        raise ValueError("no ranks to score")
    return RetrievalMetrics(
        unanswerable=len(no_answer),
        no_answer_rate=sum(no_answer) / len(no_answer) if no_answer else None,
        questions=len(ranks),
        recall_at_1=recall_at(ranks, 1),
        recall_at_5=recall_at(ranks, 5),
        recall_at_10=recall_at(ranks, 10),
        mrr_at_10=mrr_at(ranks, 10),
    )


METRICS_HEADER = f"{'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} {'no-answer':>9}"


def format_metrics(values: Mapping[str, object], *, show_no_answer: bool = True) -> str:
    """One table row under METRICS_HEADER, from `RetrievalMetrics.as_dict()`."""
    numbers = [values[key] for key in ("recall_at_1", "recall_at_5", "recall_at_10")]
    rate = values["no_answer_rate"] if show_no_answer else None
    shown = "-" if rate is None else f"{rate:.3f}"
    recall = " ".join(f"{number:>6.3f}" for number in numbers)
    return f"{recall} {values['mrr_at_10']:>7.3f} {shown:>9}"
