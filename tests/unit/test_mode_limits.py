"""Answer budgets per mode, the truncation flag from the backend's finish reason, and
continuing a cut answer: a scripted LLM that stops at `max_tokens` the way backends do."""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ragcode.chat.code_answer import AnswerDelta, CodeAssistant
from ragcode.chat.modes import ChatModes, ModeRequest, ModeResult, ModeUnavailableError
from ragcode.chat.prompts import continuation
from ragcode.config import MODE_MAX_TOKENS, GenerationSettings, Settings
from ragcode.llm.bedrock import BedrockLLM
from ragcode.llm.openai_compat import sse_deltas
from ragcode.llm.pool import LLMPool
from ragcode.llm.protocol import ChatMessage, FinishReason, finish_reason
from tests.unit.test_code_answer import StubSearcher

pytestmark = pytest.mark.unit
LONG = " ".join(f"word{n}" for n in range(40))  # 40 "tokens"


@dataclass
class BudgetLLM:
    """Streams `text` a word (one "token") at a time and stops at `max_tokens`, returning the
    finish reason as the real adapters do ("length" when cut there, else "stop")."""

    text: str = LONG
    reason: bool = True  # False: a backend that does not say why it stopped
    calls: list[tuple[list[ChatMessage], int]] = field(default_factory=list)

    name = "budget"

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Generator[str, None, FinishReason]:  # fmt: skip
        self.calls.append((list(messages), max_tokens))
        words = self.text.split(" ")
        for n, word in enumerate(words[:max_tokens]):
            yield word if n == 0 else " " + word
        if not self.reason:
            return None
        return "length" if len(words) > max_tokens else "stop"


def make(llm: BudgetLLM, ceiling: int = 4096, **limits: int) -> ChatModes:
    code = CodeAssistant(llm, StubSearcher({}), GenerationSettings())
    budgets = {**MODE_MAX_TOKENS, **{k.replace("_", "-"): v for k, v in limits.items()}}
    return ChatModes(lambda: llm, lambda: code, None, max_tokens=ceiling, mode_max_tokens=budgets)


def run(modes: ChatModes, mode: str, request: ModeRequest) -> tuple[str, ModeResult]:
    events = list(modes.run(mode, request))
    final = events[-1]
    assert isinstance(final, ModeResult)
    return "".join(e.text for e in events if isinstance(e, AnswerDelta)), final


# --- the budgets ------------------------------------------------------------------------
def test_default_budgets_fit_each_task(tmp_path: Path) -> None:
    server = Settings(data_dir=tmp_path).server
    assert server.chat_max_tokens == 4096  # the original chatbot's limit, and the ceiling
    budgets = server.mode_max_tokens
    for long_mode in ("translation", "pii", "grammar", "normal", "step-by-step"):
        assert budgets[long_mode] == 4096, long_mode  # as long as what they are given
    assert budgets["sentiment"] < budgets["timestamp-extraction"] < budgets["extraction"]
    assert budgets["sentiment"] == 256
    assert "code" not in budgets and "qa" not in budgets  # generation/documents settings


def test_configured_budgets_keep_the_other_defaults(tmp_path: Path) -> None:
    server = Settings(data_dir=tmp_path, server={"mode_max_tokens": {"translation": 2048}}).server
    assert server.mode_max_tokens["translation"] == 2048
    assert server.mode_max_tokens["sentiment"] == MODE_MAX_TOKENS["sentiment"]
    with pytest.raises(ValidationError, match="translate"):
        Settings(data_dir=tmp_path, server={"mode_max_tokens": {"translate": 100}})
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, server={"mode_max_tokens": {"sentiment": 0}})


def test_each_mode_asks_for_its_own_budget_within_the_ceiling() -> None:
    llm = BudgetLLM("짧은 답")
    modes = make(llm, ceiling=1000)
    for mode, expected in [
        ("translation", 1000), ("pii", 1000), ("grammar", 1000), ("sentiment", 256),
        ("extraction", 1000), ("timestamp-extraction", 512), ("normal", 1000),
    ]:  # fmt: skip
        run(modes, mode, ModeRequest("오늘 회의는 좋았어요"))
        assert llm.calls[-1][1] == expected == modes.max_tokens(mode), mode


# --- the truncation flag ----------------------------------------------------------------
def test_a_pii_answer_cut_at_the_budget_falls_back_to_the_whole_masked_text() -> None:
    """A copy cut at the budget is no faithful rewrite: the deterministic masking of the
    whole input is the answer, complete, so there is nothing to continue."""
    given = " ".join(f"word{n}" for n in range(40))
    copy = BudgetLLM(text=given)
    streamed, cut = run(make(copy, pii=10), "pii", ModeRequest(given))
    assert "word10" not in streamed  # the model was cut
    assert cut.answer == given and not cut.truncated
    _, whole = run(make(copy, pii=100), "pii", ModeRequest(given))
    assert whole.answer == given and not whole.truncated
    _, other = run(make(BudgetLLM(), pii=10), "pii", ModeRequest("질문"))
    assert other.answer == "질문" and not other.truncated


@pytest.mark.parametrize("mode", ["translation", "sentiment", "timestamp-extraction"])
def test_an_answer_cut_at_the_budget_says_so(mode: str) -> None:
    llm = BudgetLLM()
    streamed, cut = run(make(llm, **{mode.replace("-", "_"): 10}), mode, ModeRequest("질문"))
    assert cut.truncated and streamed.startswith("word0 word1") and "word10" not in streamed
    _, whole = run(make(llm, **{mode.replace("-", "_"): 100}), mode, ModeRequest("질문"))
    assert not whole.truncated and "word39" in whole.answer


def test_a_backend_that_does_not_say_is_never_flagged() -> None:
    """No finish reason (a plain iterator, a one-shot SageMaker call): no notice rather
    than a guess from counted deltas."""
    _, result = run(make(BudgetLLM(reason=False), translation=10), "translation", ModeRequest("q"))
    assert not result.truncated


def test_code_and_qa_are_not_continued() -> None:
    modes = make(BudgetLLM())
    for mode in ("code", "qa"):
        with pytest.raises(ModeUnavailableError):
            list(modes.run(mode, ModeRequest("질문", continue_from="앞부분")))


# --- continuing a cut answer ------------------------------------------------------------
def test_a_continuation_gives_the_model_the_cut_answer_and_is_stored_as_계속() -> None:
    llm = BudgetLLM()
    modes = make(llm, translation=10)
    _, cut = run(modes, "translation", ModeRequest("이 글을 번역해 주세요"))
    llm.text = "word10 word11"
    request = ModeRequest("이 글을 번역해 주세요", continue_from=cut.answer)
    streamed, more = run(modes, "translation", request)
    sent = llm.calls[-1][0]
    assert [m.role for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1].content == "이 글을 번역해 주세요" and sent[2].content == cut.answer
    assert sent[3].content == continuation.CONTINUE_KO
    assert streamed == more.answer == "word10 word11" and not more.truncated
    assert more.stored_question == continuation.STORED_QUESTION == "계속"


def test_a_backend_that_continues_answers_gets_the_cut_answer_last() -> None:
    """llama.cpp continues a last assistant message where it ends (a true continuation; the
    0.5B model asked in words starts the translation over)."""
    llm = BudgetLLM()
    llm.continues_answers = True  # type: ignore[attr-defined]
    run(make(llm), "translation", ModeRequest("번역해 주세요", continue_from="Our team"))
    sent = llm.calls[-1][0]
    assert [m.role for m in sent] == ["system", "user", "assistant"]
    assert sent[-1].content == "Our team"
    assert LLMPool([llm]).continues_answers and not LLMPool([llm, BudgetLLM()]).continues_answers


def test_an_english_continuation_is_asked_in_english() -> None:
    llm = BudgetLLM()
    run(make(llm), "grammar", ModeRequest("Fix this text", continue_from="The text was"))
    assert llm.calls[-1][0][-1].content == continuation.CONTINUE_EN


def test_a_continuation_leaves_out_the_memory() -> None:
    """The cut answer is already the context; the memory holds that same turn."""
    from ragcode.domain import ChatTurn

    llm = BudgetLLM()
    history = [ChatTurn("이전 질문", "이전 답")]
    run(make(llm), "normal", ModeRequest("질문", history, continue_from="앞"))
    assert all(m.content != "이전 답" for m in llm.calls[-1][0])


def test_a_pii_continuation_masks_what_the_model_sees_and_what_is_kept() -> None:
    llm = BudgetLLM("그리고 010-1234-5678 로 연락")
    request = ModeRequest(
        "김민지 고객님 010-1111-2222", continue_from="김민지 고객님 010-1111-2222 (일부)"
    )
    _, result = run(make(llm), "pii", request)
    seen = json.dumps([m.content for m in llm.calls[-1][0]], ensure_ascii=False)
    assert "010-1111-2222" not in seen and "1111-2222" not in seen
    assert "010-1234-5678" not in result.answer and "[전화번호]" in result.answer
    assert result.stored_question == "계속"


def test_timestamps_list_goes_with_the_first_part_only() -> None:
    llm = BudgetLLM("2025-03-15")
    question = "내일 오후 3시에 만나요"
    _, first = run(make(llm), "timestamp-extraction", ModeRequest(question))
    _, more = run(make(llm), "timestamp-extraction", ModeRequest(question, continue_from="a"))
    assert first.references and not more.references and more.answer == "2025-03-15"


# --- the finish reason through adapters and the pool ------------------------------------
def test_finish_reasons_are_normalized() -> None:
    assert finish_reason("length") == finish_reason("max_tokens") == "length"
    assert finish_reason("stop") == finish_reason("end_turn") == finish_reason("eos") == "stop"
    assert finish_reason(None) is None and finish_reason("") is None


def drain(stream: Any) -> tuple[str, object]:
    parts = []
    while True:
        try:
            parts.append(next(stream))
        except StopIteration as end:
            return "".join(parts), end.value


def sse(reason: str | None) -> list[str]:
    chunks: list[dict[str, Any]] = [
        {"choices": [{"delta": {"content": t}, "finish_reason": None}]} for t in "ab"
    ]
    chunks.append({"choices": [{"delta": {}, "finish_reason": reason}]})
    return [f"data: {json.dumps(c)}" for c in chunks] + ["data: [DONE]"]


def test_openai_streams_return_their_finish_reason() -> None:
    assert drain(sse_deltas(iter(sse("length")))) == ("ab", "length")
    assert drain(sse_deltas(iter(sse("stop")))) == ("ab", "stop")
    assert drain(sse_deltas(iter(sse(None)))) == ("ab", None)


class FakeBedrock:
    def __init__(self, stop_reason: str) -> None:
        self.stop_reason = stop_reason

    def converse_stream(self, **_request: object) -> dict[str, object]:
        events = [
            {"contentBlockDelta": {"delta": {"text": "안녕"}}},
            {"messageStop": {"stopReason": self.stop_reason}},
        ]
        return {"stream": iter(events)}


def test_bedrock_max_tokens_is_a_cut() -> None:
    messages = [ChatMessage("user", "q")]
    cut = BedrockLLM("m", "us-east-1", client=FakeBedrock("max_tokens"))
    assert drain(cut.stream(messages, max_tokens=5)) == ("안녕", "length")
    done = BedrockLLM("m", "us-east-1", client=FakeBedrock("end_turn"))
    assert drain(done.stream(messages, max_tokens=5)) == ("안녕", "stop")


def test_the_pool_passes_the_finish_reason_on() -> None:
    pool = LLMPool([BudgetLLM()])
    messages = [ChatMessage("user", "q")]
    text, reason = drain(pool.stream(messages, max_tokens=3))
    assert (text, reason) == ("word0 word1 word2", "length")
    assert drain(pool.stream(messages, max_tokens=100))[1] == "stop"
    _, result = run(make_pool_modes(pool), "translation", ModeRequest("q"))
    assert result.truncated


def make_pool_modes(pool: LLMPool) -> ChatModes:
    code = CodeAssistant(pool, StubSearcher({}), GenerationSettings())
    return ChatModes(lambda: pool, lambda: code, None, max_tokens=5)
