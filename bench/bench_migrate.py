"""Throughput of `ragcode migrate`: a synthetic embedded data directory copied into PostgreSQL.

Run: ``python bench/bench_migrate.py`` (``--units 10000`` by default).

The index is ``bench_search.py``'s generator (Zipf-distributed Korean/English tokens in four
fields, random unit vectors of dim 512 for code and, for the ~80 % summarized units, summary;
~200 units per file), every second file private to one user, written into a real SQLite store
with its embedding model recorded. The web database gets ``--users`` accounts (argon2),
``--turns`` history turns and ``--uploads`` registry rows. Then ``ragcode migrate`` (the same
code as the CLI, in-process) copies everything into a fresh database of a real PostgreSQL 18 +
pgvector (tests/pg_server.py) with fsync on, as bench_store_pg.py runs it; its own output,
with the time of each component, is printed as it is. For comparison the same units are then
written into fresh databases one file at a time through ``PostgresStore.replace_file`` (what
``ragcode index`` on PostgreSQL does, without parsing and embedding): once with each HNSW graph
kept up row by row, once inside ``bulk_writes()`` as ``ragcode index`` writes a first index
(rows first, each graph built once at the end).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.pg_server
sys.path.insert(0, str(ROOT / "bench"))  # for bench_search's generator

from tests.pg_server import running_server  # noqa: E402

from bench_search import DIM, EntryFactory, build_vocabulary  # noqa: E402
from console import load_note, out  # noqa: E402
from ragcode.accounts.sqlite import SqliteAccounts  # noqa: E402
from ragcode.app import INDEX_FILE, WEB_DB  # noqa: E402
from ragcode.config import Settings  # noqa: E402
from ragcode.domain import user_scope  # noqa: E402
from ragcode.embeddings.local import MODEL_NAME, LocalEmbedder  # noqa: E402
from ragcode.history.protocol import NewTurn  # noqa: E402
from ragcode.history.sqlite import SqliteHistory  # noqa: E402
from ragcode.migrate import command  # noqa: E402
from ragcode.store.postgres import PostgresStore  # noqa: E402
from ragcode.store.protocol import FileRecord, IndexEntry  # noqa: E402
from ragcode.store.sqlite_store import SqliteStore  # noqa: E402
from ragcode.text.analyzer import TextAnalyzer  # noqa: E402
from ragcode.uploads.sqlite import SqliteRegistry  # noqa: E402

PG_SETTINGS = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
               "shared_buffers": "256MB", "maintenance_work_mem": "256MB"}  # fmt: skip
OWNER = 1  # the user whose private uploads half of the files are
Files = list[tuple[FileRecord, list[IndexEntry]]]


def fill_index(path: Path, units: int, batch: int, seed: int) -> Files:
    """The synthetic index; returns its files (for the replace_file comparison)."""
    # The vocabulary's word vectors come from the real encoder (bench_search.py).
    encoder = LocalEmbedder(threads=2)
    factory = EntryFactory(
        build_vocabulary(TextAnalyzer(), encoder, np.random.default_rng(seed)), seed
    )
    store = SqliteStore(path)
    files: Files = []
    try:
        store.claim_embedder(MODEL_NAME, DIM)
        for have in range(0, units, batch):
            record, entries = factory.file(have // batch, have, min(batch, units - have))
            if (have // batch) % 2:
                record = dataclasses.replace(record, scope=user_scope(OWNER))
            store.replace_file(record, entries)
            files.append((record, list(entries)))
    finally:
        store.close()
    return files


def fill_web(path: Path, users: int, turns: int, uploads: int) -> None:
    accounts, history, registry = SqliteAccounts(path), SqliteHistory(path), SqliteRegistry(path)
    try:
        people = [accounts.create(f"user{i:03d}", f"bench passphrase {i}") for i in range(users)]
        for person in people:
            accounts.open_session(person, 3600)
        for i in range(turns):
            owner = people[i % users].id
            references: list[dict[str, object]] = [{"path": "a.py", "name": "f", "score": 0.5}]
            history.add(
                NewTurn(owner, f"r{i}", "code", f"질문 {i} " * 5, f"답 {i} " * 40, references)
            )
        for i in range(uploads):
            owner, doc_id = people[i % users].id, f"upload{i:05d}"
            folder = path.parent / "uploads" / str(owner) / doc_id / "files"
            registry.add(doc_id, owner, f"file{i}.py", "code", folder)
    finally:
        for adapter in (accounts, history, registry):
            adapter.close()


def replace_file_baseline(url: str, files: Files, bulk: bool) -> float:
    store = PostgresStore(url)
    try:
        store.claim_embedder(MODEL_NAME, DIM)
        started = time.perf_counter()
        with store.bulk_writes() if bulk else contextlib.nullcontext():
            for record, entries in files:
                store.replace_file(record, entries)
        return time.perf_counter() - started
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=200, help="units per file")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--turns", type=int, default=10_000)
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    out(f"start: {load_note()}")
    with tempfile.TemporaryDirectory() as tmp, running_server(PG_SETTINGS) as server:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        started = time.perf_counter()
        files = fill_index(data_dir / INDEX_FILE, args.units, args.batch, args.seed)
        fill_web(data_dir / WEB_DB, args.users, args.turns, args.uploads)
        out(f"embedded data directory filled in {time.perf_counter() - started:.1f} s")
        target = server.create_database()
        started = time.perf_counter()
        command.run(Settings(data_dir=data_dir), server.url(target))
        total = time.perf_counter() - started
        out(f"\nmigrate: {args.units:,} units, {args.turns:,} turns, {args.users} users, "
            f"{args.uploads} uploads in {total:.1f} s wall (opening and counting included): "
            f"{args.units / total:,.0f} units/s overall")  # fmt: skip
        if not args.no_baseline:
            for bulk, how in ((False, "graphs kept up row by row"),
                              (True, "inside bulk_writes(), graphs built at the end")):  # fmt: skip
                seconds = replace_file_baseline(server.url(server.create_database()), files, bulk)
                out(f"replace_file, one file per transaction, {how}: {seconds:.1f} s "
                    f"({args.units / seconds:,.0f} units/s)")  # fmt: skip
    out(f"end: {load_note()}")


if __name__ == "__main__":
    main()
