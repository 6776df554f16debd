"""Query expansion: cleaning, caching, failures and the bounded wait."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from ragcode.llm.protocol import ChatMessage
from ragcode.retrieve.expand import ExpansionSettings, QueryExpander, clean_expansion
from ragcode.retrieve.expansion_prompts import CODE_EXPANSION
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.unit

QUESTION = "중첩 리스트를 평탄하게 펼치기"


def expander(llm: ScriptedLLM, timeout_s: float = 5.0) -> QueryExpander:
    return QueryExpander(lambda: llm, CODE_EXPANSION, ExpansionSettings(timeout_s=timeout_s))


def test_clean_expansion_keeps_first_line_and_drops_repeats() -> None:
    raw = "Keywords: flatten nested flatten list list, nested\nexplanation that follows"
    assert clean_expansion(raw, QUESTION) == "flatten nested list"


def test_clean_expansion_of_nothing_or_an_echo_is_none() -> None:
    assert clean_expansion("  \n ", QUESTION) is None
    assert clean_expansion(QUESTION, QUESTION) is None


def test_clean_expansion_bounds_a_runaway_answer() -> None:
    raw = " ".join(f"word{i}" for i in range(500))
    cleaned = clean_expansion(raw, QUESTION)
    assert cleaned is not None and len(cleaned) <= 300


def test_the_prompt_carries_the_question_after_the_examples() -> None:
    llm = ScriptedLLM(lambda _messages: "flatten nested list")
    assert expander(llm).expand(QUESTION) == "flatten nested list"
    messages: Sequence[ChatMessage] = llm.calls[0]
    assert messages[0].role == "system"
    assert messages[-1] == ChatMessage("user", QUESTION)
    assert len(messages) == 2 + 2 * len(CODE_EXPANSION.shots)


def test_a_repeated_question_costs_no_second_call() -> None:
    llm = ScriptedLLM(lambda _messages: "flatten nested list")
    subject = expander(llm)
    assert subject.expand(QUESTION) == subject.expand(QUESTION) == "flatten nested list"
    assert len(llm.calls) == 1
    assert subject.known() == [(QUESTION, "flatten nested list")]


def test_a_failing_llm_gives_no_expansion_and_is_asked_again_next_time() -> None:
    llm = ScriptedLLM(lambda _messages: "x", fail_when=lambda _messages: True)
    subject = expander(llm)
    assert subject.expand(QUESTION) is None
    assert subject.expand(QUESTION) is None
    assert len(llm.calls) == 2
    assert subject.known() == []


def test_a_busy_llm_past_the_timeout_gives_no_expansion_but_its_answer_is_kept() -> None:
    release = threading.Event()

    def slow(_messages: Sequence[ChatMessage]) -> str:
        release.wait(5)
        return "flatten nested list"

    llm = ScriptedLLM(slow)
    subject = expander(llm, timeout_s=0.2)
    assert subject.expand(QUESTION) is None
    release.set()
    for _ in range(50):  # the abandoned generation finishes in the background
        if subject.known():
            break
        threading.Event().wait(0.05)
    assert subject.expand(QUESTION) == "flatten nested list"
    assert len(llm.calls) == 1


def test_preloaded_expansions_are_used_without_the_llm() -> None:
    llm = ScriptedLLM(lambda _messages: "other words")
    subject = expander(llm)
    subject.preload([(QUESTION, "flatten nested list")])
    assert subject.expand(QUESTION) == "flatten nested list"
    assert llm.calls == []


def test_the_cache_is_bounded() -> None:
    llm = ScriptedLLM(lambda messages: f"answer {messages[-1].content}")
    subject = QueryExpander(lambda: llm, CODE_EXPANSION, ExpansionSettings(5.0, cache_size=2))
    for question in ("one", "two", "three"):
        subject.expand(question)
    assert [q for q, _ in subject.known()] == ["two", "three"]
