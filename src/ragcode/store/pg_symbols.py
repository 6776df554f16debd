"""The symbols of a PostgreSQL collection's code units (protocol.SymbolLookup): the look-ups
of store/symbols.py `SymbolRows`, as in sqlite_symbols.py. Words of code come from the
GIN-indexed `lex_code` postings; only the units they point to are read."""

from __future__ import annotations

from collections.abc import Sequence

from ragcode.store import symbols
from ragcode.store.pg_pool import ConnectionPool
from ragcode.store.protocol import Symbol

_WHERE = "u.collection = %s AND u.scope = ANY(%s) AND u.kind = ANY(%s)"
_ACTION = "색인의 이름 읽기"


def _tsquery(terms: Sequence[str]) -> str:
    """OR of quoted lexemes (pg_lexical.py writes them the same way)."""
    quoted = ("'" + term.replace("\\", "\\\\").replace("'", "''") + "'" for term in terms)
    return " | ".join(quoted)


class PgSymbolRows:
    """`symbols.SymbolRows` of one collection and scopes."""

    def __init__(self, pool: ConnectionPool, collection: str, scopes: Sequence[str]) -> None:
        self._pool = pool
        self._collection = collection
        self._params = (collection, list(scopes), list(symbols.CODE_KINDS))

    def unit_names(self, names: Sequence[str]) -> list[str]:
        rows = self._pool.fetch(
            _ACTION,
            f"SELECT DISTINCT u.name FROM store_units u WHERE {_WHERE}"
            " AND EXISTS (SELECT 1 FROM unnest(%s::text[]) n WHERE strpos(u.name, n) > 0)",
            (*self._params, list(names)),
        )
        return [str(name) for (name,) in rows]

    def module_files(self, names: Sequence[str]) -> list[tuple[str, str]]:
        # As in sqlite_symbols.py: a file counts when the scopes see a unit under its root.
        rows = self._pool.fetch(
            _ACTION,
            "SELECT f.root, f.path FROM store_files f WHERE f.collection = %s"
            " AND EXISTS (SELECT 1 FROM unnest(%s::text[]) n"
            " WHERE strpos(f.path, n) > 0 OR strpos(f.root, n) > 0)"
            f" AND EXISTS (SELECT 1 FROM store_units u WHERE {_WHERE} AND u.root = f.root)",
            (self._collection, list(names), *self._params),
        )
        return [(str(root), str(path)) for root, path in rows]

    def mention_codes(self, terms: Sequence[str], limit: int) -> list[str]:
        rows = self._pool.fetch(
            _ACTION,
            f"SELECT u.code FROM store_units u WHERE {_WHERE} AND u.lex_code @@ %s::tsquery"
            " LIMIT %s",
            (*self._params, _tsquery(terms), limit),
        )
        return [str(code) for (code,) in rows]

    def candidates(self, parts: Sequence[str], limit: int) -> list[Symbol]:
        rows = self._pool.fetch(
            _ACTION,
            f"SELECT DISTINCT u.name, u.path FROM store_units u WHERE {_WHERE}"
            " AND lower(u.name) LIKE ANY(%s) ORDER BY u.path, u.name LIMIT %s",
            (*self._params, [f"%{part}%" for part in parts], limit),
        )
        return [Symbol(str(name), str(path)) for name, path in rows]
