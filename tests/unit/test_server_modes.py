"""Chat modes with a scripted LLM: prompts by language, memory, pii masking, timestamps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest

from ragcode.chat.code_answer import AnswerDelta, CodeAssistant
from ragcode.chat.modes import MODES, ChatModes, ModeRequest, ModeResult, ModeUnavailableError
from ragcode.chat.redact import has_pattern_pii, mask_patterns
from ragcode.chat.timestamps import extract_timestamps
from ragcode.config import GenerationSettings
from ragcode.domain import ChatTurn
from ragcode.llm.protocol import ChatMessage
from tests.scripted_llm import ScriptedLLM
from tests.unit.test_code_answer import StubSearcher, hit

pytestmark = pytest.mark.unit
NOW = datetime(2025, 3, 14, 9, 30)  # a Friday


def run(
    modes: ChatModes, mode: str, question: str, history: Sequence[ChatTurn] = ()
) -> tuple[str, ModeResult]:
    events = list(modes.run(mode, ModeRequest(question, history, now=NOW)))
    final = events[-1]
    assert isinstance(final, ModeResult)
    streamed = "".join(e.text for e in events if isinstance(e, AnswerDelta))
    return streamed, final


def make(llm: ScriptedLLM, searcher: StubSearcher | None = None) -> ChatModes:
    code = CodeAssistant(llm, searcher or StubSearcher({}), GenerationSettings())
    return ChatModes(lambda: llm, lambda: code, None, max_tokens=64)


def test_every_mode_is_known() -> None:
    assert set(MODES) == {
        "normal", "translation", "grammar", "sentiment", "extraction", "pii", "step-by-step",
        "timestamp-extraction", "code", "qa",
    }  # fmt: skip


@pytest.mark.parametrize(
    "mode", ["translation", "grammar", "sentiment", "extraction", "step-by-step"]
)
def test_prompted_modes_pick_the_prompt_by_language(mode: str) -> None:
    llm = ScriptedLLM(lambda m: "답")
    modes = make(llm)
    streamed, result = run(modes, mode, "오늘 회의는 정말 좋았어요")
    assert streamed == result.answer == "답"
    korean_system = llm.calls[-1][0]
    run(modes, mode, "The meeting was great today")
    english_system = llm.calls[-1][0]
    assert korean_system.role == "system" and korean_system.content != english_system.content
    assert any("가" <= ch <= "힣" for ch in korean_system.content)
    assert len(llm.calls[-1]) == 2  # no memory outside normal/code


def test_translation_prompt_names_the_target_language() -> None:
    llm = ScriptedLLM(lambda m: "Hello")
    run(make(llm), "translation", "안녕하세요")
    assert "영어" in llm.calls[0][0].content
    run(make(llm), "translation", "Hello there")
    assert "Korean" in llm.calls[1][0].content


def test_normal_mode_keeps_the_last_ten_turns() -> None:
    llm = ScriptedLLM(lambda m: "네")
    history = [ChatTurn(f"질문 {i}", f"답 {i}") for i in range(15)]
    run(make(llm), "normal", "마지막 질문", history)
    messages = llm.calls[0]
    assert messages[0].role == "system" and messages[-1] == ChatMessage("user", "마지막 질문")
    assert len(messages) == 1 + 20 + 1
    assert messages[1].content == "질문 5" and messages[-2].content == "답 14"


PII_QUESTION = "김철수 010-1234-5678, kim@example.com, 900101-1234567, 서울시 강남구 테헤란로 1"
PII_NUMBERS = ("010-1234-5678", "kim@example.com", "900101", "1234567")
PII_PREMASKED = "[이름] [전화번호], [이메일], [주민등록번호], [주소]"


def test_pii_mode_masks_before_the_llm_whatever_the_llm_does() -> None:
    """The deterministic layer's guarantee: what it finds (numbers, e-mails, addresses, the
    names it knows) never reaches the model, the answer or the history, even from a model
    that masks nothing."""
    echo = ScriptedLLM(lambda m: m[-1].content)  # rewrites the text unchanged
    streamed, result = run(make(echo), "pii", PII_QUESTION)
    assert echo.calls[0][-1].content == PII_PREMASKED
    assert streamed == result.answer == result.stored_question == PII_PREMASKED
    assert "김철수" not in result.answer and "테헤란로" not in result.answer


def test_pii_mode_masks_numbers_the_llm_writes_itself() -> None:
    """A model that ignores its input and writes personal data (made up, or the user's own
    in a form the first pass missed): the answer and the history still get placeholders."""
    leaky = ScriptedLLM(lambda _m: PII_QUESTION + "\n문의: 02-123-4567, help@corp.co.kr")
    _, result = run(make(leaky), "pii", PII_QUESTION)
    assert result.stored_question == result.answer
    # Not a copy of the given text: the deterministic masking of the question stands.
    assert result.answer == PII_PREMASKED
    assert not has_pattern_pii(result.answer)
    for secret in (*PII_NUMBERS, "김철수", "02-123-4567", "help@corp.co.kr"):
        assert secret not in result.answer


# A given name alone, with no surname and no title: the deterministic layer leaves it.
MODEL_ONLY = "영희가 010-1234-5678로 전화했어요"


def test_pii_mode_keeps_what_the_model_masked_and_falls_back_when_it_writes_nothing() -> None:
    def masker(messages: Sequence[ChatMessage]) -> str:
        return messages[-1].content.replace("영희", "[이름]")

    _, masked = run(make(ScriptedLLM(masker)), "pii", MODEL_ONLY)
    assert masked.answer == "[이름]가 [전화번호]로 전화했어요"
    assert masked.stored_question == masked.answer
    _, empty = run(make(ScriptedLLM(lambda _m: "  \n")), "pii", PII_QUESTION)
    assert empty.answer == empty.stored_question == PII_PREMASKED  # never the original


def test_pii_mode_uses_english_placeholders_for_english_text() -> None:
    echo = ScriptedLLM(lambda m: m[-1].content)
    _, result = run(make(echo), "pii", "Call Jane at (555) 123-4567 or jane.doe@example.com")
    assert result.answer == "Call Jane at [PHONE] or [EMAIL]"
    assert "[NAME]" in echo.calls[0][0].content  # the English system prompt


def test_pii_regexes_cover_common_formats() -> None:
    for text in ("+82 10-1234-5678", "02-123-4567", "(555) 123-4567", "1588-1234", "a.b@c.co.kr"):
        assert has_pattern_pii(text), text
        assert not has_pattern_pii(mask_patterns(text, "en")), text
    assert mask_patterns("version 1.2.3 on 2025-03-14", "ko") == "version 1.2.3 on 2025-03-14"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # Korean text often has no space between a word or particle and a number.
        ("번호는010-1234-5678입니다", "번호는[전화번호]입니다"),
        ("홍길동010-9876-5432", "홍길동[전화번호]"),
        ("주민번호900101-1234567", "주민번호[주민등록번호]"),
        ("메일hong@example.com로", "메일[이메일]로"),
        # Dashes pasted from documents and word processors (hyphen U+2010, en dash U+2013).
        ("010\u20101234\u20105678", "[전화번호]"),
        ("전화 02\u2013123\u20134567", "전화 [전화번호]"),
        ("900101\u20131234567", "[주민등록번호]"),
        # 050X personal (safe) numbers.
        ("0505-123-4567로 연락", "[전화번호]로 연락"),
        # Not personal data: versions, dates, times, order numbers.
        ("v2.10.1234 빌드", "v2.10.1234 빌드"),
        ("2025-03-14 12:30-13:45", "2025-03-14 12:30-13:45"),
        ("주문번호 2024-0314-5678", "주문번호 2024-0314-5678"),
    ],
)
def test_pii_regexes_in_korean_text(text: str, masked: str) -> None:
    assert mask_patterns(text, "ko") == masked


def test_timestamp_mode_appends_normalized_dates() -> None:
    llm = ScriptedLLM(lambda m: "- 내일 오후 3시")
    streamed, result = run(
        make(llm), "timestamp-extraction", "내일 오후 3시에 만나고 2025년 4월 2일에 출시해요"
    )
    assert "2025-03-14" in llm.calls[0][0].content  # today's date reaches the prompt
    assert "2025-03-15T15:00" in result.answer and "2025-04-02" in result.answer
    assert streamed == result.answer
    assert [ref["iso"] for ref in result.references] == ["2025-03-15T15:00", "2025-04-02"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-12-25 18:30", ["2024-12-25T18:30"]),
        ("3월 5일 오전 10시 반", ["2025-03-05T10:30"]),
        ("March 3, 2026 at 4pm", ["2026-03-03T16:00"]),
        ("yesterday and today", ["2025-03-13", "2025-03-14"]),
        ("모레 저녁 7시", ["2025-03-16T19:00"]),
        ("그냥 문장", []),
    ],
)
def test_timestamp_normalization(text: str, expected: list[str]) -> None:
    assert [found.iso for found in extract_timestamps(text, NOW)] == expected


def test_code_mode_returns_references() -> None:
    llm = ScriptedLLM(lambda m: "```python\ndef f():\n    return 1\n```\n[1]")
    modes = make(llm, StubSearcher({"함수": [hit("send_mail")]}))
    _, result = run(modes, "code", "함수")
    assert [ref["name"] for ref in result.references] == ["send_mail"]
    assert result.references[0]["code"]


def test_qa_without_documents_part_says_so() -> None:
    modes = make(ScriptedLLM(lambda m: ""))
    with pytest.raises(ModeUnavailableError, match="문서 Q&A"):
        list(modes.run("qa", ModeRequest("질문")))
