"""The leave-one-out split of eval/learn_list_weights.py: the question a unit is searched
with must be gone from the summary it is indexed with (left in, the summary's lists would
find it by its own words, and the learned weights would be chosen on a leak)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"


def load_script() -> ModuleType:
    sys.path.insert(0, str(EVAL_DIR))  # the script imports its neighbour run_eval
    try:
        spec = importlib.util.spec_from_file_location(
            "learn_list_weights", EVAL_DIR / "learn_list_weights.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclass looks its module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EVAL_DIR))


def test_the_last_question_is_held_out_and_the_rest_kept() -> None:
    script = load_script()
    summary = (
        "목록을 합친다.\n검색어: 합치기\n"
        "예상 질문: 목록 합치는 법 / 두 리스트 병합 / 사전 합치기 함수"
    )
    indexed, question = script.hold_out_question(summary)
    assert question == "사전 합치기 함수"
    assert question not in indexed
    assert indexed == "목록을 합친다.\n검색어: 합치기\n예상 질문: 목록 합치는 법 / 두 리스트 병합"


def test_a_unit_with_one_question_or_none_gives_no_pseudo_query() -> None:
    script = load_script()
    for summary in ("설명뿐.", "설명.\n예상 질문: 하나뿐인 질문"):
        assert script.hold_out_question(summary) == (summary, None)


def test_every_shipped_cache_row_loses_the_question_it_is_searched_with() -> None:
    script = load_script()
    for name in ("toolz", "lodash-es", "govalidator"):
        lines = (EVAL_DIR / f"{name}_summaries.jsonl").read_text(encoding="utf-8").splitlines()
        held = 0
        for line in lines:
            indexed, question = script.hold_out_question(json.loads(line)["summary"])
            if question is not None:
                held += 1
                questions_line = indexed.split("예상 질문:")[1]
                assert question not in questions_line.split(" / ")
        assert held >= 0.95 * len(lines), name  # nearly every unit gives a pseudo-query
