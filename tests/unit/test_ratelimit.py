"""The attempt limiter: atomic reservations, refunds, bounded memory."""

from __future__ import annotations

import threading
import tracemalloc

import pytest

from ragcode.config import ServerSettings
from ragcode.limits.memory import MAX_KEYS, AttemptLimiter
from ragcode.server.ratelimit import AuthLimits

pytestmark = pytest.mark.unit


def test_parallel_reservations_never_exceed_the_limit() -> None:
    limiter = AttemptLimiter(60.0)
    start = threading.Barrier(40)
    waits: list[float] = []
    lock = threading.Lock()

    def attempt() -> None:
        start.wait()
        wait = limiter.reserve({"pair:alice\n10.0.0.1": 5, "user:alice": 50})
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for wait in waits if wait == 0) == 5
    assert all(0 < wait <= 60.0 for wait in waits if wait != 0)


def test_a_blocked_attempt_counts_nowhere_and_a_release_refunds() -> None:
    now = [0.0]
    limiter = AttemptLimiter(60.0, clock=lambda: now[0])
    assert limiter.reserve({"pair": 1, "user": 3}) == 0
    assert limiter.reserve({"pair": 1, "user": 3}) == pytest.approx(60.0)
    # The refused attempt above was not counted on "user": two more fit.
    assert limiter.reserve({"user": 3}) == 0 and limiter.reserve({"user": 3}) == 0
    assert limiter.reserve({"user": 3}) > 0
    limiter.release(["pair", "user"])  # e.g. the first login turned out to be right
    assert limiter.reserve({"pair": 1, "user": 3}) == 0


def test_waits_follow_the_oldest_attempt_in_the_window() -> None:
    now = [0.0]
    limiter = AttemptLimiter(100.0, clock=lambda: now[0])
    for t in (0.0, 10.0, 20.0):
        now[0] = t
        assert limiter.reserve({"k": 3}) == 0
    now[0] = 30.0
    assert limiter.reserve({"k": 3}) == pytest.approx(70.0)
    now[0] = 100.0  # the attempt at 0 has left the window
    assert limiter.reserve({"k": 3}) == 0


def test_expired_keys_are_dropped() -> None:
    now = [0.0]
    limiter = AttemptLimiter(60.0, clock=lambda: now[0])
    for n in range(1000):
        limiter.reserve({f"user:{n}": 5})
    assert len(limiter) == 1000
    now[0] = 61.0
    limiter.reserve({"user:late": 5})
    assert len(limiter) == 1


def test_two_hundred_thousand_user_names_keep_memory_bounded() -> None:
    """Each login attempt with a new name once kept its keys forever (183 MB for 200k)."""
    settings = ServerSettings()
    limits = AuthLimits.create(
        settings, AttemptLimiter(settings.login_window_s), AttemptLimiter(settings.signup_window_s)
    )
    tracemalloc.start()
    try:
        for n in range(200_000):  # a new name from a new address each time: 3 new keys
            client = f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"
            limits.login.reserve(limits.login_keys(f"user{n}", client))
        size, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(limits.login, AttemptLimiter) and len(limits.login) <= MAX_KEYS
    assert size < 40_000_000, size
