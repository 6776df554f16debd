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

Measured with the local 512-dimension encoder only: vectors of other sizes (remote embedding
models: 256-3,072) stay on the exact scan until their agreement is measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

PROJECTION_MIN_ROWS = 50_000
PROJECTED_DIMS = 128  # of 512: the sweep kept every exact top-50 list from 96 dims on
MEASURED_DIMS = (512,)  # vector sizes the projection was measured on (see the docstring)
# Rows sampled (evenly spaced; holes included: their stale vectors are harmless here) to fit
# the directions: the 512 x 512 Gram matrix of 8k rows takes ~0.1 s.
FIT_SAMPLE = 8_192
# Fitted on this many times fewer rows than the matrix now has: fitted again (a matrix that
# grew in small steps keeps the directions of its first rows otherwise).
REFIT_GROWTH = 2
# At 97k rows of real code, 1,024 candidates kept every exact top-50 list of the bench's 30
# questions and 2,048 were slower for nothing (bench/README.md, "Projected candidates");
# 20 per result keeps the share for deeper lists.
CANDIDATES_PER_RESULT = 20
MIN_CANDIDATES = 1_024
# Projected rows scored per block when several queries share a pass (~2 MB, as vectors.py).
_BLOCK_ROWS = 4_096


def blocked_scores(
    rows: npt.NDArray[np.float32], queries: Sequence[npt.NDArray[np.float32]], block_rows: int
) -> npt.NDArray[np.float32]:
    """(queries, rows) inner products, `block_rows` rows at a time: each block is read from
    memory once and stays in cache for every query's matrix-vector product."""
    scores = np.empty((len(queries), rows.shape[0]), dtype=np.float32)
    for start in range(0, rows.shape[0], block_rows):
        part = rows[start : start + block_rows]
        for number, query in enumerate(queries):
            np.dot(part, query, out=scores[number, start : start + part.shape[0]])
    return scores


def projectable(dim: int) -> bool:
    return dim in MEASURED_DIMS


def candidate_count(limit: int) -> int:
    return max(MIN_CANDIDATES, CANDIDATES_PER_RESULT * limit)


@dataclass(slots=True)
class Projection:
    """`basis`: (dim, PROJECTED_DIMS) orthonormal columns; `rows`: one projected row per slot
    of the matrix (holes keep whatever they held: the search masks them)."""

    basis: npt.NDArray[np.float32]
    rows: npt.NDArray[np.float32]
    fitted_on: int  # slots in use when the directions were fitted

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
        return cls(basis=basis, rows=rows, fitted_on=used)

    def outgrown(self, used: int) -> bool:
        return used >= REFIT_GROWTH * self.fitted_on

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
        keep: int,
    ) -> list[npt.NDArray[np.intp]]:
        """Per query, the `keep` slots of [0, used) with the best projected scores among those
        not `excluded` (unordered). The caller asks only when more than `keep` slots are
        visible, so no excluded slot can fill the count."""
        projected = [np.ascontiguousarray(self.basis.T @ q) for q in queries]
        scores = blocked_scores(self.rows[:used], projected, _BLOCK_ROWS)
        found = []
        for row in scores:
            row[excluded] = -np.inf
            found.append(np.argpartition(-row, keep - 1)[:keep])
        return found
