"""The code language a user chooses (issue 15.2): which names are accepted, which record
languages each searches, how a store's counts are shown, and how CodeAssistant threads the
choice to retrieval (follow-up search included) and to the prompt."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ragcode.chat.code_answer import CodeAnswer, CodeAssistant
from ragcode.chat.language import (
    UnknownCodeLanguageError,
    chosen_code_language,
    code_language_counts,
    is_code_language_choice,
    record_languages,
    requested_code_language,
)
from ragcode.config import GenerationSettings
from ragcode.domain import TEAM_ONLY, ChatTurn, Hit
from ragcode.llm.protocol import ChatMessage
from tests.scripted_llm import ScriptedLLM
from tests.unit.test_code_answer import hit

pytestmark = pytest.mark.unit


class LanguageSearcher:
    """Records the languages each search asked for; returns one hit per language kept."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, ...] | None] = []

    def search(
        self,
        query: str,
        top_k: int | None = None,
        *,
        scopes: Sequence[str] = TEAM_ONLY,
        languages: Sequence[str] | None = None,
    ) -> list[Hit]:
        self.asked.append(None if languages is None else tuple(languages))
        everything = [hit("read_config"), hit("readConfig", "cfg.js", language="javascript")]
        return [h for h in everything if languages is None or h.record.language in languages]


def test_choices_and_the_record_languages_they_search() -> None:
    assert chosen_code_language(None) is None and chosen_code_language("auto") is None
    assert record_languages("typescript") == ("typescript", "tsx")
    assert record_languages("go") == ("go",) and record_languages("auto") is None
    for bad in ("tsx", "cobol", "Python", ""):
        assert not is_code_language_choice(bad)
        with pytest.raises(UnknownCodeLanguageError):
            record_languages(bad)
    assert is_code_language_choice(None) and is_code_language_choice("java")


def test_store_counts_fold_into_choices() -> None:
    counts = {"tsx": 2, "typescript": 3, "python": 1, "csv": 9, "markdown": 4}
    assert code_language_counts(counts) == {"python": 1, "typescript": 5}


def test_a_chosen_language_wins_over_the_question_and_the_context() -> None:
    hits = [hit("a"), hit("b")]
    assert requested_code_language("파이썬으로 짜 줘", hits, "go") == "go"
    assert requested_code_language("파이썬으로 짜 줘", hits, "auto") == "python"


def ask(assistant: CodeAssistant, question: str, **kwargs: object) -> CodeAnswer:
    final = list(assistant.ask(question, **kwargs))[-1]  # type: ignore[arg-type]
    assert isinstance(final, CodeAnswer)
    return final


def test_the_assistant_searches_and_answers_in_the_chosen_language() -> None:
    searcher = LanguageSearcher()
    llm = ScriptedLLM(lambda m: "```javascript\nreadConfig();\n```")
    assistant = CodeAssistant(llm, searcher, GenerationSettings())
    turn = ChatTurn("설정 읽기", "답", "설정 파일 읽기")
    answer = ask(assistant, "설정 읽기", history=[turn], code_language="javascript")
    # Both searches (the question and the previous turn's) are filtered.
    assert searcher.asked == [("javascript",), ("javascript",)]
    assert [h.record.language for h in answer.references] == ["javascript"]
    assert answer.code_language == "javascript"
    system = llm.calls[-1][0]
    assert isinstance(system, ChatMessage) and "javascript" in system.content
    searcher.asked.clear()
    assert ask(assistant, "설정 읽기").code_language == "python"  # auto: as the context says
    assert searcher.asked == [None]


def test_an_unknown_language_fails_before_any_work() -> None:
    searcher = LanguageSearcher()
    llm = ScriptedLLM(lambda m: "x")
    assistant = CodeAssistant(llm, searcher, GenerationSettings())
    with pytest.raises(UnknownCodeLanguageError):
        ask(assistant, "설정 읽기", code_language="cobol")
    assert searcher.asked == [] and llm.calls == []
