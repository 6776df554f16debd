"""Check that every answerable line of the lodash-es set resolves to exactly one code unit.

Usage::

    python eval/check_js_set.py [DATASET] [SOURCE_DIR]

The source (default ``eval/work/lodash-es``, fetched by ``eval/fetch_js_source.py``) is read
and parsed the way ``ragcode index`` does it (same file filter, same parser), and each line is
matched with ``EvalCase.matches``, the rule ``ragcode eval`` uses. It only resolves the gold
definitions: it never searches. Lines that match no unit or more than one, answerable lines
after the first unanswerable one, and questions that contain the gold identifier are
reported; the exit status is 1 if there are any.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ragcode.domain import Record
from ragcode.evaluation.dataset import load_dataset
from ragcode.ingest.files import FileLimits, SourceFile, scan_sources
from ragcode.ingest.parser import parse_file

HERE = Path(__file__).resolve().parent
DEFAULT_DATASET = HERE / "lodash-es_ko.jsonl"
DEFAULT_SOURCE = HERE / "work" / "lodash-es"


def indexed_records(root: Path) -> list[Record]:
    """The records ``ragcode index`` would store for ``root`` (code units only)."""
    records: list[Record] = []
    for item in scan_sources(root, FileLimits()).items:
        if isinstance(item, SourceFile):
            records.extend(unit.to_record() for unit in parse_file(item).units)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args(argv)
    cases = load_dataset(args.dataset)
    records = indexed_records(args.source)
    problems: list[str] = []
    seen_unanswerable = False
    for number, case in enumerate(cases, start=1):
        if not case.answerable:
            seen_unanswerable = True
            continue
        if seen_unanswerable:
            problems.append(f"line {number}: answerable line after an unanswerable one")
        hits = [f"{r.path}:{r.title}" for r in records if case.matches(r)]
        if len(hits) != 1:
            problems.append(f"line {number}: {case.path} {case.name} matches {len(hits)}: {hits}")
        identifier = re.escape((case.name or "").rsplit(".", 1)[-1])
        if re.search(rf"(?<![\w$]){identifier}(?![\w$])", case.question, re.IGNORECASE | re.ASCII):
            problems.append(f"line {number}: the question contains the name {case.name!r}")
    answerable = sum(case.answerable for case in cases)
    print(
        f"{len(records)} units indexed; {answerable} answerable, "
        f"{len(cases) - answerable} unanswerable lines; {len(problems)} problems"
    )
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
