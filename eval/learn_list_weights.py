"""Issue 14's last lever, measured and not taken: RRF list weights learned per collection
from each unit's own generated questions (self-supervised, no eval question read).

The summaries of the eval caches end with a line of two or three questions the model expects
a user to ask ("예상 질문: a / b / c"). Leave one out: an index is built whose summaries lack
each unit's last question, and that question is a pseudo-query whose answer is its unit
(the others stay, as they would in a real index; a unit whose question also stands elsewhere
in its summary gives none). Every pseudo-query is searched once
(no LLM expansion: that would need the model per question) and its ranked lists kept; the
weights are then chosen by one round of coordinate ascent on the pseudo-queries' MRR@10,
each list's weight tried at 0.5-2x its default (chosen on toolz: a free 0-3 grid over two
rounds put nearly all weight on the summary's BM25 list, which the model's own questions
echo, and lost 0.04 MRR on toolz's real questions). The eval set is then run as
`run_eval.py --cache-only` does, with the learned table as `[search] list_weights`; only the
index with summaries is reported (without summaries there are no questions to learn from).

Usage: python eval/learn_list_weights.py [--set NAME] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import run_eval

from ragcode.domain import Hit
from ragcode.ingest.questions import QUESTIONS_LABEL, clean_questions
from ragcode.retrieve.hybrid import HybridSearcher, RankedLists, RetrieverChoice
from ragcode.store.protocol import CachedSummary, Vector

MULTIPLIERS = (0.5, 0.75, 1.0, 1.5, 2.0)
REPORTED = ("recall_at_1", "recall_at_5", "recall_at_10", "mrr_at_10", "no_answer_rate")


@dataclass(frozen=True, slots=True)
class Captured:
    """What one search fused: enough to fuse and rerank it again under other weights."""

    lists: RankedLists
    rerank_vector: Vector
    cutoff_vectors: Sequence[Vector]
    scopes: Sequence[str]


def hold_out_question(summary: str) -> tuple[str, str | None]:
    """The summary without its last expected question, and that question. None: fewer than
    two questions, or the question also stands elsewhere in the summary (the model copies a
    short one into its search terms now and then), where the unit's own lists would find it
    by its own words: no pseudo-query from that unit."""
    label = QUESTIONS_LABEL.rstrip()
    lines = summary.split("\n")
    for number, line in enumerate(lines):
        if line.startswith(label):
            questions = clean_questions(line[len(label) :])  # as the summarizer split them
            if len(questions) < 2:
                return summary, None
            lines[number] = f"{QUESTIONS_LABEL}{' / '.join(questions[:-1])}"
            indexed = "\n".join(lines)
            return indexed, (None if questions[-1] in indexed else questions[-1])
    return summary, None


def capture_searches(
    searcher: HybridSearcher, questions: Sequence[str]
) -> tuple[list[Captured], Callable[..., list[Hit]]]:
    """Search each question once, keeping the lists it fused; returns them and the fusion.
    Experiment code: it wraps the searcher's private fusion step, which src does not expose."""
    fuse: Callable[..., list[Hit]] = searcher._fuse_and_rerank
    captured: list[Captured] = []

    def recording(
        lists: RankedLists, rerank_vector: Vector, top_k: int, rerank_on: bool,
        scopes: Sequence[str], cutoff_vectors: Sequence[Vector] = (),
    ) -> list[Hit]:  # fmt: skip
        captured.append(Captured(lists, rerank_vector, cutoff_vectors, scopes))
        return fuse(lists, rerank_vector, top_k, rerank_on, scopes, cutoff_vectors)

    searcher._fuse_and_rerank = recording  # type: ignore[method-assign,assignment]
    try:
        for question in questions:
            searcher.search(question, top_k=10, retrievers=RetrieverChoice(expand=False))
    finally:
        searcher._fuse_and_rerank = fuse  # type: ignore[method-assign]
    return captured, fuse


def pseudo_mrr(
    captured: Sequence[Captured], golds: Sequence[str], fuse: Callable[..., list[Hit]]
) -> float:
    total = 0.0
    for search, gold in zip(captured, golds, strict=True):
        hits = fuse(
            search.lists, search.rerank_vector, 10, True, search.scopes, search.cutoff_vectors
        )
        ranks = [rank for rank, hit in enumerate(hits, 1) if hit.record.code_hash == gold]
        total += 1.0 / ranks[0] if ranks else 0.0
    return total / len(golds)


def learn(es: run_eval.EvalSet, data_dir: Path) -> dict[str, object]:
    held_out: list[CachedSummary] = []
    pseudo: list[tuple[str, str]] = []  # (question, code hash of its unit)
    for row in run_eval.read_cache(es):
        summary, question = hold_out_question(row.summary)
        held_out.append(replace(row, summary=summary))
        if question is not None:
            pseudo.append((question, row.code_hash))
    source = run_eval.fetch_source(es)
    with run_eval.open_app(es, data_dir, True, False, None) as app:
        app.store.import_summary_cache(held_out)
        app.indexer.index(source)
        app.summaries.run(limit=0)
        captured, fuse = capture_searches(app.searcher, [q for q, _gold in pseudo])
        golds = [gold for _q, gold in pseudo]
        weights = app.settings.search.list_weights  # the searcher reads this same table
        names = sorted({name for search in captured for name in search.lists})
        defaults = {name: weights.get(name, 1.0) for name in names}
        best = default_mrr = pseudo_mrr(captured, golds, fuse)
        for name in names:
            keep = weights.get(name, 1.0)
            for multiplier in MULTIPLIERS:
                weights[name] = defaults[name] * multiplier
                score = pseudo_mrr(captured, golds, fuse)
                if score > best + 1e-9:
                    best, keep = score, weights[name]
            weights[name] = keep
        return {
            "pseudo_queries": len(golds),
            "pseudo_mrr_default": round(default_mrr, 3),
            "pseudo_mrr_learned": round(best, 3),
            "default_weights": defaults,
            "learned_weights": {name: weights.get(name, 1.0) for name in names},
        }


def with_summaries(es: run_eval.EvalSet, data_dir: Path) -> dict[str, dict[str, float]]:
    results = run_eval.run(es, data_dir, regenerate=False, cache_only=True)
    table = results["with_summaries"]
    assert isinstance(table, dict)
    return {
        name: {key: round(float(metrics[key]), 3) for key in REPORTED if metrics[key] is not None}
        for name, metrics in table.items()
        if name in ("hybrid", "no-expand")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(run_eval.SETS), default="toolz")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    es = run_eval.SETS[args.set]
    with tempfile.TemporaryDirectory(prefix="ragcode-weights-") as scratch:
        report = learn(es, Path(scratch) / "learn")
        report["default"] = with_summaries(es, Path(scratch) / "default")
        # The documented way a team sets the table ([search] list_weights), for this process.
        os.environ["RAGCODE_SEARCH__LIST_WEIGHTS"] = json.dumps(report["learned_weights"])
        report["learned"] = with_summaries(es, Path(scratch) / "learned")
    report["set"] = args.set
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    print(f"{args.set}: {report['pseudo_queries']} pseudo-queries, pseudo MRR@10 "
          f"{report['pseudo_mrr_default']} -> {report['pseudo_mrr_learned']}")  # fmt: skip
    print(f"learned weights: {report['learned_weights']}")
    for table in ("default", "learned"):
        rows = report[table]
        assert isinstance(rows, dict)
        for name, metrics in rows.items():
            print(f"{table:<8} {name:<9} {metrics}")


if __name__ == "__main__":
    main()
