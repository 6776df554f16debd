"""Which uploaded documents a search cannot find yet (queued or being indexed): document Q&A
names them instead of answering "no answer" while the answer may be in one of them."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ragcode.uploads.protocol import TO_INDEX, RegistryError, UploadRegistry

log = logging.getLogger(__name__)


class RegistryPendingDocuments:
    """`PendingDocuments` (chat/doc_answer.py) over the upload registry."""

    def __init__(self, registry: UploadRegistry) -> None:
        self._registry = registry

    def processing(self, scopes: Sequence[str]) -> list[str]:
        """Names of the document uploads not searchable yet whose index entries a search
        of `scopes` will read (the asker's own, and the team's), oldest first."""
        try:
            unfinished = self._registry.unfinished()
        except RegistryError as exc:  # only a courtesy: the answer goes on without it
            log.warning("pending uploads unavailable error=%s", exc)
            return []
        wanted = set(scopes)
        return [
            doc.name
            for doc in sorted(unfinished, key=lambda doc: doc.created_at)
            if doc.kind == "document" and doc.state in TO_INDEX and doc.scope in wanted
        ]
