"""The attempt-limit contract, run against both counters: the in-memory one of a single
process and the PostgreSQL one every replica shares (a real PostgreSQL 18, tests/pg_server.py).
Reserve before the work, all keys or none, a sliding window, release of the latest attempt,
exact limits under concurrency (threads, and for PostgreSQL two adapters: two replicas), and
storage that stays bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import psycopg
import pytest

from ragcode.limits.memory import AttemptLimiter
from ragcode.limits.protocol import AttemptCounter

pytestmark = pytest.mark.integration

BACKENDS = ["memory", "postgres"]


@dataclass
class Backend:
    """Opens counters; `open(name, window)` twice with the same arguments gives two handles on
    one counter (two replicas on PostgreSQL; one shared object in memory, which is all a
    single process has). `stored(name)` is what the counter keeps: rows, or keys in memory."""

    open: Callable[[str, float], AttemptCounter]
    stored: Callable[[str], int]
    closers: list[Callable[[], None]] = field(default_factory=list)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        limiters: dict[str, AttemptLimiter] = {}

        def open_memory(name: str, window_s: float) -> AttemptCounter:
            return limiters.setdefault(name, AttemptLimiter(window_s))

        yield Backend(open_memory, lambda name: len(limiters[name]))
        return
    from ragcode.limits.postgres import PostgresAttempts

    url = request.getfixturevalue("pg_database")
    made = Backend(lambda name, window_s: opened(PostgresAttempts(url, name, window_s)), rows(url))

    def opened(counter: PostgresAttempts) -> AttemptCounter:
        made.closers.append(counter.close)
        return counter

    yield made
    for close in made.closers:
        close()


def rows(url: str) -> Callable[[str], int]:
    def count(name: str) -> int:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM limit_attempts WHERE counter = %s", (name,)
            ).fetchone()
        return int(row[0]) if row else -1

    return count


def reserve_at_once(counters: list[AttemptCounter], limits: dict[str, int]) -> list[float]:
    """One reservation per counter, all started together; their results."""
    barrier = threading.Barrier(len(counters))
    results: list[float] = []
    errors: list[Exception] = []

    def run(counter: AttemptCounter) -> None:
        barrier.wait()
        try:
            results.append(counter.reserve(limits))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in counters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_reserve_counts_until_the_limit_then_says_how_long_to_wait(backend: Backend) -> None:
    counter = backend.open("login", 60)
    assert [counter.reserve({"user:alice": 3}) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = counter.reserve({"user:alice": 3})
    assert 55 < wait <= 60
    assert counter.reserve({"user:bob": 3}) == 0.0  # each key has its own count
    assert counter.reserve({"user:alice": 4}) == 0.0  # the limit is the caller's
    assert counter.reserve({}) == 0.0


def test_all_keys_or_none(backend: Backend) -> None:
    counter = backend.open("login", 60)
    assert counter.reserve({"pair": 1, "client": 5}) == 0.0
    assert counter.reserve({"pair": 1, "client": 5}) > 0  # the pair is at its limit ...
    # ... so the client was not counted that time: 4 more fit, not 3.
    assert [counter.reserve({"client": 5}) for _ in range(4)] == [0.0] * 4
    assert counter.reserve({"client": 5}) > 0


def test_the_window_slides(backend: Backend) -> None:
    counter = backend.open("login", 1.0)
    assert counter.reserve({"k": 2}) == 0.0
    assert counter.reserve({"k": 2}) == 0.0
    wait = counter.reserve({"k": 2})
    assert 0 < wait <= 1.0
    time.sleep(wait + 0.05)
    assert counter.reserve({"k": 2}) == 0.0


def test_release_takes_back_the_latest_attempt(backend: Backend) -> None:
    counter = backend.open("login", 3.0)
    assert counter.reserve({"k": 5}) == 0.0
    time.sleep(1.0)
    assert counter.reserve({"k": 5}) == 0.0
    counter.release(["k"])
    # The first attempt is left: it leaves the window ~2 s from now. Had the first been
    # taken back, the second would keep the key at limit 1 for ~3 s.
    wait = counter.reserve({"k": 1})
    assert 0 < wait < 2.5
    counter.release(["k"])  # nothing was counted by the refused call: the first goes
    counter.release(["k", "unknown"])  # nothing left: harmless
    assert counter.reserve({"k": 1}) == 0.0


def test_a_successful_login_gives_its_attempt_back(backend: Backend) -> None:
    counter = backend.open("login", 60)
    for _ in range(10):  # allowed attempts never add up
        assert counter.reserve({"pair": 2, "client": 2}) == 0.0
        counter.release(["pair", "client"])
    assert counter.reserve({"pair": 2, "client": 2}) == 0.0


def test_exact_limit_under_concurrency(backend: Backend) -> None:
    """Sixteen simultaneous attempts, from threads of two replicas, at limit 5: exactly 5 pass.
    Three rounds on fresh keys, with overlapping key sets as the login routes use."""
    replicas = [backend.open("login", 60), backend.open("login", 60)]
    for round_ in range(3):
        limits = {f"pair:{round_}": 5, f"user:{round_}": 50, "client:shared": 1000}
        results = reserve_at_once([replicas[i % 2] for i in range(16)], limits)
        assert sum(wait == 0.0 for wait in results) == 5
        assert all(wait > 0 for wait in results if wait != 0.0)


def test_replicas_count_together_and_release_for_each_other(backend: Backend) -> None:
    one, other = backend.open("login", 60), backend.open("login", 60)
    assert one.reserve({"k": 2}) == 0.0
    assert other.reserve({"k": 2}) == 0.0
    assert one.reserve({"k": 2}) > 0
    other.release(["k"])
    assert one.reserve({"k": 2}) == 0.0


def test_counters_of_different_names_are_separate(backend: Backend) -> None:
    login, signup = backend.open("login", 60), backend.open("signup", 60)
    assert login.reserve({"client:1": 1}) == 0.0
    assert login.reserve({"client:1": 1}) > 0
    assert signup.reserve({"client:1": 1}) == 0.0
    signup.release(["client:1"])
    assert login.reserve({"client:1": 1}) > 0  # the signup release did not touch login


def test_keys_hold_any_text(backend: Backend) -> None:
    counter = backend.open("login", 60)
    odd = ["pair:a\x00b\n127.0.0.1", "user:" + "가" * 5000, "user:\ud800"]
    for key in odd:
        assert counter.reserve({key: 1}) == 0.0
        assert counter.reserve({key: 1}) > 0
    counter.release(odd)
    assert all(counter.reserve({key: 1}) == 0.0 for key in odd)


def test_storage_stays_bounded(backend: Backend) -> None:
    """Made-up keys (a flood of user names) are forgotten once their window passed."""
    counter = backend.open("login", 1.0)
    for n in range(50):
        assert counter.reserve({f"user:{n}": 5}) == 0.0
    assert backend.stored("login") == 50
    time.sleep(1.1)
    assert counter.reserve({"user:new": 5}) == 0.0
    assert backend.stored("login") == 1
