"""Document Q&A through the real embedded model (0.5B), kept short for CI time."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ragcode.app import App
from ragcode.chat.code_answer import AnswerDelta
from ragcode.chat.doc_answer import DocAnswer
from ragcode.config import Settings

pytestmark = pytest.mark.integration

SAMPLE_FAQ = Path(__file__).resolve().parents[2] / "samples" / "bank_faq_ko.csv"


def test_real_model_answers_in_korean_from_the_faq(
    make_app: Callable[..., App], settings: Settings, tmp_path: Path
) -> None:
    settings.documents.max_answer_tokens = 96
    app = make_app()
    shutil.copy(SAMPLE_FAQ, tmp_path / "bank_faq_ko.csv")
    app.docs.indexer.index(tmp_path / "bank_faq_ko.csv")
    events = list(app.document_assistant().ask("OTP 기기는 어디에서 발급받을 수 있나요?"))
    final = events[-1]
    assert isinstance(final, DocAnswer) and final.answered
    assert "".join(e.text for e in events if isinstance(e, AnswerDelta)) == final.answer
    assert any("\uac00" <= ch <= "\ud7a3" for ch in final.answer), final.answer
    assert "OTP는 어디서 발급받나요?" in [hit.unit.name for hit in final.references]
