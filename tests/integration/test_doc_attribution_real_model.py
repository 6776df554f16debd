"""Citations attached after generation, through the real embedded model (0.5B) and store."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ragcode.app import App
from ragcode.chat.doc_answer import DocAnswer
from ragcode.config import Settings
from ragcode.documents.attribution import markers

pytestmark = pytest.mark.integration

SAMPLE_FAQ = Path(__file__).resolve().parents[2] / "samples" / "bank_faq_ko.csv"
OTP_RECORD = "OTP는 어디서 발급받나요?"


def test_real_model_answer_cites_the_record_that_answers_it(
    make_app: Callable[..., App], settings: Settings, tmp_path: Path
) -> None:
    settings.documents.max_answer_tokens = 128
    settings.documents.temperature = 0.0  # greedy: the same answer every run
    app = make_app()
    shutil.copy(SAMPLE_FAQ, tmp_path / "bank_faq_ko.csv")
    app.docs.indexer.index(tmp_path / "bank_faq_ko.csv")
    final = list(app.document_assistant().ask("OTP 기기는 어디에서 발급받을 수 있나요?"))[-1]
    assert isinstance(final, DocAnswer)
    assert final.answered, final.answer
    titles = [hit.record.title for hit in final.references]
    right = titles.index(OTP_RECORD) + 1
    assert right in final.cited, (final.answer, titles)
    # Per-sentence sources cover the answer and agree with its markers: the sentence that
    # says where the OTP is issued cites the OTP record.
    assert final.sentences, final.answer
    for sentence in final.sentences:
        text = final.answer[sentence.start : sentence.end]
        assert sorted(set(markers(text))) == sorted(sentence.sources), text
        assert all(1 <= n <= len(titles) for n in sentence.sources)
    where = [s for s in final.sentences if "영업점" in final.answer[s.start : s.end]]
    assert where and all(right in s.sources for s in where), final.answer
