"""The symbols of a PostgreSQL collection's code units (protocol.SymbolLookup); what counts
as defined and what comes closest is decided in store/symbols.py."""

from __future__ import annotations

from collections.abc import Sequence

from ragcode.store import symbols
from ragcode.store.pg_pool import ConnectionPool
from ragcode.store.protocol import Symbol

_MENTION_ROWS = 200  # as in sqlite_symbols.py
_CANDIDATES = 2000
_WHERE = "collection = %s AND scope = ANY(%s) AND kind = ANY(%s)"
_ACTION = "색인의 이름 읽기"


def _module_rows(
    pool: ConnectionPool, collection: str, scopes: Sequence[str]
) -> list[tuple[str, str]]:
    """As in sqlite_symbols.py: every file under a root the scopes see units of."""
    query = (
        "SELECT root, path FROM store_files WHERE collection = %s"
        f" AND root IN (SELECT DISTINCT root FROM store_units WHERE {_WHERE})"
    )
    rows = pool.fetch(
        _ACTION, query, (collection, collection, list(scopes), list(symbols.CODE_KINDS))
    )
    return [(root, path) for root, path in rows]


def defined_names(
    pool: ConnectionPool, collection: str, names: Sequence[str], scopes: Sequence[str]
) -> set[str]:
    wanted = set(names)
    if not wanted or not scopes:
        return set()
    params = (collection, list(scopes), list(symbols.CODE_KINDS))
    rows = pool.fetch(
        _ACTION, f"SELECT DISTINCT root, path, name FROM store_units WHERE {_WHERE}", params
    )
    found = symbols.defined_among(wanted, rows)
    found |= symbols.modules_among(wanted, _module_rows(pool, collection, scopes))
    for name in sorted(wanted - found):
        codes = pool.fetch(
            _ACTION,
            f"SELECT code FROM store_units WHERE {_WHERE} AND strpos(code, %s) > 0"
            f" LIMIT {_MENTION_ROWS}",
            (*params, name),
        )
        if any(symbols.mentions(name, code) for (code,) in codes):
            found.add(name)
    return found


def indexed_modules(
    pool: ConnectionPool, collection: str, names: Sequence[str], scopes: Sequence[str]
) -> set[str]:
    wanted = set(names)
    if not wanted or not scopes:
        return set()
    return symbols.modules_among(wanted, _module_rows(pool, collection, scopes))


def closest_symbols(
    pool: ConnectionPool,
    collection: str,
    names: Sequence[str],
    limit: int,
    scopes: Sequence[str],
) -> list[Symbol]:
    parts = symbols.search_parts(names)
    if not parts or not scopes or limit <= 0:
        return []
    rows = pool.fetch(
        _ACTION,
        f"SELECT DISTINCT name, path FROM store_units WHERE {_WHERE}"
        " AND lower(name) LIKE ANY(%s) ORDER BY path, name"
        f" LIMIT {_CANDIDATES}",
        (collection, list(scopes), list(symbols.CODE_KINDS), [f"%{part}%" for part in parts]),
    )
    return symbols.rank_closest(names, (Symbol(name, path) for name, path in rows), limit)
