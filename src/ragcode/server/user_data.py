"""What a removed account leaves behind: its private uploads (files and index entries) and its
chat history are deleted; uploads it shared stay, as team content that admins manage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ragcode.app import App
from ragcode.history.sqlite import SqliteHistory
from ragcode.server.hub import Hub
from ragcode.server.ingest_worker import IngestWorker
from ragcode.server.registry import DocumentRegistry


@dataclass(frozen=True, slots=True)
class RemovedData:
    uploads: int
    turns: int
    kept_shared: int


def remove_user_data(core: App, database: Path, user_id: int) -> RemovedData:
    """Blocking; run with no server on the same data directory, or accept that a running
    server may still be ingesting one of these uploads (its writes then find no registry row)."""
    registry = DocumentRegistry(database)
    history = SqliteHistory(database)
    try:
        worker = IngestWorker(core, registry, Hub())  # never started: removal only
        docs = registry.list_for(user_id)
        private = [doc for doc in docs if not doc.shared]
        for doc in private:
            worker.remove(doc)
        turns = history.delete_all(user_id)
    finally:
        registry.close()
        history.close()
    return RemovedData(uploads=len(private), turns=turns, kept_shared=len(docs) - len(private))
