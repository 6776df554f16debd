"""What only the PostgreSQL store has: a server that can stop and restart, a schema version in
the database, BM25 computed in SQL (equal to FTS5's), bounded candidates for common terms,
HNSW indexes the vector queries must actually use, and term statistics kept by writers.
The shared contract is in tests/integration/test_store_contract.py."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from ragcode.app import build_app
from ragcode.config import Settings, StoreSettings
from ragcode.domain import SkippedFile, SummaryState, user_scope
from ragcode.embeddings.local import LocalEmbedder
from ragcode.ingest.progress import SilentProgress
from ragcode.store import pg_lexical, postgres
from ragcode.store.pg_schema import configure, ensure_vector_index, vector_search_query
from ragcode.store.postgres import PostgresStore
from ragcode.store.protocol import EmbedderMismatchError, IndexEntry, StoreError, VectorField
from ragcode.store.sqlite_store import LexicalEngine, SqliteStore
from tests.integration.test_store_contract import entry, put, record, uids, vector
from tests.old_stores import OLD_UNITS, write_postgres_v2
from tests.pg_server import PgServer, running_server
from tests.sample_project import write_sample_project

pytestmark = pytest.mark.integration


@pytest.fixture
def store(pg_database: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(pg_database)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def own_server() -> Iterator[PgServer]:
    """A server of this module's own, to stop and restart without disturbing the others."""
    with running_server() as server:
        yield server


# --- the server going away -----------------------------------------------------------


def test_a_stopped_server_is_a_korean_store_error(own_server: PgServer) -> None:
    store = PostgresStore(own_server.url())
    try:
        put(store, "/r", "a.py", "f", "alpha", 1, "team")
        own_server.stop()
        for call in (
            lambda: store.lexical_search("code", ["alpha"], 5),
            lambda: put(store, "/r", "b.py", "g", "beta", 2, "team"),
            store.status,
        ):
            with pytest.raises(StoreError, match="PostgreSQL 색인 서버") as raised:
                call()
            assert not isinstance(raised.value, psycopg.Error)
        with pytest.raises(StoreError, match=r"연결할 수 없습니다.*서버가 실행 중인지"):
            PostgresStore(own_server.url())
        own_server.start()
        assert uids(store.lexical_search("code", ["alpha"], 5)) == ["a.py:f"]
    finally:
        if not own_server.running:
            own_server.start()
        store.close()


def _busy(store: PostgresStore, threads: int = 4) -> None:
    """Open several pooled connections at once (all of them go stale in a restart)."""
    barrier = threading.Barrier(threads)

    def search() -> None:
        barrier.wait()
        store.vector_search("code", vector(1), 5)

    workers = [threading.Thread(target=search) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


@pytest.mark.parametrize("first_call", ["read", "write"])
def test_the_store_survives_a_server_restart(own_server: PgServer, first_call: str) -> None:
    store = PostgresStore(own_server.url(), collection=f"restart_{first_call}")
    try:
        put(store, "/r", "a.py", "f", "alpha", 1, "team")
        _busy(store)
        own_server.stop()
        own_server.start()
        try:  # the first call after the restart either works or says why, in Korean
            if first_call == "read":
                store.lexical_search("code", ["alpha"], 5)
            else:
                put(store, "/r", "b.py", "g", "beta", 2, "team")
        except StoreError:
            pass
        put(store, "/r", "b.py", "g", "beta", 2, "team")  # and the next ones work
        assert uids(store.lexical_search("code", ["alpha", "beta"], 5)) == ["a.py:f", "b.py:g"]
        assert store.status().files == 2
    finally:
        store.close()


# --- schema --------------------------------------------------------------------------


def test_another_schema_version_is_a_clear_error(pg_database: str) -> None:
    PostgresStore(pg_database).close()
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("UPDATE store_meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match=r"버전 999 .* 다시 색인하세요"):
        PostgresStore(pg_database)


def test_stores_of_two_processes_see_each_other(pg_database: str) -> None:
    """Replicas share one database: no cache stands between a write and the others' reads."""
    one, two = PostgresStore(pg_database), PostgresStore(pg_database)
    try:
        one.claim_embedder("model-a", 16)
        put(one, "/r", "a.py", "f", "alpha", 1, "team")
        assert uids(two.lexical_search("code", ["alpha"], 5)) == ["a.py:f"]
        assert uids(two.vector_search("code", vector(1), 5)) == ["a.py:f"]
        two.set_summary(
            "a.py:f", summary="요약", state=SummaryState.DONE, tokens=["요약"], vector=vector(2),
            model="m",
        )  # fmt: skip
        assert uids(one.lexical_search("summary", ["요약"], 5)) == ["a.py:f"]
        with pytest.raises(EmbedderMismatchError):
            two.claim_embedder("model-b", 16)
    finally:
        one.close()
        two.close()


# --- lexical ranking -----------------------------------------------------------------


@pytest.mark.parametrize("engine", ["fts5", "tantivy"])
def test_bm25_scores_equal_the_embedded_store(
    pg_database: str, tmp_path: Path, engine: LexicalEngine
) -> None:
    """Both embedded engines: tantivy's candidates are rescored as FTS5's bm25() scores
    them (tests/integration/test_store_tantivy.py), so the lists and scores are the same."""
    rng = random.Random(5)
    words = [f"t{i}" for i in range(40)]
    entries = []
    for i in range(300):
        tokens = [rng.choice(words[: rng.randint(3, 40)]) for _ in range(rng.randint(1, 12))]
        entries.append(entry("a.py", f"f{i}", " ".join(tokens), i))
    postgres = PostgresStore(pg_database)
    sqlite = SqliteStore(tmp_path / "index.sqlite3", lexical_engine=engine)
    try:
        for store in (postgres, sqlite):
            store.replace_file(record("a.py"), entries)
        for query in (["t1"], ["t1", "t30"], ["t39", "t2", "t7"], ["t0", "t1", "t2", "t3"]):
            ours = postgres.lexical_search("code", query, 20)
            embedded = sqlite.lexical_search("code", query, 20)
            assert uids(ours) == uids(embedded), query
            expected = [h.score for h in embedded]
            assert [h.score for h in ours] == pytest.approx(expected, rel=1e-6)
    finally:
        postgres.close()
        sqlite.close()


def test_term_frequencies_are_read_back_exactly(pg_database: str) -> None:
    """Pins the weight-class decoding on ts_rank's formula (class weight / ζ(2))."""
    postings = pg_lexical.Postings.of(["a", "b", "b", "c", "c", "c", "d"] + ["e"] * 7)
    expression = (
        "coalesce((%(frequent)s::jsonb ->> %(term)s)::float8, ts_rank(%(weights)s::float4[],"
        " %(lex)s::tsvector, %(query)s::tsquery) * %(scale)s)"
    )
    found = []
    with psycopg.connect(pg_database) as conn:
        for term in "abcdez":
            row = conn.execute(
                f"SELECT {expression}",
                {"frequent": postings.frequent, "term": term, "weights": pg_lexical.RANK_WEIGHTS,
                 "lex": postings.tsvector, "query": f"'{term}'", "scale": pg_lexical.TF_FROM_RANK},
            ).fetchone()  # fmt: skip
            assert row is not None
            found.append(round(float(row[0]), 4))
    assert found == [1, 2, 3, 1, 7, 0]
    assert postings.length == 14


def test_common_terms_bring_in_a_bounded_sample(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_lexical, "GENERATOR_BUDGET", 5)
    monkeypatch.setattr(pg_lexical, "SAMPLE", 4)
    filler = " ".join(f"w{i}" for i in range(5))
    store.replace_file(
        record("a.py"),
        [entry("a.py", f"c{i}", f"common {filler}", i) for i in range(40)]
        + [entry("a.py", "r1", f"rare common {filler}", 50), entry("a.py", "r2", "rare", 51)],
    )
    found = uids(store.lexical_search("code", ["common", "rare"], 50))
    assert set(found[:2]) == {"a.py:r1", "a.py:r2"}  # every unit of the rare term is in
    assert len(found) <= 2 + 4  # ...and the common term a sample of its own
    assert len(uids(store.lexical_search("code", ["common"], 50))) == 4
    stats = {"": (42, 300), "common": (41, 0), "w1": (41, 0), "rare": (2, 0)}
    plan = pg_lexical.plan(["w1", "common", "rare"], stats)
    assert plan is not None and plan.sources == [
        ("'rare'", None),  # all of its units
        ("'common' & 'w1'", 4),  # a sample of the units holding both common terms
        ("'common' | 'w1'", 4),  # and of those holding either
    ]


def test_scope_filter_applies_to_the_common_term_sample(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_lexical, "GENERATOR_BUDGET", 2)
    monkeypatch.setattr(pg_lexical, "SAMPLE", 3)
    for i in range(10):
        put(store, "/up/1", f"p{i}.py", f"p{i}", "token", 7, user_scope(1))
    put(store, "/team", "t.py", "team_fn", "token", 99, "team")
    assert uids(store.lexical_search("code", ["token"], 3)) == ["t.py:team_fn"]


def test_term_statistics_stay_exact(store: PostgresStore, pg_database: str) -> None:
    """Writers keep df and lengths in store_terms; recount them from the postings."""
    store.replace_file(record("a.py"), [entry("a.py", "f", "x y y", 1), entry("a.py", "g", "y", 2)])
    store.replace_file(record("b.py"), [entry("b.py", "h", "x z z z", 3)])
    store.replace_file(record("a.py", "h2"), [entry("a.py", "g", "q", 2)])
    moved = entry("c.py", "h", "w", 4)
    moved.uid = "b.py:h"  # the same uid written by another file takes the unit over
    store.replace_file(record("c.py"), [moved])
    for summary in ("첫 요약 요약", "둘째"):
        store.set_summary(
            "a.py:g", summary=summary, state=SummaryState.DONE, tokens=summary.split(),
            vector=vector(5), model="m",
        )  # fmt: skip
    store.set_skipped("/r", SkippedFile("c.py", "binary"))
    store.replace_file(record("d.py"), [entry("d.py", "k", "x", 6)])
    store.remove_files("/r", ["d.py"])
    store.set_scope("/r", user_scope(1))
    recount = """
        SELECT u.collection, f.field, x.lexeme, count(*), 0 FROM store_units u
        CROSS JOIN LATERAL (VALUES ('summary', u.lex_summary), ('doc', u.lex_doc),
            ('code', u.lex_code), ('identifiers', u.lex_identifiers)) f(field, lex)
        CROSS JOIN LATERAL unnest(f.lex) x GROUP BY 1, 2, 3
        UNION ALL SELECT u.collection, f.field, '', count(*), sum(f.len) FROM store_units u
        CROSS JOIN LATERAL (VALUES ('summary', u.len_summary), ('doc', u.len_doc),
            ('code', u.len_code), ('identifiers', u.len_identifiers)) f(field, len)
        WHERE f.len > 0 GROUP BY 1, 2"""
    with psycopg.connect(pg_database) as conn:
        expected = {tuple(row[:3]): (row[3], row[4]) for row in conn.execute(recount)}
        kept = {
            tuple(row[:3]): (row[3], row[4])
            for row in conn.execute(
                "SELECT collection, field, term, df, total FROM store_terms"
                " WHERE df <> 0 OR total <> 0"
            )
        }
    assert kept == expected
    assert expected[("code", "summary", "")] == (1, 1)  # "둘째" replaced "첫 요약 요약"


# --- vectors --------------------------------------------------------------------------


def test_vector_search_uses_the_hnsw_index(store: PostgresStore, pg_database: str) -> None:
    store.replace_file(record("a.py"), [entry("a.py", f"f{i}", "x", i) for i in range(50)])
    with psycopg.connect(pg_database) as conn:
        indexes = [
            row[0]
            for row in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname LIKE 'store_units_hnsw_%%'"
            )
        ]
        assert len(indexes) == 1 and "hnsw" in indexes[0] and "vector(16)" in indexes[0]
        conn.execute("SET enable_seqscan = off")  # a 50-row table is scanned otherwise
        plan = conn.execute(
            b"EXPLAIN " + vector_search_query("code", "code", 16).as_bytes(conn),
            {"q": "[" + ",".join(["0.25"] * 16) + "]", "scopes": ["team"], "limit": 5},
        ).fetchall()
    assert "store_units_hnsw_code_16" in "\n".join(str(row[0]) for row in plan)


def test_hnsw_search_filters_scopes_before_the_cut(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above EXACT_SEARCH_MAX units the index answers; the owner filter still comes first
    (pgvector's iterative scan goes on until `limit` visible rows are found)."""
    monkeypatch.setattr(postgres, "EXACT_SEARCH_MAX", 0)
    for i in range(30):
        put(store, "/up/1", f"p{i}.py", f"p{i}", "token", 7, user_scope(1))
    put(store, "/team", "t.py", "team_fn", "token", 99, "team")
    store.replace_file(
        record("u.py", root="/team"), [entry("u.py", f"f{i}", "x", 100 + i) for i in range(40)]
    )
    team = {"t.py:team_fn": vector(99)} | {f"u.py:f{i}": vector(100 + i) for i in range(40)}
    best = max(team, key=lambda uid: float(team[uid] @ vector(7)))
    assert uids(store.vector_search("code", vector(7), 1)) == [best]  # not one of the 30 p*.py
    found = store.vector_search("code", vector(103), 10)
    assert uids(found)[0] == "u.py:f3" and len(found) == 10
    assert all(not uid.startswith("p") for uid in uids(found))


def hnsw_indexes(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'store_units_hnsw_%%' ORDER BY 1"
        ).fetchall()
    return [str(row[0]) for row in rows]


def hnsw_finds(url: str, fld: VectorField, query: np.ndarray, limit: int) -> list[str]:
    """The vector query as the store runs it above EXACT_SEARCH_MAX, made to use the index."""
    with psycopg.connect(url) as conn:
        configure(conn)
        conn.execute("SET enable_seqscan = off")
        statement = vector_search_query("code", fld, 16)
        params = {"q": query, "scopes": ["team"], "limit": limit}
        return [str(row[0]) for row in conn.execute(statement, params).fetchall()]


def summarized(path: str, name: str, seed: int) -> IndexEntry:
    made = entry(path, name, "x", seed, SummaryState.DONE)
    made.summary, made.vectors["summary"] = f"{name} 요약", vector(seed + 1000)
    return made


def test_a_first_index_builds_each_hnsw_graph_once_at_the_end(
    store: PostgresStore, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "EXACT_SEARCH_MAX", 0)  # the query that asks the index
    with store.bulk_writes():
        for f in range(3):
            path = f"m{f}.py"
            store.replace_file(
                record(path), [summarized(path, f"f{i}", 10 * f + i) for i in range(10)]
            )
            assert hnsw_indexes(pg_database) == []  # the rows go in without graph upkeep
        # Committed and searchable meanwhile (a scan: there is no index to ask yet).
        assert uids(store.vector_search("code", vector(12), 1)) == ["m1.py:f2"]
    built = hnsw_indexes(pg_database)
    assert [name.split("_")[3] for name in built] == ["code", "summary"]
    assert hnsw_finds(pg_database, "code", vector(25), 1) == ["m2.py:f5"]
    assert hnsw_finds(pg_database, "summary", vector(1007), 1) == ["m0.py:f7"]
    # Later writes go into the graphs that now exist, row by row.
    store.replace_file(record("late.py"), [entry("late.py", "g", "x", 77)])
    assert hnsw_finds(pg_database, "code", vector(77), 1) == ["late.py:g"]


def test_bulk_writes_keep_existing_indexes_up(store: PostgresStore, pg_database: str) -> None:
    """Only an empty collection defers: in a collection already in use, the first summary
    vectors get their index at once, inside the block."""
    put(store, "/r", "a.py", "f", "x", 1, "team")
    assert len(hnsw_indexes(pg_database)) == 1
    with store.bulk_writes():
        store.replace_file(record("b.py"), [summarized("b.py", "g", 2)])
        assert [name.split("_")[3] for name in hnsw_indexes(pg_database)] == ["code", "summary"]
        assert hnsw_finds(pg_database, "summary", vector(1002), 1) == ["b.py:g"]


def test_a_first_index_cut_short_builds_nothing_and_the_next_run_builds(
    store: PostgresStore, pg_database: str
) -> None:
    """Ctrl-C in a first index stops at once; the next indexing run (its files unchanged, so
    nothing written) finds the graphs missing and builds them."""
    with pytest.raises(KeyboardInterrupt), store.bulk_writes():
        store.replace_file(record("a.py"), [summarized("a.py", "f", 1)])
        raise KeyboardInterrupt
    assert hnsw_indexes(pg_database) == []
    reopened = PostgresStore(pg_database)
    try:
        with reopened.bulk_writes():
            pass
    finally:
        reopened.close()
    assert [name.split("_")[3] for name in hnsw_indexes(pg_database)] == ["code", "summary"]


def test_a_build_cut_short_is_dropped_and_built_again(
    store: PostgresStore, pg_database: str
) -> None:
    """CREATE INDEX CONCURRENTLY that fails (a crash, a lost connection) leaves an invalid
    index that PostgreSQL keeps but never uses; the next builder must not take it as done."""
    store.replace_file(record("a.py"), [entry("a.py", f"f{i}", "x", i) for i in range(20)])
    [name] = hnsw_indexes(pg_database)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass", (name,)
        )
    reopened = PostgresStore(pg_database)
    try:
        reopened.replace_file(record("b.py"), [entry("b.py", "g", "x", 99)])
    finally:
        reopened.close()
    with psycopg.connect(pg_database) as conn:
        valid = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = %s::regclass", (name,)
        ).fetchone()
    assert valid == (True,)
    assert hnsw_finds(pg_database, "code", vector(99), 1) == ["b.py:g"]


def test_the_metadata_migration_keeps_the_hnsw_indexes(pg_database: str) -> None:
    """Version 2 -> 3 rewrites every documented row: the graphs are dropped around the update
    and built again, with the same names."""
    write_postgres_v2(pg_database, {unit.uid: vector(unit.seed) for unit in OLD_UNITS})
    with psycopg.connect(pg_database, autocommit=True) as conn:
        ensure_vector_index(conn, "code", "code", 16)  # as a version 2 store built it
    before = hnsw_indexes(pg_database)
    assert len(before) == 1
    PostgresStore(pg_database).close()
    assert hnsw_indexes(pg_database) == before
    assert hnsw_finds(pg_database, "code", vector(1), 1) == ["u1"]


def test_blocks_open_in_two_threads_build_once_all_rows_are_in(
    store: PostgresStore, pg_database: str
) -> None:
    """Two uploads indexing at once into an empty collection: the graphs are built once, when
    the last open block ends, with every row of both in them."""
    first_done, second_open = threading.Event(), threading.Event()

    def second() -> None:
        with store.bulk_writes():
            second_open.set()
            store.replace_file(record("s1.py"), [entry("s1.py", "s1", "x", 201)])
            first_done.wait(30)
            store.replace_file(record("s2.py"), [entry("s2.py", "s2", "x", 202)])

    worker = threading.Thread(target=second)
    with store.bulk_writes():
        worker.start()
        assert second_open.wait(30)
        store.replace_file(record("p.py"), [entry("p.py", "p", "x", 101)])
    assert hnsw_indexes(pg_database) == []  # the other block is still writing
    first_done.set()
    worker.join(30)
    assert len(hnsw_indexes(pg_database)) == 1
    for seed, uid in ((101, "p.py:p"), (201, "s1.py:s1"), (202, "s2.py:s2")):
        assert hnsw_finds(pg_database, "code", vector(seed), 1) == [uid]


class IndexesSeen(SilentProgress):
    """The HNSW indexes of the database after each file `ragcode index` writes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: list[list[str]] = []

    def file_done(self, path: str, units: int, done: int) -> None:
        self.seen.append(hnsw_indexes(self.url))


def test_ragcode_index_builds_the_graphs_after_its_files(
    tmp_path: Path, settings: Settings, embedder: LocalEmbedder, pg_database: str
) -> None:
    write_sample_project(tmp_path / "project")
    settings = settings.model_copy(update={"store": StoreSettings(url=pg_database)})
    app = build_app(settings, embedder=embedder)
    try:
        progress = IndexesSeen(pg_database)
        report = app.indexer.index(tmp_path / "project", progress)
        assert report.files_changed == len(progress.seen) == 3
        assert all(seen == [] for seen in progress.seen)
        assert [name.split("_")[3:5] for name in hnsw_indexes(pg_database)] == [["code", "512"]]
        assert app.searcher.search("설정 파일을 읽어서 딕셔너리로", top_k=2)
    finally:
        app.close()


def test_vectors_of_another_collection_and_size_are_apart(pg_database: str) -> None:
    code, docs = PostgresStore(pg_database), PostgresStore(pg_database, collection="docs")
    try:
        put(code, "/r", "a.py", "f", "x", 1, "team")
        doc = entry("faq.md", "q", "x", 2)
        doc.vectors["code"] = np.ones(8, dtype=np.float32) / np.sqrt(8)
        docs.replace_file(record("faq.md"), [doc])
        assert uids(docs.vector_search("code", doc.vectors["code"], 5)) == ["faq.md:q"]
        assert uids(code.vector_search("code", vector(1), 5)) == ["a.py:f"]
    finally:
        code.close()
        docs.close()
