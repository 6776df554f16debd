"""The embeddings port: texts in, L2-normalised float32 vectors out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class EmbeddingError(RuntimeError):
    """The embedding model could not be loaded or failed on an input."""


class Embedder(Protocol):
    @property
    def name(self) -> str:
        """Identifies the model and its output size: vectors of two names never mix."""
        ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Return an array of shape (len(texts), dim), each row of unit length."""
        ...


def normalize(vectors: npt.NDArray[np.floating]) -> Vectors:
    """Unit-length rows so that a dot product is the cosine similarity."""
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalized: Vectors = (array / norms).astype(np.float32)
    return normalized
