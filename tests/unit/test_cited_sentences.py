"""The sentence -> [n] map read back from a final document answer (what the history and the
ws frame keep), and `ragcode docs ask`'s terminal output: streamed text first, then the answer
again with the markers attached after generation, then the numbered sources (issue 14)."""

from __future__ import annotations

import io
import json

import pytest

from ragcode.chat.doc_answer import DocumentAssistant, cited_sentences
from ragcode.cli_docs import _Shown, answer_json, render_answer, render_sources, run_question
from ragcode.config import DocumentSettings
from ragcode.documents.attribution import SentenceAttributor
from ragcode.embeddings.local_e5 import E5Embedder
from ragcode.text.analyzer import TextAnalyzer
from tests.scripted_llm import ScriptedLLM
from tests.unit.test_attribution import CHUNKS, FEE, OTP
from tests.unit.test_doc_answer import StubSearcher, faq_hit

pytestmark = pytest.mark.unit

HITS = [
    faq_hit("OTP는 어디서 발급받나요?", OTP.split("답변: ")[1], 30),
    faq_hit("타행 이체 수수료는 얼마인가요?", FEE.split("답변: ")[1], 41),
]
UNMARKED = "OTP 기기는 가까운 영업점을 방문하시면 발급받을 수 있습니다. 오늘 점심은 김치찌개입니다."


@pytest.fixture(scope="module")
def attributor() -> SentenceAttributor:
    return SentenceAttributor(TextAnalyzer(), E5Embedder())


def assistant(said: str, attributor: SentenceAttributor) -> DocumentAssistant:
    return DocumentAssistant(
        lambda: ScriptedLLM(lambda m: said), StubSearcher(HITS), DocumentSettings(),
        attributor=attributor,
    )  # fmt: skip


def test_read_back_map_is_the_attributors_cited_sentences(
    attributor: SentenceAttributor,
) -> None:
    answers = [
        UNMARKED,
        "인증서는 만료 전에 갱신합니다 [3]. 타행 이체 수수료는 건당 500원입니다 [9].",
        "영업점에서 발급합니다 [1][2]. 1. 앱을 엽니다\n다른 은행에 이체하면 500원이 붙습니다.",
    ]
    for answer in answers:
        result = attributor.attribute(answer, CHUNKS)
        expected = [s for s in result.sentences if s.sources]
        assert expected, answer
        assert cited_sentences(result.answer) == expected, result.answer


def test_read_back_map_ignores_code_and_uncited_sentences() -> None:
    answer = "`items[1]` 를 씁니다. 수수료는 500원입니다 [2]. 끝."
    (only,) = cited_sentences(answer)
    assert (only.index, only.sources) == (1, [2])
    assert answer[only.start : only.end] == "수수료는 500원입니다 [2]."
    assert cited_sentences("```\nx[1] = 2\n```") == []


def test_terminal_shows_the_marked_answer_after_the_stream(
    attributor: SentenceAttributor,
) -> None:
    terminal = io.StringIO()
    shown = _Shown(terminal)
    result = run_question(assistant(UNMARKED, attributor), "OTP는?", None, shown)
    assert terminal.getvalue() == shown.getvalue() == UNMARKED  # streamed as written
    render_answer(result, terminal, shown.getvalue())
    render_sources(result, terminal)
    out = terminal.getvalue()
    marked = out.split("--- 출처 번호를 붙인 답변 ---\n")[1].split("\n\n--- 출처 ---\n")[0]
    assert marked == result.answer and "발급받을 수 있습니다 [1]." in marked
    sources = out.split("--- 출처 ---\n")[1].splitlines()
    assert sources[0].startswith("[1] OTP는 어디서 발급받나요? — bank_faq_ko.csv")
    assert sources[0].endswith(" · 인용") and not sources[1].endswith(" · 인용")


def test_an_answer_the_model_marked_itself_is_not_shown_twice(
    attributor: SentenceAttributor,
) -> None:
    said = "가까운 영업점을 방문하시면 OTP 기기를 발급받을 수 있습니다 [1]."
    terminal = io.StringIO()
    shown = _Shown(terminal)
    result = run_question(assistant(said, attributor), "OTP는?", None, shown)
    render_answer(result, terminal, shown.getvalue())
    assert terminal.getvalue() == said and "출처 번호" not in terminal.getvalue()
    piped = io.StringIO()  # not a terminal: only the final text, once
    render_answer(result, piped, None)
    assert piped.getvalue() == result.answer


def test_json_sentences_carry_their_text(attributor: SentenceAttributor) -> None:
    result = run_question(assistant(UNMARKED, attributor), "OTP는?", None, None)
    payload = json.loads(json.dumps(answer_json(result), ensure_ascii=False))
    first, lunch = payload["sentences"]
    assert first["sources"] == [1] and first["text"].endswith("발급받을 수 있습니다 [1].")
    assert lunch["sources"] == [] and lunch["text"] == "오늘 점심은 김치찌개입니다."
