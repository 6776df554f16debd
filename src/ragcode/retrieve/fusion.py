"""Fusion strategies: small named functions over ranked lists of ids (and the rerank's
cosines of the fused candidates)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from ragcode.domain import Hit
from ragcode.store.protocol import ScoredId, Vector


def reciprocal_rank_fusion(
    ranked_lists: Mapping[str, Sequence[ScoredId]],
    *,
    k: int = 60,
    weights: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Sum of weight / (k + rank) over every list an id appears in (Cormack et al., 2009)."""
    fused: dict[str, float] = {}
    for list_name, hits in ranked_lists.items():
        weight = 1.0 if weights is None else weights.get(list_name, 1.0)
        for rank, hit in enumerate(hits, start=1):
            fused[hit.uid] = fused.get(hit.uid, 0.0) + weight / (k + rank)
    return fused


def ranks_by_id(ranked_lists: Mapping[str, Sequence[ScoredId]]) -> dict[str, dict[str, int]]:
    """For each id, its 1-based rank in every list that holds it (shown to the user)."""
    ranks: dict[str, dict[str, int]] = {}
    for list_name, hits in ranked_lists.items():
        for rank, hit in enumerate(hits, start=1):
            ranks.setdefault(hit.uid, {})[list_name] = rank
    return ranks


def best_scores(ranked_lists: Mapping[str, Sequence[ScoredId]], prefix: str) -> dict[str, float]:
    """The best raw score of each id over the lists whose name starts with prefix."""
    best: dict[str, float] = {}
    for list_name, hits in ranked_lists.items():
        if not list_name.startswith(prefix):
            continue
        for hit in hits:
            best[hit.uid] = max(best.get(hit.uid, float("-inf")), hit.score)
    return best


def merge_hit_lists(
    lists: Sequence[Sequence[Hit]], *, weights: Sequence[float], k: int = 60
) -> list[Hit]:
    """RRF over already-scored hit lists (e.g. this question's and the previous turn's)."""
    by_key: dict[str, Hit] = {}
    ranked: dict[str, list[ScoredId]] = {}
    for number, hits in enumerate(lists):
        ranked[str(number)] = []
        for hit in hits:
            key = f"{hit.record.path}\n{hit.record.title}\n{hit.record.start_line}"
            by_key.setdefault(key, hit)
            ranked[str(number)].append(ScoredId(key, hit.score))
    list_weights = {str(number): weight for number, weight in enumerate(weights)}
    if len(list_weights) != len(ranked):
        raise ValueError("one weight per hit list")
    fused = reciprocal_rank_fusion(ranked, k=k, weights=list_weights)
    return [by_key[key] for key in sorted(fused, key=lambda key: -fused[key])]


def best_cosines(
    uids: Sequence[str], vectors: dict[str, list[Vector]], queries: Sequence[Vector]
) -> npt.NDArray[np.float32]:
    """Row i, column j: the best cosine between a stored vector of `uids[i]` (code or
    summary) and `queries[j]`; 0.0 for a unit with no stored vector."""
    best = np.zeros((len(uids), len(queries)), dtype=np.float32)
    stored = [(row, vector) for row, uid in enumerate(uids) for vector in vectors.get(uid, [])]
    if not stored or not queries:
        return best
    owners = np.array([row for row, _vector in stored])
    cosines = np.stack([vector for _row, vector in stored]) @ np.stack(queries).T
    best[np.unique(owners)] = -np.inf
    np.maximum.at(best, owners, cosines)
    return best
