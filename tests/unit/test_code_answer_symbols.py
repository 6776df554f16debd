"""The symbol check of CodeAssistant.ask with a scripted LLM: one repair round offering the
closest real symbols, then a note for what is still unknown."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ragcode.chat.code_answer import (
    AnswerDelta,
    AnswerEvent,
    AnswerRestart,
    CodeAnswer,
    CodeAssistant,
)
from ragcode.config import GenerationSettings
from ragcode.domain import TEAM_ONLY, Hit, user_scope
from ragcode.store.protocol import StoreError, Symbol
from tests.scripted_llm import ScriptedLLM
from tests.unit.test_code_answer import StubSearcher, hit

pytestmark = pytest.mark.unit

INVENTED = "```python\nimport requests\n\ns = requests.Session()\ns.set_max_redirects(3)\n```"
FIXED = "```python\nimport requests\n\ns = requests.Session()\ns.mount('https://', None)\n```"
STILL = "```python\nimport requests\n\nrequests.Session().retry_forever()\n```"
QUESTION = "requests 세션에서 재시도 횟수 설정"


class FakeSymbols:
    def __init__(self) -> None:
        self.defined = {"requests", "Session", "mount", "HTTPAdapter"}
        # The scopes each look-up was asked with: (method, scopes) in call order.
        self.scopes_seen: list[tuple[str, tuple[str, ...]]] = []

    def defined_names(self, names: Sequence[str], scopes: Sequence[str] = TEAM_ONLY) -> set[str]:
        self.scopes_seen.append(("defined_names", tuple(scopes)))
        return set(names) & self.defined

    def indexed_modules(self, names: Sequence[str], scopes: Sequence[str] = TEAM_ONLY) -> set[str]:
        self.scopes_seen.append(("indexed_modules", tuple(scopes)))
        return set(names) & {"requests"}

    def closest_symbols(
        self, names: Sequence[str], limit: int = 8, scopes: Sequence[str] = TEAM_ONLY
    ) -> list[Symbol]:
        self.scopes_seen.append(("closest_symbols", tuple(scopes)))
        return [Symbol("HTTPAdapter.max_retries", "requests/adapters.py")][:limit]


def run(
    answers: list[str],
    settings: GenerationSettings | None = None,
    scopes: Sequence[str] = TEAM_ONLY,
) -> tuple[list[AnswerEvent], CodeAnswer, ScriptedLLM, FakeSymbols]:
    replies = iter(answers)
    llm = ScriptedLLM(lambda m: next(replies))
    symbols = FakeSymbols()
    searcher = StubSearcher({QUESTION: [hit("mount", "requests/sessions.py")]})
    assistant = CodeAssistant(llm, searcher, settings or GenerationSettings(), symbols=symbols)
    events = list(assistant.ask(QUESTION, scopes=scopes))
    final = events[-1]
    assert isinstance(final, CodeAnswer)
    return events, final, llm, symbols


def test_an_invented_name_gets_one_repair_round_with_the_closest_symbols() -> None:
    events, final, llm, _ = run([INVENTED, FIXED])
    restarts = [e for e in events if isinstance(e, AnswerRestart)]
    assert len(restarts) == 1 and restarts[0].kind == "symbols"
    assert "set_max_redirects" in restarts[0].reason
    assert "색인에 없는 이름" in restarts[0].notice
    request = llm.calls[1][-1].content
    assert "`set_max_redirects`" in request
    assert "`HTTPAdapter.max_retries` (requests/adapters.py)" in request
    assert llm.calls[1][-2].role == "assistant" and "set_max_redirects" in llm.calls[1][-2].content
    assert final.repaired and final.unknown_symbols == [] and final.notes == []
    assert final.answer == FIXED and final.as_dict()["unknown_symbols"] == []
    # What streamed after the restart is the final answer.
    after = events[events.index(restarts[0]) + 1 : -1]
    assert "".join(e.text for e in after if isinstance(e, AnswerDelta)) == final.answer


def test_a_name_still_unknown_after_the_round_is_noted_under_the_answer() -> None:
    events, final, llm, _ = run([INVENTED, STILL, "never asked"])
    assert len(llm.calls) == 2  # never more than one symbol round
    assert sum(isinstance(e, AnswerRestart) for e in events) == 1
    assert final.unknown_symbols == ["retry_forever"]
    assert final.as_dict()["unknown_symbols"] == ["retry_forever"]
    assert final.answer.startswith(STILL)
    assert final.answer.endswith("색인에 없는 이름: `retry_forever`")
    assert final.notes == ["> 주의: 색인에 없는 이름: `retry_forever`"]
    streamed = "".join(e.text for e in events if isinstance(e, AnswerDelta))
    assert streamed.endswith("색인에 없는 이름: `retry_forever`")


def test_known_names_need_no_round_and_the_check_uses_the_callers_scopes() -> None:
    scopes = ("team", user_scope(7))
    _, final, llm, symbols = run([FIXED], scopes=scopes)
    assert len(llm.calls) == 1 and not final.repaired and final.unknown_symbols == []
    assert symbols.scopes_seen == [("indexed_modules", scopes), ("defined_names", scopes)]


def test_every_look_up_of_the_repair_path_uses_the_callers_scopes() -> None:
    scopes = ("team", user_scope(7))
    _, final, _, symbols = run([INVENTED, FIXED], scopes=scopes)
    assert final.repaired
    # First check, the closest symbols, then the check of the repaired answer.
    assert symbols.scopes_seen == [
        ("indexed_modules", scopes),
        ("defined_names", scopes),
        ("closest_symbols", scopes),
        ("indexed_modules", scopes),
        ("defined_names", scopes),
    ]


BROKEN = "```python\ndef broken(:\n```"


@pytest.mark.parametrize("repair", [BROKEN, "세션 재시도는 설정할 수 없습니다."])
def test_a_repair_whose_python_breaks_or_vanishes_keeps_the_first_answer(repair: str) -> None:
    events, final, llm, _ = run([INVENTED, repair])
    assert len(llm.calls) == 2
    assert final.answer.startswith(INVENTED) and repair not in final.answer
    assert final.syntax_error is None and final.code_blocks[0].code in INVENTED
    assert final.unknown_symbols == ["set_max_redirects"]
    assert final.answer.endswith("색인에 없는 이름: `set_max_redirects`")
    assert not final.repaired
    restarts = [e for e in events if isinstance(e, AnswerRestart)]
    assert [r.kind for r in restarts] == ["symbols", "kept"]
    assert "처음 답을 유지" in restarts[1].notice
    # What streamed after the last restart is the kept answer with its note.
    after = events[events.index(restarts[1]) + 1 : -1]
    assert "".join(e.text for e in after if isinstance(e, AnswerDelta)) == final.answer


def test_the_check_can_be_switched_off() -> None:
    _, final, llm, symbols = run([INVENTED], GenerationSettings(check_symbols=False))
    assert len(llm.calls) == 1 and final.unknown_symbols == [] and symbols.scopes_seen == []


def test_a_syntax_repair_comes_first_then_the_symbol_round() -> None:
    events, final, llm, _ = run(["```python\ndef broken(:\n```", INVENTED, FIXED])
    kinds = [e.kind for e in events if isinstance(e, AnswerRestart)]
    assert kinds == ["syntax", "symbols"] and len(llm.calls) == 3
    assert final.answer == FIXED and final.syntax_error is None


def test_english_questions_get_an_english_request_and_note() -> None:
    replies = iter([INVENTED, STILL])
    llm = ScriptedLLM(lambda m: next(replies))
    searcher = StubSearcher({"retries": [Hit(hit("mount").record, None, hit("mount").scores)]})
    assistant = CodeAssistant(llm, searcher, GenerationSettings(), symbols=FakeSymbols())
    final = list(assistant.ask("retries"))[-1]
    assert isinstance(final, CodeAnswer)
    assert "exist nowhere" in llm.calls[1][-1].content
    assert final.answer.endswith("names not found in the index: `retry_forever`")


class DownSymbols(FakeSymbols):
    def defined_names(self, names: Sequence[str], scopes: Sequence[str] = TEAM_ONLY) -> set[str]:
        raise StoreError("서버 연결 끊김")


def test_a_failing_store_skips_the_check_and_keeps_the_answer() -> None:
    llm = ScriptedLLM(lambda m: INVENTED)
    searcher = StubSearcher({QUESTION: [hit("mount", "requests/sessions.py")]})
    assistant = CodeAssistant(llm, searcher, GenerationSettings(), symbols=DownSymbols())
    events = list(assistant.ask(QUESTION))
    final = events[-1]
    assert isinstance(final, CodeAnswer) and final.answer == INVENTED
    assert final.unknown_symbols == [] and not any(isinstance(e, AnswerRestart) for e in events)
