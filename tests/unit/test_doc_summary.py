"""Document summaries on upload: parts, shares of a long part, the order of events (scripted
LLM); tests/integration/test_doc_summary_real_model.py runs the real model."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ragcode.documents.summary import (
    DocumentSummarizer,
    DocumentSummary,
    PartSummary,
    SummaryDelta,
    SummaryLimits,
    fair_shares,
    part_text,
    split_parts,
)
from ragcode.domain import Record, UnitKind
from ragcode.llm.protocol import ChatMessage, LLMError
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.unit


def record(index: int, size: int) -> Record:
    title = f"{index}절"
    body = f"{title} " + "가" * (size - len(title) - 1)
    return Record("guide.md", title, UnitKind.SECTION, "markdown", index, index, body, {})


def test_parts_keep_document_order_and_respect_the_cap() -> None:
    records = [record(i, 600) for i in range(20)]  # 12,000 characters
    parts = split_parts(records, SummaryLimits(part_chars=2400, max_parts=8))
    assert [len(part) for part in parts] == [4, 4, 4, 4, 4]
    assert [r.title for part in parts for r in part] == [r.title for r in records]
    capped = split_parts(records, SummaryLimits(part_chars=1000, max_parts=3))
    assert len(capped) == 3
    assert [r.title for part in capped for r in part] == [r.title for r in records]
    assert split_parts([record(0, 50)], SummaryLimits()) == [[record(0, 50)]]


def test_a_long_part_keeps_every_chunk_beginning() -> None:
    assert fair_shares([10, 1000, 1000], 610) == [10, 300, 300]
    part = [record(0, 10), record(1, 1000), record(2, 1000)]
    text = part_text(part, 610)
    assert len(text) <= 610 + 2 * len(" …") + 2 * len("\n\n")
    assert [line.split()[0] for line in text.split("\n\n")] == ["0절", "1절", "2절"]
    assert part_text(part[:1], 610) == part[0].body  # fits: unchanged


def answer(messages: Sequence[ChatMessage]) -> str:
    user = messages[-1].content
    if "번째 부분" in user:
        return f"부분 요약 {user.split('번째')[0].split()[-1]}"
    return "안내서입니다.\n- 첫째\n- 둘째"


def test_a_short_document_is_one_streamed_call() -> None:
    llm = ScriptedLLM(answer)
    events = list(DocumentSummarizer(lambda: llm).summarize("faq.csv", [record(0, 300)]))
    assert len(llm.calls) == 1
    assert all(isinstance(e, SummaryDelta) for e in events[:-1]) and len(events) > 2
    final = events[-1]
    assert isinstance(final, DocumentSummary)
    assert final.parts == ()
    assert final.text == "안내서입니다.\n- 첫째\n- 둘째"
    assert final.title == "문서 요약: faq.csv"
    assert final.as_markdown().startswith("## 문서 요약: faq.csv\n\n안내서입니다.")


def test_a_long_document_is_summarised_per_part_then_overall() -> None:
    llm = ScriptedLLM(answer)
    records = [record(i, 600) for i in range(20)]
    events = list(DocumentSummarizer(lambda: llm).summarize("guide.md", records, "ko"))
    parts = [e for e in events if isinstance(e, PartSummary)]
    assert [(p.index, p.total, p.title) for p in parts] == [
        (1, 5, "0절"), (2, 5, "4절"), (3, 5, "8절"), (4, 5, "12절"), (5, 5, "16절"),
    ]  # fmt: skip
    assert [p.text for p in parts] == [f"부분 요약 {i}/5" for i in range(1, 6)]
    assert isinstance(events[len(parts)], SummaryDelta)  # parts first, then the stream
    overall = llm.calls[-1][-1].content
    assert all(f"부분 요약 {i}/5" in overall for i in range(1, 6))  # built from the parts
    final = events[-1]
    assert isinstance(final, DocumentSummary) and final.parts == tuple(parts)
    assert "### 5/5. 16절" in final.as_markdown()


def test_a_failed_part_fails_the_summary() -> None:
    llm = ScriptedLLM(answer, fail_when=lambda m: "3/5번째" in m[-1].content)
    records = [record(i, 600) for i in range(20)]
    with pytest.raises(LLMError):
        list(DocumentSummarizer(lambda: llm).summarize("guide.md", records))


def test_english_prompts() -> None:
    llm = ScriptedLLM(lambda _m: "A guide.")
    events = list(DocumentSummarizer(lambda: llm).summarize("g.md", [record(0, 100)], "en"))
    final = events[-1]
    assert isinstance(final, DocumentSummary) and final.title == "Document summary: g.md"
    assert llm.calls[0][0].content.startswith("You summarise documents")
    assert llm.calls[0][1].content.startswith("Document 'g.md':")
