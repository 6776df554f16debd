"""No CJK ideographs, kana or Cyrillic from the real embedded model, interactive or batched
(`llm.suppress_han`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragcode.llm.llamacpp import LlamaCppLLM
from ragcode.llm.protocol import ChatMessage

pytestmark = pytest.mark.integration

HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A question in Chinese: the model answers in Chinese when nothing stops it (the drift that
# shows in Korean text is rarer and harder to provoke on purpose).
COPY = [ChatMessage("user", "请用中文解释：这个函数返回什么？")]
KANA = re.compile("[\u3040-\u30fa\u30fc-\u30ff]")
# A question in Japanese: what the model drifts into once ideographs are banned.
JAPANESE = [ChatMessage("user", "日本語で説明してください：この関数は何を返しますか？")]

CYRILLIC = re.compile("[\u0400-\u04ff]")
# A question in Russian: Cyrillic letters drifted into 2 of 148 real Korean summaries.
RUSSIAN = [ChatMessage("user", "Объясните по-русски: что возвращает эта функция?")]


def model(models_dir: Path, suppress_han: bool) -> LlamaCppLLM:
    return LlamaCppLLM(
        next(models_dir.glob("*.gguf")), name="small", n_ctx=1024, n_threads=2, seed=1,
        suppress_han=suppress_han,
    )  # fmt: skip


@pytest.fixture(scope="module")
def suppressing(models_dir: Path) -> Iterator[LlamaCppLLM]:
    llm = model(models_dir, suppress_han=True)
    yield llm
    llm.close()


# What each prompt draws out of the model when nothing stops it.
DRIFTS = [
    pytest.param(COPY, HAN, id="ideographs"),
    pytest.param(JAPANESE, KANA, id="kana"),
    pytest.param(RUSSIAN, CYRILLIC, id="cyrillic"),
]


@pytest.mark.parametrize(("prompt", "script"), DRIFTS)
def test_without_suppression_the_model_writes_them(
    models_dir: Path, prompt: list[ChatMessage], script: re.Pattern[str]
) -> None:
    """The prompts above really draw ideographs and kana out of this model (so the next
    tests mean something)."""
    llm = model(models_dir, suppress_han=False)
    try:
        answer = "".join(llm.stream(prompt, max_tokens=24, temperature=0.0))
    finally:
        llm.close()
    assert script.search(answer), answer


@pytest.mark.parametrize(("prompt", "script"), DRIFTS)
def test_interactive_answers_have_none(
    suppressing: LlamaCppLLM, prompt: list[ChatMessage], script: re.Pattern[str]
) -> None:
    answer = "".join(suppressing.stream(prompt, max_tokens=24, temperature=0.0))
    assert answer.strip()
    assert not script.search(answer), answer


@pytest.mark.parametrize(("prompt", "script"), DRIFTS)
def test_batched_answers_have_none(
    suppressing: LlamaCppLLM, prompt: list[ChatMessage], script: re.Pattern[str]
) -> None:
    background = suppressing.background(slots=2, n_ctx=1024)
    answer = "".join(background.stream(prompt, max_tokens=24))
    assert answer.strip()
    assert not script.search(answer), answer


def test_no_unfiltered_answer_when_the_vocabulary_cannot_be_read(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suppressed tokens are read when the model loads; if that fails the model is not
    kept, so the next call loads it again with the filter instead of answering without it."""
    import llama_cpp

    original = llama_cpp.Llama.detokenize
    calls = {"n": 0}

    def once_broken(self: llama_cpp.Llama, *args: object, **kwargs: object) -> bytes:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("vocabulary unreadable")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(llama_cpp.Llama, "detokenize", once_broken)
    llm = model(models_dir, suppress_han=True)
    try:
        with pytest.raises(RuntimeError, match="vocabulary unreadable"):
            "".join(llm.stream(COPY, max_tokens=24, temperature=0.0))
        answer = "".join(llm.stream(COPY, max_tokens=24, temperature=0.0))
    finally:
        llm.close()
    assert answer.strip()
    assert not HAN.search(answer), answer
