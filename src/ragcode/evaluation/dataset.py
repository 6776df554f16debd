"""Evaluation datasets: one JSON object per line, {"q", "path", "name"}."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ragcode.domain import CodeUnit


class DatasetError(ValueError):
    """A dataset line is not valid; the message names the line."""


@dataclass(frozen=True, slots=True)
class EvalCase:
    question: str
    path: str  # a suffix of the indexed path
    name: str  # qualified or bare name

    def matches(self, unit: CodeUnit) -> bool:
        if not (unit.path == self.path or unit.path.endswith("/" + self.path.lstrip("/"))):
            return False
        return unit.name == self.name or unit.name.rsplit(".", 1)[-1] == self.name


def load_dataset(path: Path) -> list[EvalCase]:
    cases: list[EvalCase] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            cases.append(EvalCase(str(record["q"]), str(record["path"]), str(record["name"])))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DatasetError(f"{path}:{number}: 잘못된 평가 데이터 줄입니다 ({exc})") from exc
    if not cases:
        raise DatasetError(f"{path}: 평가 데이터가 비어 있습니다")
    return cases
