"""`ragcode migrate`: the whole run, from opening both sides to the counts read back.

1. Count the source and the target. A target holding any user, turn, upload or unit is
   refused, unless it is this data directory's unfinished copy (the journal says so): then
   the copy goes on where it stopped.
2. Record the run in the journal, then copy: accounts (users and live sessions), API keys
   (hashes, ids, labels, owners, creation times), history, the upload registry and the git
   repository registry, each in
   one transaction (all or nothing), then every collection of the index in batches of files
   (one transaction each; files already there are skipped), then the summary cache. Any
   failure leaves whole components and whole batches behind, and the same command run again
   finishes the copy.
3. Count the target again through its adapters and compare with the source; only then is
   the run marked finished (a finished copy is refused like any other non-empty target).
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import sys
import time
from datetime import UTC, datetime
from typing import TextIO

from ragcode.accounts.protocol import AccountError
from ragcode.app import uploads_dir
from ragcode.config import Settings
from ragcode.history.protocol import HistoryError
from ragcode.migrate import inventory, store_copy, web_copy
from ragcode.migrate.inventory import Inventory
from ragcode.migrate.report import Report, refusal
from ragcode.migrate.sides import Embedded, ScaleOut, open_embedded, open_scale_out
from ragcode.server.secret import SECRET_FILE
from ragcode.store.pg_pool import describe
from ragcode.store.protocol import StoreError
from ragcode.uploads.protocol import RegistryError

log = logging.getLogger(__name__)

# What a failing adapter raises (PostgreSQL errors arrive as the port's own error types).
COPY_ERRORS = (StoreError, HistoryError, RegistryError, AccountError, sqlite3.Error)


class MigrationRefusedError(StoreError):
    """The target holds data this run did not put there."""


class MigrationInterruptedError(StoreError):
    """The copy stopped half-way; running the command again finishes it."""


class MigrationMismatchError(StoreError):
    """The counts read back differ from the source's."""


def run(
    settings: Settings,
    url: str,
    *,
    dry_run: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    data_dir = settings.data_dir.expanduser().resolve()
    report = Report(out or sys.stdout, err or sys.stderr)
    report.header(data_dir, describe(url))
    source = open_embedded(data_dir)
    try:
        target = open_scale_out(url)
        try:
            return _migrate(settings, source, target, report, dry_run=dry_run)
        finally:
            target.close()
    finally:
        source.close()


def _migrate(
    settings: Settings, source: Embedded, target: ScaleOut, report: Report, *, dry_run: bool
) -> int:
    target.journal.hold()
    report.schema(target.schema_applied)
    now = datetime.now(UTC)  # sessions expiring before now are not copied
    planned = inventory.take(
        source.accounts, source.history, source.registry, source.stores, live_after=now,
        api_keys=source.api_keys, repos=source.repos,
    )  # fmt: skip
    report.plan(planned)
    source_id = str(source.data_dir)  # resolved; the host is only shown (it may change)
    names = target.collections(list(source.stores))
    present = inventory.take(
        target.accounts, target.history, target.registry, {n: target.store(n) for n in names},
        api_keys=target.api_keys, repos=target.repos,
    )  # fmt: skip
    latest = target.journal.latest()
    resumable = latest is not None and latest.finished_at is None and latest.source == source_id
    if present.holds_data and not resumable:
        raise MigrationRefusedError(
            refusal(target.url, describe(target.url), present, latest, source_id)
        )
    report.target(latest if resumable and present.holds_data else None)
    if dry_run:
        report.line("--dry-run: 복사할 수 있습니다. 아무것도 복사하지 않았습니다.")
        return 0
    if not resumable or latest is None:
        latest = target.journal.begin(source_id, socket.gethostname())
    log.info("migrate.start run=%d source=%s resumed=%s", latest.id, source_id, resumable)
    started = time.perf_counter()
    units = _copy(source, target, report, now)
    _verify(source, target, report, planned)
    target.journal.finish(latest)
    seconds = time.perf_counter() - started
    log.info("migrate.done run=%d units=%d seconds=%.1f", latest.id, units, seconds)
    report.line(
        f"복사를 마쳤습니다: {seconds:.1f}초 (색인 단위 {units:,}개, "
        f"전체 초당 {units / max(seconds, 1e-9):,.0f}단위)"
    )
    _next_steps(settings, source, report)
    return 0


def _copy(source: Embedded, target: ScaleOut, report: Report, now: datetime) -> int:
    """Every component in turn; the units written."""
    report.line("복사:")
    units = 0
    try:
        if source.accounts is not None:
            for item in web_copy.copy_accounts(source.accounts, target.accounts, now):
                report.copied(item)
        if source.api_keys is not None:  # after the accounts: a key refers to its user
            report.copied(web_copy.copy_api_keys(source.api_keys, target.api_keys))
        if source.history is not None:  # conversations first: each turn names its own
            report.copied(web_copy.copy_conversations(source.history, target.history))
            report.copied(web_copy.copy_history(source.history, target.history))
        # The registry before the index: a server would drop upload entries it cannot find
        # in the registry (IngestWorker.reconcile).
        if source.registry is not None:
            report.copied(web_copy.copy_registry(source.registry, target.registry))
        if source.repos is not None:  # before the index too: its roots name the repositories
            report.copied(web_copy.copy_repos(source.repos, target.repos))
        for name, store in source.stores.items():
            started = time.monotonic()

            def progress(done: int, name: str = name, started: float = started) -> None:
                report.progress(name, done, started)

            copied = store_copy.copy_collection(name, store, target.store(name), progress)
            report.collection(copied)
            units += copied.units
        if source.stores:  # one cache per index file: read it through any collection
            name = next(iter(source.stores))
            rows, seconds = store_copy.copy_summary_cache(source.stores[name], target.store(name))
            report.copied(web_copy.Copied("요약 캐시", rows, rows, seconds))
    except COPY_ERRORS as exc:
        raise MigrationInterruptedError(
            f"복사가 끝나지 않았습니다: {exc}\n이미 옮긴 것은 대상에 남아 있습니다 (구성 요소와 "
            "파일 묶음마다 한 트랜잭션이라 반쯤 옮긴 것은 없습니다). 원인을 고친 뒤 같은 명령을 "
            "다시 실행하면 이어서 복사합니다."
        ) from exc
    return units


def _verify(source: Embedded, target: ScaleOut, report: Report, planned: Inventory) -> None:
    copied = inventory.take(
        target.accounts, target.history, target.registry,
        {name: target.store(name) for name in source.stores}, api_keys=target.api_keys,
        repos=target.repos,
    )  # fmt: skip
    report.verification(planned, copied)
    different = inventory.differences(planned, copied)
    if different:
        listed = "; ".join(f"{label}: 원본 {a}, 대상 {b}" for label, a, b in different)
        raise MigrationMismatchError(
            f"확인 실패, 원본과 대상의 개수가 다릅니다: {listed}.\n복사하는 동안 원본이 바뀌었을 "
            "수 있습니다. ragcode serve, index, worker 를 멈추고 같은 명령을 다시 실행하세요 "
            "(빠진 것을 이어서 옮깁니다). 그래도 다르면 빈 데이터베이스로 처음부터 옮기세요."
        )


def _next_steps(settings: Settings, source: Embedded, report: Report) -> None:
    documents = source.registry.all() if source.registry is not None else []
    secret_file = source.data_dir / SECRET_FILE
    secret: str | None = None
    if settings.server.secret_key is not None:
        secret = "지금 서버에 설정된 값 그대로"
    elif secret_file.is_file():
        secret = f"{secret_file} 파일의 내용으로"
    uploads = uploads_dir(settings).expanduser().resolve()
    repos = source.repos.all() if source.repos is not None else []
    report.next_steps(uploads, documents, secret, source.data_dir, repos)
