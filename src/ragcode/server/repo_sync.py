"""Syncs of registered git repositories inside `ragcode serve`: asked for by a webhook or an
admin (`POST /api/repos/{name}/sync`) and on a schedule (`repos.sync_interval_s`).

One thread per process takes the queued repositories one at a time (a sync is parse, embed,
store: it would only compete with itself). Among replicas on one database a repository is
synced by one process at a time (the registry's lock: PostgreSQL's advisory lock); a replica
that finds it busy leaves it, since the one holding it brings it to the head. After its syncs
the thread summarizes what is pending a few units at a time (`SUMMARY_CHUNK`), so that an
upload's summary stage, which shares the summary runner, never waits for a whole repository.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from ragcode.app import App, build_repo_registry, build_repo_sources
from ragcode.repos.protocol import Repo, RepoError, RepoNotFoundError, RepoRegistry
from ragcode.repos.sources import RepoSources, RepoStatus
from ragcode.repos.sync import SyncReport
from ragcode.store.protocol import StoreError

log = logging.getLogger(__name__)

SUMMARY_CHUNK = 4  # units per summary run: the runner is free again after each
RETRY_S = 10.0  # after the loop itself failed
STOPPED = "서버가 멈추는 중이라 저장소를 동기화할 수 없습니다."


class SyncState(StrEnum):
    IDLE = "idle"
    QUEUED = "queued"
    SYNCING = "syncing"


@dataclass(slots=True)
class SyncOutcome:
    """What this process last did with a repository (the registry holds the commit)."""

    state: SyncState = SyncState.IDLE
    finished_at: float | None = None
    error: str | None = None  # the last sync's failure, in Korean; None when it succeeded


class RepoSyncService:
    def __init__(self, app: App, *, summarize: bool) -> None:
        self._app = app
        self._interval_s = app.settings.repos.sync_interval_s
        self._summarize = summarize and app.settings.index.summaries
        self._registry: RepoRegistry | None = None
        self._sources: RepoSources | None = None
        self._queue: list[str] = []
        self._outcomes: dict[str, SyncOutcome] = {}
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._closed = False  # stopped: the registry is never opened again
        self._thread: threading.Thread | None = None

    def _open(self) -> RepoSources:
        """The registry, opened at first use (a server with no repository never opens it)."""
        with self._changed:
            if self._closed:
                raise RepoError(STOPPED)
            if self._sources is None:
                self._registry = build_repo_registry(self._app.settings)
                self._sources = build_repo_sources(self._app, self._registry)
            return self._sources

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="repo-sync", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop taking work. A sync under way finishes on its own (a daemon thread); the
        registry is closed here only if the thread ended, else by the thread as it ends."""
        self._stop.set()
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)
            if thread.is_alive():
                return
        self._close_registry()

    def _close_registry(self) -> None:
        with self._changed:
            registry, self._registry, self._sources = self._registry, None, None
        if registry is not None:
            registry.close()

    def request(self, name: str) -> SyncState:
        """Queue a sync of `name` (RepoNotFoundError if it is not registered); a repository
        already queued stays queued once, one being synced is synced again after."""
        self._open().get(name)
        with self._changed:
            if name not in self._queue:
                self._queue.append(name)
            outcome = self._outcomes.setdefault(name, SyncOutcome())
            if outcome.state is SyncState.IDLE:
                outcome.state = SyncState.QUEUED
            self._changed.notify_all()
            # during a sync: it read the head at its start, so this push waits for the next
            return SyncState.QUEUED

    def repository(self, name: str) -> Repo:
        """The registered repository (RepoNotFoundError if none has that name)."""
        return self._open().get(name)

    def statuses(self, *, urls: bool = False) -> list[tuple[RepoStatus, SyncOutcome]]:
        """Every registered repository, its units and summaries, and this process's syncs;
        `urls`: with each mirror's URL (credentials hidden)."""
        statuses = self._open().statuses(urls=urls)
        with self._changed:
            return [
                (status, self._copy(self._outcomes.get(status.repo.name))) for status in statuses
            ]

    @staticmethod
    def _copy(outcome: SyncOutcome | None) -> SyncOutcome:
        if outcome is None:
            return SyncOutcome()
        return SyncOutcome(outcome.state, outcome.finished_at, outcome.error)

    def _loop(self) -> None:
        try:
            self._work()
        finally:
            if self._stop.is_set():  # stop() gave up waiting for this thread
                self._close_registry()

    def _work(self) -> None:
        next_round = time.monotonic() + self._interval_s if self._interval_s > 0 else None
        while not self._stop.is_set():
            try:
                name = self._next(next_round)
                if self._stop.is_set():
                    return
                if name is None:  # the schedule is due
                    next_round = time.monotonic() + self._interval_s
                    self._queue_all()
                    continue
                self._sync(name)
                if self._summarize and not self._queue:
                    self._summarize_pending()
            except Exception:  # a bug or a database outage must not end the syncs for good
                log.exception("repo sync loop failed; going on")
                self._stop.wait(RETRY_S)

    def _next(self, next_round: float | None) -> str | None:
        """The next queued repository; None when the scheduled round is due first."""
        with self._changed:
            while not self._queue and not self._stop.is_set():
                if next_round is None:
                    self._changed.wait()
                    continue
                left = next_round - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)
            if not self._queue:
                return None
            name = self._queue.pop(0)
            self._outcomes.setdefault(name, SyncOutcome()).state = SyncState.SYNCING
            return name

    def _queue_all(self) -> None:
        try:
            names = [repo.name for repo in self._open().all()]
        except (RepoError, StoreError) as exc:
            log.warning("scheduled repo sync could not list repositories error=%s", exc)
            return
        for name in names:
            try:
                self.request(name)
            except RepoNotFoundError:  # removed meanwhile
                continue
            except (RepoError, StoreError) as exc:  # the registry failed: next round
                log.warning("scheduled repo sync could not queue name=%s error=%s", name, exc)
                return

    def _sync(self, name: str) -> None:
        error: str | None = None
        try:
            report = self._open().sync(name)
            _log_report(report)
        except RepoError as exc:  # busy elsewhere, removed, a git failure: said in Korean
            error = str(exc)
            log.warning("repo sync failed name=%s error=%s", name, exc)
        except Exception as exc:  # the store or an unexpected bug: the thread must go on
            error = f"동기화하지 못했습니다 ({type(exc).__name__})"
            log.exception("repo sync failed name=%s", name)
        with self._changed:
            outcome = self._outcomes.setdefault(name, SyncOutcome())
            outcome.finished_at, outcome.error = time.time(), error
            outcome.state = SyncState.QUEUED if name in self._queue else SyncState.IDLE

    def _summarize_pending(self) -> None:
        """Summarize the pending units a few at a time until none is left, a sync is asked
        for, or the server stops (the rest waits for the next round or a worker)."""
        runner = self._app.summaries
        while not self._stop.is_set():
            with self._changed:
                if self._queue:
                    return
            try:
                report = runner.run(limit=SUMMARY_CHUNK, explicit=False, stop=self._stop)
            except Exception:  # no model, a broken endpoint: a later round tries again
                log.exception("repo summaries failed")
                return
            if report.claimed == 0:
                return


def _log_report(report: SyncReport) -> None:
    index = report.index
    log.info(
        "repo sync done name=%s mode=%s previous=%s commit=%s units=%s",
        report.name, report.mode, report.previous, report.commit,
        index.units_written if index is not None else 0,
    )  # fmt: skip
