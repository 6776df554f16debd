"""The ask eval runner (`eval/run_ask_eval.py`) end to end: toolz indexed from the summary
cache, one question answered by the real 0.5B model in both configurations, scored, saved."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_MODEL

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
FIELDS = {
    "questions",
    "with_code",
    "right_symbols",
    "invented",
    "han",
    "parses",
    "repaired",
    "mean_seconds",
}


def test_one_question_is_answered_and_scored_in_both_configurations(tmp_path: Path) -> None:
    saved = tmp_path / "ask.jsonl"
    script = REPO / "eval" / "run_ask_eval.py"
    args = [sys.executable, str(script), "--model", TEST_MODEL, "--limit", "1"]
    # A small context budget: the runner is under test here, not the answers (the full
    # prompt's prefill took most of this test's minutes on 2 cores).
    args += ["--max-tokens", "200", "--context-tokens", "600", "--json", "--save", str(saved)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, check=False, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["model"] == TEST_MODEL
    assert report["context_tokens"] == 600  # a budget other than the product's is named
    assert set(report["configs"]) == {"before", "after"}
    for figures in report["configs"].values():
        assert set(figures) == FIELDS
        assert figures["questions"] == 1
        assert figures["mean_seconds"] > 0.5  # the model really generated
    rows = [json.loads(line) for line in saved.read_text(encoding="utf-8").splitlines()]
    assert [row["config"] for row in rows] == ["before", "after"]
    assert {row["context_tokens"] for row in rows} == {600}
    first = json.loads((REPO / "eval" / "toolz_ask_ko.jsonl").read_text().splitlines()[0])
    assert all(row["question"] == first["q"] and row["answer"].strip() for row in rows)
    # The saved figures are the ones reported (a row per answer, summarised the same way).
    again = [sys.executable, str(script), "--summarize", str(saved), "--json"]
    summary = json.loads(subprocess.run(again, capture_output=True, text=True, check=True).stdout)
    assert summary["configs"] == report["configs"]
