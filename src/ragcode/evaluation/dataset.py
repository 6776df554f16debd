"""Evaluation datasets: one JSON object per line, {"q", "path", "name"}."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ragcode.domain import Record


class DatasetError(ValueError):
    """A dataset line is not valid; the message names the line."""


@dataclass(frozen=True, slots=True)
class EvalCase:
    question: str
    path: str | None  # a suffix of the indexed path; None: the index holds no answer
    name: str | None  # qualified or bare name (a code unit), or the title (a document chunk)

    @property
    def answerable(self) -> bool:
        return self.path is not None

    def matches(self, record: Record) -> bool:
        if self.path is None or self.name is None:
            return False
        if not (record.path == self.path or record.path.endswith("/" + self.path.lstrip("/"))):
            return False
        return record.title == self.name or record.title.rsplit(".", 1)[-1] == self.name


def _case(record: dict[str, object]) -> EvalCase:
    """{"q", "path", "name"}; an unanswerable question has "path": null (or no path/name)."""
    path, name = record.get("path"), record.get("name")
    if (path is None) != (name is None):
        raise ValueError("path and name go together")
    return EvalCase(
        str(record["q"]), None if path is None else str(path), None if name is None else str(name)
    )


def load_dataset(path: Path) -> list[EvalCase]:
    cases: list[EvalCase] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            cases.append(_case(record))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{path}:{number}: 잘못된 평가 데이터 줄입니다 ({exc})") from exc
    if not cases:
        raise DatasetError(f"{path}: 평가 데이터가 비어 있습니다")
    return cases
