"""The endpoint pool over in-process SSE servers: dispatch, retry, failover, cool-down, bounds."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest

from ragcode.llm.errors import LLMRequestError, LLMThrottled, LLMUnavailable
from ragcode.llm.openai_compat import OpenAICompatLLM
from ragcode.llm.pool import LLMPool, PoolPolicy, backoff_delay
from ragcode.llm.protocol import ChatMessage
from tests.llm_servers import FakeOpenAIServer, Reply, free_port

pytestmark = pytest.mark.unit

MESSAGES = [ChatMessage("user", "def f(): pass")]
ANSWER = "요약: 설정을 읽는다."


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SleepRecorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def servers() -> Iterator[list[FakeOpenAIServer]]:
    with ExitStack() as stack:
        yield [stack.enter_context(FakeOpenAIServer()) for _ in range(3)]


def adapters(servers: list[FakeOpenAIServer], concurrency: int = 2) -> list[OpenAICompatLLM]:
    return [
        OpenAICompatLLM(s.url, "m", max_concurrency=concurrency, timeout_s=2.0) for s in servers
    ]


def ask(pool: LLMPool) -> str:
    return "".join(pool.stream(MESSAGES, max_tokens=16))


def test_round_robin_spreads_requests_evenly(servers: list[FakeOpenAIServer]) -> None:
    pool = LLMPool(adapters(servers), PoolPolicy(strategy="round_robin"))
    assert pool.max_concurrency == 6
    assert [ask(pool) for _ in range(9)] == [ANSWER] * 9
    assert [s.stats.requests for s in servers] == [3, 3, 3]


def test_least_loaded_uses_every_endpoint_within_its_bound(servers: list[FakeOpenAIServer]) -> None:
    for server in servers:
        server.default = Reply(delay_s=0.1)
    pool = LLMPool(adapters(servers, concurrency=2), PoolPolicy(strategy="least_loaded"))
    with ThreadPoolExecutor(max_workers=12) as executor:
        answers = list(executor.map(lambda _: ask(pool), range(12)))
    assert answers == [ANSWER] * 12
    assert sum(s.stats.requests for s in servers) == 12
    assert all(s.stats.requests >= 3 for s in servers)
    assert all(s.stats.max_active == 2 for s in servers)  # busy, but never above the bound
    assert all(status.in_flight == 0 for status in pool.status())


def test_throttled_request_is_retried_with_backoff(servers: list[FakeOpenAIServer]) -> None:
    server = servers[0]
    server.script.extend([Reply("status", status=429), Reply("status", status=429)])
    sleep = SleepRecorder()
    policy = PoolPolicy(backoff_base_s=0.4, backoff_max_s=10.0, failure_threshold=5)
    pool = LLMPool(adapters([server]), policy, sleep=sleep, rng=random.Random(7))
    assert ask(pool) == ANSWER
    assert server.stats.requests == 3
    assert len(sleep.delays) == 2
    assert 0.2 <= sleep.delays[0] <= 0.4 and 0.4 <= sleep.delays[1] <= 0.8  # doubling + jitter


def test_retry_after_header_is_honoured(servers: list[FakeOpenAIServer]) -> None:
    servers[0].script.append(Reply("status", status=429, retry_after="3"))
    sleep = SleepRecorder()
    pool = LLMPool(adapters(servers[:1]), PoolPolicy(backoff_base_s=0.1), sleep=sleep)
    assert ask(pool) == ANSWER
    assert sleep.delays == [3.0]


def test_backoff_is_capped() -> None:
    policy = PoolPolicy(backoff_base_s=1.0, backoff_max_s=4.0)
    delays = [backoff_delay(10, policy, random.Random(seed)) for seed in range(20)]
    assert all(2.0 <= delay <= 4.0 for delay in delays)


def test_failover_skips_a_dead_endpoint_and_opens_its_circuit(
    servers: list[FakeOpenAIServer],
) -> None:
    dead = OpenAICompatLLM(f"http://127.0.0.1:{free_port()}/v1", "m", connect_timeout_s=1.0)
    sleep = SleepRecorder()
    policy = PoolPolicy(strategy="round_robin", failure_threshold=2, cooldown_s=60.0)
    pool = LLMPool([dead, *adapters(servers[:1])], policy, sleep=sleep)
    assert [ask(pool) for _ in range(6)] == [ANSWER] * 6
    assert sleep.delays == []  # failing over to a healthy endpoint needs no backoff
    dead_status, live_status = pool.status()
    assert (dead_status.failed, dead_status.state) == (2, "open")
    assert live_status.completed == 6


def test_cool_down_then_probe_back_in(servers: list[FakeOpenAIServer]) -> None:
    flaky, steady = servers[0], servers[1]
    flaky.script.extend([Reply("status", status=500)] * 2)
    clock = FakeClock()
    policy = PoolPolicy(strategy="round_robin", failure_threshold=2, cooldown_s=30.0)
    pool = LLMPool(adapters([flaky, steady]), policy, clock=clock, sleep=SleepRecorder())
    for _ in range(4):
        assert ask(pool) == ANSWER
    assert pool.status()[0].state == "open"
    requests_while_open = flaky.stats.requests
    for _ in range(4):
        ask(pool)
    assert flaky.stats.requests == requests_while_open  # out while cooling down
    clock.now += 31.0
    assert pool.status()[0].state == "half_open"
    for _ in range(4):
        ask(pool)
    assert flaky.stats.requests > requests_while_open  # probed, succeeded, back in rotation
    assert pool.status()[0].state == "closed"
    assert pool.status()[0].completed >= 2


def test_failed_probe_reopens_for_another_cool_down(servers: list[FakeOpenAIServer]) -> None:
    flaky, steady = servers[0], servers[1]
    flaky.default = Reply("status", status=503)
    clock = FakeClock()
    policy = PoolPolicy(strategy="round_robin", failure_threshold=1, cooldown_s=10.0)
    pool = LLMPool(adapters([flaky, steady]), policy, clock=clock, sleep=SleepRecorder())
    ask(pool)
    assert pool.status()[0].state == "open"
    clock.now += 11.0
    ask(pool)
    ask(pool)
    assert flaky.stats.requests == 2  # exactly one probe
    assert pool.status()[0].state == "open"


def test_failure_after_streaming_surfaces_instead_of_restarting(
    servers: list[FakeOpenAIServer],
) -> None:
    servers[0].default = Reply("die", chunks=("첫 ", "둘째"))
    pool = LLMPool(adapters(servers[:2]), PoolPolicy(strategy="round_robin"))
    received: list[str] = []
    with pytest.raises(LLMUnavailable):
        for delta in pool.stream(MESSAGES, max_tokens=8):
            received.append(delta)
    assert received == ["첫 "]
    assert servers[1].stats.requests == 0  # no silent restart elsewhere


def test_rejected_request_is_not_retried(servers: list[FakeOpenAIServer]) -> None:
    servers[0].default = Reply("status", status=400)
    pool = LLMPool(adapters(servers[:2]), PoolPolicy(strategy="round_robin"))
    with pytest.raises(LLMRequestError):
        ask(pool)
    assert (servers[0].stats.requests, servers[1].stats.requests) == (1, 0)
    assert pool.status()[0].state == "closed"  # the request was bad, not the endpoint


def test_gives_up_after_max_attempts_with_the_last_error(servers: list[FakeOpenAIServer]) -> None:
    for server in servers[:2]:
        server.default = Reply("status", status=429)
    sleep = SleepRecorder()
    policy = PoolPolicy(max_attempts=5, failure_threshold=10)
    pool = LLMPool(adapters(servers[:2]), policy, sleep=sleep)
    with pytest.raises(LLMThrottled):
        ask(pool)
    assert servers[0].stats.requests + servers[1].stats.requests == 5
    assert len(sleep.delays) == 2  # each endpoint is tried once per round, then back off


def test_all_circuits_open_fails_without_calling_anyone(servers: list[FakeOpenAIServer]) -> None:
    servers[0].default = Reply("status", status=500)
    policy = PoolPolicy(max_attempts=3, failure_threshold=1, cooldown_s=60.0)
    pool = LLMPool(adapters(servers[:1]), policy, clock=FakeClock(), sleep=SleepRecorder())
    with pytest.raises(LLMUnavailable):
        ask(pool)
    assert servers[0].stats.requests == 1
    with pytest.raises(LLMUnavailable, match="쿨다운"):
        ask(pool)
    assert servers[0].stats.requests == 1


def test_closing_the_pool_stream_cancels_the_endpoint_request(
    servers: list[FakeOpenAIServer],
) -> None:
    server = servers[0]
    server.default = Reply(chunks=tuple(f"{i} " for i in range(100)), delay_s=0.02)
    pool = LLMPool(adapters([server], concurrency=1))
    stream = pool.stream(MESSAGES, max_tokens=8)
    assert next(stream) == "0 "
    assert pool.status()[0].in_flight == 1
    stream.close()
    assert pool.status()[0].in_flight == 0  # the slot is free again at once
    deadline = time.monotonic() + 3.0
    while server.stats.disconnected == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.stats.disconnected == 1 and server.stats.completed == 0
    assert pool.status()[0].state == "closed"  # a cancellation is not a failure


def test_callers_wait_for_a_free_slot(servers: list[FakeOpenAIServer]) -> None:
    server = servers[0]
    server.default = Reply(delay_s=0.05)
    pool = LLMPool(adapters([server], concurrency=1))
    started = threading.Barrier(4)

    def call(_: int) -> str:
        started.wait()
        return ask(pool)

    with ThreadPoolExecutor(max_workers=4) as executor:
        assert list(executor.map(call, range(4))) == [ANSWER] * 4
    assert server.stats.max_active == 1 and server.stats.requests == 4
