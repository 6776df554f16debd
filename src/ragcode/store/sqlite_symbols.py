"""The symbols of the embedded SQLite store's code units (protocol.SymbolLookup): the
look-ups of store/symbols.py `SymbolRows`, where what counts as defined and what comes
closest is decided.

`units` has no index on `name`: a name is found by one pass over the names only (the code,
in overflow pages, is not read), for all asked names at once. Words of code come from the
FTS5 `code` postings (indexed), and only the units they point to are read."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence

from ragcode.store import symbols
from ragcode.store.fts import fts_table, match_query
from ragcode.store.protocol import Symbol


class SqliteSymbolRows:
    """`symbols.SymbolRows` of one collection and scopes; `lock` guards the store's one
    connection and is held for each query only, not for the whole check."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        lock: threading.RLock | threading.Lock,
        collection: str,
        scopes: Sequence[str],
    ) -> None:
        self._conn, self._lock = conn, lock
        marks = ",".join("?" * len(scopes))
        kinds = ",".join("?" * len(symbols.CODE_KINDS))
        self._where = f"u.collection = ? AND u.scope IN ({marks}) AND u.kind IN ({kinds})"
        self._params: tuple[str, ...] = (collection, *scopes, *symbols.CODE_KINDS)
        self._collection, self._scopes = collection, tuple(scopes)

    def _fetch(self, query: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        with self._lock:
            return self._conn.execute(query, tuple(params)).fetchall()

    def unit_names(self, names: Sequence[str]) -> list[str]:
        holds = " OR ".join("instr(u.name, ?) > 0" for _ in names)
        rows = self._fetch(
            f"SELECT DISTINCT u.name FROM units u WHERE {self._where} AND ({holds})",
            (*self._params, *names),
        )
        return [str(name) for (name,) in rows]

    def module_files(self, names: Sequence[str]) -> list[tuple[str, str]]:
        # Files carry no scope, but an upload is a root of its own: a file counts when the
        # scopes see a unit under its root (units_by_root answers that).
        holds = " OR ".join("instr(f.path, ?) > 0 OR instr(f.root, ?) > 0" for _ in names)
        rows = self._fetch(
            f"SELECT f.root, f.path FROM files f WHERE f.collection = ? AND ({holds})"
            f" AND EXISTS (SELECT 1 FROM units u WHERE {self._where} AND u.root = f.root)",
            (self._collection, *(n for name in names for n in (name, name)), *self._params),
        )
        return [(str(root), str(path)) for root, path in rows]

    def mention_codes(self, terms: Sequence[str], limit: int) -> list[str]:
        table = fts_table("code")
        marks = ",".join("?" * len(self._scopes))
        rows = self._fetch(
            f"SELECT u.code FROM units u WHERE u.id IN (SELECT rowid FROM {table}"
            f" WHERE {table} MATCH ? AND collection = ? AND scope IN ({marks}))"
            f" AND {self._where} LIMIT ?",
            (match_query(terms), self._collection, *self._scopes, *self._params, limit),
        )
        return [str(code) for (code,) in rows]

    def candidates(self, parts: Sequence[str], limit: int) -> list[Symbol]:
        likes = " OR ".join("instr(lower(u.name), ?) > 0" for _ in parts)
        rows = self._fetch(
            f"SELECT DISTINCT u.name, u.path FROM units u WHERE {self._where} AND ({likes})"
            " ORDER BY u.path, u.name LIMIT ?",
            (*self._params, *parts, limit),
        )
        return [Symbol(str(name), str(path)) for name, path in rows]
