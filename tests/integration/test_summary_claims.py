"""The shared summary queue under concurrency, on both backends: claimers racing from threads
never get one unit twice; summary runners share the queue and summarize each unit once, keep
a slow unit's lease alive, lose a unit they stalled on without overwriting its new owner,
and give back what they did not start when stopped or interrupted. Old databases (SQLite
version 3, PostgreSQL version 1) are migrated in place, also when opened by several at once.
The single-claimer contract is in tests/integration/test_store_contract.py."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest

from ragcode.app import App, build_app
from ragcode.config import Settings, StoreSettings
from ragcode.embeddings.local import LocalEmbedder
from ragcode.ingest.summary_runner import ClaimPolicy, SummaryRunner
from ragcode.llm.protocol import ChatMessage, LLMStopped
from ragcode.store import schema
from ragcode.store.pg_schema import SCHEMA_VERSION as PG_VERSION
from ragcode.store.pg_schema import TABLES_V1
from ragcode.store.postgres import PostgresStore
from ragcode.store.protocol import CodeStore, WorkerBeat
from ragcode.store.sqlite_store import SqliteStore
from tests.integration.test_store_contract import claimed, queued
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.integration

BACKENDS = ["sqlite", "postgres"]

Done = TypeVar("Done")  # what a worker thread returns


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], CodeStore]]:
    """Opens independent stores (own connections, like separate processes) on one database."""
    opened: list[CodeStore] = []
    url = request.getfixturevalue("pg_database") if request.param == "postgres" else None

    def opener() -> CodeStore:
        store: CodeStore = (
            PostgresStore(url) if url else SqliteStore(tmp_path / "shared" / "index.sqlite3")
        )
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


@pytest.fixture(params=BACKENDS)
def make_apps(
    request: pytest.FixtureRequest, settings: Settings, embedder: LocalEmbedder
) -> Iterator[Callable[..., App]]:
    """Apps (as separate processes would build them) on one store of the backend."""
    if request.param == "postgres":
        url = request.getfixturevalue("pg_database")
        settings = settings.model_copy(update={"store": StoreSettings(url=url)})
    apps: list[App] = []

    def factory(llm: ScriptedLLM, policy: ClaimPolicy | None = None) -> App:
        app = build_app(settings, llm=llm, embedder=embedder)
        if policy is not None:  # as `ragcode worker --lease-seconds/--batch` builds its runner
            app.summaries = app.summaries.for_queue(app.store, builder_of(app), policy)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.close()


def builder_of(app: App):  # type: ignore[no-untyped-def]
    from ragcode.ingest.entries import EntryBuilder

    return EntryBuilder(app.analyzer, app.embedder)


def write_project(root: Path, files: int = 3, functions: int = 4) -> Path:
    """Distinct, documented functions (none trivial, no two with the same code)."""
    for f in range(files):
        body = "\n\n".join(
            f'def task_{f}_{n}(items):\n    """Step {n} of stage {f}."""\n'
            f"    return [item * {f * 10 + n + 2} for item in items if item > {n}]\n"
            for n in range(functions)
        )
        (root / f"stage_{f}.py").parent.mkdir(parents=True, exist_ok=True)
        (root / f"stage_{f}.py").write_text(body)
    return root


def unit_name(messages: Sequence[ChatMessage]) -> str:
    """The unit a summary prompt is about (`이름: <name>` in SUMMARY_USER)."""
    return messages[-1].content.split("이름: ", 1)[1].split("\n", 1)[0]


def summary_calls(llm: ScriptedLLM) -> Counter[str]:
    return Counter(unit_name(m) for m in llm.calls)


def answer_slowly(delay_s: float) -> Callable[[Sequence[ChatMessage]], str]:
    def answer(messages: Sequence[ChatMessage]) -> str:
        time.sleep(delay_s)
        return "요약: 항목을 걸러 곱한 목록을 돌려준다."

    return answer


def in_thread(work: Callable[[], Done]) -> tuple[threading.Thread, list[Done | BaseException]]:
    out: list[Done | BaseException] = []

    def target() -> None:
        try:
            out.append(work())
        except BaseException as exc:  # checked by the test
            out.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, out


# --- racing claimers ------------------------------------------------------------------------


def test_concurrent_claims_never_hand_out_a_unit_twice(open_store: Callable[[], CodeStore]) -> None:
    units = queued(open_store(), 120)
    stores = [open_store() for _ in range(4)]
    start = threading.Barrier(len(stores), timeout=30)
    taken: dict[int, list[str]] = {i: [] for i in range(len(stores))}

    def claimer(index: int) -> None:
        start.wait()
        while batch := claimed(stores[index], f"w{index}", 3):
            taken[index].extend(batch)
            time.sleep(0.002)  # a worker does something between claims

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    everything = [uid for batch in taken.values() for uid in batch]
    assert len(everything) == len(set(everything)), "a unit was handed out twice"
    assert sorted(everything) == sorted(units)
    assert sum(1 for batch in taken.values() if batch) >= 2  # they really raced


# --- runners sharing the queue --------------------------------------------------------------


def test_two_runners_summarize_each_unit_once(
    make_apps: Callable[..., App], tmp_path: Path
) -> None:
    llm = ScriptedLLM(answer_slowly(0.03))
    one, two = make_apps(llm), make_apps(llm)
    one.indexer.index(write_project(tmp_path / "project"))
    pending = one.store.status().summaries_pending
    first, out_one = in_thread(one.summaries.run)
    second, out_two = in_thread(two.summaries.run)
    first.join(120)
    second.join(120)
    reports = [out_one[0], out_two[0]]
    assert not any(isinstance(report, BaseException) for report in reports), reports
    calls = summary_calls(llm)
    assert len(calls) == pending == 12 and set(calls.values()) == {1}  # each unit once
    written = [report.written for report in reports]  # type: ignore[union-attr]
    assert sum(written) == pending and min(written) > 0  # both took part
    assert one.store.status().summaries_done == pending
    assert one.store.queue_status().workers == []  # both said they stopped


def test_a_slow_unit_keeps_its_lease_while_the_llm_works(
    make_apps: Callable[..., App], tmp_path: Path
) -> None:
    llm = ScriptedLLM(answer_slowly(1.2))
    app = make_apps(llm, ClaimPolicy(lease_s=0.4))
    app.indexer.index(write_project(tmp_path / "project", files=1, functions=1))
    runner, out = in_thread(app.summaries.run)
    seen: list[list[str]] = []
    for _ in range(4):  # the lease is renewed every third of it: nobody else gets the unit
        time.sleep(0.3)
        seen.append(claimed(app.store, "other", 10))
    runner.join(60)
    assert seen == [[], [], [], []]
    assert out[0].written == 1  # type: ignore[union-attr]
    assert sum(summary_calls(llm).values()) == 1


def test_a_stalled_runner_loses_its_unit_and_its_late_result_is_refused(
    make_apps: Callable[..., App], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    at_llm = threading.Event()

    def stalled(messages: Sequence[ChatMessage]) -> str:
        at_llm.set()
        release.wait(30)
        return "요약: 늦게 도착한 요약."

    slow = make_apps(ScriptedLLM(stalled), ClaimPolicy(lease_s=0.3))
    # Cut off from the database's renewals (a long GC pause, a network partition).
    monkeypatch.setattr(slow.store, "renew_leases", lambda *args: set())
    slow.indexer.index(write_project(tmp_path / "project", files=1, functions=1))
    [uid] = claimed(slow.store, "probe", 1)
    slow.store.release_leases("probe")
    runner, out = in_thread(slow.summaries.run)
    assert at_llm.wait(30)
    time.sleep(0.5)  # the lease runs out
    fresh = make_apps(ScriptedLLM(lambda _m: "요약: 제때 쓴 요약."))
    assert fresh.summaries.run().written == 1
    release.set()
    runner.join(30)
    report = out[0]
    assert (report.written, report.lost) == (0, 1)  # type: ignore[union-attr]
    stored = fresh.store.get_units([uid])[uid].summary
    assert stored is not None and stored.startswith("제때 쓴 요약")


def test_stop_finishes_the_unit_at_hand_and_gives_back_the_rest(
    make_apps: Callable[..., App], tmp_path: Path
) -> None:
    stop = threading.Event()

    def answer(messages: Sequence[ChatMessage]) -> str:
        stop.set()  # SIGTERM arrives while the first unit is at the LLM
        return "요약: 첫 단위."

    app = make_apps(ScriptedLLM(answer))
    app.indexer.index(write_project(tmp_path / "project", files=1, functions=5))
    report = app.summaries.run(stop=stop)
    assert (report.written, report.claimed) == (1, 2)  # one claim of two units
    assert len(claimed(app.store, "next", 10)) == 4  # the unstarted one came back at once
    assert app.store.queue_status().workers == []


def test_an_interrupt_keeps_what_was_done_and_gives_back_the_rest(
    make_apps: Callable[..., App], tmp_path: Path
) -> None:
    answers = iter(["요약: 첫 단위."])

    def answer(messages: Sequence[ChatMessage]) -> str:
        try:
            return next(answers)
        except StopIteration:
            raise KeyboardInterrupt from None  # Ctrl+C during the second unit

    app = make_apps(ScriptedLLM(answer))
    app.indexer.index(write_project(tmp_path / "project", files=1, functions=4))
    with pytest.raises(KeyboardInterrupt):
        app.summaries.run()
    assert app.store.status().summaries_done == 1
    assert len(claimed(app.store, "next", 10)) == 3


# --- migrations -----------------------------------------------------------------------------

# What `ragcode` wrote at schema version 3 (before summary leases).
V3_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '3');
CREATE TABLE files (collection TEXT NOT NULL, root TEXT NOT NULL, path TEXT NOT NULL,
    file_hash TEXT NOT NULL, language TEXT NOT NULL, indexed_at REAL NOT NULL,
    PRIMARY KEY (collection, root, path));
CREATE TABLE skipped (collection TEXT NOT NULL, root TEXT NOT NULL, path TEXT NOT NULL,
    reason TEXT NOT NULL, PRIMARY KEY (collection, root, path));
CREATE TABLE units (id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, collection TEXT NOT NULL,
    root TEXT NOT NULL, path TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
    language TEXT NOT NULL, start_line INTEGER NOT NULL, end_line INTEGER NOT NULL,
    code TEXT NOT NULL, docstring TEXT, code_hash TEXT NOT NULL, summary TEXT,
    summary_state TEXT NOT NULL, vec_code BLOB, vec_summary BLOB,
    scope TEXT NOT NULL DEFAULT 'team');
CREATE INDEX units_by_file ON units (collection, root, path);
CREATE INDEX units_by_state ON units (collection, summary_state);
CREATE INDEX units_by_root ON units (collection, root);
CREATE TABLE summary_cache (code_hash TEXT PRIMARY KEY, summary TEXT NOT NULL,
    model TEXT NOT NULL, created_at REAL NOT NULL);
INSERT INTO units (uid, collection, root, path, name, kind, language, start_line, end_line,
    code, code_hash, summary_state) VALUES
    ('u1', 'code', '/r', 'a.py', 'one', 'function', 'python', 1, 2, 'def one(): pass', 'h1',
     'pending'),
    ('u2', 'code', '/r', 'a.py', 'two', 'function', 'python', 3, 4, 'def two(): pass', 'h2',
     'failed'),
    ('u3', 'code', '/r', 'a.py', 'three', 'function', 'python', 5, 6, 'def three(): pass', 'h3',
     'done');
"""


def write_v3_index(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V3_SCHEMA)
    for field in ("summary", "doc", "code", "identifiers"):
        conn.execute(
            f"CREATE VIRTUAL TABLE fts_{field} USING fts5(tokens, collection UNINDEXED,"
            " scope UNINDEXED, tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\")"
        )
    conn.commit()
    conn.close()


def test_a_version_3_index_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    write_v3_index(path)
    store = SqliteStore(path)
    try:
        version = store._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")
        assert int(version.fetchone()[0]) == schema.SCHEMA_VERSION == 7
        queue = store.queue_status()
        assert (queue.pending, queue.retrying, queue.ready) == (1, 1, 2)  # failed: retried
        assert claimed(store, "w", 10) == ["u1", "u2"]
        store.worker_heartbeat(WorkerBeat("w", "host", 1, time.time(), 60.0, 0, 0))
        assert [w.id for w in store.queue_status().workers] == ["w"]
        assert store.status().summaries_done == 1  # nothing else changed
    finally:
        store.close()


def test_two_processes_opening_a_version_3_index_at_once_both_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both read version 3 before either migrates; the second must see the first's work."""
    path = tmp_path / "index.sqlite3"
    write_v3_index(path)
    migrate = schema._migrate_3_to_4
    both_read_version_3 = threading.Barrier(2, timeout=10)

    def late_migration(connection: sqlite3.Connection) -> None:
        both_read_version_3.wait()
        migrate(connection)

    monkeypatch.setattr(schema, "_migrate_3_to_4", late_migration)
    threads = [in_thread(lambda: SqliteStore(path).close()) for _ in range(2)]
    for thread, _ in threads:
        thread.join(30)
    assert [out for _, out in threads] == [[None], [None]]
    assert claimed(SqliteStore(path), "w", 10) == ["u1", "u2"]


def write_v1_database(url: str) -> None:
    """A PostgreSQL store as ragcode wrote it at schema version 1, with two units."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(TABLES_V1.encode())
        conn.execute("CREATE TABLE store_meta (key text PRIMARY KEY, value text)")
        conn.execute("INSERT INTO store_meta VALUES ('schema_version', '1')")
        conn.execute(
            "INSERT INTO store_units (uid, collection, root, path, name, kind, language,"
            " start_line, end_line, code, code_hash, summary_state) VALUES"
            " ('u1', 'code', '/r', 'a.py', 'one', 'function', 'python', 1, 2, 'x', 'h1',"
            " 'pending'),"
            " ('u2', 'code', '/r', 'a.py', 'two', 'function', 'python', 3, 4, 'y', 'h2',"
            " 'failed')"
        )


def test_a_version_1_postgres_database_is_migrated_in_place(pg_database: str) -> None:
    write_v1_database(pg_database)
    store = PostgresStore(pg_database)
    try:
        assert claimed(store, "w", 10) == ["u1", "u2"]
        store.worker_heartbeat(WorkerBeat("w", "host", 1, time.time(), 60.0, 0, 0))
        queue = store.queue_status()
        assert (queue.leased, [w.id for w in queue.workers]) == (2, ["w"])
    finally:
        store.close()
    with psycopg.connect(pg_database) as conn:
        row = conn.execute("SELECT value FROM store_meta WHERE key = 'schema_version'").fetchone()
    assert row is not None and int(row[0]) == PG_VERSION == 5


def test_replicas_opening_a_version_1_database_at_once_all_succeed(pg_database: str) -> None:
    write_v1_database(pg_database)
    threads = [in_thread(lambda: PostgresStore(pg_database).close()) for _ in range(3)]
    for thread, _ in threads:
        thread.join(60)
    assert [out for _, out in threads] == [[None]] * 3
    store = PostgresStore(pg_database)
    try:
        assert claimed(store, "w", 10) == ["u1", "u2"]
    finally:
        store.close()


def test_a_runner_made_for_another_queue_shares_the_llm(
    make_apps: Callable[..., App], tmp_path: Path
) -> None:
    """`ragcode worker --collection/--lease-seconds` builds its runner this way."""
    llm = ScriptedLLM(answer_slowly(0))
    app = make_apps(llm)
    runner = app.summaries.for_queue(app.store, builder_of(app), ClaimPolicy(lease_s=5, batch=1))
    assert isinstance(runner, SummaryRunner) and runner.identity.id != app.summaries.identity.id
    app.indexer.index(write_project(tmp_path / "project", files=1, functions=3))
    assert runner.run(resident=True).written == 3
    assert [w.id for w in app.store.queue_status().workers] == [runner.identity.id]
    runner.retire()
    assert app.store.queue_status().workers == []


def test_a_stopped_generation_leaves_the_unit_pending_not_failed(
    make_apps: Callable[..., App], tmp_path: Path
) -> None:
    """The LLM stopped under a unit (the server shutting down): the unit was not summarized,
    but it did not fail either; no attempt is used up and the next run takes it."""

    def answer(messages: Sequence[ChatMessage]) -> str:
        if unit_name(messages) == "task_0_1":
            raise LLMStopped("종료 중")
        return "요약: 항목을 걸러 곱한 목록을 돌려준다."

    app = make_apps(ScriptedLLM(answer))
    app.indexer.index(write_project(tmp_path / "project", files=1, functions=4))
    report = app.summaries.run()
    status = app.store.status()
    assert (report.written, report.failed) == (3, 0)
    assert (status.summaries_done, status.summaries_pending, status.summaries_failed) == (3, 1, 0)
    left = app.store.claim_summaries("next", 10, 60.0)  # its lease was given back at once
    assert [ref.record.title for ref in left] == ["task_0_1"]
