"""Shared by the in-process encoders: lazy loading, clipping, batching, normalising."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from ragcode.embeddings.protocol import Vectors, normalize

Encode = Callable[[list[str]], npt.ArrayLike]


def encode_in_batches(
    texts: Sequence[str], encode: Encode, *, dim: int, max_chars: int, batch_size: int
) -> Vectors:
    """Rows of unit length; an empty text becomes "-" (the encoders reject empty input)."""
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    clipped = [text[:max_chars] if text.strip() else "-" for text in texts]
    batches = [
        np.asarray(encode(clipped[start : start + batch_size]), dtype=np.float32).reshape(-1, dim)
        for start in range(0, len(clipped), batch_size)
    ]
    return normalize(np.concatenate(batches, axis=0))


class LazyEncoder:
    """An in-process encoder: the model loads with the first batch (never for no text), and
    one batch runs at a time because the models are not thread-safe. Subclasses say how to
    load it (`_open`, returning the function that encodes a batch)."""

    def __init__(self, *, name: str, dim: int, max_chars: int, batch_size: int) -> None:
        self._name = name
        self._dim = dim
        self._max_chars = max_chars
        self._batch_size = batch_size
        self._encode: Encode | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def _open(self) -> Encode:
        raise NotImplementedError

    def _encode_batch(self, batch: list[str]) -> npt.ArrayLike:
        if self._encode is None:
            self._encode = self._open()
        return self._encode(batch)

    def embed(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            return encode_in_batches(
                texts, self._encode_batch, dim=self._dim,
                max_chars=self._max_chars, batch_size=self._batch_size,
            )  # fmt: skip
