"""A pool of LLM endpoints behind the one `LLM` protocol.

Dispatch: round-robin or least-loaded over endpoints whose circuit admits a request and that
have a free slot (each endpoint bounds its own concurrency). A throttled, unavailable or
timed-out attempt is retried, first on an endpoint this request has not tried yet (failover),
then with exponential backoff and jitter. A retry happens only while nothing was yielded: once
text reached the consumer, a failure surfaces as an error instead of restarting silently.
Closing the pool's generator closes the endpoint's generator (cancellation propagates).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from ragcode.llm.circuit import CircuitBreaker, CircuitState
from ragcode.llm.errors import LLMThrottled, LLMUnavailable, is_retryable
from ragcode.llm.protocol import (
    LLM,
    ChatMessage,
    FinishReason,
    LLMError,
    close_stream,
    continues_answers,
    finish_reason,
    max_concurrency,
)

log = logging.getLogger(__name__)

Strategy = Literal["round_robin", "least_loaded"]
Outcome = Literal["ok", "failed", "rejected", "cancelled"]


@dataclass(frozen=True, slots=True)
class PoolPolicy:
    strategy: Strategy = "least_loaded"
    max_attempts: int = 4  # per request, over all endpoints
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    failure_threshold: int = 3  # consecutive failures that open an endpoint's circuit
    cooldown_s: float = 30.0


@dataclass(frozen=True, slots=True)
class EndpointStatus:
    label: str
    state: CircuitState
    in_flight: int
    completed: int
    failed: int


@dataclass(slots=True)
class _Slot:
    index: int
    llm: LLM
    label: str
    limit: int
    breaker: CircuitBreaker
    in_flight: int = 0
    completed: int = 0
    failed: int = 0


def backoff_delay(attempt: int, policy: PoolPolicy, rng: random.Random) -> float:
    """Exponential backoff with jitter: between half and all of base * 2^(attempt-1), capped."""
    ceiling = min(policy.backoff_max_s, policy.backoff_base_s * 2 ** max(0, attempt - 1))
    return rng.uniform(ceiling / 2, ceiling)


def pool_name(names: Iterable[str]) -> str:
    """A pool's model name: its endpoints' distinct model names, sorted (reordering the
    endpoints is the same pool of models: the summary cache is keyed by this name). "" when
    one of them has no name: what such a pool writes cannot be told apart (nothing cached)."""
    distinct = set(names)
    return "" if "" in distinct else "+".join(sorted(distinct))


def endpoint_label(llm: LLM) -> str:
    return str(getattr(llm, "endpoint", llm.name))


class LLMPool:
    def __init__(
        self,
        endpoints: Sequence[LLM],
        policy: PoolPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not endpoints:
            raise ValueError("an LLM pool needs at least one endpoint")
        self._policy = policy or PoolPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._cond = threading.Condition()
        self._cursor = 0
        self._slots = [
            _Slot(index, llm, endpoint_label(llm), max_concurrency(llm), self._breaker(clock))
            for index, llm in enumerate(endpoints)
        ]

    def _breaker(self, clock: Callable[[], float]) -> CircuitBreaker:
        policy = self._policy
        return CircuitBreaker(
            threshold=policy.failure_threshold, cooldown_s=policy.cooldown_s, clock=clock
        )

    @property
    def name(self) -> str:
        return pool_name(slot.llm.name for slot in self._slots)

    @property
    def max_concurrency(self) -> int:
        return sum(slot.limit for slot in self._slots)

    @property
    def continues_answers(self) -> bool:
        return all(continues_answers(slot.llm) for slot in self._slots)

    def status(self) -> list[EndpointStatus]:
        with self._cond:
            return [
                EndpointStatus(s.label, s.breaker.state, s.in_flight, s.completed, s.failed)
                for s in self._slots
            ]

    # --- dispatch -------------------------------------------------------------------
    def _pick(self, tried: set[int]) -> _Slot | None:
        """The endpoint for the next attempt, waiting while every admissible one is busy;
        None when no circuit admits a request at all."""
        with self._cond:
            while True:
                usable = [s for s in self._slots if s.breaker.allows_request()]
                if not usable:
                    return None
                free = [s for s in usable if s.in_flight < s.limit]
                candidates = [s for s in free if s.index not in tried] or free
                if candidates:
                    slot = self._choose(candidates)
                    slot.in_flight += 1
                    slot.breaker.on_dispatch()
                    return slot
                self._cond.wait(timeout=0.5)  # a release notifies; circuits change with time

    def _choose(self, candidates: list[_Slot]) -> _Slot:
        count = len(self._slots)
        ring = sorted(candidates, key=lambda s: (s.index - self._cursor) % count)
        if self._policy.strategy == "least_loaded":
            chosen = min(ring, key=lambda s: s.in_flight / s.limit)
        else:
            chosen = ring[0]
        self._cursor = (chosen.index + 1) % count
        return chosen

    def _release(self, slot: _Slot, outcome: Outcome, error: LLMError | None) -> None:
        with self._cond:
            slot.in_flight -= 1
            if outcome == "ok":
                slot.completed += 1
                slot.breaker.on_success()
            elif outcome == "failed":
                slot.failed += 1
                if slot.breaker.on_failure():
                    log.warning(
                        "llm endpoint out endpoint=%s failures=%d cooldown_s=%.1f error=%s",
                        slot.label, slot.breaker.failures, self._policy.cooldown_s, error,
                    )  # fmt: skip
            else:
                slot.breaker.on_abandon()
            self._cond.notify_all()

    def _has_untried(self, tried: set[int]) -> bool:
        with self._cond:
            return any(s.breaker.allows_request() and s.index not in tried for s in self._slots)

    def _wait_before_retry(self, attempt: int, tried: set[int], error: LLMError) -> None:
        if self._has_untried(tried):
            return  # fail over at once; backoff is for endpoints that already failed
        delay = backoff_delay(attempt, self._policy, self._rng)
        if isinstance(error, LLMThrottled) and error.retry_after_s:
            delay = min(max(delay, error.retry_after_s), self._policy.backoff_max_s)
        log.info("llm retry attempt=%d delay_s=%.2f error=%s", attempt, delay, error)
        self._sleep(delay)
        tried.clear()

    # --- the LLM protocol -----------------------------------------------------------
    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Generator[str, None, FinishReason]:
        tried: set[int] = set()
        last_error: LLMError = LLMUnavailable("사용 가능한 LLM 엔드포인트가 없습니다.")
        for attempt in range(1, self._policy.max_attempts + 1):
            slot = self._pick(tried)
            if slot is None:
                last_error = LLMUnavailable(
                    "사용 가능한 LLM 엔드포인트가 없습니다 (모두 쿨다운 중)."
                )
            else:
                request = slot.llm.stream(
                    messages, max_tokens=max_tokens, temperature=temperature, stop=stop
                )
                error, yielded, reason = yield from self._attempt(slot, request)
                if error is None:
                    return reason
                if yielded or not is_retryable(error):
                    raise error
                log.warning(
                    "llm attempt failed endpoint=%s attempt=%d error=%s", slot.label, attempt, error
                )
                tried.add(slot.index)
                last_error = error
            if attempt < self._policy.max_attempts:
                self._wait_before_retry(attempt, tried, last_error)
        raise last_error

    def _attempt(
        self, slot: _Slot, request: Iterator[str]
    ) -> Generator[str, None, tuple[LLMError | None, bool, FinishReason]]:
        """Relay one endpoint's stream; return (its error or None, whether text was relayed,
        its finish reason). The slot is released however this ends, including when the
        consumer closes us."""
        yielded = False
        outcome: Outcome = "cancelled"
        error: LLMError | None = None
        reason: FinishReason = None
        try:
            while True:
                try:
                    delta = next(request)
                except StopIteration as end:
                    reason = finish_reason(end.value)
                    break
                yielded = True
                yield delta
            outcome = "ok"
        except LLMError as exc:
            error = exc
            outcome = "failed" if is_retryable(exc) else "rejected"
        finally:
            close_stream(request)
            self._release(slot, outcome, error)
        return error, yielded, reason
