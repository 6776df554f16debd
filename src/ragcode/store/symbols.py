"""The names an index defines, read from the rows both stores return (no SQL here): the
grounding check of generated code (chat/grounding.py) asks which names exist and which real
symbols come closest to an invented one.

Each store answers through a `SymbolRows` of a few narrow look-ups (sqlite_symbols.py,
pg_symbols.py): rows that may define one of the asked names, never the whole collection;
what they define is decided here. A check asks about a dozen names, twice per answer, on
indexes of 100k units: reading every unit's name or code per check was the cost before.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from ragcode.domain import TEAM_ONLY, UnitKind
from ragcode.store.protocol import Symbol
from ragcode.text.analyzer import identifier_tokens

# The kinds of code units: document chunks have titles too, but they name no symbol.
CODE_KINDS: tuple[str, ...] = (UnitKind.FUNCTION, UnitKind.METHOD, UnitKind.CLASS)
# Identifier parts shorter than this say too little to look for ("get", "id" still count).
MIN_PART = 3
_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_SOURCE_SUFFIX = re.compile(r"\.[A-Za-z0-9]+$")


def title_names(title: str) -> set[str]:
    """Every part of a qualified name: "Session.mount" defines Session and mount."""
    return {part for part in re.split(r"[.:#/]+", title) if part}


def path_names(root: str, path: str) -> set[str]:
    """The modules a file stands for: its directories, its file name without the suffix,
    and the last part of its indexed root (a root may be the package itself). Also its
    package directory anchored at the root's last part, "/app/internal/store" for
    `internal/store/s.go` under `/srv/app`: a Go import path ends with it."""
    parts = [part for part in path.split("/") if part]
    names = set(parts[:-1])
    if parts:
        names.add(_SOURCE_SUFFIX.sub("", parts[-1]))
    last = root.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1]
    if last:
        names.add(last)
        names.add("/".join(("", last, *parts[:-1])))
    return names


def mentions(name: str, code: str) -> bool:
    """The name as a whole word of the code (a module-level or re-exported name)."""
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", code) is not None


def identifier_parts(name: str) -> list[str]:
    """Lower-case words of an identifier: set_max_redirects, setMaxRedirects -> set, max,
    redirects."""
    return [part.lower() for part in _PART.findall(name)]


def search_parts(names: Iterable[str]) -> list[str]:
    """The parts worth a substring look-up for candidates close to these names."""
    found = {part for name in names for part in identifier_parts(name) if len(part) >= MIN_PART}
    return sorted(found)


def rank_closest(names: Sequence[str], candidates: Iterable[Symbol], limit: int) -> list[Symbol]:
    """The candidates closest to any of `names`: shared identifier parts first, then the
    spelling of the last name part; ties in (path, title) order."""
    wanted = [(name.lower(), set(identifier_parts(name))) for name in names]
    scored: dict[Symbol, float] = {}
    for symbol in candidates:
        last = symbol.title.rsplit(".", 1)[-1]
        parts = set(identifier_parts(last))
        best = 0.0
        for lowered, wanted_parts in wanted:
            # Longer parts say more: "redirects" shared outweighs "set" shared.
            shared = _length(parts & wanted_parts) / max(_length(parts | wanted_parts), 1)
            spelling = difflib.SequenceMatcher(None, lowered, last.lower()).ratio()
            best = max(best, shared + 0.5 * spelling)
        if best > 0.3:
            scored[symbol] = max(best, scored.get(symbol, 0.0))
    ordered = sorted(scored, key=lambda s: (-scored[s], s.path, s.title))
    return ordered[:limit]


def _length(parts: set[str]) -> int:
    return sum(len(part) for part in parts)


def modules_among(wanted: set[str], rows: Iterable[tuple[str, str]]) -> set[str]:
    """Which wanted names the (root, path) rows of code files stand for as modules."""
    found: set[str] = set()
    for root, path in rows:
        found |= path_names(root, path) & wanted
    return found


class SymbolRows(Protocol):
    """The look-ups a store runs for one check, within the caller's scopes (code units only;
    files under a root the scopes see units of)."""

    def unit_names(self, names: Sequence[str]) -> Iterable[str]:
        """Qualified names of units that hold one of `names` as a substring."""
        ...

    def module_files(self, names: Sequence[str]) -> Iterable[tuple[str, str]]:
        """(root, path) of files whose root or path holds one of `names` as a substring: a
        file with no unit (`packages.py`, an `__init__.py` of imports) is a module too."""
        ...

    def mention_codes(self, terms: Sequence[str], limit: int) -> Iterable[str]:
        """The code of at most `limit` units whose lexical `code` postings hold one of
        `terms` (the indexed, lower-case form of a name: `mention_terms`)."""
        ...

    def candidates(self, parts: Sequence[str], limit: int) -> Iterable[Symbol]:
        """At most `limit` symbols whose lower-case name holds one of `parts`."""
        ...


# Units read per name to find it as a whole word among those its postings point to: a name
# found nowhere else is rare in code, so the first rows usually settle it.
MENTION_ROWS = 200
CANDIDATES = 2000  # closest symbols are ranked among at most this many names


def mention_terms(name: str) -> list[str]:
    """The terms a unit's `code` postings hold for a name: the analyser's form of it
    (text/analyzer.py: lower case, a single word stemmed) and the plain lower case (postings
    written from other tokens)."""
    tokens = identifier_tokens(name)
    return list(dict.fromkeys([name.lower(), *tokens[:1]]))


def defined_names(rows: SymbolRows, names: Sequence[str]) -> set[str]:
    """`protocol.SymbolLookup.defined_names` over a store's look-ups."""
    wanted = set(names)
    if not wanted:
        return set()
    found = {name for title in rows.unit_names(sorted(wanted)) for name in title_names(title)}
    found &= wanted
    found |= indexed_modules(rows, sorted(wanted - found))
    for name in sorted(wanted - found):
        codes = rows.mention_codes(mention_terms(name), MENTION_ROWS)
        if any(mentions(name, code) for code in codes):
            found.add(name)
    return found


def indexed_modules(rows: SymbolRows, names: Sequence[str]) -> set[str]:
    wanted = set(names)
    if not wanted:
        return set()
    # An anchored directory ("/app/internal/store") spans the root and the path: its files
    # are found by its last part, which one of them holds.
    held = {name.rsplit("/", 1)[-1] if name.startswith("/") else name for name in wanted}
    held.discard("")
    return modules_among(wanted, rows.module_files(sorted(held))) if held else set()


def closest_symbols(rows: SymbolRows, names: Sequence[str], limit: int) -> list[Symbol]:
    parts = search_parts(names)
    if not parts or limit <= 0:
        return []
    return rank_closest(names, rows.candidates(parts, CANDIDATES), limit)


class SymbolLookupByRows:
    """The `SymbolLookup` methods of a store, the same on every backend: a store mixes this in
    and says only how it reads the rows a caller's scopes may see (`_symbol_rows`)."""

    def _symbol_rows(self, scopes: Sequence[str]) -> SymbolRows:
        raise NotImplementedError

    def defined_names(self, names: Sequence[str], scopes: Sequence[str] = TEAM_ONLY) -> set[str]:
        return defined_names(self._symbol_rows(scopes), names) if scopes else set()

    def indexed_modules(self, names: Sequence[str], scopes: Sequence[str] = TEAM_ONLY) -> set[str]:
        return indexed_modules(self._symbol_rows(scopes), names) if scopes else set()

    def closest_symbols(
        self, names: Sequence[str], limit: int = 8, scopes: Sequence[str] = TEAM_ONLY
    ) -> list[Symbol]:
        return closest_symbols(self._symbol_rows(scopes), names, limit) if scopes else []
