"""`ragcode docs ask` shows the answer with the [n] attached after generation and a numbered
source list (issue 14), through the CLI with the real 0.5B model, e5 and the store; `--json`
carries each sentence's sources and text."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from ragcode.documents.attribution import markers
from tests.e2e.test_docs_cli import SAMPLE_FAQ, ragcode

pytestmark = pytest.mark.e2e
QUESTION = "OTP 기기는 어디에서 발급받을 수 있나요?"
OTP_RECORD = "OTP는 어디서 발급받나요?"
SOURCE_LINE = re.compile(r"^\[(\d+)\] (.+?) — bank_faq_ko\.csv \(.*\), 관련도 [0-9.]+( · 인용)?$")


def test_docs_ask_prints_markers_and_numbered_sources(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    env = {
        **cli_env,
        "RAGCODE_DOCUMENTS__MAX_ANSWER_TOKENS": "128",
        "RAGCODE_DOCUMENTS__TEMPERATURE": "0",  # greedy: the same answer every run
    }
    faq = tmp_path / "bank_faq_ko.csv"
    shutil.copy(SAMPLE_FAQ, faq)
    assert ragcode("docs", "add", str(faq), env=env).returncode == 0

    asked = ragcode("docs", "ask", QUESTION, "--json", env=env)
    assert asked.returncode == 0, asked.stderr
    payload = json.loads(asked.stdout)
    titles = [ref["title"] for ref in payload["references"]]
    right = titles.index(OTP_RECORD) + 1
    assert payload["sentences"], payload["answer"]
    for sentence in payload["sentences"]:
        assert payload["answer"][sentence["start"] : sentence["end"]] == sentence["text"]
        assert sorted(set(markers(sentence["text"]))) == sorted(sentence["sources"])
    assert any(right in s["sources"] for s in payload["sentences"]), payload["answer"]

    shown = ragcode("docs", "ask", QUESTION, env=env)  # a pipe: the final text, once
    assert shown.returncode == 0, shown.stderr
    answer_part, _, sources_part = shown.stdout.partition("\n\n--- 출처 ---\n")
    assert answer_part.strip() == payload["answer"].strip()  # markers attached included
    assert f"[{right}]" in answer_part and "출처 번호를 붙인 답변" not in shown.stdout
    lines = [SOURCE_LINE.match(line) for line in sources_part.strip().splitlines()]
    assert all(lines), sources_part
    assert [int(m.group(1)) for m in lines if m] == list(range(1, len(titles) + 1))
    assert [m.group(2) for m in lines if m] == titles
    cited = [int(m.group(1)) for m in lines if m and m.group(3)]
    assert cited == sorted(payload["cited"]) and right in cited
