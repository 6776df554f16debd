"""Shared by the in-process encoders: clip, batch, encode, normalise."""

from __future__ import annotations

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
