"""The retrieval port the assistants use: a question in, ranked hits the caller may see out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ragcode.domain import TEAM_ONLY, Hit


class Searcher(Protocol):
    def search(
        self,
        query: str,
        top_k: int | None = None,
        *,
        scopes: Sequence[str] = TEAM_ONLY,
        languages: Sequence[str] | None = None,
    ) -> list[Hit]:
        """`languages`: only records of these languages, filtered inside the store's queries
        before any cut (None: every language)."""
        ...
