"""The upload registry port. An upload whose state is not final is a job, in two stages: a
server process takes a queued upload with a lease (`claim`) and indexes it, then a code
upload waits in `summarizing` until a summary thread takes it (`claim_summarizing`) and
follows its summaries to the end. Leases are renewed while the work goes on and taken over by
another process when they run out (the first one crashed), so each stage of an upload runs in
one process at a time, whichever replica received it."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ragcode.domain import TEAM_SCOPE, user_scope

UPLOADS_DIR = "uploads"  # under the data directory: <user id>/<upload id>/files
# States a restart must pick up again (and that count against a user's uploads in
# progress); "ready" and "failed" are final.
UNFINISHED = ("queued", "indexing", "summarizing")
# The indexing stage (`claim`): seconds to minutes. An upload in SUMMARIZING is already
# searchable and is never indexed again because its summaries are unfinished.
TO_INDEX = ("queued", "indexing")
SUMMARIZING = "summarizing"  # the summary stage (`claim_summarizing`): minutes to hours


class RegistryError(RuntimeError):
    """The registry cannot be read or written."""


class UploadBusyError(RegistryError):
    """Another process (or thread) holds the upload longer than the caller would wait."""


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    user_id: int
    name: str
    kind: str  # "code" | "document"
    path: Path  # the directory ingestion indexes (one root per upload)
    state: str  # "queued" | "indexing" | "summarizing" | "ready" | "failed"
    units: int
    error: str | None
    created_at: float
    shared: bool = False  # visible to the whole team (else to its owner only)

    @property
    def scope(self) -> str:
        """The owner scope its index entries carry."""
        return TEAM_SCOPE if self.shared else user_scope(self.user_id)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id, "name": self.name, "kind": self.kind, "state": self.state,
            "units": self.units, "error": self.error, "created_at": self.created_at,
            "shared": self.shared,
        }  # fmt: skip


class UploadRegistry(Protocol):
    def add(self, doc_id: str, user_id: int, name: str, kind: str, path: Path) -> Document:
        """A new upload: private to its owner, queued for ingestion."""
        ...

    def get(self, user_id: int, doc_id: str) -> Document | None:
        """The upload `doc_id` if `user_id` owns it."""
        ...

    def find(self, doc_id: str) -> Document | None:
        """Any user's upload (callers check who may see or change it)."""
        ...

    def list_for(self, user_id: int) -> list[Document]:
        """The user's own uploads, oldest first."""
        ...

    def list_visible(self, user_id: int) -> list[Document]:
        """The user's own uploads and those others shared with the team, oldest first."""
        ...

    def all(self) -> list[Document]: ...

    def unfinished(self) -> list[Document]: ...

    def waiting_count(self, user_id: int) -> int:
        """The user's uploads not indexed yet (TO_INDEX): what `max_uploads_in_progress`
        caps. An upload being summarized is searchable and no longer holds a place."""
        ...

    def update(
        self, doc_id: str, *, state: str, units: int | None = None, error: str | None = None
    ) -> None: ...

    def set_shared(self, doc_id: str, shared: bool) -> None: ...

    def exists(self, doc_id: str) -> bool: ...

    def delete(self, doc_id: str) -> None: ...

    def claim(self, owner: str, lease_s: float) -> Document | None:
        """The oldest upload waiting to be indexed (TO_INDEX) that no live lease holds, now
        leased to `owner` for `lease_s` seconds (atomic: two processes never get the same
        upload)."""
        ...

    def claim_summarizing(self, owner: str, lease_s: float) -> Document | None:
        """As `claim`, for the oldest upload in SUMMARIZING (indexed, summaries to follow).
        The same lease columns: `renew` and `release` serve both stages."""
        ...

    def renew(self, doc_id: str, owner: str, lease_s: float) -> bool:
        """Extend `owner`'s lease; False when the lease was lost (taken over, or deleted)."""
        ...

    def release(self, doc_id: str, owner: str) -> None:
        """Give the lease back (the job ended, or this process stops)."""
        ...

    def exclusive(self, doc_id: str, wait_s: float | None = None) -> AbstractContextManager[None]:
        """Hold one upload against every other process sharing the registry while its index
        entries change (indexing, sharing, taking back, deleting): a replica taking an upload
        back must not interleave with another still indexing it in the old scope. Waits at
        most `wait_s` seconds for another holder (None: as long as it takes), then raises
        UploadBusyError."""
        ...

    def close(self) -> None: ...


# --- moving the registry to another database (`ragcode migrate`): uploads travel as
# `Document`s (ids, owners, states, shared flags, paths, times); leases stay behind.
class RegistryExport(Protocol):
    def all(self) -> list[Document]: ...


class RegistryImport(RegistryExport, Protocol):
    def import_documents(self, docs: Iterable[Document]) -> int:
        """Add the uploads whose ids are not there yet, unleased, in one transaction; the
        number added. The files stay where `path` says."""
        ...
