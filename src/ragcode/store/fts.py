"""FTS5 postings of the embedded store: one table per lexical field, a row per unit.

The visibility filter reads the UNINDEXED `collection` and `scope` columns of every match.
Tried on 2026-12-01: tag tokens for both in an indexed column, filtered inside the MATCH,
halved one query at 100k units, but bm25() counts every column in a row's length, so the two
tags changed the ranking of short fields (identifiers) and broke the parity of scores with
the PostgreSQL store; not kept (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Sequence

# Text arrives pre-analysed (Nori-like morphemes, split identifiers) and space-joined; FTS5
# only has to split on spaces, keeping "_" inside identifiers.
TOKENIZER = "tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\""


def fts_table(field: str) -> str:
    return f"fts_{field}"


def match_query(tokens: Sequence[str]) -> str:
    """OR of quoted terms: the analyser guarantees tokens hold no quote or space."""
    return " OR ".join(f'"{token}"' for token in dict.fromkeys(t for t in tokens if t))
