"""Orchestration of RAG code generation with a scripted LLM and a stub searcher."""

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
from ragcode.chat.code_blocks import extract_code_blocks, python_syntax_error
from ragcode.chat.language import question_language, requested_code_language
from ragcode.config import GenerationSettings
from ragcode.domain import TEAM_ONLY, ChatTurn, Hit, Record, Scores, UnitKind
from ragcode.llm.protocol import ChatMessage
from ragcode.retrieve.context import pack_context
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.unit


def hit(name: str, path: str = "app/mail.py", lines: int = 5, language: str = "python") -> Hit:
    code = f"def {name}():\n" + "    pass\n" * (lines - 1)
    record = Record(path, name, UnitKind.FUNCTION, language, 1, lines, code)
    return Hit(record=record, summary=f"{name} 설명", scores=Scores(final=0.5, rerank=0.4))


class StubSearcher:
    def __init__(self, results: dict[str, list[Hit]]) -> None:
        self.results = results
        self.queries: list[str] = []
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
        self.queries.append(query)
        return self.results.get(query, [])


def collect(
    assistant: CodeAssistant, question: str, history: Sequence[ChatTurn] = ()
) -> tuple[list[AnswerEvent], CodeAnswer]:
    events = list(assistant.ask(question, history))
    final = events[-1]
    assert isinstance(final, CodeAnswer)
    return events, final


def is_rewrite(messages: Sequence[ChatMessage]) -> bool:
    return "후속 질문" in messages[-1].content


def test_answer_streams_deltas_and_lists_context_units() -> None:
    searcher = StubSearcher({"메일 보내기": [hit("send_mail"), hit("render_body")]})
    llm = ScriptedLLM(lambda m: "```python\ndef send():\n    send_mail()\n```\n[1]을 참고했습니다.")
    assistant = CodeAssistant(llm, searcher, GenerationSettings())
    events, final = collect(assistant, "메일 보내기")
    deltas = [e for e in events if isinstance(e, AnswerDelta)]
    assert len(deltas) > 1 and "".join(d.text for d in deltas) == final.answer
    assert [h.record.title for h in final.references] == ["send_mail", "render_body"]
    assert final.code_blocks[0].code.startswith("def send()")
    assert final.rewritten_question is None  # no history, no rewrite call
    assert len(llm.calls) == 1
    prompt = llm.calls[0][-1].content
    assert "app/mail.py:1-5 send_mail" in prompt and "질문: 메일 보내기" in prompt


def test_nothing_relevant_is_said_and_not_forced() -> None:
    llm = ScriptedLLM(lambda m: "맑을 것 같아요.")
    assistant = CodeAssistant(llm, StubSearcher({}), GenerationSettings())
    _, final = collect(assistant, "오늘 날씨 어때?")
    assert final.references == []
    assert final.answer.startswith("지식 베이스에서 관련된 코드를 찾지 못했습니다")
    assert "참고 코드" not in llm.calls[0][-1].content


def test_syntax_error_triggers_one_repair_round() -> None:
    answers = iter(
        ["```python\ndef broken(:\n    pass\n```", "```python\ndef fixed():\n    pass\n```"]
    )
    llm = ScriptedLLM(lambda m: next(answers))
    assistant = CodeAssistant(llm, StubSearcher({"q": [hit("f")]}), GenerationSettings())
    events, final = collect(assistant, "q")
    restarts = [e for e in events if isinstance(e, AnswerRestart)]
    assert len(restarts) == 1 and "line 1" in restarts[0].reason
    assert final.repaired and final.syntax_error is None
    assert final.answer.startswith("```python\ndef fixed")
    repair_prompt = llm.calls[1]
    assert repair_prompt[-2].role == "assistant" and "broken" in repair_prompt[-2].content
    assert "syntax error" in repair_prompt[-1].content  # the question "q" is English


def test_repair_is_off_when_disabled_or_not_python() -> None:
    llm = ScriptedLLM(lambda m: "```python\ndef broken(:\n```")
    settings = GenerationSettings(check_python=False)
    assistant = CodeAssistant(llm, StubSearcher({"q": [hit("f")]}), settings)
    _, final = collect(assistant, "q")
    assert not final.repaired and len(llm.calls) == 1


def test_follow_up_is_rewritten_and_keeps_previous_code() -> None:
    searcher = StubSearcher(
        {
            "이메일 보내는 코드": [hit("send_email")],
            "send_email 함수를 비동기로 바꾸기": [hit("async_helper"), hit("send_email")],
        }
    )
    llm = ScriptedLLM(
        lambda m: (
            "send_email 함수를 비동기로 바꾸기"
            if is_rewrite(m)
            else "```python\nasync def f():\n    pass\n```"
        )
    )
    assistant = CodeAssistant(llm, searcher, GenerationSettings())
    history = [ChatTurn("이메일 보내는 코드", "send_email 을 쓰세요", "이메일 보내는 코드")]
    _, final = collect(assistant, "그럼 그걸 비동기로 바꿔줘", history)
    assert final.rewritten_question == "send_email 함수를 비동기로 바꾸기"
    assert "send_email" in [h.record.title for h in final.references]
    assert searcher.queries == ["send_email 함수를 비동기로 바꾸기", "이메일 보내는 코드"]
    assert "이메일 보내는 코드" in llm.calls[0][-1].content  # the history reached the rewrite


def test_languages() -> None:
    assert question_language("설정 파일 읽는 함수 만들어줘") == "ko"
    assert question_language("read the config file") == "en"
    assert requested_code_language("자바로 만들어줘", [hit("f")]) == "java"
    assert requested_code_language("자바스크립트로", []) == "javascript"
    assert requested_code_language("golang 으로", []) == "go"
    assert (
        requested_code_language(
            "만들어줘", [hit("f", language="tsx"), hit("g", language="typescript")]
        )
        == "typescript"
    )
    assert requested_code_language("만들어줘", []) == "python"


def test_code_blocks_and_syntax_check() -> None:
    blocks = extract_code_blocks(
        "앞\n```python\nx = 1\n```\n뒤\n```js\nlet a = 1;\n```\n```\ncut off"
    )
    assert [(b.language, b.code) for b in blocks] == [
        ("python", "x = 1"),
        ("js", "let a = 1;"),
        ("", "cut off"),
    ]
    assert python_syntax_error(blocks[:2], "python") is None
    assert python_syntax_error(blocks, "python") is not None  # the bare block is read as Python


def test_context_packing_respects_budget_and_file_share() -> None:
    hits = [hit(f"f{i}", path="big.py", lines=40) for i in range(6)] + [hit("other", path="b.py")]
    packed = pack_context(hits, max_tokens=100_000, max_per_file=3)
    assert [h.record.title for h in packed.hits] == ["f0", "f1", "f2", "other"]
    tight = pack_context(hits, max_tokens=60, max_per_file=3)
    # Long units are never cut; a short one fits.
    assert [h.record.title for h in tight.hits] == ["other"]
    small = pack_context([hit(f"s{i}", path="s.py", lines=3) for i in range(5)], max_tokens=100_000)
    assert len(small.hits) == 5  # a small file may give all its units


def test_retrieval_is_limited_to_the_callers_scopes() -> None:
    searcher = StubSearcher({"메일 보내기": [hit("send_mail")]})
    llm = ScriptedLLM(lambda m: "```python\nsend_mail()\n```")
    assistant = CodeAssistant(llm, searcher, GenerationSettings())
    list(assistant.ask("메일 보내기", scopes=("team", "user:7")))
    assert searcher.scopes_seen == [("team", "user:7")]
    list(assistant.ask("메일 보내기"))  # no scopes given: the team's code only
    assert searcher.scopes_seen[-1] == ("team",)
