"""No CJK ideographs from the real embedded model, interactive or batched (`llm.suppress_han`)."""

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


def test_without_suppression_the_model_writes_ideographs(models_dir: Path) -> None:
    """The prompt above really draws ideographs out of this model (so the next tests mean
    something)."""
    llm = model(models_dir, suppress_han=False)
    try:
        answer = "".join(llm.stream(COPY, max_tokens=24, temperature=0.0))
    finally:
        llm.close()
    assert HAN.search(answer), answer


def test_interactive_answers_have_none(suppressing: LlamaCppLLM) -> None:
    answer = "".join(suppressing.stream(COPY, max_tokens=24, temperature=0.0))
    assert answer.strip()
    assert not HAN.search(answer), answer


def test_batched_answers_have_none(suppressing: LlamaCppLLM) -> None:
    background = suppressing.background(slots=2, n_ctx=1024)
    answer = "".join(background.stream(COPY, max_tokens=24))
    assert answer.strip()
    assert not HAN.search(answer), answer


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
