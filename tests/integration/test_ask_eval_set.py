"""The ask eval set (`eval/toolz_ask_ko.jsonl`) is well formed: enough questions, every
required symbol really defined in the pinned toolz source (fetched by the same script the
retrieval eval uses, as CI starts from a clean checkout), and no question giving its answer
away by naming a required symbol."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ragcode.evaluation.ask import load_ask_set

pytestmark = pytest.mark.integration

EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"
ASK_SET = EVAL_DIR / "toolz_ask_ko.jsonl"


@pytest.fixture(scope="module")
def toolz_definitions() -> set[str]:
    """Top-level functions and classes of the toolz package (`eval/fetch_source.py`)."""
    done = subprocess.run(
        [sys.executable, str(EVAL_DIR / "fetch_source.py")],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    source = Path(done.stdout.strip().splitlines()[-1])
    names = set()
    for path in source.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names.add(node.name)
    assert len(names) > 60  # the package, not an empty or partial folder
    return names


def required_names() -> list[str]:
    return sorted({name for case in load_ask_set(ASK_SET) for req in case.must_use for name in req})


def test_the_set_has_enough_questions_each_with_requirements() -> None:
    cases = load_ask_set(ASK_SET)
    assert len(cases) >= 30
    assert all(case.must_use for case in cases)
    assert len({case.question for case in cases}) == len(cases)


def test_every_required_symbol_is_defined_in_toolz(toolz_definitions: set[str]) -> None:
    missing = [name for name in required_names() if name not in toolz_definitions]
    assert not missing


def test_the_main_symbol_keys_match_the_requirements() -> None:
    # `name`/`path` as in toolz_ko.jsonl (the first required symbol and its file), so that
    # the checks over every *_ko.jsonl (tests/unit/test_expansion_prompts.py) guard them too.
    for line in ASK_SET.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        first = row["must_use"][0]
        assert row["name"] == (first if isinstance(first, str) else first[0])
        assert row["path"].startswith("toolz/") and row["path"].endswith(".py")


def test_no_question_names_a_required_symbol() -> None:
    for case in load_ask_set(ASK_SET):
        for requirement in case.must_use:
            for name in requirement:
                assert not re.search(
                    rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])", case.question, re.I
                ), (
                    name,
                    case.question,
                )
