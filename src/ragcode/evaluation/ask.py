"""Scoring generated code against an ask eval set (`eval/toolz_ask_ko.jsonl`).

Each question lists the symbols of the indexed project a correct answer must use. A
requirement is one name, or a list of names any one of which will do; an answer uses the
right symbols when it meets every requirement. Pure functions: the runner
(`eval/run_ask_eval.py`) asks the assistant and hands the answers here.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ragcode.chat.code_blocks import CodeBlock
from ragcode.llm import han_tokens

Requirement = tuple[str, ...]  # any one of these names

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IMPORT_LINE = re.compile(r"^\s*(?:import|from)\s")
_DEFINITION = re.compile(r"\b(?:def|class)\s+([A-Za-z_][A-Za-z0-9_]*)")
_PYTHON = frozenset({"", "python", "py", "python3"})  # "": the set asks for Python code


@dataclass(frozen=True, slots=True)
class AskCase:
    question: str
    must_use: tuple[Requirement, ...]


def parse_must_use(raw: object) -> tuple[Requirement, ...]:
    """`["merge", ["valmap", "itemmap"]]` -> `(("merge",), ("valmap", "itemmap"))`."""
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"must_use must be a non-empty list, not {raw!r}")
    requirements: list[Requirement] = []
    for item in raw:
        names = [item] if isinstance(item, str) else item
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ValueError(f"a requirement is a name or a non-empty list of names: {item!r}")
        requirements.append(tuple(names))
    return tuple(requirements)


def load_ask_set(path: Path) -> list[AskCase]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [AskCase(row["q"], parse_must_use(row["must_use"])) for row in rows]


def python_code(blocks: Sequence[CodeBlock]) -> list[str]:
    return [block.code for block in blocks if block.language in _PYTHON]


def referenced_names(code: str) -> set[str]:
    """Names the code refers to outside its import lines: variables, calls and attributes
    (`toolz.groupby` counts as `groupby`, an alias as the name it stands for). An import alone
    is not a use, nor a name the code defines itself (a re-implementation, often the
    project's own source copied from the context). Code that does not parse falls back to
    the identifiers of its non-import lines, less the names after `def`/`class`."""
    try:
        tree = ast.parse(code)
    except SyntaxError:  # often an answer cut off at the token limit
        lines = [line for line in code.splitlines() if not _IMPORT_LINE.match(line)]
        written = {name for line in lines for name in _DEFINITION.findall(line)}
        return {name for line in lines for name in _IDENTIFIER.findall(line)} - written
    names: set[str] = set()
    aliases: dict[str, str] = {}  # `from toolz import groupby as gb`: gb stands for groupby
    own: set[str] = set()  # a function the answer writes itself is not the project's
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            aliases |= {a.asname: a.name.rsplit(".", 1)[-1] for a in node.names if a.asname}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            own.add(node.name)
    return {aliases.get(name, name) for name in names} - own


def meets(requirements: Sequence[Requirement], names: set[str]) -> bool:
    """Every requirement has at least one of its names among `names`."""
    return all(any(name in names for name in requirement) for requirement in requirements)


def has_han(text: str) -> bool:
    """CJK ideographs: what a Qwen model writes when it drifts into Chinese."""
    return han_tokens.has_han(text)


def code_parses(codes: Sequence[str]) -> bool:
    """There is Python code and every block of it parses."""
    if not codes:
        return False
    try:
        for code in codes:
            ast.parse(code)
    except SyntaxError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class AskOutcome:
    question: str
    has_code: bool
    right_symbols: bool
    invented: tuple[str, ...]  # names the code calls that exist nowhere (chat/grounding.py)
    han: bool
    parses: bool
    seconds: float
    answer: str
    repaired: bool = False  # a repair round (syntax or symbols) replaced the first answer

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def outcome_from_dict(row: dict[str, object]) -> AskOutcome:
    """An `AskOutcome.as_dict()` read back (a saved run); other keys are ignored."""
    fields = {name: row[name] for name in AskOutcome.__dataclass_fields__ if name in row}
    fields["invented"] = tuple(fields["invented"])  # type: ignore[arg-type]
    return AskOutcome(**fields)  # type: ignore[arg-type]


def score_answer(
    case: AskCase, answer: str, blocks: Sequence[CodeBlock], invented: Iterable[str],
    seconds: float, repaired: bool = False,
) -> AskOutcome:  # fmt: skip
    codes = python_code(blocks)
    names: set[str] = set()
    for code in codes:
        names |= referenced_names(code)
    return AskOutcome(
        question=case.question,
        has_code=bool(codes),
        right_symbols=meets(case.must_use, names),
        invented=tuple(sorted(set(invented))),
        han=has_han(answer),
        parses=code_parses(codes),
        seconds=seconds,
        answer=answer,
        repaired=repaired,
    )


@dataclass(frozen=True, slots=True)
class AskSummary:
    questions: int
    with_code: int
    right_symbols: int
    invented: int  # answers with at least one invented symbol
    han: int
    parses: int
    repaired: int  # answers a repair round replaced
    mean_seconds: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def summarize(outcomes: Sequence[AskOutcome]) -> AskSummary:
    count = len(outcomes)
    return AskSummary(
        questions=count,
        with_code=sum(o.has_code for o in outcomes),
        right_symbols=sum(o.right_symbols for o in outcomes),
        invented=sum(bool(o.invented) for o in outcomes),
        han=sum(o.han for o in outcomes),
        parses=sum(o.parses for o in outcomes),
        repaired=sum(o.repaired for o in outcomes),
        mean_seconds=sum(o.seconds for o in outcomes) / count if count else 0.0,
    )
