"""A narrow copy of a large vector matrix that picks the rows worth an exact score.

An exact scan reads every row: at 100k units of 512 floats that is 200 MB per field, bound by
memory bandwidth (~8-10 ms here), and a search scans each vector field once for up to three
query vectors. From `PROJECTION_MIN_ROWS` rows on, the matrix also keeps its rows projected
onto their top principal directions (uncentred, so inner products are what is kept best in
least squares): a quarter of the bytes. A search scores the projected rows, keeps the best
`candidate_count` visible ones and scores only those exactly, so the scores it returns are the
exact cosines and only the choice of candidates is approximate (the agreement with the exact
scan is measured in bench/bench_vector_candidates.py). Below that size, every eval set and
most teams, the scan stays exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

PROJECTION_MIN_ROWS = 50_000
PROJECTED_DIMS = 128
# Rows sampled (evenly spaced) to fit the directions: the 512 x 512 Gram matrix of 8k rows
# takes ~0.1 s, and more rows did not change the directions measurably.
FIT_SAMPLE = 8_192
# Exact scores for this many candidates per result asked for, and never fewer than the floor.
CANDIDATES_PER_RESULT = 20
MIN_CANDIDATES = 1_024
# Projected rows scored per block when several queries share a pass (~2 MB, as vectors.py).
_BLOCK_ROWS = 4_096


def candidate_count(limit: int) -> int:
    return max(MIN_CANDIDATES, CANDIDATES_PER_RESULT * limit)


@dataclass(slots=True)
class Projection:
    """`basis`: (dim, PROJECTED_DIMS) orthonormal columns; `rows`: one projected row per slot
    of the matrix (holes keep whatever they held: the search masks them)."""

    basis: npt.NDArray[np.float32]
    rows: npt.NDArray[np.float32]

    @classmethod
    def fit(cls, matrix: npt.NDArray[np.float32], used: int) -> Projection:
        """Directions from a sample of `matrix[:used]`, then every slot's row projected."""
        step = max(1, used // FIT_SAMPLE)
        sample = matrix[:used:step].astype(np.float64)
        _values, vectors = np.linalg.eigh(sample.T @ sample)  # ascending eigenvalues
        dims = min(PROJECTED_DIMS, matrix.shape[1])
        basis = np.ascontiguousarray(vectors[:, ::-1][:, :dims], dtype=np.float32)
        rows = np.zeros((matrix.shape[0], dims), dtype=np.float32)
        np.dot(matrix[:used], basis, out=rows[:used])
        return cls(basis=basis, rows=rows)

    def grow(self, capacity: int) -> None:
        if capacity > self.rows.shape[0]:
            grown = np.zeros((capacity, self.rows.shape[1]), dtype=np.float32)
            grown[: self.rows.shape[0]] = self.rows
            self.rows = grown

    def put(self, slots: Sequence[int], vectors: npt.NDArray[np.float32]) -> None:
        self.rows[np.asarray(slots, dtype=np.intp)] = vectors @ self.basis

    def candidates(
        self,
        queries: Sequence[npt.NDArray[np.float32]],
        used: int,
        excluded: npt.NDArray[np.bool_],
        count: int,
    ) -> list[npt.NDArray[np.intp]]:
        """Per query, the `count` visible slots of [0, used) with the best projected scores
        (unordered); the caller makes sure fewer than that are not all there is."""
        projected = [np.ascontiguousarray(self.basis.T @ q) for q in queries]
        rows = self.rows[:used]
        scores = np.empty((len(queries), used), dtype=np.float32)
        for start in range(0, used, _BLOCK_ROWS):
            part = rows[start : start + _BLOCK_ROWS]
            for number, query in enumerate(projected):
                np.dot(part, query, out=scores[number, start : start + part.shape[0]])
        found = []
        for row in scores:
            row[excluded] = -np.inf
            found.append(np.argpartition(-row, count - 1)[:count])
        return found
