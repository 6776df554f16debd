"""The store contract, run against every backend: the embedded SQLite file and a real
PostgreSQL 18 + pgvector (tests/pg_server.py). Atomic file replacement, both searches,
summaries and their cache, status, collections, the embedding-model claim and owner scopes
(private uploads never reach another user's results, and the filter applies before the
ranking cut), the shared summary queue (claims under leases, lost leases, retries, the
worker registry), records' metadata, and the migration of a store written before it.
Backend specifics stay beside their adapter: tests/integration/test_store.py (SQLite) and
tests/integration/test_store_postgres.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from ragcode.domain import (
    CATEGORY,
    DOCSTRING,
    Record,
    SkippedFile,
    SummaryState,
    UnitKind,
    user_scope,
    visible_scopes,
)
from ragcode.ingest.summary_prompt import SUMMARY_PROMPT_VERSION
from ragcode.store import claims, schema
from ragcode.store.protocol import (
    LEGACY_PROMPT,
    CachedSummary,
    CodeStore,
    EmbedderMismatchError,
    FileRecord,
    IndexEntry,
    ScoredId,
    SummaryOrigin,
    WorkerBeat,
)
from ragcode.store.sqlite_store import LexicalEngine, SqliteStore
from tests.old_stores import (
    OLD_UNITS,
    postgres_schema,
    sqlite_schema,
    write_postgres_v2,
    write_sqlite_v4,
)

pytestmark = pytest.mark.integration

ALICE, BOB = 1, 2
# "sqlite-tantivy": the embedded store with its lexical lists from tantivy (issue 13).
BACKENDS = ["sqlite", "sqlite-tantivy", "postgres"]
ORIGIN = SummaryOrigin(prompt="p1", model="m")  # what the summaries below are written with


def vector(seed: int) -> np.ndarray:
    values = np.random.default_rng(seed).normal(size=16).astype(np.float32)
    return values / np.linalg.norm(values)


def entry(
    path: str, name: str, tokens: str, seed: int, state: SummaryState = SummaryState.PENDING
) -> IndexEntry:
    code = Record(path, name, UnitKind.FUNCTION, "python", 1, 2, f"def {name}(): pass")
    return IndexEntry(
        uid=f"{path}:{name}",
        record=code,
        summary=None,
        summary_state=state,
        tokens={"code": tokens.split(), "identifiers": [name]},
        vectors={"code": vector(seed)},
    )


def record(path: str, file_hash: str = "h1", root: str = "/r", scope: str = "team") -> FileRecord:
    return FileRecord(root=root, path=path, file_hash=file_hash, language="python", scope=scope)


def put(
    store: CodeStore, root: str, path: str, name: str, tokens: str, seed: int, scope: str
) -> None:
    store.replace_file(record(path, "h", root, scope), [entry(path, name, tokens, seed)])


def uids(found: list[ScoredId]) -> list[str]:
    return [hit.uid for hit in found]


Opener = Callable[..., CodeStore]


@pytest.fixture(params=BACKENDS)
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens stores (collections) of one fresh database of the backend; closes them after."""
    opened: list[CodeStore] = []
    if request.param.startswith("sqlite"):
        engine: LexicalEngine = "tantivy" if request.param == "sqlite-tantivy" else "fts5"

        def opener(collection: str = "code") -> CodeStore:
            return SqliteStore(tmp_path / "index.sqlite3", collection, lexical_engine=engine)

    else:
        from ragcode.store.postgres import PostgresStore

        url = request.getfixturevalue("pg_database")

        def opener(collection: str = "code") -> CodeStore:
            return PostgresStore(url, collection=collection)

    def tracked(collection: str = "code") -> CodeStore:
        store = opener(collection)
        opened.append(store)
        return store

    yield tracked
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Opener) -> CodeStore:
    return open_store()


# --- files -------------------------------------------------------------------------


def test_replace_file_is_all_or_nothing(store: CodeStore) -> None:
    store.replace_file(record("a.py"), [entry("a.py", "old", "alpha beta", 1)])
    broken = entry("a.py", "new", "gamma", 2)
    broken.vectors["code"] = "not a vector"  # type: ignore[assignment]
    with pytest.raises(ValueError):
        store.replace_file(record("a.py", "h2"), [entry("a.py", "first", "delta", 3), broken])
    assert store.file_hashes("/r") == {"a.py": "h1"}
    assert [hit.uid for hit in store.lexical_search("code", ["alpha"], 5)] == ["a.py:old"]
    assert store.lexical_search("code", ["delta"], 5) == []


def test_replacing_a_file_drops_its_old_units(store: CodeStore) -> None:
    store.replace_file(
        record("a.py"), [entry("a.py", "f", "alpha", 1), entry("a.py", "g", "beta", 2)]
    )
    store.replace_file(record("a.py", "h2"), [entry("a.py", "g", "gamma", 2)])
    assert store.lexical_search("code", ["alpha"], 5) == []
    assert store.lexical_search("code", ["beta"], 5) == []
    assert uids(store.lexical_search("code", ["gamma"], 5)) == ["a.py:g"]
    assert store.status().units == 1 and store.file_hashes("/r") == {"a.py": "h2"}
    store.replace_file(record("a.py", "h3"), [])  # a file whose units all went away
    assert (store.status().files, store.status().units) == (1, 0)


def test_skipped_and_removed_files_in_status(store: CodeStore) -> None:
    store.replace_file(
        record("a.py"),
        [entry("a.py", "f", "x", 1), entry("a.py", "g", "y", 2, SummaryState.TRIVIAL)],
    )
    store.set_skipped("/r", SkippedFile("big.py", "too large"))
    status = store.status()
    assert (status.files, status.units, status.summaries_pending, status.summaries_trivial) == (
        1,
        2,
        1,
        1,
    )
    assert status.skipped == [SkippedFile("big.py", "too large")]
    assert store.skipped_paths("/r") == ["big.py"] and store.roots() == ["/r"]
    assert store.remove_files("/r", ["a.py", "big.py"]) == 2
    status = store.status()
    assert (status.files, status.units, status.skipped) == (0, 0, [])
    assert store.lexical_search("code", ["x"], 5) == []
    assert store.roots() == []


def test_a_skipped_file_loses_its_units(store: CodeStore) -> None:
    store.replace_file(record("a.py"), [entry("a.py", "f", "alpha", 1)])
    store.set_skipped("/r", SkippedFile("a.py", "binary"))
    assert store.file_hashes("/r") == {} and store.skipped_paths("/r") == ["a.py"]
    assert store.lexical_search("code", ["alpha"], 5) == []
    assert store.vector_search("code", vector(1), 5) == []
    store.replace_file(record("a.py", "h2"), [entry("a.py", "f", "alpha", 1)])
    assert store.skipped_paths("/r") == [] and store.status().skipped == []


def test_collections_are_isolated(open_store: Opener) -> None:
    code, docs = open_store("code"), open_store("docs")
    code.replace_file(record("a.py"), [entry("a.py", "f", "token verify", 1)])
    docs.replace_file(record("faq.csv"), [entry("faq.csv", "q1", "token verify", 1)])
    assert [h.uid for h in code.lexical_search("code", ["token"], 5)] == ["a.py:f"]
    assert [h.uid for h in docs.lexical_search("code", ["token"], 5)] == ["faq.csv:q1"]
    assert [h.uid for h in docs.vector_search("code", vector(1), 5)] == ["faq.csv:q1"]
    assert (code.status().files, docs.status().files) == (1, 1)
    docs.remove_files("/r", ["faq.csv"])
    assert docs.status().units == 0 and code.status().units == 1
    assert code.roots() == ["/r"] and docs.roots() == []


# --- search --------------------------------------------------------------------------


def test_lexical_and_vector_search(store: CodeStore) -> None:
    store.replace_file(
        record("a.py"), [entry("a.py", "f", "token verify", 1), entry("a.py", "g", "file read", 2)]
    )
    lexical = store.lexical_search("code", ["verify", "missing"], 5)
    assert [hit.uid for hit in lexical] == ["a.py:f"] and lexical[0].score > 0
    nearest = store.vector_search("code", vector(2), 2)
    assert nearest[0].uid == "a.py:g" and nearest[0].score == pytest.approx(1.0, abs=1e-5)
    assert store.vector_search("summary", vector(2), 2) == []
    assert store.lexical_search("code", [], 5) == []
    assert store.lexical_search("code", ["verify"], 5, scopes=()) == []


def test_lexical_ranking_is_bm25_like(store: CodeStore) -> None:
    """Rarer terms weigh more, a repeated term counts more, a shorter unit ranks higher."""
    filler = " ".join(f"w{i}" for i in range(8))
    store.replace_file(
        record("a.py"),
        [
            entry("a.py", "twice", f"rare rare common {filler}", 1),
            entry("a.py", "both", f"rare common {filler}", 2),
            entry("a.py", "rare", f"rare {filler}", 3),
            entry("a.py", "short", "common", 4),
            entry("a.py", "long", f"common {filler}", 5),
            *[entry("a.py", f"n{i}", f"noise {filler}", 10 + i) for i in range(12)],
        ],
    )
    found = store.lexical_search("code", ["rare", "common"], 20)
    ranked = [hit.uid.removeprefix("a.py:") for hit in found]
    assert ranked == ["twice", "both", "short", "rare", "long"]
    scores = [hit.score for hit in found]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0


def test_vectors_refresh_after_writes(store: CodeStore) -> None:
    store.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])
    assert store.vector_search("code", vector(1), 1)[0].uid == "a.py:f"
    store.replace_file(record("a.py", "h2"), [entry("a.py", "g", "x", 1)])
    assert [hit.uid for hit in store.vector_search("code", vector(1), 5)] == ["a.py:g"]


def test_vector_search_orders_by_cosine(store: CodeStore) -> None:
    store.replace_file(record("a.py"), [entry("a.py", f"f{i}", "x", i) for i in range(30)])
    query = vector(7)
    found = store.vector_search("code", query, 5)
    expected = sorted(range(30), key=lambda i: -float(vector(i) @ query))[:5]
    assert uids(found) == [f"a.py:f{i}" for i in expected]
    assert [h.score for h in found] == pytest.approx([float(vector(i) @ query) for i in expected])


def test_several_queries_in_one_call_rank_as_one_call_each(store: CodeStore) -> None:
    """`vector_search_many` (the hybrid searcher's question, glossary and expansion vectors
    together): each list is the one `vector_search` gives, filters included."""
    store.replace_file(record("a.py"), [entry("a.py", f"f{i}", "x", i) for i in range(30)])
    put(store, "/up/1", "p.py", "private_fn", "x", 40, user_scope(ALICE))
    queries = [vector(40), vector(3), vector(12)]
    for scopes in (visible_scopes(BOB), visible_scopes(ALICE)):
        together = store.vector_search_many("code", queries, 4, scopes)
        alone = [store.vector_search("code", query, 4, scopes) for query in queries]
        assert [uids(found) for found in together] == [uids(found) for found in alone]
        for many, one in zip(together, alone, strict=True):
            assert [h.score for h in many] == pytest.approx([h.score for h in one], abs=1e-6)
    assert "p.py:private_fn" not in uids(store.vector_search_many("code", queries, 4)[0])
    assert uids(store.vector_search_many("code", queries, 4, visible_scopes(ALICE))[0])[0] == (
        "p.py:private_fn"
    )
    assert store.vector_search_many("code", queries, 4, languages=["go"]) == [[], [], []]
    assert store.vector_search_many("code", [], 4) == []
    assert store.vector_search_many("summary", queries[:2], 4) == [[], []]


def test_units_and_vectors_are_read_back(store: CodeStore) -> None:
    first = entry("a.py", "f", "x", 1, SummaryState.TRIVIAL)
    store.replace_file(record("a.py"), [first])
    unit = store.get_units(["a.py:f", "missing"])
    assert list(unit) == ["a.py:f"]
    assert unit["a.py:f"].record == first.record and unit["a.py:f"].summary is None
    assert unit["a.py:f"].summary_state == SummaryState.TRIVIAL
    vectors = store.stored_vectors(["a.py:f"])["a.py:f"]
    assert len(vectors) == 1 and vectors[0].dtype == np.float32
    assert np.allclose(vectors[0], vector(1))


# --- records and their metadata ----------------------------------------------------------


def test_metadata_round_trips(store: CodeStore) -> None:
    """Every record comes back with its metadata as written, whichever way it is read: Korean,
    quotes, backslashes and newlines, text that looks like JSON, several keys, none."""
    written = {
        "a.py:doc": Record(
            "a.py", "Repo.load", UnitKind.METHOD, "python", 3, 9, "def load(self): ...",
            {DOCSTRING: '파일을 읽는다.\n"quoted" \\ {"not": "metadata"}'},
        ),
        "a.py:faq": Record(
            "a.py", "카드를 잃어버렸어요?", UnitKind.FAQ, "csv", 12, 12,
            "질문: 카드를 잃어버렸어요?\n답변: 바로 신고하세요.", {CATEGORY: "카드"},
        ),
        "a.py:many": Record(
            "a.py", "안내 > 가입", UnitKind.SECTION, "markdown", 20, 24, "안내 > 가입\n\n앱에서.",
            {"출처": "내부 문서", "b": "", "a": "1"},
        ),
        "a.py:bare": Record("a.py", "bare", UnitKind.FUNCTION, "python", 30, 31, "def bare(): 0"),
    }  # fmt: skip
    entries = [IndexEntry(uid, item, None, SummaryState.PENDING) for uid, item in written.items()]
    store.replace_file(record("a.py"), entries)
    stored = store.get_units(list(written))
    assert {uid: found.record for uid, found in stored.items()} == written
    assert {uid: dict(found.record.metadata) for uid, found in stored.items()} == {
        uid: dict(item.metadata) for uid, item in written.items()
    }
    assert stored["a.py:bare"].record.metadata == {}
    assert len({found.record for found in stored.values()}) == 4  # frozen, hashable values
    waiting = store.units_needing_summary(include_failed=False, limit=10)
    assert {ref.uid: ref.record for ref in waiting} == written
    claimed_refs = store.claim_summaries("w", 10, 60.0)
    assert {ref.uid: ref.record for ref in claimed_refs} == written


# --- summaries ------------------------------------------------------------------------


def test_summary_updates_postings_and_cache(store: CodeStore) -> None:
    store.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])
    store.set_summary(
        "a.py:f", summary="토큰 검증", state=SummaryState.DONE, tokens=["토큰", "검증"],
        vector=vector(5), model="m", prompt="p1",
    )  # fmt: skip
    assert [hit.uid for hit in store.lexical_search("summary", ["검증"], 5)] == ["a.py:f"]
    unit = store.get_units(["a.py:f"])["a.py:f"]
    assert (unit.summary, unit.summary_state) == ("토큰 검증", SummaryState.DONE)
    code_hash = unit.record.code_hash
    assert store.cached_summary(code_hash, ORIGIN) == "토큰 검증"
    # Another prompt version or another model wrote nothing for this code.
    assert store.cached_summary(code_hash, SummaryOrigin("p2", "m")) is None
    assert store.cached_summary(code_hash, SummaryOrigin("p1", "m2")) is None
    assert store.export_summary_cache() == [CachedSummary(code_hash, "p1", "m", "토큰 검증")]
    assert len(store.stored_vectors(["a.py:f"])["a.py:f"]) == 2
    assert uids(store.vector_search("summary", vector(5), 1)) == ["a.py:f"]
    # A summary for a unit that disappeared meanwhile is dropped, not an error.
    store.set_summary(
        "gone", summary="x", state=SummaryState.DONE, tokens=[], vector=None, model="m"
    )


def test_a_new_summary_replaces_the_old_postings(store: CodeStore) -> None:
    store.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])
    store.set_summary(
        "a.py:f", summary="장부", state=SummaryState.DONE, tokens=["장부"], vector=vector(5),
        model="m", prompt="p1",
    )  # fmt: skip
    store.set_summary(
        "a.py:f", summary=None, state=SummaryState.FAILED, tokens=[], vector=None, model="m"
    )
    assert store.lexical_search("summary", ["장부"], 5) == []
    assert store.vector_search("summary", vector(5), 5) == []
    assert store.status().summaries_failed == 1
    assert store.cached_summary(entry("a.py", "f", "x", 1).record.code_hash, ORIGIN) == "장부"


def test_units_needing_summary(store: CodeStore) -> None:
    store.replace_file(
        record("b.py"),
        [entry("b.py", "late", "x", 1), entry("b.py", "done", "x", 2, SummaryState.DONE)],
    )
    store.replace_file(record("a.py"), [entry("a.py", "early", "x", 3)])
    store.set_summary(
        "b.py:late", summary=None, state=SummaryState.FAILED, tokens=[], vector=None, model="m"
    )
    assert [u.uid for u in store.units_needing_summary(include_failed=False, limit=10)] == [
        "a.py:early"
    ]
    both = store.units_needing_summary(include_failed=True, limit=10)
    assert [u.uid for u in both] == ["a.py:early", "b.py:late"]
    assert both[0].record == entry("a.py", "early", "x", 3).record
    assert len(store.units_needing_summary(include_failed=True, limit=1)) == 1


def test_summary_cache_export_and_import(open_store: Opener) -> None:
    source, target = open_store("code"), open_store("docs")
    rows = [
        CachedSummary("h1", "p1", "m", "첫 요약"),
        CachedSummary("h1", "p1", "m2", "다른 모델의 요약"),
        CachedSummary("h1", "p2", "m", "다른 프롬프트의 요약"),
        CachedSummary("h2", LEGACY_PROMPT, "cache", "예전 요약"),
    ]
    assert target.import_summary_cache(reversed(rows)) == 4
    assert source.cached_summary("h1", ORIGIN) == "첫 요약"  # one cache for the whole database
    assert source.cached_summary("h1", SummaryOrigin("p1", "m2")) == "다른 모델의 요약"
    assert source.cached_summary("h2", ORIGIN) is None
    assert source.export_summary_cache() == rows  # in key order
    # Importing again replaces the same keys' rows.
    target.import_summary_cache([CachedSummary("h1", "p1", "m", "고친 요약")])
    assert source.cached_summary("h1", ORIGIN) == "고친 요약"
    assert len(source.export_summary_cache()) == 4


# --- the embedding model ---------------------------------------------------------------


def test_a_collection_keeps_to_the_embedding_model_it_was_written_with(store: CodeStore) -> None:
    store.claim_embedder("model-a", 16)
    store.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])
    store.claim_embedder("model-a", 16)  # the same model: fine
    with pytest.raises(EmbedderMismatchError, match="model-a"):
        store.claim_embedder("model-b", 16)
    assert store.vector_search("code", vector(1), 1)[0].uid == "a.py:f", "nothing was lost"
    assert store.status().embedder == "model-a"


def test_the_model_is_recorded_per_collection_and_across_reopening(open_store: Opener) -> None:
    code, docs = open_store("code"), open_store("docs")
    code.claim_embedder("model-a", 16)
    code.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])
    docs.claim_embedder("model-b", 16)  # another collection may use another model
    code.close()
    docs.close()
    with pytest.raises(EmbedderMismatchError):
        open_store("code").claim_embedder("model-b", 16)


def test_an_emptied_collection_takes_a_new_model(store: CodeStore) -> None:
    store.claim_embedder("model-a", 16)
    store.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])
    store.remove_files("/r", ["a.py"])
    store.claim_embedder("model-b", 16)
    store.replace_file(record("b.py"), [entry("b.py", "g", "x", 2)])
    with pytest.raises(EmbedderMismatchError):
        store.claim_embedder("model-a", 16)


def test_an_index_from_before_the_record_is_judged_by_its_vector_size(store: CodeStore) -> None:
    store.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])  # 16-dimensional, unclaimed
    with pytest.raises(EmbedderMismatchError, match="16차원"):
        store.claim_embedder("bigger-model", 384)
    store.claim_embedder("same-size-model", 16)  # the same size: taken to be the same model


def test_a_new_model_of_another_size_after_emptying(store: CodeStore) -> None:
    store.replace_file(record("a.py"), [entry("a.py", "f", "x", 1)])
    store.remove_files("/r", ["a.py"])
    big = entry("b.py", "g", "x", 2)
    big.vectors["code"] = np.ones(32, dtype=np.float32) / np.sqrt(32)
    store.claim_embedder("model-32", 32)
    store.replace_file(record("b.py"), [big])
    assert uids(store.vector_search("code", big.vectors["code"], 5)) == ["b.py:g"]


# --- owner scopes (issue 11) -------------------------------------------------------------


def test_private_units_reach_only_their_owner(store: CodeStore) -> None:
    put(store, "/team", "t.py", "team_fn", "payment key", 1, "team")
    put(store, "/up/1", "alice.py", "alice_fn", "payment key secret", 2, user_scope(ALICE))
    for scopes, expected in [
        (visible_scopes(BOB), {"t.py:team_fn"}),
        (visible_scopes(ALICE), {"t.py:team_fn", "alice.py:alice_fn"}),
    ]:
        assert (
            set(uids(store.lexical_search("code", ["secret", "payment"], 10, scopes))) == expected
        )
        assert set(uids(store.vector_search("code", vector(2), 10, scopes))) == expected
    # No scopes given: the team's alone (a caller that forgets never sees private files).
    assert uids(store.vector_search("code", vector(2), 10)) == ["t.py:team_fn"]
    assert uids(store.lexical_search("code", ["secret"], 10)) == []


def test_records_read_back_with_scopes_are_those_the_scopes_may_see(store: CodeStore) -> None:
    """`get_units(uids, scopes)`: the search reads its fused candidates' records with the
    asker's scopes, so a unit made private after its lists were read is left out for
    another user; without scopes (an upload's own units) every id is read."""
    put(store, "/team", "t.py", "team_fn", "payment key", 1, "team")
    put(store, "/up/1", "alice.py", "alice_fn", "payment key secret", 2, user_scope(ALICE))
    both = ["t.py:team_fn", "alice.py:alice_fn"]
    assert set(store.get_units(both, visible_scopes(BOB))) == {"t.py:team_fn"}
    assert set(store.get_units(both, visible_scopes(ALICE))) == set(both)
    assert set(store.get_units(both)) == set(both)
    assert store.get_units(both, ()) == {}


def test_code_hashes_are_the_records_and_only_those_the_scopes_may_see(store: CodeStore) -> None:
    """`code_hashes(uids, scopes)`: the search drops copies of one code among its candidates
    from these before it reads any record, so they are the records' own hashes and scoped."""
    put(store, "/team", "t.py", "team_fn", "payment key", 1, "team")
    put(store, "/up/1", "alice.py", "alice_fn", "payment key secret", 2, user_scope(ALICE))
    both = ["t.py:team_fn", "alice.py:alice_fn", "missing"]
    records = store.get_units(both)
    assert store.code_hashes(both, visible_scopes(ALICE)) == {
        uid: stored.record.code_hash for uid, stored in records.items()
    }
    assert store.code_hashes(both, visible_scopes(BOB)) == {
        "t.py:team_fn": records["t.py:team_fn"].record.code_hash
    }
    assert store.code_hashes(both, ()) == {}


def test_units_in_file_is_exact_and_scoped(store: CodeStore) -> None:
    """More units sharing a name than any search keeps as candidates: the look-up by
    location still finds the one asked for, and never another user's."""
    for i in range(250):
        put(store, "/team", f"m{i}.py", "__init__", "init", i, "team")
    put(store, "/team", "t.py", "__init__", "init", 1, "team")
    put(store, "/up/1", "t.py", "secret_fn", "init", 2, user_scope(ALICE))
    found = store.units_in_file("t.py")
    assert [(s.record.path, s.record.title) for s in found] == [("t.py", "__init__")]
    alice = {s.record.title for s in store.units_in_file("t.py", visible_scopes(ALICE))}
    assert alice == {"__init__", "secret_fn"}
    assert store.units_in_file("t.py", visible_scopes(BOB)) == found
    assert store.units_in_file("nothing.py") == [] and store.units_in_file("t.py", []) == []


def test_filter_applies_before_the_top_k_cut(store: CodeStore) -> None:
    """Twenty better-matching private units must not push the team's unit out of a top 1."""
    for i in range(20):
        put(store, "/up/1", f"p{i}.py", f"p{i}", "token token token", 7, user_scope(ALICE))
    put(store, "/team", "t.py", "team_fn", "token", 99, "team")
    assert uids(store.lexical_search("code", ["token"], 1, visible_scopes(BOB))) == ["t.py:team_fn"]
    assert uids(store.vector_search("code", vector(7), 1, visible_scopes(BOB))) == ["t.py:team_fn"]
    alice_top = uids(store.vector_search("code", vector(7), 1, visible_scopes(ALICE)))
    assert alice_top != ["t.py:team_fn"]


def test_sharing_moves_every_unit_and_summary_posting(store: CodeStore) -> None:
    put(store, "/up/1", "a.py", "shared_fn", "ledger", 3, user_scope(ALICE))
    store.set_summary(
        "a.py:shared_fn", summary="장부를 맞춘다", state=SummaryState.DONE,
        tokens=["장부"], vector=vector(4), model="m",
    )  # fmt: skip
    bob = visible_scopes(BOB)
    assert store.lexical_search("summary", ["장부"], 5, bob) == []
    assert store.vector_search("summary", vector(4), 5, bob) == []
    assert store.set_scope("/up/1", "team") == 1
    assert uids(store.lexical_search("summary", ["장부"], 5, bob)) == ["a.py:shared_fn"]
    assert uids(store.lexical_search("code", ["ledger"], 5, bob)) == ["a.py:shared_fn"]
    assert uids(store.vector_search("summary", vector(4), 5, bob)) == ["a.py:shared_fn"]
    assert store.set_scope("/up/1", user_scope(ALICE)) == 1  # taken back
    assert store.lexical_search("summary", ["장부"], 5, bob) == []
    assert store.vector_search("code", vector(3), 5, bob) == []
    assert store.set_scope("/up/1", user_scope(ALICE)) == 0  # idempotent


# --- threads ------------------------------------------------------------------------------


def test_threads_share_one_store(store: CodeStore) -> None:
    """The server searches from request threads while an ingest thread writes."""
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(5):
                path = f"w{n}_{i}.py"
                store.replace_file(record(path), [entry(path, "f", f"shared t{n}", n * 10 + i)])
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(10):
                store.lexical_search("code", ["shared"], 10)
                store.vector_search("code", vector(1), 10)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.status().files == 15
    assert len(store.lexical_search("code", ["shared"], 50)) == 15


# --- the shared summary queue ---------------------------------------------------------------


def queued(store: CodeStore, count: int, path: str = "q.py") -> list[str]:
    """`count` pending units of one file, one per line (claims come in line order)."""
    entries = []
    for line in range(1, count + 1):
        code = Record(
            path, f"f{line}", UnitKind.FUNCTION, "python", line, line, f"def f{line}(): pass"
        )
        entries.append(IndexEntry(f"{path}:{line}", code, None, SummaryState.PENDING))
    store.replace_file(record(path), entries)
    return [e.uid for e in entries]


def write(store: CodeStore, uid: str, worker: str | None, text: str = "요약 본문") -> bool:
    return store.set_summary(
        uid, summary=text, state=SummaryState.DONE, tokens=text.split(), vector=None, model="m",
        worker=worker, prompt="p1",
    )  # fmt: skip


def fail(store: CodeStore, uid: str, worker: str | None) -> bool:
    return store.set_summary(
        uid, summary=None, state=SummaryState.FAILED, tokens=[], vector=None, model="",
        worker=worker,
    )  # fmt: skip


def claimed(store: CodeStore, worker: str, limit: int, lease_s: float = 60.0) -> list[str]:
    return [ref.uid for ref in store.claim_summaries(worker, limit, lease_s)]


def test_two_claimers_get_disjoint_units_in_file_order(store: CodeStore) -> None:
    units = queued(store, 5)
    first, second = store.claim_summaries("w1", 3, 60.0), claimed(store, "w2", 3)
    assert [ref.uid for ref in first] == units[:3]
    assert first[0].record.title == "f1" and first[0].record.start_line == 1
    assert second == units[3:]
    assert claimed(store, "w3", 3) == []


def test_an_expired_lease_is_taken_over(store: CodeStore) -> None:
    units = queued(store, 2)
    assert claimed(store, "dead", 2, lease_s=0.3) == units
    assert claimed(store, "alive", 2) == []  # leased
    time.sleep(0.45)
    assert claimed(store, "alive", 2) == units
    assert write(store, units[0], "alive")


def test_a_lost_lease_cannot_overwrite_the_new_owners_result(store: CodeStore) -> None:
    [uid] = queued(store, 1)
    claimed(store, "stalled", 1, lease_s=0.2)
    time.sleep(0.3)
    assert claimed(store, "fresh", 1) == [uid]
    assert write(store, uid, "fresh", "새 작업자의 요약")
    assert not write(store, uid, "stalled", "늦은 요약")  # refused, and said so
    assert not fail(store, uid, "stalled")
    unit = store.get_units([uid])[uid]
    assert (unit.summary, unit.summary_state) == ("새 작업자의 요약", SummaryState.DONE)
    assert store.lexical_search("summary", ["늦은"], 5) == []
    # The cache holds the winner's summary too.
    assert store.cached_summary(unit.record.code_hash, ORIGIN) == "새 작업자의 요약"


def test_a_unit_reindexed_while_leased_refuses_the_stale_result(store: CodeStore) -> None:
    [uid] = queued(store, 1)
    assert claimed(store, "w1", 1) == [uid]
    queued(store, 1)  # the file is written again while the LLM works on the old rows
    assert not write(store, uid, "w1")
    assert store.get_units([uid])[uid].summary_state == SummaryState.PENDING
    assert claimed(store, "w2", 1) == [uid]  # the new row is free for anyone


def test_renewal_keeps_a_unit_and_tells_a_lost_one(store: CodeStore) -> None:
    units = queued(store, 2)
    claimed(store, "w1", 1, lease_s=0.3)
    claimed(store, "w2", 1, lease_s=0.2)
    assert store.renew_leases("w1", [units[0]], 60.0) == {units[0]}
    time.sleep(0.35)
    assert claimed(store, "w3", 2) == [units[1]]  # w1's renewed unit stays w1's
    assert store.renew_leases("w2", [units[1]], 60.0) == set()  # lost to w3
    assert store.renew_leases("w1", [], 60.0) == set()


def test_released_units_are_claimable_at_once(store: CodeStore) -> None:
    units = queued(store, 3)
    claimed(store, "w1", 3)
    assert write(store, units[0], "w1")
    assert store.release_leases("w1") == 2  # the written one holds no lease any more
    assert claimed(store, "w2", 3) == units[1:]
    assert store.release_leases("nobody") == 0


def test_failed_units_back_off_then_wait_for_an_explicit_retry(
    store: CodeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(claims, "RETRY_BASE_S", 0.25)
    monkeypatch.setattr(claims, "RETRY_FACTOR", 1.0)
    [uid] = queued(store, 1)
    for attempt in range(1, claims.MAX_ATTEMPTS + 1):
        assert claimed(store, "w", 1) == [uid], f"attempt {attempt}"
        assert fail(store, uid, "w")
        assert claimed(store, "w", 1) == []  # backing off: no tight loop
        queue = store.queue_status()
        assert (queue.ready, queue.failed) == (0, 1)
        assert queue.gave_up == (1 if attempt == claims.MAX_ATTEMPTS else 0)
        time.sleep(0.35)
    assert claimed(store, "w", 1) == []  # gave up, however long it waits
    assert store.queue_status().gave_up == 1
    assert store.retry_failed() == 1  # `ragcode index`, `worker --retry-failed`
    assert store.queue_status().ready == 1
    assert claimed(store, "w", 1) == [uid]
    assert write(store, uid, "w")
    assert store.status().summaries_failed == 0


def test_queue_status_counts_units_live_workers_and_throughput(open_store: Opener) -> None:
    store = open_store()
    units = queued(store, 4)
    claimed(store, "w1", 2)
    assert write(store, units[0], "w1")
    now = time.time()
    store.worker_heartbeat(WorkerBeat("w1", "host-a", 11, now, 60.0, done=1, failed=0))
    store.worker_heartbeat(WorkerBeat("silent", "host-b", 12, now, 0.1, done=5, failed=0))
    store.worker_heartbeat(WorkerBeat("gone", "host-c", 13, now, 60.0, done=2, failed=1))
    store.worker_stopped("gone")
    time.sleep(0.3)  # "silent" misses two of its leases
    queue = store.queue_status(window_s=600.0)
    assert (queue.pending, queue.leased, queue.ready, queue.failed) == (2, 1, 2, 0)
    assert [(w.id, w.host, w.pid, w.done) for w in queue.workers] == [("w1", "host-a", 11, 1)]
    assert queue.recent == 1 and queue.per_minute == pytest.approx(0.1)
    store.worker_heartbeat(WorkerBeat("w1", "host-a", 11, now, 60.0, done=2, failed=1))
    assert [(w.done, w.failed) for w in store.queue_status().workers] == [(2, 1)]
    other = open_store("docs").queue_status()  # workers and units are per collection
    assert (other.pending, other.workers, other.recent) == (0, [], 0)


# --- a store written before record metadata ------------------------------------------------


@dataclass(frozen=True)
class OldStore:
    open: Opener
    schema: Callable[[], tuple[int, set[str]]]  # its version and unit columns now
    version: int  # the version opening it migrates it to


@pytest.fixture(params=BACKENDS)
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OldStore]:
    """An SQLite index at schema version 4 or a PostgreSQL database at version 2, holding
    tests/old_stores.OLD_UNITS, and an opener of its collections."""
    vectors = {unit.uid: vector(unit.seed) for unit in OLD_UNITS}
    opened: list[CodeStore] = []
    if request.param.startswith("sqlite"):
        path = tmp_path / "index.sqlite3"
        write_sqlite_v4(path, vectors)
        engine: LexicalEngine = "tantivy" if request.param == "sqlite-tantivy" else "fts5"

        def opener(collection: str = "code") -> CodeStore:
            return SqliteStore(path, collection, lexical_engine=engine)

        old = OldStore(opener, lambda: sqlite_schema(path), schema.SCHEMA_VERSION)
    else:
        from ragcode.store import pg_schema
        from ragcode.store.postgres import PostgresStore

        url = request.getfixturevalue("pg_database")
        write_postgres_v2(url, vectors)

        def opener(collection: str = "code") -> CodeStore:
            return PostgresStore(url, collection=collection)

        old = OldStore(opener, lambda: postgres_schema(url), pg_schema.SCHEMA_VERSION)

    def tracked(collection: str = "code") -> CodeStore:
        store = old.open(collection)
        opened.append(store)
        return store

    yield OldStore(tracked, old.schema, old.version)
    for store in opened:
        store.close()


def test_an_old_store_moves_docstrings_and_categories_into_metadata(old_store: OldStore) -> None:
    """Opening it migrates it: what the `docstring` column held becomes metadata under the
    key its kind means (a code unit's docstring, a FAQ record's category; nothing for an
    empty one or a document section), the column goes, and nothing else changes: ids, code
    hashes and the summary cache keyed by them, summaries, postings, vectors."""
    code, docs = old_store.open("code"), old_store.open("docs")
    version, columns = old_store.schema()
    assert version == old_store.version
    assert "metadata" in columns and "docstring" not in columns
    found = {**code.get_units(["u1", "u2"]), **docs.get_units(["u3", "u4"])}
    assert {uid: dict(stored.record.metadata) for uid, stored in found.items()} == {
        "u1": {DOCSTRING: "Loads the file."},
        "u2": {},
        "u3": {CATEGORY: "카드"},
        "u4": {},
    }
    for unit in OLD_UNITS:
        stored = found[unit.uid]
        item = stored.record
        assert (item.path, item.title, str(item.kind), item.language) == (
            unit.path, unit.name, unit.kind, unit.language,
        )  # fmt: skip
        assert (item.start_line, item.end_line, item.body) == (
            unit.start_line, unit.end_line, unit.code,
        )  # fmt: skip
        assert (stored.summary, str(stored.summary_state)) == (unit.summary, unit.summary_state)
        assert item.code_hash == unit.code_hash
    legacy = SummaryOrigin(LEGACY_PROMPT, "m")  # see the summary-cache test below
    assert code.cached_summary(found["u2"].record.code_hash, legacy) == "저장한다"
    [ref] = code.claim_summaries("w", 10, 60.0)
    assert (ref.uid, ref.record) == ("u1", found["u1"].record)
    assert uids(code.lexical_search("doc", ["loads"], 5)) == ["u1"]
    assert uids(code.lexical_search("code", ["save"], 5)) == ["u2"]
    assert uids(docs.vector_search("code", vector(3), 1)) == ["u3"]


def test_an_old_stores_summary_cache_is_kept_but_never_reused(old_store: OldStore) -> None:
    """Its cache was keyed by code hash alone: which prompt wrote a row is unknown, so the
    migration files the rows under the legacy prompt version. They stay (and are exported),
    but no lookup with the current prompt finds them, whatever the model: the code is
    summarized again and its new row sits beside the old one."""
    code = old_store.open("code")
    [saved] = [unit for unit in OLD_UNITS if unit.uid == "u2"]
    assert code.export_summary_cache() == [
        CachedSummary(saved.code_hash, LEGACY_PROMPT, "m", "저장한다")
    ]
    current = SummaryOrigin(SUMMARY_PROMPT_VERSION, "m")
    assert code.cached_summary(saved.code_hash, current) is None
    code.set_summary(
        "u2", summary="새 프롬프트의 요약", state=SummaryState.DONE, tokens=["요약"],
        vector=None, model="m", prompt=current.prompt,
    )  # fmt: skip
    assert code.cached_summary(saved.code_hash, current) == "새 프롬프트의 요약"
    assert [(row.prompt, row.summary) for row in code.export_summary_cache()] == sorted(
        [(LEGACY_PROMPT, "저장한다"), (current.prompt, "새 프롬프트의 요약")]
    )
