"""The names an index defines, read from the rows both stores return (no SQL here): the
grounding check of generated code (chat/grounding.py) asks which names exist and which real
symbols come closest to an invented one."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

from ragcode.domain import UnitKind
from ragcode.store.protocol import Symbol

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
    and the last part of its indexed root (a root may be the package itself)."""
    parts = [part for part in path.split("/") if part]
    names = set(parts[:-1])
    if parts:
        names.add(_SOURCE_SUFFIX.sub("", parts[-1]))
    last = root.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1]
    if last:
        names.add(last)
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


def defined_among(wanted: set[str], rows: Iterable[tuple[str, str, str]]) -> set[str]:
    """Which wanted names the (root, path, qualified name) rows of code units define."""
    found: set[str] = set()
    for root, path, title in rows:
        found |= (title_names(title) | path_names(root, path)) & wanted
    return found


def modules_among(wanted: set[str], rows: Iterable[tuple[str, str]]) -> set[str]:
    """Which wanted names the (root, path) rows of code files stand for as modules."""
    found: set[str] = set()
    for root, path in rows:
        found |= path_names(root, path) & wanted
    return found
