"""A summary runner's side of the shared queue: who it is, the units it claims a batch at a
time, and the thread that keeps their leases (and its heartbeat) alive.

Leases are short (a minute by default) and renewed every third of a lease while a unit waits
or is with the LLM, so a unit may take longer than one lease (a slow model, a long queue at
the endpoint), and the units of a process that dies come free one lease later.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ragcode.store.protocol import RecordRef, StoreError, SummaryWork, WorkerBeat

log = logging.getLogger(__name__)

DEFAULT_LEASE_S = 60.0
# The embedded llama.cpp takes seconds per unit: claim few, so other workers find work too.
INLINE_BATCH = 2
RENEWALS_PER_LEASE = 3


@dataclass(frozen=True, slots=True)
class ClaimPolicy:
    lease_s: float = DEFAULT_LEASE_S
    batch: int | None = None  # units per claim; None: twice the LLM's concurrency

    def batch_for(self, concurrency: int | None) -> int:
        """A remote LLM's window is 2 x its concurrency: one claim refills it."""
        if self.batch is not None:
            return max(1, self.batch)
        return INLINE_BATCH if concurrency is None else 2 * concurrency


@dataclass(frozen=True, slots=True)
class WorkerIdentity:
    id: str
    host: str
    pid: int
    started: float

    @classmethod
    def new(cls) -> WorkerIdentity:
        """Unique across machines and restarts: host, process and a random suffix."""
        host, pid = socket.gethostname(), os.getpid()
        return cls(f"{host}:{pid}:{secrets.token_hex(3)}", host, pid, time.time())

    def beat(self, lease_s: float, done: int, failed: int) -> WorkerBeat:
        return WorkerBeat(
            id=self.id, host=self.host, pid=self.pid, started=self.started, lease_s=lease_s,
            done=done, failed=failed,
        )  # fmt: skip


def process_alive(pid: int) -> bool:
    """Whether a process of this machine (this PID namespace) still exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class LeaseKeeper:
    """Renews the leases of the units a runner holds and beats its heartbeat, on a thread.

    A unit is held from its claim until its result is written (which frees the lease). A
    renewal that no longer finds the runner's lease on a unit marks it lost: the runner then
    skips it if the LLM has not started on it, and the store refuses its late result anyway.
    """

    def __init__(
        self,
        store: SummaryWork,
        identity: WorkerIdentity,
        lease_s: float,
        counts: Callable[[], tuple[int, int]],
    ) -> None:
        self._store = store
        self._identity = identity
        self._lease_s = lease_s
        self._counts = counts  # (done, failed) so far, for the heartbeat
        self._held: set[str] = set()
        self._lost: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.beat()  # registered before the first claim
        self._thread = threading.Thread(target=self._loop, name="summary-leases", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def hold(self, uids: Iterable[str]) -> None:
        with self._lock:
            self._held.update(uids)

    def settled(self, uid: str) -> None:
        with self._lock:
            self._held.discard(uid)
            self._lost.discard(uid)

    def is_lost(self, uid: str) -> bool:
        with self._lock:
            return uid in self._lost

    def beat(self) -> None:
        self._store.worker_heartbeat(self._identity.beat(self._lease_s, *self._counts()))

    def _loop(self) -> None:
        while not self._stop.wait(self._lease_s / RENEWALS_PER_LEASE):
            try:
                self._renew()
                self.beat()
            except StoreError as exc:  # the database is away: the next tick tries again
                log.warning(
                    "summary lease renewal failed worker=%s error=%s", self._identity.id, exc
                )

    def _renew(self) -> None:
        with self._lock:
            held = list(self._held)
        if not held:
            return
        kept = self._store.renew_leases(self._identity.id, held, self._lease_s)
        with self._lock:
            lost = {uid for uid in held if uid not in kept and uid in self._held}
            self._lost.update(lost)
        if lost:
            log.warning("summary leases lost worker=%s units=%d", self._identity.id, len(lost))


class ClaimFeed:
    """The units of one run, claimed from the store a batch at a time as they are needed."""

    def __init__(
        self,
        store: SummaryWork,
        keeper: LeaseKeeper,
        worker: str,
        lease_s: float,
        limit: int,
        stopping: Callable[[], bool],
        first_root: str | None = None,
    ) -> None:
        self.batch = INLINE_BATCH  # until the LLM's concurrency is known (see the runner)
        self.claimed = 0
        self._store = store
        self._keeper = keeper
        self._worker = worker
        self._lease_s = lease_s
        self._limit = limit
        self._stopping = stopping
        self._first_root = first_root
        self._buffer: deque[RecordRef] = deque()
        self._exhausted = False

    def stopping(self) -> bool:
        return self._stopping()

    def next(self) -> RecordRef | None:
        """The next claimed unit; None once stopping, or when nothing is left to claim (units
        claimed but not handed out stay leased until the run releases them)."""
        if self._stopping():
            return None
        if not self._buffer and not self._exhausted:
            wanted = min(self.batch, self._limit - self.claimed)
            refs = self._store.claim_summaries(
                self._worker, wanted, self._lease_s, self._first_root
            )
            self._keeper.hold(ref.uid for ref in refs)
            self._buffer.extend(refs)
            self.claimed += len(refs)
            self._exhausted = not refs or self.claimed >= self._limit
        return self._buffer.popleft() if self._buffer else None
