"""Ideographs repaired in a remote endpoint's stream (`llm.han_repair`), with scripted replies."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field

from ragcode.llm.han_repair import HanRepairLLM, HanRepairPolicy, drop_foreign
from ragcode.llm.han_tokens import has_foreign, has_han
from ragcode.llm.protocol import ChatMessage, FinishReason, LLMError


@dataclass
class Scripted:
    """Streams `answer` in `pieces`; every further call is a repair, answered from `repairs`."""

    pieces: list[str]
    repairs: list[str | Exception] = field(default_factory=list)
    calls: list[list[ChatMessage]] = field(default_factory=list)
    closed: bool = False
    name: str = "remote"

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Generator[str, None, FinishReason]:
        self.calls.append(list(messages))
        if len(self.calls) == 1:
            return self._answer()
        return self._repair()

    def _answer(self) -> Generator[str, None, FinishReason]:
        try:
            yield from self.pieces
        finally:
            self.closed = True
        return "length"

    def _repair(self) -> Generator[str, None, FinishReason]:
        reply = self.repairs.pop(0)
        if isinstance(reply, Exception):
            raise reply
        yield reply
        return "stop"


def run(llm: Scripted, policy: HanRepairPolicy | None = None) -> tuple[list[str], FinishReason]:
    stream = HanRepairLLM(llm, policy).stream([ChatMessage("user", "q")], max_tokens=64)
    out: list[str] = []
    while True:
        try:
            out.append(next(stream))
        except StopIteration as end:
            return out, end.value


def test_text_without_ideographs_streams_unchanged_and_keeps_the_finish_reason() -> None:
    llm = Scripted(["이 함수는 ", "값을 ", "돌려", "줍니다.\n", "끝"])
    out, reason = run(llm)
    assert "".join(out) == "이 함수는 값을 돌려줍니다.\n끝"
    assert len(out) >= 3  # still streamed, not collected into one piece
    assert reason == "length"
    assert len(llm.calls) == 1  # no repair call


def test_a_line_with_ideographs_is_repaired_by_the_same_endpoint() -> None:
    llm = Scripted(
        ["이 함수는 ", "요", "素를 ", "返回합니다.\n", "다음 줄\n"], repairs=["요소를 반환합니다."]
    )
    out, _ = run(llm)
    text = "".join(out)
    assert text == "이 함수는 요소를 반환합니다.\n다음 줄\n"
    repair = llm.calls[1]
    # Only the piece from the word with the first ideograph to the line's end is sent.
    assert repair[-1].content == "요素를 返回합니다."
    assert "한국어" in repair[0].content


def test_a_line_with_kana_is_repaired_too() -> None:
    # The drift of the embedded model once ideographs are banned (a regenerated summary).
    llm = Scripted(
        ["모듈의 ", "버지", "ョン 정보를 가져옵니다\n"], repairs=["버전 정보를 가져옵니다"]
    )
    text = "".join(run(llm)[0])
    assert text == "모듈의 버전 정보를 가져옵니다\n"
    assert llm.calls[1][-1].content == "버지ョン 정보를 가져옵니다"


def test_a_repair_that_still_has_kana_is_not_used() -> None:
    llm = Scripted(["시퀀ス를 나눕니다\n"], repairs=["シーケンス를 나눕니다"])
    text = "".join(run(llm)[0])
    assert text == "시퀀를 나눕니다\n"
    assert not has_foreign(text)


def test_code_keeps_its_indentation_and_only_the_comment_is_repaired() -> None:
    llm = Scripted(["def f():\n", "    # 创建 인덱스\n", "    return 1\n"], repairs=["생성 인덱스"])
    text = "".join(run(llm)[0])
    assert text == "def f():\n    # 생성 인덱스\n    return 1\n"
    assert llm.calls[1][-1].content == "创建 인덱스"  # the code before it is not sent


def test_an_untrusted_repair_drops_the_ideographs_instead() -> None:
    for bad in ("여전히 返回", "", "아주 " * 60, LLMError("endpoint down")):
        llm = Scripted(["값을 返回합니다.\n"], repairs=[bad])
        text = "".join(run(llm)[0])
        assert text == "값을 합니다.\n", bad
        assert not has_han(text)


def test_a_repair_that_answers_the_piece_or_loses_code_is_not_used() -> None:
    # Measured on the 0.5B model without the worked example: asked to rewrite a Chinese
    # sentence about a list, it answered with a list.
    llm = Scripted(["这个函数返回列表。"], repairs=["['1', '2', '3']"])
    assert "".join(run(llm)[0]) == "。"
    llm = Scripted(["값은 返回items_total()\n"], repairs=["합계를 반환"])
    assert "".join(run(llm)[0]) == "값은 items_total()\n"  # the identifier was lost: not used


def test_repairs_per_answer_are_limited() -> None:
    lines = [f"{i}번 返回\n" for i in range(5)]
    llm = Scripted(lines, repairs=["반환"] * 5)
    text = "".join(run(llm, HanRepairPolicy(max_repairs=2))[0])
    assert not has_han(text)
    assert len(llm.calls) == 3  # the answer and two repairs; the rest lose their ideographs
    assert text.count("반환") == 2


def test_a_long_line_is_repaired_at_the_piece_limit() -> None:
    llm = Scripted(["返回 " + "가" * 50], repairs=["반환 " + "가" * 20])
    stream = HanRepairLLM(llm, HanRepairPolicy(max_piece_chars=24)).stream(
        [ChatMessage("user", "q")], max_tokens=64
    )
    text = "".join(stream)
    assert not has_han(text)
    assert text.startswith("반환 ")


def test_closing_the_stream_closes_the_endpoint_stream() -> None:
    llm = Scripted(["하나 ", "둘 ", "셋 ", "넷 "])
    stream = HanRepairLLM(llm).stream([ChatMessage("user", "q")], max_tokens=64)
    assert next(stream)
    stream.close()
    assert llm.closed


def test_dropping_leaves_no_double_spaces() -> None:
    assert drop_foreign("값을 返回 합니다") == "값을 합니다"
    assert drop_foreign("모듈의 ョン 버전") == "모듈의 버전"
