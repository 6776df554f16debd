"""Embedded LLM: llama.cpp in-process over a GGUF file (the zero-configuration default)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ragcode.llm.protocol import ChatMessage, LLMError

log = logging.getLogger(__name__)


class LlamaCppLLM:
    """Loads the model on first use; one generation at a time (a llama.cpp context is not
    thread-safe), so concurrent callers queue on a lock instead of corrupting state."""

    def __init__(self, model_path: Path, *, name: str, n_ctx: int, n_threads: int, seed: int):
        self._model_path = model_path
        self._name = name
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._seed = seed
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    def _load(self) -> Any:
        if self._model is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise LLMError(
                    "llama-cpp-python 이 설치되어 있지 않습니다: scripts/install.sh 를 실행하세요."
                ) from exc
            log.info("loading model=%s path=%s", self._name, self._model_path)
            self._model = Llama(
                model_path=str(self._model_path),
                n_ctx=self._n_ctx,
                n_threads=self._n_threads,
                seed=self._seed,
                verbose=False,
            )
        return self._model

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        with self._lock:
            model = self._load()
            try:
                chunks = model.create_chat_completion(
                    messages=[{"role": m.role, "content": m.content} for m in messages],
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stop=list(stop) or None,
                    stream=True,
                )
                for chunk in chunks:
                    delta = chunk["choices"][0].get("delta", {}).get("content")
                    if delta:
                        yield delta
            except ValueError as exc:  # llama.cpp reports context overflow this way
                raise LLMError(f"로컬 LLM 생성 실패: {exc}") from exc
