"""FTS5 postings of the embedded store: one table per lexical field, a row per unit.

The visibility filter reads the UNINDEXED `collection` and `scope` columns of every match.
Tried on 2026-12-01: tag tokens for both in an indexed column, filtered inside the MATCH,
halved one query at 100k units, but bm25() counts every column in a row's length, so the two
tags changed the ranking of short fields (identifiers) and broke the parity of scores with
the PostgreSQL store; not kept (bench/README.md).
The tantivy engine's candidates are scored again here exactly as bm25() scores them (bm25(),
totals()), so that both engines return the same lists.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping, Sequence

# Text arrives pre-analysed (Nori-like morphemes, split identifiers) and space-joined; FTS5
# only has to split on spaces, keeping "_" inside identifiers.
TOKENIZER = "tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\""


def fts_table(field: str) -> str:
    return f"fts_{field}"


def match_query(tokens: Sequence[str]) -> str:
    """OR of quoted terms: the analyser guarantees tokens hold no quote or space."""
    return " OR ".join(f'"{token}"' for token in dict.fromkeys(t for t in tokens if t))


# FTS5's bm25() constants (fts5_aux.c).
K1 = 1.2
B = 0.75
_MIN_IDF = 1e-6


def totals(conn: sqlite3.Connection, fld: str) -> tuple[int, int]:
    """Rows and tokens of a field's table as FTS5 keeps them for bm25(): the "averages"
    record, id 1 of the table's %_data shadow table (SQLite varints: the row count, then the
    token count of each column; the UNINDEXED columns count 0)."""
    row = conn.execute(f"SELECT block FROM {fts_table(fld)}_data WHERE id = 1").fetchone()
    values = _varints(bytes(row[0])) if row else []
    return (values[0], sum(values[1:])) if values else (0, 0)


def _varints(block: bytes) -> list[int]:
    values, i = [], 0
    while i < len(block):
        value = 0
        for k in range(9):
            byte = block[i]
            i += 1
            if k == 8:  # the ninth byte carries 8 bits
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        values.append(value)
    return values


def bm25(
    tokens: str, terms: Sequence[str], hits: Mapping[str, int], rows: int, avgdl: float
) -> float:
    """FTS5's bm25() of one row, term by term in the query's order (the same float sums):
    `hits`, the rows holding each term; `rows` and `avgdl`, the table's (totals())."""
    words = tokens.split()
    length = len(words)
    score = 0.0
    for term in dict.fromkeys(t for t in terms if t):
        tf = words.count(term)
        if not tf:
            continue
        score += idf(rows, hits.get(term, 0)) * (
            (tf * (K1 + 1.0)) / (tf + K1 * (1 - B + B * length / avgdl))
        )
    return score


def idf(rows: int, hits: int) -> float:
    """FTS5's idf of a term held by `hits` of `rows` rows (never below a tiny floor)."""
    value = math.log((rows - hits + 0.5) / (hits + 0.5))
    return value if value > 0 else _MIN_IDF


def bm25_rows(
    texts: Mapping[int, str], terms: Sequence[str], hits: Mapping[str, int], rows: int, avgdl: float
) -> dict[int, float]:
    """bm25() of many rows at once, bit for bit (the same expressions, summed in the same
    order): the IDFs once per query instead of once per row and term, and a term's tokens
    counted only in rows whose text holds it (a token is a substring of its text). About a
    third less time than bm25() per candidate (0.54 -> 0.35 ms for ~100 per list)."""
    distinct = dict.fromkeys(t for t in terms if t)
    weighted = [(term, idf(rows, hits.get(term, 0))) for term in distinct]
    saturation = K1 + 1.0
    scores: dict[int, float] = {}
    for unit_id, text in texts.items():
        words = text.split()
        norm = K1 * (1 - B + B * len(words) / avgdl)
        score = 0.0
        for term, weight in weighted:
            if term in text:
                tf = words.count(term)
                if tf:
                    score += weight * ((tf * saturation) / (tf + norm))
        scores[unit_id] = score
    return scores
