"""The tantivy engine's exact rescoring (fts.bm25_rows) gives, bit for bit, the
scores of fts.bm25() row by row: the lists of both lexical engines stay equal; and its
search without filters (when they exclude nothing) equals the filtered search."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ragcode.store import fts, tantivy_index
from ragcode.store.tantivy_index import Posting

pytestmark = pytest.mark.unit

WORDS = ["사용자", "인증", "토큰", "get", "user", "get_user", "us", "er", "token_store", "파일"]


def test_scores_equal_fts_bm25_bit_for_bit() -> None:
    rng = random.Random(13)
    for _ in range(200):
        texts = {
            unit_id: " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 60)))
            for unit_id in range(rng.randint(1, 30))
        }
        # Repeated and empty terms, and substrings of other tokens ("us" in "user").
        terms = [rng.choice([*WORDS, "", "없음"]) for _ in range(rng.randint(1, 6))]
        rows = rng.randint(len(texts), 5000)
        hits = {term: rng.randint(0, rows) for term in terms}
        avgdl = rng.uniform(1.0, 80.0)
        expected = {i: fts.bm25(text, terms, hits, rows, avgdl) for i, text in texts.items()}
        assert fts.bm25_rows(texts, terms, hits, rows, avgdl) == expected


def test_a_substring_is_not_a_token() -> None:
    # "us" is inside "user" but is not one of the row's tokens: no score from it.
    scores = fts.bm25_rows({1: "user get"}, ["us"], {"us": 3}, 100, 2.0)
    assert scores == {1: 0.0}


def test_unfiltered_search_equals_the_filtered_one(tmp_path: Path) -> None:
    """One collection and scope only: the bare OR of the terms (pruned by tantivy) gives the
    hits and scores of the filtered search, which a language filter that excludes nothing
    forces here on the same index; another collection in the index brings the filters back."""
    rng = random.Random(7)
    postings = [
        Posting(
            i,
            "code",
            "team",
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 50))),
            "python",
        )
        for i in range(1, 400)
    ]
    fields = tantivy_index.schema()
    index = tantivy_index.open_index(tmp_path / "code", fields)
    writer = index.writer(15_000_000, 1)
    for posting in postings:
        writer.add_document(tantivy_index.document(posting))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    assert not tantivy_index._filters_exclude(index.searcher(), "code", ["team"])
    assert tantivy_index._filters_exclude(index.searcher(), "code", ["user:1"])
    assert tantivy_index._filters_exclude(index.searcher(), "docs", ["team"])
    for terms in (["get", "user"], ["사용자", "토큰", "get_user"], ["token_store"], ["us"]):
        found = tantivy_index.search(index, fields, terms, 30, "code", ["team"])
        assert found == tantivy_index.search(index, fields, terms, 30, "code", ["team"], ["python"])
        assert len(found) == min(30, sum(1 for p in postings if set(terms) & set(p.tokens.split())))
