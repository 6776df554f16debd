"""What people are shown of a hit: the summary's description only (the search-term and
expected-question lines stay in the store), the retrievers that found it and its score, in
every place that sends one: chat references (web and OpenAI API), upload cards, MCP hits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ragcode.chat.code_answer import CodeAssistant
from ragcode.chat.modes import ChatModes, ModeRequest, ModeResult
from ragcode.chat.references import code_reference, display_summary, found_by
from ragcode.config import GenerationSettings
from ragcode.documents.citations import reference
from ragcode.domain import Hit, Record, Scores, UnitKind
from ragcode.ingest.progress import SummaryEvent
from ragcode.ingest.summarize import clean_summary
from ragcode.mcp_server.schema import code_hit
from ragcode.server.protocol import Progress
from ragcode.server.upload_summaries import DocumentProgress
from ragcode.uploads.protocol import Document
from tests.scripted_llm import ScriptedLLM
from tests.unit.test_code_answer import StubSearcher

pytestmark = pytest.mark.unit
DESCRIPTION = "이름을 받아 인사말을 만들어 출력하고 돌려준다."
RAW = (
    f"설명: {DESCRIPTION}\n검색어: 인사, 이름, greet\n"
    "예상 질문: 인사말은 어떻게 만드나요? / 이름으로 인사하기"
)
CODE = 'def greet(name):\n    """Return a greeting."""\n    return "Hello, " + name\n'


def stored_summary() -> str:
    """A summary as the store keeps it: cleaned by the summarizer, all three lines."""
    summary = clean_summary(RAW, 300)
    assert "\n검색어: " in summary and "\n예상 질문: " in summary  # the format under test
    return summary


def greet_hit(scores: Scores | None = None) -> Hit:
    record = Record("pkg/greeter.py", "greet", UnitKind.FUNCTION, "python", 12, 14, CODE)
    scores = scores or Scores(
        vector=0.81, lexical=None, fused=0.03, rerank=0.7, final=0.742,
        ranks={"vector:summary": 1, "expanded-lexical:code": 4},
    )  # fmt: skip
    return Hit(record=record, summary=stored_summary(), scores=scores)


def test_the_description_is_what_a_person_sees() -> None:
    assert display_summary(stored_summary()) == DESCRIPTION
    assert display_summary(f"{DESCRIPTION}\n예상질문： 무엇을 하나요?") == DESCRIPTION
    assert display_summary("첫 줄\n둘째 줄\n키워드: a, b") == "첫 줄\n둘째 줄"
    assert display_summary(DESCRIPTION) == DESCRIPTION  # nothing to take off
    assert display_summary(None) is None
    # A label inside a sentence is part of the description.
    text = "검색어와 예상 질문: 두 줄을 만든다."
    assert display_summary(f"설명 {text}") == f"설명 {text}"


def test_the_retrievers_that_found_a_hit() -> None:
    ranked = Scores(ranks={"lexical:summary": 2, "expanded-vector:code": 1})
    assert found_by(ranked) == ["vector", "lexical"]
    assert found_by(Scores(ranks={"vector:code": 3})) == ["vector"]
    assert found_by(Scores(ranks={"expanded-lexical:name": 1})) == ["lexical"]
    assert found_by(Scores(lexical=7.5)) == ["lexical"]
    assert found_by(Scores()) == []


def test_a_code_reference_has_description_retrievers_and_score() -> None:
    ref = code_reference(greet_hit())
    assert ref["summary"] == DESCRIPTION
    assert ref["retrievers"] == ["vector", "lexical"]
    assert ref["score"] == 0.742
    assert (ref["path"], ref["start_line"], ref["end_line"]) == ("pkg/greeter.py", 12, 14)
    assert ref["code"] == CODE
    assert isinstance(ref["scores"], dict) and ref["scores"]["vector"] == 0.81


def test_code_mode_sends_references_for_people() -> None:
    """The references of the web chat and the OpenAI-compatible API (both ModeResult)."""
    question = "인사하는 함수"
    llm = ScriptedLLM(lambda messages: "```python\ndef hi():\n    return greet('a')\n```\n[1] 사용")
    searcher = StubSearcher({question: [greet_hit()]})
    code = CodeAssistant(llm, searcher, GenerationSettings())
    modes = ChatModes(lambda: llm, lambda: code, None, max_tokens=64)
    final = list(modes.run("code", ModeRequest(question, ())))[-1]
    assert isinstance(final, ModeResult)
    (ref,) = final.references
    assert ref["summary"] == DESCRIPTION and ref["retrievers"] == ["vector", "lexical"]


def test_document_references_say_which_retrievers_found_them() -> None:
    record = Record("faq.csv", "한도는?", UnitKind.FAQ, "csv", 2, 2, "질문: 한도는?\n답변: 500")
    hit = Hit(record=record, summary=None, scores=Scores(final=0.5, ranks={"lexical:code": 1}))
    assert reference(1, hit)["retrievers"] == ["lexical"]


def test_an_mcp_hit_shows_the_description() -> None:
    out = code_hit(greet_hit())
    assert out.summary == DESCRIPTION
    assert out.scores.final == 0.742


def upload(uid: str) -> Document:
    return Document(uid, 1, "greeter.py", "code", Path("/tmp"), "summarizing", 1, None, time.time())


def test_the_upload_card_gets_the_description() -> None:
    sent: list[Progress] = []
    progress = DocumentProgress(upload("d1"), {"u1"}, sent.append)
    record = greet_hit().record
    progress.summary_done(SummaryEvent(record, stored_summary(), 1, 1, failed=False, uid="u1"))
    assert sent[-1].summary == DESCRIPTION
    assert sent[-1].unit is not None and sent[-1].unit["name"] == "greet"
    progress.settled_before(SummaryEvent(record, None, 1, 1, failed=True, uid="u1"))
    assert len(sent) == 1  # reported once


def test_a_failed_summary_stays_none_on_the_card() -> None:
    sent: list[Progress] = []
    progress = DocumentProgress(upload("d2"), {"u2"}, sent.append)
    record = greet_hit().record
    progress.summary_done(SummaryEvent(record, None, 1, 1, failed=True, uid="u2"))
    assert sent[-1].summary is None
