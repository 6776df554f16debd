"""Embedded LLM: llama.cpp in-process over a GGUF file (the zero-configuration default)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragcode.llm.gate import InteractiveGate
from ragcode.llm.han_tokens import foreign_token_ids, suppress
from ragcode.llm.llamacpp_batch import BatchEngine, BatchRequest
from ragcode.llm.protocol import ChatMessage, FinishReason, LLMError, LLMStopped, finish_reason

log = logging.getLogger(__name__)


class LlamaCppLLM:
    """Loads the model on first use; one interactive generation at a time (a llama.cpp
    context is not thread-safe), so concurrent callers queue on a lock instead of corrupting
    state. Background work (`background()`) runs on a second context of the same weights and
    pauses while an interactive generation runs."""

    def __init__(
        self,
        model_path: Path,
        *,
        name: str,
        n_ctx: int,
        n_threads: int,
        seed: int,
        suppress_han: bool = True,
    ) -> None:
        self._model_path = model_path
        self._name = name
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._seed = seed
        self._model: Any = None
        self._lock = threading.Lock()
        self._gate = InteractiveGate()
        self._engine: BatchEngine | None = None
        self._closed = False
        self._formatter: Any = None
        self._suppress_han = suppress_han
        self._foreign: np.ndarray | None = None  # ideographs, kana, Cyrillic

    @property
    def name(self) -> str:
        return self._name

    @property
    def continues_answers(self) -> bool:
        """A last `assistant` message is continued where it ends (the prompt is the chat
        template up to the answer's start, then the answer's own tokens)."""
        return True

    def _load(self) -> Any:
        if self._model is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise LLMError(
                    "llama-cpp-python 이 설치되어 있지 않습니다: scripts/install.sh 를 실행하세요."
                ) from exc
            log.info("loading model=%s path=%s", self._name, self._model_path)
            model = Llama(
                model_path=str(self._model_path),
                n_ctx=self._n_ctx,
                n_threads=self._n_threads,
                seed=self._seed,
                verbose=False,
            )
            if self._suppress_han:  # ~1 s over Qwen's 152k tokens, once per load
                # Before the model is kept: a failure here must not leave a loaded model
                # whose answers are silently no longer filtered.
                pieces = (model.detokenize([i]) for i in range(model.n_vocab()))
                self._foreign = foreign_token_ids(pieces)
            self._model = model
        return self._model

    def _logits_processor(self) -> Any:
        """What keeps ideographs and kana out of an interactive answer (None: nothing to
        suppress)."""
        if self._foreign is None or not self._foreign.size:
            return None
        from llama_cpp import LogitsProcessorList

        foreign = self._foreign
        return LogitsProcessorList([lambda _ids, scores: suppress(scores, foreign)])

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Generator[str, None, FinishReason]:
        with self._gate.interactive(), self._lock:
            model = self._load()
            try:
                options = {
                    "max_tokens": max_tokens,
                    "temperature": temperature,
                    "logits_processor": self._logits_processor(),
                }
                if messages and messages[-1].role == "assistant":  # continue that answer
                    chunks = model.create_completion(
                        prompt=self._prompt(model, messages),
                        stop=list(stop) or None,
                        stream=True,
                        **options,
                    )
                else:
                    chunks = model.create_chat_completion(
                        messages=_as_dicts(messages), stop=list(stop) or None, stream=True,
                        **options,
                    )  # fmt: skip
                reason = None  # "length" also when the context window filled up
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    delta = choice["text"] if "text" in choice else choice["delta"].get("content")
                    if delta:
                        yield delta
                    reason = choice.get("finish_reason") or reason
            except ValueError as exc:  # llama.cpp reports context overflow this way
                raise LLMError(f"로컬 LLM 생성 실패: {exc}") from exc
        return finish_reason(reason)

    def gate(self) -> InteractiveGate:
        """Held while an interactive generation runs; background work waits for it."""
        return self._gate

    def background(self, *, slots: int, n_ctx: int, no_repeat_ngram: int = 0) -> LlamaCppBackground:
        """The same model for background work (summaries): up to `slots` generations decoded
        together in a batch of at most `n_ctx` cache cells, greedily (never repeating an
        n-gram of `no_repeat_ngram` tokens, when given)."""
        return LlamaCppBackground(self, slots=slots, n_ctx=n_ctx, no_repeat_ngram=no_repeat_ngram)

    def _batch_engine(self, slots: int, n_ctx: int) -> BatchEngine:
        with self._lock:
            if self._closed:
                raise LLMStopped("로컬 LLM 이 종료되었습니다")
            if self._engine is None or not self._engine.alive:  # a dead batch is rebuilt
                self._engine = BatchEngine(
                    self._load(), slots=slots, n_ctx=n_ctx, n_threads=self._n_threads,
                    gate=self._gate, suppressed=self._foreign,
                )  # fmt: skip
            return self._engine

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The prompt as `stream` gives it to the model: the GGUF's own chat template; a last
        `assistant` message is continued (the template up to its start, then its tokens)."""
        with self._lock:
            return self._prompt(self._load(), messages)

    def _prompt(self, model: Any, messages: Sequence[ChatMessage]) -> list[int]:
        """`prompt_tokens`, under the lock already."""
        if messages and messages[-1].role == "assistant":
            answer = messages[-1].content.encode("utf-8")
            started = self._templated(model, messages[:-1])
            return started + list(model.tokenize(answer, add_bos=False, special=False))
        return self._templated(model, messages)

    def _templated(self, model: Any, messages: Sequence[ChatMessage]) -> list[int]:
        """The chat template's prompt, ready for the assistant's answer."""
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = model.metadata.get("tokenizer.chat_template")
            if not template:
                raise LLMError("이 GGUF 모델에는 대화 템플릿이 없어 요약 배치를 쓸 수 없습니다")
            eos, bos = model.token_eos(), model.token_bos()
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=model._model.token_get_text(eos) if eos != -1 else "",
                bos_token=model._model.token_get_text(bos) if bos != -1 else "",
            )
        rendered = self._formatter(messages=_as_dicts(messages))
        tokens: list[int] = model.tokenize(
            rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
        )
        return tokens

    def close(self) -> None:
        """Free the background context (the interactive one goes with the object)."""
        with self._lock:
            engine, self._engine = self._engine, None
            self._closed = True
        if engine is not None:
            engine.close()


class LlamaCppBackground:
    """An LLM for background work on the embedded model: calls from several threads (the
    summary runner's) are decoded together; each pauses while an interactive call runs."""

    def __init__(
        self, owner: LlamaCppLLM, *, slots: int, n_ctx: int, no_repeat_ngram: int = 0
    ) -> None:
        self._owner = owner
        self._slots = slots
        self._n_ctx = n_ctx
        self._no_repeat_ngram = no_repeat_ngram

    @property
    def name(self) -> str:
        return self._owner.name

    @property
    def max_concurrency(self) -> int:
        return self._slots

    @property
    def continues_answers(self) -> bool:
        """As the interactive model: a last `assistant` message is continued where it ends
        (a summary whose questions line is missing goes on from "질문:")."""
        return True

    def engine(self) -> BatchEngine:
        """The batch (started on first use)."""
        return self._owner._batch_engine(self._slots, self._n_ctx)

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        return self._owner.prompt_tokens(messages)

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        """Greedy decoding whatever `temperature` says: a summary should not depend on luck,
        and the batch samples every sequence the same way."""
        del temperature
        engine = self.engine()
        request = BatchRequest(
            self.prompt_tokens(messages), max_tokens, tuple(stop), self._no_repeat_ngram
        )
        engine.submit(request)
        yield from request.pieces()


def _as_dicts(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]
