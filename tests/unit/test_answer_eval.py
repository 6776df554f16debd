"""End-to-end answer evaluation: cited-right, refusals of answerable and unanswerable questions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from ragcode.chat.doc_answer import DocumentAssistant
from ragcode.chat.prompts import qa
from ragcode.cli import main
from ragcode.config import DocumentSettings
from ragcode.domain import TEAM_ONLY, Hit
from ragcode.evaluation.answers import evaluate_answers
from ragcode.evaluation.dataset import EvalCase
from ragcode.llm.protocol import ChatMessage
from tests.scripted_llm import ScriptedLLM
from tests.unit.test_doc_answer import faq_hit

pytestmark = pytest.mark.unit

CERT = faq_hit("인증서 갱신은 어떻게 하나요?", "인증센터에서 갱신합니다.", 12)
OTP = faq_hit("OTP는 어디서 발급받나요?", "영업점에서 발급합니다.", 30)


class TopicSearcher:
    """Finds the certificate record for 인증서 questions, the OTP one for OTP questions."""

    def search(
        self,
        query: str,
        top_k: int | None = None,
        *,
        scopes: Sequence[str] = TEAM_ONLY,
        languages: Sequence[str] | None = None,
    ) -> list[Hit]:
        if "인증서" in query:
            return [CERT, OTP]
        return [OTP] if "OTP" in query or "보험" in query else []


def answer(messages: Sequence[ChatMessage]) -> str:
    question = messages[-1].content.rsplit("질문:", 1)[-1]
    if "보험" in question or "수수료" in question:
        return qa.REFUSAL_KO + "."
    return "인증센터에서 갱신합니다 [1]." if "인증서" in question else "영업점에서 받습니다 [1]."


def test_answer_metrics_count_citations_and_both_kinds_of_no_answer() -> None:
    assistant = DocumentAssistant(
        lambda: ScriptedLLM(answer), TopicSearcher(), DocumentSettings(top_k=2)
    )
    faq = "bank_faq_ko.csv"
    cases = [
        EvalCase("인증서 기간 연장은?", faq, CERT.record.title),  # cited right
        EvalCase("인증서 말고 OTP 발급은?", faq, OTP.record.title),  # answered, cites [1]=CERT
        EvalCase("OTP 수수료는?", faq, OTP.record.title),  # the LLM refused an answerable one
        EvalCase("자동차 보험 갱신은?", None, None),  # the LLM refused: right
        EvalCase("오늘 날씨는?", None, None),  # nothing passed the cut-off: right
    ]
    seen: list[str] = []
    metrics, results = evaluate_answers(
        assistant.ask, cases, lambda r: seen.append(r.case.question)
    )
    assert seen == [case.question for case in cases]
    assert [r.cites_answer for r in results] == [True, False, False, False, False]
    assert [r.answer_given for r in results] == [True, True, False, False, False]
    assert [r.answered for r in results] == [True, True, False, False, False]
    assert metrics.questions == 3 and metrics.unanswerable == 2
    assert metrics.cited_right == pytest.approx(1 / 3)
    assert metrics.answered_right == pytest.approx(2 / 3)
    assert metrics.answerable_refused == pytest.approx(1 / 3)
    assert metrics.no_answer_rate == 1.0


def test_answers_mode_is_for_document_collections(capsys: pytest.CaptureFixture[str]) -> None:
    dataset = str(Path(__file__).resolve().parents[2] / "eval" / "toolz_ko.jsonl")
    assert main(["eval", dataset, "--answers"]) == 2
    assert "문서 컬렉션" in capsys.readouterr().err
