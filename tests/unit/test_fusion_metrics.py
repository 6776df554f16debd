from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ragcode.domain import Record, UnitKind
from ragcode.evaluation.dataset import DatasetError, EvalCase, load_dataset
from ragcode.evaluation.metrics import compute_metrics
from ragcode.retrieve.fusion import (
    best_cosines,
    best_scores,
    ranks_by_id,
    reciprocal_rank_fusion,
)
from ragcode.store.protocol import ScoredId

pytestmark = pytest.mark.unit


def ids(*names: str) -> list[ScoredId]:
    return [ScoredId(name, float(10 - i)) for i, name in enumerate(names)]


def test_rrf_rewards_agreement_between_lists() -> None:
    fused = reciprocal_rank_fusion(
        {"lexical:code": ids("a", "b", "c"), "vector:code": ids("b", "d")}, k=60
    )
    assert max(fused, key=lambda uid: fused[uid]) == "b"
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["d"] == pytest.approx(1 / 62)


def test_rrf_weights_and_ranks() -> None:
    lists = {"x": ids("a", "b"), "y": ids("b", "a")}
    fused = reciprocal_rank_fusion(lists, k=0, weights={"x": 3.0})
    assert fused["a"] == pytest.approx(3.0 + 0.5)
    assert ranks_by_id(lists)["a"] == {"x": 1, "y": 2}
    assert best_scores(lists, "x") == {"a": 10.0, "b": 9.0}


def test_metrics() -> None:
    metrics = compute_metrics([1, 2, None, 6])
    assert metrics.recall_at_1 == 0.25
    assert metrics.recall_at_5 == 0.5
    assert metrics.recall_at_10 == 0.75
    assert metrics.mrr_at_10 == pytest.approx((1 + 0.5 + 1 / 6) / 4)


def test_case_matches_path_suffix_and_bare_or_qualified_name() -> None:
    unit = Record("pkg/toolz/functoolz.py", "curry.bind", UnitKind.METHOD, "python", 1, 2, "x")
    assert EvalCase("q", "toolz/functoolz.py", "curry.bind").matches(unit)
    assert EvalCase("q", "functoolz.py", "bind").matches(unit)
    assert not EvalCase("q", "oolz/functoolz.py", "curry.bind").matches(
        Record("pkg/xtoolz/functoolz.py", "curry.bind", UnitKind.METHOD, "python", 1, 2, "x")
    )
    assert not EvalCase("q", "toolz/itertoolz.py", "curry.bind").matches(unit)


def test_dataset_errors_name_the_line(tmp_path: Path) -> None:
    good = json.dumps({"q": "질문", "path": "a.py", "name": "f"}, ensure_ascii=False)
    path = tmp_path / "set.jsonl"
    path.write_text(good + "\n\n" + '{"q": "x", "path": "a.py"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"set\.jsonl:3"):
        load_dataset(path)
    path.write_text(good + "\n" + '{"q": "날씨"}\n', encoding="utf-8")
    cases = load_dataset(path)
    assert cases == [EvalCase("질문", "a.py", "f"), EvalCase("날씨", None, None)]
    assert [case.answerable for case in cases] == [True, False]


def test_no_answer_rate_counts_only_unanswerable() -> None:
    metrics = compute_metrics([1, None], no_answer=[True, False, True])
    assert metrics.recall_at_1 == 0.5
    assert (metrics.unanswerable, metrics.no_answer_rate) == (3, pytest.approx(2 / 3))  # type: ignore[comparison-overlap]  # pytest.approx compares equal to the float
    assert compute_metrics([1]).no_answer_rate is None


def test_figures_per_language_of_the_gold_file() -> None:
    from ragcode.evaluation.runner import CaseResult, by_language

    def result(path: str | None, rank: int | None) -> CaseResult:
        name = None if path is None else "f"
        return CaseResult(EvalCase("q", path, name), rank=rank, top=None, hits=0)

    results = [
        result("toolz/itertoolz.py", 1), result("toolz/dicttoolz.py", None),
        result("validator.go", 3), result("lodash/chunk.js", 11),
        result("faq.csv", 2), result(None, None),  # unanswerable: no language
    ]  # fmt: skip
    per = by_language(results)
    assert list(per) == ["csv", "go", "javascript", "python"]
    assert (per["python"].questions, per["python"].recall_at_1) == (2, 0.5)
    assert per["go"].recall_at_1 == 0.0 and per["go"].recall_at_5 == 1.0
    assert per["javascript"].recall_at_10 == 0.0 and per["csv"].mrr_at_10 == 0.5


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_best_cosines_take_each_units_best_stored_vector_per_query() -> None:
    """The rerank's one product for every candidate: per unit the best of its code and
    summary vectors, for the question and each cut-off vector; a unit without vectors 0.0,
    and a unit whose vectors all point away keeps its negative best (not 0.0)."""
    vectors = {
        "both": [unit(1, 0, 0), unit(0, 1, 0)],
        "away": [unit(-1, -1, 0), unit(-1, -1, -1)],
        "one": [unit(0, 0, 1)],
    }
    question, cutoff = unit(1, 0, 0), unit(0, 1, 0)
    best = best_cosines(["away", "none", "both", "one"], vectors, [question, cutoff])
    assert best.shape == (4, 2)
    assert best[0] == pytest.approx([-1 / np.sqrt(3), -1 / np.sqrt(3)], abs=1e-6)
    assert list(best[1]) == [0.0, 0.0]
    assert best[2] == pytest.approx([1.0, 1.0], abs=1e-6)
    assert best[3] == pytest.approx([0.0, 0.0], abs=1e-6)
    for row, uid in enumerate(["away", "both", "one"]):
        expected = [max(float(v @ q) for v in vectors[uid]) for q in (question, cutoff)]
        assert best[[0, 2, 3][row]] == pytest.approx(expected, abs=1e-6)
    assert best_cosines([], vectors, [question]).shape == (0, 1)
