"""What the grounding check of generated code returns, and the tree-sitter parse its
JavaScript/TypeScript and Go checks share (chat/grounding.py, grounding_js.py,
grounding_go.py): the same grammars ingest parses the index with (ingest/ts_common.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from tree_sitter import Node

from ragcode.ingest.ts_common import new_parser

# A look-up of the index: which of these names it defines (or holds as modules).
Lookup = Callable[[Sequence[str]], set[str]]


@dataclass(frozen=True, slots=True)
class GroundingReport:
    used: list[str]  # names the code calls/references that are not defined in the answer itself
    unknown: list[str]  # of those: defined nowhere (see chat/grounding.py)


EMPTY = GroundingReport(used=[], unknown=[])


def unique(names: Iterable[str]) -> list[str]:
    """The names in first-seen order, each once."""
    return list(dict.fromkeys(names))


def merge(reports: Iterable[GroundingReport]) -> GroundingReport:
    """One report for an answer whose blocks are in several languages."""
    listed = list(reports)
    return GroundingReport(
        used=unique(name for report in listed for name in report.used),
        unknown=unique(name for report in listed for name in report.unknown),
    )


def parse(code: str, grammar: str) -> Node | None:
    """The syntax tree of code that parses without error (None otherwise: a broken block is
    the syntax check's business; guessing at it would only raise false alarms)."""
    root = new_parser(grammar).parse(code.encode("utf-8")).root_node
    return None if root.has_error else root


def syntax_error(code: str, grammar: str) -> str | None:
    """Where the code first fails to parse, as "line N: 구문 오류" (None: it parses)."""
    root = new_parser(grammar).parse(code.encode("utf-8")).root_node
    if not root.has_error:
        return None
    return f"line {_first_error(root).start_point.row + 1}: 구문 오류"


def _first_error(node: Node) -> Node:
    for child in node.children:
        if child.type == "ERROR" or child.is_missing:
            return child
        if child.has_error:
            return _first_error(child)
    return node


def walk(node: Node) -> Iterator[Node]:
    """Every named node below, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.named_children))
