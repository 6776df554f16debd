"""The upload registry contract, run against both backends: the embedded SQLite file and a
real PostgreSQL 18 (tests/pg_server.py). Owner-only and shared visibility, state updates, and
the job queue: two adapters on one database stand for two replicas claiming jobs at once, and
a job whose lease ran out (its replica crashed) is taken over by the other."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ragcode.domain import TEAM_SCOPE, user_scope
from ragcode.uploads.protocol import Document, UploadRegistry
from ragcode.uploads.sqlite import SqliteRegistry

pytestmark = pytest.mark.integration

BACKENDS = ["sqlite", "postgres"]
ALICE, BOB = 1, 2

Opener = Callable[[], UploadRegistry]


@pytest.fixture(params=BACKENDS)
def open_registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens adapters on one fresh database of the backend; closes them after."""
    opened: list[UploadRegistry] = []
    if request.param == "sqlite":

        def opener() -> UploadRegistry:
            return SqliteRegistry(tmp_path / "web.sqlite3")

    else:
        from ragcode.uploads.postgres import PostgresRegistry

        url = request.getfixturevalue("pg_database")

        def opener() -> UploadRegistry:
            return PostgresRegistry(url)

    def tracked() -> UploadRegistry:
        registry = opener()
        opened.append(registry)
        return registry

    yield tracked
    for registry in opened:
        registry.close()


@pytest.fixture
def registry(open_registry: Opener) -> UploadRegistry:
    return open_registry()


def add(registry: UploadRegistry, doc_id: str, user: int = ALICE) -> Document:
    return registry.add(doc_id, user, f"{doc_id}.zip", "code", Path(f"/data/uploads/{doc_id}"))


def ids(docs: list[Document]) -> list[str]:
    return [doc.id for doc in docs]


# --- what was uploaded, by whom -----------------------------------------------------------


def test_add_then_get_find_and_list(registry: UploadRegistry) -> None:
    before = time.time() - 5
    doc = registry.add("d1", ALICE, "설명서.pdf", "document", Path("/data/uploads/1/d1"))
    assert (doc.id, doc.user_id, doc.name, doc.kind) == ("d1", ALICE, "설명서.pdf", "document")
    assert (doc.path, doc.state, doc.units, doc.error) == (
        Path("/data/uploads/1/d1"),
        "queued",
        0,
        None,
    )
    assert not doc.shared and doc.scope == user_scope(ALICE)
    assert before < doc.created_at < time.time() + 5
    assert registry.get(ALICE, "d1") == doc
    assert registry.find("d1") == doc
    assert registry.exists("d1") and not registry.exists("nope")
    assert registry.get(ALICE, "nope") is None and registry.find("nope") is None


def test_get_is_for_the_owner_only(registry: UploadRegistry) -> None:
    add(registry, "d1", ALICE)
    assert registry.get(BOB, "d1") is None
    assert registry.find("d1") is not None  # callers that check rights themselves
    registry.set_shared("d1", True)
    assert registry.get(BOB, "d1") is None  # shared is visible, still not Bob's


def test_lists_oldest_first_and_visibility_of_shared_uploads(registry: UploadRegistry) -> None:
    for doc_id, user in [("a1", ALICE), ("b1", BOB), ("a2", ALICE), ("b2", BOB)]:
        add(registry, doc_id, user)
    assert ids(registry.list_for(ALICE)) == ["a1", "a2"]
    assert ids(registry.list_visible(ALICE)) == ["a1", "a2"]
    assert ids(registry.all()) == ["a1", "b1", "a2", "b2"]
    registry.set_shared("b1", True)
    assert ids(registry.list_visible(ALICE)) == ["a1", "b1", "a2"]
    assert ids(registry.list_for(ALICE)) == ["a1", "a2"]  # shared is not owned
    shared = registry.find("b1")
    assert shared is not None and shared.shared and shared.scope == TEAM_SCOPE
    registry.set_shared("b1", False)
    assert ids(registry.list_visible(ALICE)) == ["a1", "a2"]


def test_update_states_units_and_errors(registry: UploadRegistry) -> None:
    for doc_id in ("d1", "d2", "d3"):
        add(registry, doc_id)
    add(registry, "b1", BOB)
    assert ids(registry.unfinished()) == ["d1", "d2", "d3", "b1"]
    registry.update("d1", state="indexing", units=12)
    registry.update("d1", state="summarizing")  # units kept when not given
    registry.update("d2", state="ready", units=3)
    registry.update("d3", state="failed", error="압축을 풀 수 없습니다")
    d1, d2, d3 = (registry.find(d) for d in ("d1", "d2", "d3"))
    assert d1 is not None and (d1.state, d1.units, d1.error) == ("summarizing", 12, None)
    assert d2 is not None and (d2.state, d2.units) == ("ready", 3)
    assert d3 is not None and (d3.state, d3.error) == ("failed", "압축을 풀 수 없습니다")
    assert ids(registry.unfinished()) == ["d1", "b1"]
    assert (registry.waiting_count(ALICE), registry.waiting_count(BOB)) == (0, 1)  # d1 indexed
    registry.update("d3", state="queued")  # a retry clears the error
    d3 = registry.find("d3")
    assert d3 is not None and d3.error is None and registry.waiting_count(ALICE) == 1


def test_delete(registry: UploadRegistry) -> None:
    add(registry, "d1")
    add(registry, "d2")
    registry.delete("d1")
    registry.delete("d1")  # twice is harmless
    assert not registry.exists("d1") and registry.find("d1") is None
    assert ids(registry.all()) == ["d2"]


def test_another_replica_sees_every_change(open_registry: Opener) -> None:
    one, other = open_registry(), open_registry()
    add(one, "d1")
    other.update("d1", state="ready", units=4)
    other.set_shared("d1", True)
    doc = one.get(ALICE, "d1")
    assert doc is not None and (doc.state, doc.units, doc.shared) == ("ready", 4, True)
    other.delete("d1")
    assert one.find("d1") is None


def test_a_nul_in_a_name_or_id_does_not_break_the_registry(registry: UploadRegistry) -> None:
    doc = registry.add("d1", ALICE, "a\x00b.txt", "document", Path("/u/d1"))
    assert registry.find("d1") == doc and doc.name in {"a\x00b.txt", "a\ufffdb.txt"}
    assert registry.find("d\x001") is None and not registry.exists("\x00")
    registry.delete("\x00")


# --- the job queue ----------------------------------------------------------------------


def test_claim_takes_the_oldest_unfinished_job_once(registry: UploadRegistry) -> None:
    for doc_id in ("d1", "d2", "d3"):
        add(registry, doc_id)
    registry.update("d1", state="ready")
    first = registry.claim("replica-a", 60)
    assert first is not None and first.id == "d2"
    second = registry.claim("replica-a", 60)
    assert second is not None and second.id == "d3"
    assert registry.claim("replica-b", 60) is None  # both leased, d1 is finished


def test_indexing_never_claims_an_upload_being_summarized(open_registry: Opener) -> None:
    """An indexed code upload waits in `summarizing` for the summary stage; the ingest loop
    must not take it again because it is unfinished (issue 13)."""
    one, other = open_registry(), open_registry()
    for doc_id in ("s1", "s2", "q1", "r1"):
        add(one, doc_id)
    one.update("s1", state="summarizing", units=5)
    one.update("s2", state="summarizing", units=2)
    one.update("r1", state="ready")
    taken = one.claim("replica-a", 60)
    assert taken is not None and taken.id == "q1"
    assert other.claim("replica-b", 60) is None  # s1 and s2 are for the summary stage
    first = one.claim_summarizing("replica-a:summaries", 60)
    assert first is not None and (first.id, first.state, first.units) == ("s1", "summarizing", 5)
    second = other.claim_summarizing("replica-b:summaries", 60)
    assert second is not None and second.id == "s2"  # s1 is leased
    assert other.claim_summarizing("replica-b:summaries", 60) is None
    assert one.renew("s1", "replica-a:summaries", 60)
    one.update("s1", state="ready")
    one.release("s1", "replica-a:summaries")
    assert other.claim_summarizing("replica-b:summaries", 60) is None  # ready is final
    assert one.waiting_count(ALICE) == 1  # q1 (s2 is searchable: it no longer holds a place)


def test_a_summarizing_upload_of_a_crashed_replica_is_taken_over(
    open_registry: Opener,
) -> None:
    crashed, survivor = open_registry(), open_registry()
    add(crashed, "s1")
    crashed.update("s1", state="summarizing")
    assert crashed.claim_summarizing("replica-a:summaries", 1.0) is not None
    assert survivor.claim_summarizing("replica-b:summaries", 60) is None  # the lease is live
    time.sleep(1.2)
    again = survivor.claim_summarizing("replica-b:summaries", 60)
    assert again is not None and again.id == "s1"
    assert not crashed.renew("s1", "replica-a:summaries", 60)
    assert survivor.claim("replica-b", 60) is None  # never indexed again meanwhile


def test_concurrent_claims_from_two_replicas_never_share_a_job(open_registry: Opener) -> None:
    replicas = [open_registry(), open_registry()]
    expected = [f"d{n:02d}" for n in range(24)]
    for doc_id in expected:
        add(replicas[0], doc_id)
    barrier = threading.Barrier(6)
    claimed: list[tuple[str, str]] = []
    errors: list[Exception] = []

    def worker(n: int) -> None:
        owner = f"replica-{n % 2}/worker-{n}"
        barrier.wait()
        try:
            while (doc := replicas[n % 2].claim(owner, 60)) is not None:
                claimed.append((doc.id, owner))
                time.sleep(0.01)  # works on it: the other workers claim meanwhile
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(doc_id for doc_id, _ in claimed) == expected  # each exactly once
    assert len({owner for _, owner in claimed}) > 1
    for doc_id, owner in claimed:  # each lease is its claimer's
        assert replicas[1].renew(doc_id, owner, 60)


def test_an_expired_lease_is_taken_over(open_registry: Opener) -> None:
    crashed, survivor = open_registry(), open_registry()
    add(crashed, "d1")
    taken = crashed.claim("replica-a", 1.0)
    assert taken is not None and taken.id == "d1"
    assert survivor.claim("replica-b", 60) is None  # the lease is live
    time.sleep(1.2)
    again = survivor.claim("replica-b", 60)
    assert again is not None and again.id == "d1"
    assert not crashed.renew("d1", "replica-a", 60)  # the old owner lost it
    crashed.release("d1", "replica-a")  # and cannot give it away
    assert crashed.claim("replica-a", 60) is None
    assert survivor.renew("d1", "replica-b", 60)


def test_renew_keeps_a_lease_alive(open_registry: Opener) -> None:
    one, other = open_registry(), open_registry()
    add(one, "d1")
    assert one.claim("replica-a", 1.0) is not None
    for _ in range(3):
        time.sleep(0.4)
        assert one.renew("d1", "replica-a", 1.0)
    assert other.claim("replica-b", 60) is None  # 1.2 s after a 1 s lease: still held


def test_release_frees_the_job_for_anyone(open_registry: Opener) -> None:
    one, other = open_registry(), open_registry()
    add(one, "d1")
    assert one.claim("replica-a", 60) is not None
    one.release("d1", "replica-a")
    assert not one.renew("d1", "replica-a", 60)
    again = other.claim("replica-b", 60)
    assert again is not None and again.id == "d1"


def test_a_deleted_job_cannot_be_renewed(registry: UploadRegistry) -> None:
    add(registry, "d1")
    assert registry.claim("replica-a", 60) is not None
    registry.delete("d1")
    assert not registry.renew("d1", "replica-a", 60)
    assert registry.claim("replica-a", 60) is None


def test_exclusive_holds_one_upload_against_other_replicas(
    open_registry: Opener, request: pytest.FixtureRequest
) -> None:
    """Taking an upload back on one replica must wait for another still indexing it in the
    old scope; other uploads are not held up. (The embedded registry serves one process.)"""
    first = open_registry()
    postgres = "postgres" in request.node.callspec.id
    second = open_registry() if postgres else first
    add(first, "held")
    add(first, "other")
    entered = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def holder() -> None:
        with first.exclusive("held"):
            order.append("first in")
            entered.set()
            release.wait(10)
            order.append("first out")

    thread = threading.Thread(target=holder)
    thread.start()
    assert entered.wait(10)
    with second.exclusive("other"):  # another upload: not held up
        order.append("other")

    def waiter() -> None:
        with second.exclusive("held"):
            order.append("second in")

    blocked = threading.Thread(target=waiter)
    blocked.start()
    time.sleep(0.5)
    assert "second in" not in order
    release.set()
    thread.join(10)
    blocked.join(10)
    assert order == ["first in", "other", "first out", "second in"]
