"""What a removed account leaves behind: its private uploads (files and index entries), its
chat history and its API keys are deleted; uploads it shared stay, as team content that admins
manage."""

from __future__ import annotations

from dataclasses import dataclass

from ragcode.app import App, WebStores
from ragcode.server.hub import Hub
from ragcode.server.ingest_worker import IngestWorker


@dataclass(frozen=True, slots=True)
class RemovedData:
    uploads: int
    turns: int
    kept_shared: int


def remove_user_data(core: App, stores: WebStores, user_id: int) -> RemovedData:
    """Blocking; run with no server on the same data directory, or accept that a running
    server may still be ingesting one of these uploads (its writes then find no registry row)."""
    worker = IngestWorker(core, stores.registry, Hub(stores.events))  # never started
    docs = stores.registry.list_for(user_id)
    private = [doc for doc in docs if not doc.shared]
    for doc in private:
        worker.remove(doc)
    turns = stores.history.delete_all(user_id)
    stores.api_keys.remove_user(user_id)  # PostgreSQL: already gone with the account
    return RemovedData(uploads=len(private), turns=turns, kept_shared=len(docs) - len(private))
