from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import pytest

from ragcode.domain import DOCSTRING, Record, UnitKind
from ragcode.ingest.summarize import Summarizer, build_messages, clean_summary, is_trivial
from ragcode.llm.protocol import ChatMessage, LLMError, LLMStopped
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.unit


def unit(
    name: str, code: str, kind: UnitKind = UnitKind.FUNCTION, doc: str | None = None
) -> Record:
    """A code unit as the summarizer gets it from the store: a record."""
    lines = code.count("\n") + 1
    return Record("a.py", name, kind, "python", 1, lines, code, {DOCSTRING: doc} if doc else {})


def test_clean_summary_strips_artefacts() -> None:
    raw = '요약: "설정 파일을 읽어 딕셔너리로 반환합니다."\n```python\ndef x(): pass\n```'
    assert clean_summary(raw, 300) == "설정 파일을 읽어 딕셔너리로 반환합니다."


def test_clean_summary_bounds_length_at_sentence_end() -> None:
    raw = "첫 문장은 충분히 길게 씁니다. " * 3 + "마지막 문장은 잘려야 합니다 " * 20
    cleaned = clean_summary(raw, 80)
    assert len(cleaned) <= 80
    assert cleaned.endswith(".")


def test_clean_summary_cuts_unpunctuated_text_with_ellipsis() -> None:
    cleaned = clean_summary("가" * 500, 100)
    assert len(cleaned) == 101 and cleaned.endswith("…")


@pytest.mark.parametrize(
    ("name", "code", "kind", "trivial"),
    [
        ("A.__repr__", "def __repr__(self):\n    return f'A({self.x})'", UnitKind.METHOD, True),
        ("A.x", "def x(self):\n    return self._x", UnitKind.METHOD, True),
        ("A", "class A:", UnitKind.CLASS, True),
        (
            "load",
            "def load(p):\n    data = read(p)\n    return parse(data)",
            UnitKind.FUNCTION,
            False,
        ),
        (
            "A.__init__",
            "def __init__(self, x):\n    self.x = x\n    self.y = 2",
            UnitKind.METHOD,
            False,
        ),
        ("A.stub", "def stub(self):\n    raise NotImplementedError", UnitKind.METHOD, True),
        ("A.go", "def go(self): ...", UnitKind.METHOD, True),
        # One line, but what it does is not in its name: the LLM describes it.
        (
            "curry.bind",
            "def bind(self, *args, **kwargs):\n    return type(self)(self, *args, **kwargs)",
            UnitKind.METHOD,
            False,
        ),
        ("key", "def key(args, kwargs):\n    return args[0]", UnitKind.FUNCTION, False),
    ],
)
def test_trivial_units_skip_the_llm(name: str, code: str, kind: UnitKind, trivial: bool) -> None:
    assert is_trivial(unit(name, code, kind)) is trivial


def test_documented_one_liner_is_not_trivial() -> None:
    assert not is_trivial(unit("f", "def f(x):\n    return x", doc="Explain f."))


def test_prompt_carries_unit_and_truncates_long_code() -> None:
    long_code = "def big():\n" + "    x = 1\n" * 2000
    messages = build_messages(unit("big", long_code), max_code_chars=500)
    assert messages[0].role == "system" and "한국어" in messages[0].content
    assert [m.role for m in messages[1:]] == ["user", "assistant", "user"]  # one worked example
    assert "이름: big" in messages[-1].content
    assert "(생략)" in messages[-1].content
    assert len(messages[-1].content) < 1000


def test_search_terms_are_deduplicated_and_bounded() -> None:
    raw = "설명: 마지막 n개를 돌려준다.\n검색어: 마지막 요소, 꼬리, 마지막 요소, " + "꼬리, " * 50
    assert clean_summary(raw, 300) == "마지막 n개를 돌려준다.\n검색어: 마지막 요소, 꼬리"
    many = "설명: x.\n검색어: " + ", ".join(f"단어{i}" for i in range(20))
    assert clean_summary(many, 300).count(",") == 7  # at most 8 terms


def test_one_call_writes_description_terms_and_doc2query_questions() -> None:
    from ragcode.ingest.questions import clean_questions
    from ragcode.ingest.summarize import Summarizer
    from ragcode.ingest.summary_prompt import DESCRIPTION_SYSTEM, SUMMARY_SYSTEM
    from tests.scripted_llm import ScriptedLLM

    def answer(messages: object) -> str:
        return (
            "설명: 설정을 읽는다.\n검색어: 설정, 읽기\n"
            "질문: 1. 설정 파일 읽기? / 설정 파일 읽기? / ```py x``` / JSON 불러오기 / 넷 / "
            "다섯째 질문 / 여섯째 질문"
        )

    code = "def load(p):\n    data = read(p)\n    return parse(data)"
    llm = ScriptedLLM(answer)
    summarizer = Summarizer(llm, max_tokens=64, max_chars=300, max_code_chars=999)
    summary = summarizer.summarize(unit("load", code))
    questions = "설정 파일 읽기? / JSON 불러오기 / 다섯째 질문"
    assert summary == f"설정을 읽는다.\n검색어: 설정, 읽기\n예상 질문: {questions}"
    assert len(llm.calls) == 1 and llm.calls[0][0].content == SUMMARY_SYSTEM
    assert clean_questions("") == []
    # One per line also counts.
    assert clean_questions("첫째 질문?\n둘째 질문?") == ["첫째 질문?", "둘째 질문?"]

    bare = ScriptedLLM(lambda _m: "설명: 설정을 읽는다.\n검색어: 설정, 읽기")
    plain = Summarizer(bare, max_tokens=64, max_chars=300, max_code_chars=999)
    assert plain.summarize(unit("load", code)) == "설정을 읽는다.\n검색어: 설정, 읽기"
    off_llm = ScriptedLLM(answer)
    off = Summarizer(off_llm, max_tokens=64, max_chars=300, max_code_chars=999, questions=False)
    off.summarize(unit("load", code))
    assert off_llm.calls[0][0].content == DESCRIPTION_SYSTEM
    assert "질문" not in off_llm.calls[0][0].content + off_llm.calls[0][2].content


def test_questions_without_a_description_are_dropped() -> None:
    assert clean_summary("질문: 무엇을 하나?\n", 300) == ""
    assert clean_summary("설명: 읽는다.\n질문: 무엇을 읽나? / 어디서?", 300) == (
        "읽는다.\n예상 질문: 무엇을 읽나? / 어디서?"
    )


def test_the_distinguishing_detail_continues_the_description() -> None:
    raw = (
        "설명: 시퀀스의 마지막 n개 요소를 돌려준다.\n"
        "특징: 슬라이싱이 안 되는 이터러블은 길이 제한 덱으로 처리한다.\n"
        "검색어: 마지막 요소, 끝에서 가져오기"
    )
    assert clean_summary(raw, 400) == (
        "시퀀스의 마지막 n개 요소를 돌려준다. "
        "슬라이싱이 안 되는 이터러블은 길이 제한 덱으로 처리한다.\n"
        "검색어: 마지막 요소, 끝에서 가져오기"
    )


LOAD_CODE = "def load(p):\n    data = read(p)\n    return parse(data)"


class PartialLLM:
    """Streams a summary in three pieces like a real backend. After the first piece it fails
    (`fail`) or sets `cancel` (the runner stopping); records whether its stream was closed."""

    name = "partial"

    def __init__(self, *, fail: bool = False, cancel: threading.Event | None = None) -> None:
        self.fail = fail
        self.cancel = cancel
        self.pieces_sent = 0
        self.closed = False

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        try:
            for piece in ("설명: 설정을 ", "읽어 딕셔너리로 ", "돌려준다."):
                self.pieces_sent += 1
                yield piece
                if self.fail:
                    raise LLMError("연결이 끊겼습니다")
                if self.cancel is not None:
                    self.cancel.set()
        finally:
            self.closed = True


def summarizer_on(llm: object) -> Summarizer:
    return Summarizer(llm, max_tokens=64, max_chars=300, max_code_chars=999)  # type: ignore[arg-type]


def test_a_failing_llm_raises_and_never_yields_a_summary() -> None:
    """The runner marks a unit failed (to retry it later) only when summarize raises: an
    empty or partial summary returned instead would be stored as the unit's summary."""
    llm = ScriptedLLM(lambda _m: "설명: 읽는다.", fail_when=lambda _m: True)
    with pytest.raises(LLMError, match="scripted failure") as raised:
        summarizer_on(llm).summarize(unit("load", LOAD_CODE))
    assert not isinstance(raised.value, LLMStopped)  # a failure, not a cancellation
    assert len(llm.calls) == 1

    midway = PartialLLM(fail=True)
    with pytest.raises(LLMError, match="연결이 끊겼습니다"):
        summarizer_on(midway).summarize(unit("load", LOAD_CODE))
    assert midway.pieces_sent == 1 and midway.closed


def test_cancel_stops_between_pieces_and_closes_the_stream() -> None:
    cancel = threading.Event()
    llm = PartialLLM(cancel=cancel)
    with pytest.raises(LLMStopped):
        summarizer_on(llm).summarize(unit("load", LOAD_CODE), cancel)
    assert llm.pieces_sent == 2 and llm.closed  # given up at the next piece, not drained
    # Never cancelled: the same three pieces make the summary.
    whole = PartialLLM()
    assert summarizer_on(whole).summarize(unit("load", LOAD_CODE), threading.Event()) == (
        "설정을 읽어 딕셔너리로 돌려준다."
    )
    assert whole.pieces_sent == 3 and whole.closed


THREE_LINES = "설명: 설정을 읽는다.\n특징: UTF-8로 연다.\n검색어: 설정, 읽기"


def test_an_answer_without_its_questions_line_is_continued_for_it() -> None:
    """An answer that ends after its search terms: a backend that continues answers gets it
    back, open at "질문:"; the line it writes joins the summary. Others are asked in words;
    a reply that writes the other lines again adds nothing; an answer with its questions,
    or without its search terms, is not asked again."""
    from ragcode.ingest.summary_prompt import QUESTIONS_ASK

    def continuing(messages: Sequence[ChatMessage]) -> str:
        return THREE_LINES if messages[-1].role == "user" else " 설정 파일 읽기? / JSON 불러오기"

    llm = ScriptedLLM(continuing)
    llm.continues_answers = True  # type: ignore[attr-defined]
    summary = summarizer_on(llm).summarize(unit("load", LOAD_CODE))
    assert summary == (
        "설정을 읽는다. UTF-8로 연다.\n검색어: 설정, 읽기\n"
        "예상 질문: 설정 파일 읽기? / JSON 불러오기"
    )
    assert len(llm.calls) == 2
    assert llm.calls[1][:-1] == llm.calls[0]
    assert llm.calls[1][-1] == ChatMessage("assistant", f"{THREE_LINES}\n질문:")

    def asked(messages: Sequence[ChatMessage]) -> str:
        return THREE_LINES if len(messages) == 4 else "질문: 설정 파일 읽기? / JSON 불러오기"

    words = ScriptedLLM(asked)
    summary = summarizer_on(words).summarize(unit("load", LOAD_CODE))
    assert summary.endswith("\n예상 질문: 설정 파일 읽기? / JSON 불러오기")
    assert [m.role for m in words.calls[1][-2:]] == ["assistant", "user"]
    assert words.calls[1][-1].content == QUESTIONS_ASK

    again = ScriptedLLM(lambda _m: THREE_LINES)  # writes the same lines once more
    summary = summarizer_on(again).summarize(unit("load", LOAD_CODE))
    assert summary == "설정을 읽는다. UTF-8로 연다.\n검색어: 설정, 읽기"
    assert len(again.calls) == 2

    nothing = ScriptedLLM(lambda _m: "")  # no answer at all: nothing to continue
    assert summarizer_on(nothing).summarize(unit("load", LOAD_CODE)) == ""
    assert len(nothing.calls) == 1
    # Only an answer that got through its search terms and ended there is asked again.
    short = ScriptedLLM(lambda _m: "설명: 설정을 읽는다.")
    assert summarizer_on(short).summarize(unit("load", LOAD_CODE)) == "설정을 읽는다."
    assert len(short.calls) == 1


def test_the_questions_follow_up_is_part_of_the_cached_prompt_version() -> None:
    from ragcode.ingest.summarize import summary_prompt_version

    settings = {"max_tokens": 192, "max_chars": 400, "max_code_chars": 6000}
    with_questions = summary_prompt_version(questions=True, **settings)
    assert with_questions != summary_prompt_version(questions=False, **settings)
    assert with_questions != "summary-791ea9671047"  # before the follow-up (eval caches)
