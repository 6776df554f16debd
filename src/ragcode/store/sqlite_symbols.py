"""The symbols of the embedded SQLite store's code units (protocol.SymbolLookup); what counts
as defined and what comes closest is decided in store/symbols.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ragcode.store import symbols
from ragcode.store.protocol import Symbol

# Rows whose code holds a name as a substring, read to find it as a whole word: a name found
# nowhere else is rare in code, so the first rows usually settle it.
_MENTION_ROWS = 200
_CANDIDATES = 2000  # closest symbols are ranked among at most this many names


def _where(collection: str, scopes: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    marks = ",".join("?" * len(scopes))
    kinds = ",".join("?" * len(symbols.CODE_KINDS))
    clause = f"collection = ? AND scope IN ({marks}) AND kind IN ({kinds})"
    return clause, (collection, *scopes, *symbols.CODE_KINDS)


def _module_rows(
    conn: sqlite3.Connection, collection: str, scopes: Sequence[str]
) -> list[tuple[str, str]]:
    """(root, path) of every file under a root the scopes see units of: a file with no unit
    (`packages.py`, an `__init__.py` of imports) is a module too. Files carry no scope, but
    an upload is a root of its own, so another user's files stay out."""
    where, params = _where(collection, scopes)
    rows = conn.execute(
        "SELECT root, path FROM files WHERE collection = ?"
        f" AND root IN (SELECT DISTINCT root FROM units WHERE {where})",
        (collection, *params),
    )
    return [(root, path) for root, path in rows]


def defined_names(
    conn: sqlite3.Connection, collection: str, names: Sequence[str], scopes: Sequence[str]
) -> set[str]:
    wanted = set(names)
    if not wanted or not scopes:
        return set()
    where, params = _where(collection, scopes)
    rows = conn.execute(f"SELECT DISTINCT root, path, name FROM units WHERE {where}", params)
    found = symbols.defined_among(wanted, rows)
    found |= symbols.modules_among(wanted, _module_rows(conn, collection, scopes))
    for name in sorted(wanted - found):
        codes = conn.execute(
            f"SELECT code FROM units WHERE {where} AND instr(code, ?) > 0 LIMIT {_MENTION_ROWS}",
            (*params, name),
        )
        if any(symbols.mentions(name, code) for (code,) in codes):
            found.add(name)
    return found


def indexed_modules(
    conn: sqlite3.Connection, collection: str, names: Sequence[str], scopes: Sequence[str]
) -> set[str]:
    wanted = set(names)
    if not wanted or not scopes:
        return set()
    return symbols.modules_among(wanted, _module_rows(conn, collection, scopes))


def closest_symbols(
    conn: sqlite3.Connection,
    collection: str,
    names: Sequence[str],
    limit: int,
    scopes: Sequence[str],
) -> list[Symbol]:
    parts = symbols.search_parts(names)
    if not parts or not scopes or limit <= 0:
        return []
    where, params = _where(collection, scopes)
    likes = " OR ".join("instr(lower(name), ?) > 0" for _ in parts)
    rows = conn.execute(
        f"SELECT DISTINCT name, path FROM units WHERE {where} AND ({likes})"
        f" ORDER BY path, name LIMIT {_CANDIDATES}",
        (*params, *parts),
    )
    return symbols.rank_closest(names, (Symbol(name, path) for name, path in rows), limit)
