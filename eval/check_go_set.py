"""Check that every answerable line of the Go evaluation set names exactly one code unit.

Usage::

    python eval/check_go_set.py [DATASET] [SOURCE_DIR]

Defaults: ``eval/govalidator_ko.jsonl`` and ``eval/work/govalidator`` (run
``python eval/fetch_go_source.py`` first). Every ``*.go`` file under SOURCE_DIR is
parsed with ragcode's own parser, paths relative to SOURCE_DIR as ``ragcode index``
stores them, and each answerable line is resolved with the matching that
``ragcode eval`` uses (``EvalCase.matches``: path suffix + qualified or bare name).
Lines that match no unit or more than one are printed; the exit status is 1 if
there are any. This only resolves the gold answers: it runs no search.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ragcode.domain import Record
from ragcode.evaluation.dataset import load_dataset
from ragcode.ingest.parser import parse_source

EVAL_DIR = Path(__file__).resolve().parent
DEFAULT_DATASET = EVAL_DIR / "govalidator_ko.jsonl"
DEFAULT_SOURCE = EVAL_DIR / "work" / "govalidator"


def go_records(source: Path) -> list[Record]:
    """Code units of every Go file under ``source``, as the store would hold them."""
    records: list[Record] = []
    for file in sorted(source.rglob("*.go")):
        rel = file.relative_to(source).as_posix()
        text = file.read_text(encoding="utf-8")
        records.extend(unit.to_record() for unit in parse_source(rel, "go", text))
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        print(f"{args.source} not found: run python eval/fetch_go_source.py", file=sys.stderr)
        return 2
    records = go_records(args.source)
    cases = load_dataset(args.dataset)
    answerable = [case for case in cases if case.answerable]
    bad = 0
    for number, case in enumerate(cases, start=1):
        if not case.answerable:
            continue
        hits = [r for r in records if case.matches(r)]
        if len(hits) != 1:
            bad += 1
            found = ", ".join(f"{r.path}:{r.title}" for r in hits) or "none"
            print(f"line {number}: {case.path} {case.name} -> {len(hits)} units ({found})")
    gold = {(case.path, case.name) for case in answerable}
    print(
        f"{len(records)} units, {len(answerable)} answerable lines "
        f"({len(gold)} distinct answers), {len(cases) - len(answerable)} unanswerable, "
        f"{bad} not resolving to exactly one unit"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
