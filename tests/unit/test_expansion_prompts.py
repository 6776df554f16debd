"""The few-shot examples (query expansion, ideograph repair) stay outside every shipped
evaluation set.

An example that paraphrases an eval question (or whose answer names the gold function)
teaches the model the answer it is then measured on, so these checks guard the figures.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ragcode.llm.han_repair import REPAIR_EXAMPLE
from ragcode.retrieve.expansion_prompts import CODE_EXPANSION, DOCUMENT_EXPANSION

pytestmark = pytest.mark.unit

EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"
# Sets of questions: every *_ko.jsonl (the caches beside them hold no questions of their own).
EVAL_SETS = sorted(EVAL_DIR.glob("*_ko.jsonl"))
# The old example that paraphrased toolz line 6 shared 0.157 of its character bigrams with it;
# unrelated Korean questions share under 0.13 (common endings like "하는", "싶어요").
MAX_BIGRAM_OVERLAP = 0.15
SHOTS = CODE_EXPANSION.shots + DOCUMENT_EXPANSION.shots + REPAIR_EXAMPLE


def eval_rows() -> list[dict[str, str | None]]:
    rows = []
    for path in EVAL_SETS:
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return rows


def bigrams(text: str) -> set[str]:
    compact = re.sub(r"\s+", "", text)
    return {compact[i : i + 2] for i in range(len(compact) - 1)}


def overlap(a: str, b: str) -> float:
    first, second = bigrams(a), bigrams(b)
    return len(first & second) / len(first | second)


def test_the_eval_sets_are_found() -> None:
    assert {p.name for p in EVAL_SETS} >= {"toolz_ko.jsonl", "bank_faq_ko.jsonl"}
    assert len(eval_rows()) > 150


@pytest.mark.parametrize("question", [q for q, _ in SHOTS])
def test_no_example_question_paraphrases_an_eval_question(question: str) -> None:
    closest = max(eval_rows(), key=lambda row: overlap(question, str(row["q"])))
    assert overlap(question, str(closest["q"])) < MAX_BIGRAM_OVERLAP, closest["q"]


def test_the_overlap_measure_catches_a_paraphrase() -> None:
    # The retired example 2, next to eval/toolz_ko.jsonl's unanswerable retry question.
    retired = "HTTP 요청이 실패하면 몇 번 다시 시도하는 코드"
    assert max(overlap(retired, str(row["q"])) for row in eval_rows()) >= MAX_BIGRAM_OVERLAP


@pytest.mark.parametrize("answer", [a for _, a in CODE_EXPANSION.shots + REPAIR_EXAMPLE])
def test_no_example_answer_names_a_gold_identifier(answer: str) -> None:
    gold = set()
    for row in eval_rows():
        if row.get("name") and row.get("path") and not str(row["path"]).endswith(".csv"):
            gold |= {part.lower() for part in str(row["name"]).split(".")}
        for need in row.get("must_use") or []:  # the ask set: names a right answer uses
            names = need if isinstance(need, list) else [need]
            gold |= {str(name).lower() for name in names}
    assert not set(answer.lower().split()) & gold
