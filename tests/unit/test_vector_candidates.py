"""A large vector matrix picks its candidates from projected rows, then scores them exactly
(store/vector_projection.py). The thresholds are lowered here so that a matrix of a few
thousand rows takes that path; bench/bench_vector_candidates.py measures it at 100k."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from ragcode.store import vector_projection
from ragcode.store.vector_projection import PROJECTION_MIN_ROWS
from ragcode.store.vectors import VectorMatrix

pytestmark = pytest.mark.unit

DIM = 512
ROWS = 3_000


@pytest.fixture
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vector_projection, "MIN_CANDIDATES", 300)
    monkeypatch.setattr(vector_projection, "PROJECTED_DIMS", 64)
    # Several blocks and a sampled fit, as at 100k rows.
    monkeypatch.setattr(vector_projection, "_BLOCK_ROWS", 256)
    monkeypatch.setattr(vector_projection, "FIT_SAMPLE", 1_000)


def topical_vectors(count: int, seed: int) -> npt.NDArray[np.float32]:
    """Unit vectors around 40 topics, as texts about a few subjects are (isotropic random
    vectors have no principal directions to keep)."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((40, DIM))
    mix = topics[rng.integers(0, 40, count)] + 0.6 * rng.standard_normal((count, DIM))
    mix += 0.5 * topics[rng.integers(0, 40, count)]
    mix /= np.linalg.norm(mix, axis=1, keepdims=True)
    return mix.astype(np.float32)


def filled(
    rows: npt.NDArray[np.float32],
    scope_of: list[str] | None = None,
    projection_from: int | None = 1_000,
) -> VectorMatrix:
    matrix = VectorMatrix("code", "code", projection_from=projection_from)
    scopes = scope_of or ["team"] * len(rows)
    matrix._add(
        (i + 1, f"u{i}", row.tobytes(), scopes[i], "python") for i, row in enumerate(rows)
    )  # fmt: skip
    return matrix


def exact(
    rows: npt.NDArray[np.float32], query: npt.NDArray[np.float32], k: int, allowed: list[int]
) -> list[str]:
    scores = rows[allowed] @ query
    return [f"u{allowed[i]}" for i in np.argsort(-scores, kind="stable")[:k]]


@pytest.mark.usefixtures("small_thresholds")
def test_the_candidates_hold_nearly_every_exact_result_with_exact_scores() -> None:
    rows = topical_vectors(ROWS, seed=1)
    matrix = filled(rows)
    queries = topical_vectors(20, seed=2)
    found = matrix.search_many(list(queries), 10, ["team"])
    assert matrix.projection is not None  # the candidate path ran
    overlap = [
        len({s.uid for s in hits} & set(exact(rows, q, 10, list(range(ROWS))))) / 10
        for q, hits in zip(queries, found, strict=True)
    ]
    assert np.mean(overlap) >= 0.9, overlap
    for query, hits in zip(queries, found, strict=True):
        for hit in hits:  # the returned scores are the exact cosines, best first
            assert hit.score == pytest.approx(float(rows[int(hit.uid[1:])] @ query), abs=1e-5)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.usefixtures("small_thresholds")
def test_rows_written_after_the_fit_are_found() -> None:
    """A row added (or rewritten) after the projection was fitted is projected too: the
    question's own vector, written last, must come first."""
    rows = topical_vectors(ROWS, seed=3)
    matrix = filled(rows)
    probe = topical_vectors(1, seed=4)[0]
    matrix.search(probe, 5, ["team"])  # fits the projection
    assert matrix.projection is not None
    matrix._add([(ROWS + 1, "new", probe.tobytes(), "team", "python")])
    matrix._remove(1)  # u0's slot becomes a hole
    matrix._add([(ROWS + 2, "reused", probe.tobytes(), "team", "python")])  # takes the hole
    projection = matrix.projection
    for unit_id in (ROWS + 1, ROWS + 2):
        slot = matrix.slot_of[unit_id]
        assert np.allclose(projection.rows[slot], probe @ projection.basis, atol=1e-6)
    hits = matrix.search(probe, 5, ["team"])
    assert {hits[0].uid, hits[1].uid} == {"new", "reused"}
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert "u0" not in {h.uid for h in matrix.search(rows[0], 5, ["team"])}


@pytest.mark.usefixtures("small_thresholds")
def test_filters_apply_before_the_candidates_are_cut() -> None:
    """Rows a search may not see never take a candidate's place: with 100 visible rows
    among 3,000 (fewer than the candidates) the answer is the exact one."""
    rows = topical_vectors(ROWS, seed=5)
    scopes = ["team" if i % 30 == 0 else "user:2" for i in range(ROWS)]
    matrix = filled(rows, scopes)
    visible = [i for i in range(ROWS) if scopes[i] == "team"]
    for query in topical_vectors(5, seed=6):
        hits = matrix.search(query, 10, ["team"])
        assert [h.uid for h in hits] == exact(rows, query, 10, visible)
    # The other scope: the candidate path, and only visible rows come back.
    mine = [h.uid for h in matrix.search(rows[7], 10, ["user:2"])]
    assert mine[0] == "u7" and all(scopes[int(uid[1:])] == "user:2" for uid in mine)


@pytest.mark.usefixtures("small_thresholds")
def test_rows_hidden_from_a_search_never_take_a_candidates_place() -> None:
    """500 visible rows of 3,000 (more than the 300 candidates): a cut made before the mask
    would fill the candidates with hidden rows and return fewer or wrong results."""
    rows = topical_vectors(ROWS, seed=9)
    scopes = ["team" if i % 6 == 0 else "user:2" for i in range(ROWS)]
    matrix = filled(rows, scopes)
    visible = [i for i in range(ROWS) if scopes[i] == "team"]
    agree = []
    for query in topical_vectors(10, seed=10):
        hits = matrix.search(query, 10, ["team"])
        assert len(hits) == 10 and all(scopes[int(h.uid[1:])] == "team" for h in hits)
        agree.append(len({h.uid for h in hits} & set(exact(rows, query, 10, visible))) / 10)
    assert matrix.projection is not None
    assert np.mean(agree) >= 0.9, agree


@pytest.mark.usefixtures("small_thresholds")
def test_a_matrix_that_doubled_since_the_fit_is_fitted_again() -> None:
    rows = topical_vectors(2 * ROWS, seed=11)
    matrix = filled(rows[:ROWS])
    matrix.search(rows[0], 5, ["team"])
    first = matrix.projection
    assert first is not None and first.fitted_on == ROWS
    matrix._add(
        (ROWS + i + 1, f"u{ROWS + i}", row.tobytes(), "team", "python")
        for i, row in enumerate(rows[ROWS:])
    )  # fmt: skip
    assert matrix.search(rows[-1], 5, ["team"])[0].uid == f"u{2 * ROWS - 1}"
    again = matrix.projection
    assert again is not None and again is not first and again.fitted_on == 2 * ROWS


def test_vectors_of_an_unmeasured_size_stay_on_the_exact_scan() -> None:
    """Remote embedding models give 256-3,072 dimensions: the projection was measured on 512
    only (and fitting a 3,072-wide one would take seconds inside a search)."""
    rng = np.random.default_rng(12)
    rows = rng.standard_normal((200, 1024)).astype(np.float32)
    matrix = VectorMatrix("code", "code", projection_from=10)
    matrix._add((i + 1, f"u{i}", row.tobytes(), "team", "python") for i, row in enumerate(rows))
    matrix.search(rows[0], 3, ["team"])
    assert matrix.projection is None


@pytest.mark.parametrize("projection_from", [PROJECTION_MIN_ROWS, None, 0])
def test_below_the_threshold_or_switched_off_the_scan_stays_exact(
    projection_from: int | None,
) -> None:
    rows = topical_vectors(2_000, seed=7)
    matrix = filled(rows, projection_from=projection_from)
    for query in topical_vectors(3, seed=8):
        assert [h.uid for h in matrix.search(query, 10, ["team"])] == exact(
            rows, query, 10, list(range(2_000))
        )
    assert matrix.projection is None
