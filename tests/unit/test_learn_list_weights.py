"""The leave-one-out split of eval/learn_list_weights.py: the question a unit is searched
with must be gone from the summary it is indexed with (left in, the summary's lists would
find it by its own words, and the learned weights would be chosen on a leak)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit
EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"


@pytest.fixture(scope="module")
def script() -> Iterator[ModuleType]:
    sys.path.insert(0, str(EVAL_DIR))  # the script imports its neighbour run_eval
    try:
        path = EVAL_DIR / "learn_list_weights.py"
        spec = importlib.util.spec_from_file_location("learn_list_weights", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclass looks its module up there
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(EVAL_DIR))
        sys.modules.pop("learn_list_weights", None)


def test_the_last_question_is_held_out_and_the_rest_kept(script: ModuleType) -> None:
    summary = (
        "목록을 합친다.\n검색어: 합치기\n"
        "예상 질문: 목록 합치는 법 / 두 리스트 병합 / 사전 합치기 함수"
    )
    indexed, question = script.hold_out_question(summary)
    assert question == "사전 합치기 함수"
    assert question not in indexed
    assert indexed == "목록을 합친다.\n검색어: 합치기\n예상 질문: 목록 합치는 법 / 두 리스트 병합"


def test_questions_are_split_as_the_summarizer_splits_them(script: ModuleType) -> None:
    summary = "설명.\n예상 질문: 1. 첫 질문입니다 /둘째와 붙은 질문 / 셋째 질문입니다"
    indexed, question = script.hold_out_question(summary)
    assert question == "셋째 질문입니다"
    assert indexed == "설명.\n예상 질문: 첫 질문입니다 /둘째와 붙은 질문"


def test_no_pseudo_query_from_a_unit_with_fewer_than_two_questions(script: ModuleType) -> None:
    for summary in ("설명뿐.", "설명.\n예상 질문: 하나뿐인 질문"):
        assert script.hold_out_question(summary) == (summary, None)


def test_no_pseudo_query_when_the_question_stands_elsewhere_too(script: ModuleType) -> None:
    summary = "설명.\n검색어: 소수점 체크, 숫자\n예상 질문: 숫자인지 확인 / 소수점 체크"
    indexed, question = script.hold_out_question(summary)
    assert question is None
    assert indexed == "설명.\n검색어: 소수점 체크, 숫자\n예상 질문: 숫자인지 확인"


def test_no_shipped_cache_row_keeps_the_question_it_is_searched_with(script: ModuleType) -> None:
    for name in ("toolz", "lodash-es", "govalidator"):
        lines = (EVAL_DIR / f"{name}_summaries.jsonl").read_text(encoding="utf-8").splitlines()
        held = 0
        for line in lines:
            indexed, question = script.hold_out_question(json.loads(line)["summary"])
            if question is not None:
                held += 1
                assert question not in indexed, (name, question)
        assert held >= 0.9 * len(lines), name  # nearly every unit gives a pseudo-query
