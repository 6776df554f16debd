"""The vector matrix keeps, per scopes and languages asked, the slots a search must skip
(store/vectors.py): built once, dropped whenever a row comes or goes, so a unit written,
moved to another scope or deleted after a search is seen as it is now by the next one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragcode.domain import Record, SummaryState, UnitKind
from ragcode.store.protocol import IndexEntry
from ragcode.store.sqlite_store import SqliteStore
from ragcode.store.vectors import MAX_FILTERS, VectorMatrix
from tests.integration.test_store_contract import entry, record, uids, vector

pytestmark = pytest.mark.integration


def test_cached_filters_follow_writes(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "index.sqlite3")
    try:
        store.replace_file(record("a.py"), [entry("a.py", f"f{i}", "x", i) for i in range(5)])
        query = vector(100)
        team = uids(store.vector_search("code", query, 10, scopes=["team"]))
        assert sorted(team) == [f"a.py:f{i}" for i in range(5)]
        # A private unit whose vector is the question itself: first for its owner only.
        private = record("p.py", "h", "/private", "user:2")
        store.replace_file(private, [entry("p.py", "mine", "x", 100)])
        assert "p.py:mine" not in uids(store.vector_search("code", query, 10, scopes=["team"]))
        owner = uids(store.vector_search("code", query, 10, scopes=["team", "user:2"]))
        assert owner[0] == "p.py:mine" and len(owner) == 6
        assert store.vector_search("code", query, 10, scopes=["team"], languages=["go"]) == []
        # Shared with the team: the team's cached filter must not hide it any more.
        assert store.set_scope("/private", "team") == 1
        assert uids(store.vector_search("code", query, 10, scopes=["team"]))[0] == "p.py:mine"
        # Deleted: its slot becomes a hole, which no filter returns.
        store.remove_files("/private", ["p.py"])
        after = uids(store.vector_search("code", query, 10, scopes=["team", "user:2"]))
        assert sorted(after) == sorted(team)
        python = store.vector_search("code", query, 10, scopes=["team"], languages=["python"])
        assert sorted(uids(python)) == sorted(team)
    finally:
        store.close()


def test_filter_cache_keeps_the_most_recently_used_masks() -> None:
    """Past MAX_FILTERS distinct filters the least recently used one goes (the cache was
    emptied whole, so 33 users searching in turn rebuilt every mask on every search); each
    filter is a one-byte-per-slot mask, and answers stay right after an eviction."""
    matrix = VectorMatrix("code", "code")
    scopes = ["team", "team", "user:2", "user:3"]
    matrix._add(  # rows as the store reads them: id, uid, vector blob, scope, language
        (i + 1, f"u{i}", vector(i).tobytes(), scope, "python") for i, scope in enumerate(scopes)
    )
    query = vector(0)
    for user in range(MAX_FILTERS + 1):
        matrix.search(query, 10, ["team", f"user:{user}"])
        matrix.search(query, 10, ["team"])  # the team's filter stays recent
    assert len(matrix.excluded) == MAX_FILTERS
    assert (frozenset({"team"}), None) in matrix.excluded
    assert (frozenset({"team", "user:0"}), None) not in matrix.excluded  # least recent: gone
    mask, count = matrix.excluded[(frozenset({"team"}), None)]
    assert mask.dtype == bool and count == 2
    assert sorted(s.uid for s in matrix.search(query, 10, ["team", "user:0"])) == ["u0", "u1"]
    assert sorted(s.uid for s in matrix.search(query, 10, ["team", "user:3"])) == [
        "u0", "u1", "u3"
    ]  # fmt: skip


def test_several_queries_across_blocks_score_exactly_as_one_each(tmp_path: Path) -> None:
    """`search_many` reads the rows block by block for all queries (store/vectors.py): across
    several blocks, with holes and another user's rows between them, every list and score
    is the one a search of that query alone gives (scores within float rounding: BLAS sums
    a block's rows as it sums the whole matrix's, up to the last bit)."""
    rng = np.random.default_rng(5)

    def unit(path: str, i: int) -> IndexEntry:
        values = rng.standard_normal(512).astype(np.float32)
        code = Record(path, f"f{i}", UnitKind.FUNCTION, "python", 1, 2, "def f(): pass")
        return IndexEntry(
            uid=f"{path}:f{i}", record=code, summary=None, summary_state=SummaryState.PENDING,
            tokens={"code": ["x"]}, vectors={"code": values / np.linalg.norm(values)},
        )  # fmt: skip

    store = SqliteStore(tmp_path / "index.sqlite3")
    try:
        for n in range(6):  # 3,000 rows of 512 floats: 1,024 rows a block
            scope = "user:2" if n % 2 else "team"
            store.replace_file(
                record(f"m{n}.py", "h", f"/r{n}", scope), [unit(f"m{n}.py", i) for i in range(500)]
            )
        store.remove_files("/r2", ["m2.py"])  # holes in the middle blocks
        queries = [rng.standard_normal(512).astype(np.float32) for _ in range(3)]
        for scopes in (["team"], ["team", "user:2"]):
            together = store.vector_search_many("code", queries, 25, scopes)
            for query, found in zip(queries, together, strict=True):
                alone = store.vector_search("code", query, 25, scopes)
                assert uids(found) == uids(alone)
                assert [h.score for h in found] == pytest.approx([h.score for h in alone], rel=1e-6)
                assert all(not hit.uid.startswith("m2.py") for hit in found)
            if scopes == ["team"]:
                assert all(hit.uid.split(".")[0] in ("m0", "m4") for hit in together[0])
    finally:
        store.close()
