"""`ragcode eval --answers` prints the citation figures (issue 14): `cited_of_answered` and
`citation_precision` beside the others, the same values as `--json`, through the CLI with the
real 0.5B model on a two-question set written for this test (not from eval/)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ragcode.evaluation.answers import TABLE_COLUMNS
from tests.e2e.test_docs_cli import SAMPLE_FAQ, ragcode

pytestmark = pytest.mark.e2e
CASES = [
    {"q": "OTP 기기는 어디에서 발급받을 수 있나요?", "path": "bank_faq_ko.csv",
     "name": "OTP는 어디서 발급받나요?"},
    {"q": "오늘 저녁 메뉴로 무엇을 먹을까요?", "path": None, "name": None},
]  # fmt: skip


def test_answers_table_shows_the_citation_figures(tmp_path: Path, cli_env: dict[str, str]) -> None:
    env = {
        **cli_env,
        "RAGCODE_DOCUMENTS__MAX_ANSWER_TOKENS": "96",
        "RAGCODE_DOCUMENTS__TEMPERATURE": "0",  # greedy: both runs answer alike
    }
    shutil.copy(SAMPLE_FAQ, tmp_path / "bank_faq_ko.csv")
    assert ragcode("docs", "add", str(tmp_path / "bank_faq_ko.csv"), env=env).returncode == 0
    dataset = tmp_path / "cases.jsonl"
    dataset.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in CASES), "utf-8")
    args = ("eval", str(dataset), "--collection", "docs", "--answers")

    printed = ragcode(*args, env=env)
    assert printed.returncode == 0, printed.stderr
    head, row, legend = printed.stdout.strip().splitlines()[-3:]
    assert head.split() == list(TABLE_COLUMNS)
    assert "cited_of_answered" in head and "citation_precision" in head
    assert "인용한 문서 가운데 맞는 문서의 비율" in legend

    as_json = ragcode(*args, "--json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    metrics = json.loads(as_json.stdout)
    expected = [metrics[name] for name in TABLE_COLUMNS]
    assert row.split() == ["-" if v is None else f"{v:.3f}" for v in expected]
    assert metrics["no_answer_rate"] == 1.0  # the supper question gets "no answer"
    assert metrics["unanswerable_cited"] == 0.0  # so no made-up answer cites a document
    assert metrics["cited_of_answered"] is not None  # the OTP question was answered
