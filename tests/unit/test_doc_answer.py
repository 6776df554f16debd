"""Document answers: streamed, cited, and a fixed no-answer without any LLM call."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pytest

from ragcode.chat.code_answer import AnswerDelta
from ragcode.chat.doc_answer import DocAnswer, DocumentAssistant
from ragcode.chat.prompts import qa
from ragcode.chat.refusal import stream_unless_refusal
from ragcode.cli_docs import render_sources
from ragcode.config import DocumentSettings
from ragcode.documents.citations import cited_numbers, pack_documents
from ragcode.domain import TEAM_ONLY, Hit, Record, Scores, UnitKind
from ragcode.llm.protocol import LLM, ChatMessage
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.unit


def faq_hit(question: str, answer: str, line: int, score: float = 0.6) -> Hit:
    code = f"질문: {question}\n답변: {answer}"
    record = Record("bank_faq_ko.csv", question, UnitKind.FAQ, "csv", line, line, code)
    return Hit(record=record, summary=None, scores=Scores(final=score, rerank=score))


class StubSearcher:
    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits
        self.queries: list[tuple[str, int | None]] = []
        self.scopes_seen: list[tuple[str, ...]] = []

    def search(
        self,
        query: str,
        top_k: int | None = None,
        *,
        scopes: Sequence[str] = TEAM_ONLY,
        languages: Sequence[str] | None = None,
    ) -> list[Hit]:
        self.scopes_seen.append(tuple(scopes))
        self.queries.append((query, top_k))
        return self.hits[: top_k or len(self.hits)]


def run(assistant: DocumentAssistant, question: str) -> tuple[list[AnswerDelta], DocAnswer]:
    events = list(assistant.ask(question))
    final = events[-1]
    assert isinstance(final, DocAnswer)
    deltas = [e for e in events[:-1] if isinstance(e, AnswerDelta)]
    assert len(deltas) == len(events) - 1
    return deltas, final


def test_answer_streams_and_cites_numbered_sources() -> None:
    hits = [
        faq_hit("예약이체는 어떻게 하나요?", "이체 화면에서 예약이체를 고릅니다.", 22),
        faq_hit("자동이체를 등록하고 싶어요.", "자동이체 관리에서 등록합니다.", 23),
    ]
    text = "이체 화면에서 '예약이체'를 고르면 됩니다 [1]. 정기 이체는 [2], [7]."
    llm = ScriptedLLM(lambda m: text)
    assistant = DocumentAssistant(lambda: llm, StubSearcher(hits), DocumentSettings(top_k=3))
    deltas, final = run(assistant, "날짜를 정해서 송금하려면?")
    assert len(deltas) > 1 and "".join(d.text for d in deltas) == final.answer
    assert final.answered and final.cited == [1, 2]  # [7] points at nothing
    assert [h.record.title for h in final.references] == [h.record.title for h in hits]
    system, user = llm.calls[0]
    assert system.role == "system" and "[1]" in system.content
    assert "[1] 예약이체는 어떻게 하나요? (출처: bank_faq_ko.csv 22행)" in user.content
    assert "[2] 자동이체를 등록하고 싶어요." in user.content
    assert user.content.rstrip().endswith("날짜를 정해서 송금하려면?")
    payload = final.as_dict()
    first = payload["references"][0]  # type: ignore[index]
    assert first["number"] == 1 and first["source"] == "bank_faq_ko.csv"
    assert first["location"] == "22행" and first["title"] == "예약이체는 어떻게 하나요?"


def test_nothing_relevant_gives_the_fixed_answer_without_the_llm() -> None:
    def no_llm() -> LLM:
        raise AssertionError("the LLM must not be loaded for a question with no answer")

    assistant = DocumentAssistant(no_llm, StubSearcher([]), DocumentSettings())
    deltas, final = run(assistant, "오늘 서울 날씨는 어떤가요?")
    assert not final.answered and final.references == [] and final.cited == []
    assert final.answer == qa.NO_ANSWER_KO == "".join(d.text for d in deltas)
    _, english = run(assistant, "What is the weather like today?")
    assert english.answer == qa.NO_ANSWER_EN


@pytest.mark.parametrize(
    "said", [qa.REFUSAL_KO + ".", f"  {qa.REFUSAL_KO}\n", qa.REFUSAL_EN.upper() + "."]
)
def test_llm_refusal_is_reported_as_no_answer(said: str) -> None:
    """The LLM read the documents and wrote the prompt's fixed no-answer sentence: the
    result says "not answered", cites nothing, and keeps the documents it read."""
    hits = [faq_hit("인증서 갱신은 어떻게 하나요?", "인증센터에서 갱신합니다.", 12)]
    assistant = DocumentAssistant(
        lambda: ScriptedLLM(lambda m: said), StubSearcher(hits), DocumentSettings()
    )
    deltas, final = run(assistant, "자동차 보험을 갱신하려면 어떻게 하나요?")
    assert "".join(d.text for d in deltas) == final.answer == said
    assert not final.answered and final.cited == []
    assert [hit.record.title for hit in final.references] == ["인증서 갱신은 어떻게 하나요?"]
    assert final.as_dict()["answered"] is False


def test_an_answer_that_cites_a_document_is_answered_even_if_partly_unsure() -> None:
    hits = [faq_hit("인증서 갱신은 어떻게 하나요?", "인증센터에서 갱신합니다.", 12)]
    text = f"인증센터에서 갱신합니다 [1]. 수수료는 {qa.REFUSAL_KO}."
    assistant = DocumentAssistant(
        lambda: ScriptedLLM(lambda m: text), StubSearcher(hits), DocumentSettings()
    )
    _, final = run(assistant, "인증서 갱신 방법과 수수료는?")
    assert final.answered and final.cited == [1] and len(final.references) == 1


def test_system_prompts_name_the_refusal_sentence_that_is_detected() -> None:
    assert qa.REFUSAL_KO in qa.SYSTEM_KO and qa.REFUSAL_EN in qa.SYSTEM_EN


def test_context_keeps_whole_chunks_within_the_budget() -> None:
    hits = [faq_hit(f"질문 {n}", "가" * 300, n) for n in range(1, 6)]
    context = pack_documents(hits, max_tokens=700)
    assert [h.record.title for h in context.hits] == ["질문 1", "질문 2"]
    assert context.text.count("가" * 300) == 2
    alone = pack_documents(hits[:1], max_tokens=10)  # the best chunk always goes in
    assert len(alone.hits) == 1


def test_cited_numbers_in_order_without_duplicates() -> None:
    assert cited_numbers("가 [2]. 나 [1][2]. 다 [10].", 3) == [2, 1]


def test_prompts_have_their_placeholders() -> None:
    for template in (qa.USER_KO, qa.USER_EN):
        assert "{context}" in template and "{question}" in template


def test_terminal_sources_say_whether_they_answered() -> None:
    hit = faq_hit("인증서 갱신은 어떻게 하나요?", "인증센터에서 갱신합니다.", 12)
    shown = io.StringIO()
    render_sources(DocAnswer("q", "갱신합니다 [1].", [hit], answered=True, cited=[1]), shown)
    assert "--- 출처 ---" in shown.getvalue() and "[1] 인증서 갱신은" in shown.getvalue()
    refused = io.StringIO()
    render_sources(DocAnswer("q", qa.REFUSAL_KO, [hit], answered=False, cited=[]), refused)
    assert (
        "답을 찾지 못했습니다" in refused.getvalue() and "[1] 인증서 갱신은" in refused.getvalue()
    )
    nothing = io.StringIO()
    render_sources(DocAnswer("q", qa.NO_ANSWER_KO, [], answered=False, cited=[]), nothing)
    assert nothing.getvalue() == "\n"


def stream_chunks(text: str, size: int = 3) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def drain(deltas: list[str]) -> tuple[list[str], tuple[str, bool]]:
    gate = stream_unless_refusal(deltas)
    shown: list[str] = []
    while True:
        try:
            shown.append(next(gate).text)
        except StopIteration as stop:
            return shown, stop.value


def test_gate_streams_answers_that_start_like_the_refusal() -> None:
    text = "문서를 보면 인증센터에서 갱신합니다 [1]."  # shares "문서" with the refusal
    shown, (whole, was_shown) = drain(stream_chunks(text))
    assert "".join(shown) == whole == text and was_shown
    assert len(shown) > 2  # streamed, not one block at the end


def test_gate_holds_back_the_refusal_sentence() -> None:
    shown, (whole, was_shown) = drain(stream_chunks(qa.REFUSAL_KO + ". 다만 [1]을 보세요."))
    assert shown == [] and not was_shown and whole.startswith(qa.REFUSAL_KO)


def retrying_llm(first: str, second: str) -> ScriptedLLM:
    def answer(messages: Sequence[ChatMessage]) -> str:
        return second if messages[0].content == qa.RETRY_SYSTEM_KO else first

    return ScriptedLLM(answer)


def test_a_refusal_of_a_confident_context_is_retried_unseen() -> None:
    hits = [faq_hit("인증서 갱신은 어떻게 하나요?", "인증센터에서 갱신합니다.", 12, score=0.93)]
    llm = retrying_llm(qa.REFUSAL_KO + ".", "인증센터에서 갱신합니다 [1].")
    assistant = DocumentAssistant(lambda: llm, StubSearcher(hits), DocumentSettings(), 0.9)
    deltas, final = run(assistant, "인증서 기간 연장은 어디서 해요?")
    assert len(llm.calls) == 2 and llm.calls[1][0].content == qa.RETRY_SYSTEM_KO
    assert "".join(d.text for d in deltas) == final.answer == "인증센터에서 갱신합니다 [1]."
    assert final.answered and final.cited == [1]


def test_a_refusal_below_the_retry_relevance_stands() -> None:
    hits = [faq_hit("인증서 갱신은 어떻게 하나요?", "인증센터에서 갱신합니다.", 12, score=0.88)]
    llm = retrying_llm(qa.REFUSAL_KO + ".", "보험센터에서 갱신합니다 [1].")
    assistant = DocumentAssistant(lambda: llm, StubSearcher(hits), DocumentSettings(), 0.9)
    deltas, final = run(assistant, "자동차 보험을 갱신하려면 어떻게 하나요?")
    assert len(llm.calls) == 1
    assert "".join(d.text for d in deltas) == final.answer == qa.REFUSAL_KO + "."
    assert not final.answered and final.cited == []


def test_a_second_refusal_is_shown_once() -> None:
    hits = [faq_hit("인증서 갱신은 어떻게 하나요?", "인증센터에서 갱신합니다.", 12, score=0.95)]
    llm = retrying_llm(qa.REFUSAL_KO + ".", qa.REFUSAL_KO + "!")
    assistant = DocumentAssistant(lambda: llm, StubSearcher(hits), DocumentSettings(), 0.9)
    deltas, final = run(assistant, "인증서 질문")
    assert len(llm.calls) == 2 and [d.text for d in deltas] == [qa.REFUSAL_KO + "!"]
    assert not final.answered


def test_document_search_is_limited_to_the_callers_scopes() -> None:
    searcher = StubSearcher([])
    assistant = DocumentAssistant(lambda: ScriptedLLM(lambda m: ""), searcher, DocumentSettings())
    list(assistant.ask("수수료는?", scopes=("team", "user:3")))
    list(assistant.ask("수수료는?"))
    assert searcher.scopes_seen == [("team", "user:3"), ("team",)]
