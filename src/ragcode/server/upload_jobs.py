"""What both stages of an upload job (indexing, summaries) share: the lease kept alive while a
stage works, the state change announced to the owner, and the "found no work" signal that
tests and benches wait for."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

from ragcode.server.hub import Hub
from ragcode.server.protocol import DocumentState
from ragcode.uploads.protocol import Document, UploadRegistry

log = logging.getLogger(__name__)


@contextlib.contextmanager
def leased(
    registry: UploadRegistry,
    doc_id: str,
    owner: str,
    lease_s: float,
    lost: threading.Event | None = None,
) -> Iterator[threading.Event]:
    """Renew `owner`'s lease on the upload while the block runs, give it back after; the event
    yielded (`lost`, if given) is set when the lease was lost (another process has taken the
    upload over)."""
    done = threading.Event()
    lost = lost or threading.Event()

    def renew() -> None:
        while not done.wait(lease_s / 3):
            try:
                if not registry.renew(doc_id, owner, lease_s):
                    log.warning("upload lease lost document=%s", doc_id)
                    lost.set()
                    return
            except Exception as exc:
                log.warning("upload lease renewal failed document=%s error=%s", doc_id, exc)

    renewer = threading.Thread(target=renew, name=f"lease-{doc_id}", daemon=True)
    renewer.start()
    try:
        yield lost
    finally:
        done.set()
        renewer.join()
        with contextlib.suppress(Exception):
            registry.release(doc_id, owner)


def announce_state(
    registry: UploadRegistry,
    hub: Hub,
    doc: Document,
    state: str,
    units: int | None = None,
    error: str | None = None,
) -> None:
    """Record the upload's new state and show it on every socket of its owner."""
    registry.update(doc.id, state=state, units=units, error=error)
    current = registry.get(doc.user_id, doc.id)
    if current is not None:  # deleted meanwhile: nothing to show
        hub.publish_threadsafe(doc.user_id, DocumentState(document=current.as_dict()))


class IdleSignal:
    """A job loop found nothing to claim after the latest work was announced to it.
    `looked=False`: the loop must look once before it counts as idle (work may be waiting
    from before this process started)."""

    def __init__(self, looked: bool = True) -> None:
        self._cond = threading.Condition()
        self._announced = 0
        self._seen = 0 if looked else -1

    def announce(self) -> None:
        with self._cond:
            self._announced += 1

    def token(self) -> int:
        """Taken before the loop looks for work; passed to `idle` when it found none."""
        with self._cond:
            return self._announced

    def idle(self, token: int) -> None:
        with self._cond:
            self._seen = max(self._seen, token)
            self._cond.notify_all()

    def wait(self, timeout_s: float | None = None) -> bool:
        with self._cond:
            wanted = self._announced
            return self._cond.wait_for(lambda: self._seen >= wanted, timeout_s)


def next_claimed(
    claim: Callable[[], Document | None],
    idle: IdleSignal,
    wake: threading.Event,
    poll_s: float,
    what: str,
) -> Document | None:
    """One turn of a job loop: the next upload `claim` takes, or None after signalling idle
    and waiting `poll_s` (or a wake-up). A database that is away counts as nothing to do."""
    token = idle.token()
    try:
        doc = claim()
    except Exception as exc:  # the database is away: try again after a pause
        log.warning("%s claim failed error=%s", what, exc)
        doc = None
    if doc is None:
        idle.idle(token)
        wake.wait(poll_s)
        wake.clear()
    return doc
