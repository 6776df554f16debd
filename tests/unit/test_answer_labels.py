"""Issue 15 item 14: the summaries' search-only lines stay out of the generation prompt, and a
code answer never starts with a label copied from its context."""

from __future__ import annotations

import pytest

from ragcode.chat.code_answer import AnswerDelta, CodeAnswer, CodeAssistant, strip_leading_labels
from ragcode.config import GenerationSettings
from ragcode.domain import Hit, Record, Scores, UnitKind
from ragcode.retrieve.context import pack_context, render_unit
from tests.scripted_llm import ScriptedLLM
from tests.unit.test_code_answer import StubSearcher

pytestmark = pytest.mark.unit

SUMMARY = (
    "메일 본문을 템플릿으로 만들어 보낸다.\n"
    "검색어: 메일, 발송, 템플릿\n"
    "예상 질문: 메일은 어떻게 보내나요? / 템플릿으로 메일 보내기"
)


def summarized(name: str = "send_mail") -> Hit:
    code = f"def {name}():\n    pass\n"
    record = Record("app/mail.py", name, UnitKind.FUNCTION, "python", 1, 2, code)
    return Hit(record=record, summary=SUMMARY, scores=Scores(final=0.5))


def test_the_context_gives_the_model_the_description_only() -> None:
    block = render_unit(1, summarized())
    assert "설명: 메일 본문을 템플릿으로 만들어 보낸다." in block
    packed = pack_context([summarized(), summarized("render")], max_tokens=2000)
    for text in (block, packed.text):
        assert (
            "검색어" not in text
            and "예상 질문" not in text
            and "템플릿으로 메일 보내기" not in text
        )
    assert packed.text.count("설명: ") == 2


def test_a_unit_without_a_description_gets_no_label() -> None:
    hit = summarized()
    only_search = Hit(
        record=hit.record, summary="검색어: 메일\n예상 질문: 메일?", scores=hit.scores
    )
    assert "설명:" not in render_unit(1, only_search)


def ask(answer: str) -> tuple[str, CodeAnswer, ScriptedLLM]:
    llm = ScriptedLLM(lambda _m: answer)
    searcher = StubSearcher({"메일 보내기": [summarized()]})
    events = list(CodeAssistant(llm, searcher, GenerationSettings()).ask("메일 보내기"))
    final = events[-1]
    assert isinstance(final, CodeAnswer)
    streamed = "".join(e.text for e in events if isinstance(e, AnswerDelta))
    return streamed, final, llm


CODE = "```python\ndef send():\n    send_mail()\n```\n[1]을 참고했습니다."


@pytest.mark.parametrize(
    ("model_wrote", "shown"),
    [
        (f"예상 질문: 메일은 어떻게 보내나요?\n{CODE}", CODE),
        (f"예상 질문: 메일은 어떻게 보내나요?\n검색어: 메일, 발송\n\n{CODE}", CODE),
        (f"  예상질문 ： 메일?\n{CODE}", CODE),
        (f"설명: 템플릿으로 메일을 보냅니다.\n{CODE}", f"템플릿으로 메일을 보냅니다.\n{CODE}"),
        (f"검색어: 메일\n설명: 보냅니다.\n{CODE}", f"보냅니다.\n{CODE}"),
        # Not labels: kept byte for byte.
        (f"예상되는 결과는 다음과 같습니다.\n{CODE}", f"예상되는 결과는 다음과 같습니다.\n{CODE}"),
        (f"설명하자면 이렇습니다.\n{CODE}", f"설명하자면 이렇습니다.\n{CODE}"),
        (f"\n{CODE}\n예상 질문: 뒤에 나오면 그대로", f"\n{CODE}\n예상 질문: 뒤에 나오면 그대로"),
    ],
)
def test_a_code_answer_never_starts_with_a_label(model_wrote: str, shown: str) -> None:
    streamed, final, llm = ask(model_wrote)
    assert streamed == final.answer == shown
    assert "예상 질문" not in llm.calls[0][-1].content  # the prompt had none to copy
    assert final.code_blocks and final.code_blocks[0].code.startswith("def send()")


@pytest.mark.parametrize("size", [1, 2, 5, 200])
def test_label_stripping_holds_back_only_the_first_line(size: int) -> None:
    text = "예상 질문: 메일?\n" + "가" * 50 + "\n" + "나" * 50
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    out = list(strip_leading_labels(chunks))
    assert "".join(out) == "가" * 50 + "\n" + "나" * 50
    # Once the start is decided, every later delta passes on as it came.
    if size < 50:
        assert out[-3:] == chunks[-3:]
    assert list(strip_leading_labels(["예상", ""])) == ["예상"]  # a stream that ends early
    assert list(strip_leading_labels([])) == []
