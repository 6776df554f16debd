"""A document's summary written by the real embedded model: the FAQ sample, parsed as an
upload is, summarised per part on the background batch and then overall."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragcode.config import DocumentSettings
from ragcode.documents.parse import DocumentParser
from ragcode.documents.summary import (
    DocumentSummarizer,
    DocumentSummary,
    PartSummary,
    SummaryDelta,
    SummaryLimits,
)
from ragcode.ingest.files import SourceFile
from ragcode.llm.llamacpp import LlamaCppLLM

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "bank_faq_ko.csv"
HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")
HANGUL = re.compile("[가-힣]")
# The sample's own subjects (its 분류 column): a summary of it names some of them.
TOPICS = ("인터넷뱅킹", "인증서", "이체", "계좌", "카드", "OTP", "보안", "수수료", "ATM", "모바일")


@pytest.fixture(scope="module")
def model(models_dir: Path) -> Iterator[LlamaCppLLM]:
    llm = LlamaCppLLM(
        next(models_dir.glob("*.gguf")), name="small", n_ctx=4096, n_threads=2, seed=1
    )
    yield llm
    llm.close()


def test_the_faq_sample_is_summarised_per_part_then_overall(model: LlamaCppLLM) -> None:
    data = SAMPLE.read_bytes()
    text = SAMPLE.read_text(encoding="utf-8-sig")
    source = SourceFile(SAMPLE.name, SAMPLE, "csv", text, hashlib.sha256(data).hexdigest())
    records = DocumentParser(DocumentSettings())(SAMPLE.name, source)
    assert len(records) == 66
    background = model.background(slots=8, n_ctx=8192)
    # The first 24 records in three parts: the whole sample (eight parts) took 90 s in CI.
    limits = SummaryLimits(part_chars=1500, max_parts=3, part_tokens=120, overall_tokens=240)
    summarizer = DocumentSummarizer(lambda: background, limits)
    events = list(summarizer.summarize(SAMPLE.name, records[:24]))
    parts = [e for e in events if isinstance(e, PartSummary)]
    deltas = [e for e in events if isinstance(e, SummaryDelta)]
    final = events[-1]
    assert isinstance(final, DocumentSummary)
    assert len(parts) == 3 and final.parts == tuple(parts)
    assert len(deltas) > 5, "the overall summary streams"
    texts = [p.text for p in parts] + [final.text]
    assert all(HANGUL.search(text) for text in texts), texts  # Korean
    assert not any(HAN.search(text) for text in texts), texts
    named = {topic for topic in TOPICS if topic in final.text}
    assert len(named) >= 2, final.text  # about this document, not generic text
