"""FAQ files: CSV/TSV with a header row, a JSON array of objects, or JSONL; one record each.

Column names are matched case-insensitively against configurable candidates (질문/question/q,
답변/answer/a ...). A file with a missing column, a ragged row or an empty question/answer is
refused whole, with the line or record that is wrong.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ragcode.documents.errors import DocumentError

_WHOLE_FILE = "JSON 파일"


@dataclass(frozen=True, slots=True)
class FaqColumns:
    question: Sequence[str]
    answer: Sequence[str]
    category: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class FaqRecord:
    question: str
    answer: str
    category: str | None
    start: int  # CSV/JSONL: line numbers; JSON: the 1-based record index
    end: int


def _normal(name: str) -> str:
    return name.strip().lstrip("\ufeff").casefold()


def _find(names: Sequence[str], candidates: Sequence[str]) -> int | None:
    normal = [_normal(name) for name in names]
    for candidate in candidates:
        if _normal(candidate) in normal:
            return normal.index(_normal(candidate))
    return None


def _require(names: Sequence[str], candidates: Sequence[str], label: str, setting: str) -> int:
    index = _find(names, candidates)
    if index is None:
        raise DocumentError(
            f"FAQ 파일에 {label} 열이 없습니다 (머리글: {', '.join(names) or '없음'}). "
            f"열 이름을 {', '.join(candidates)} 중 하나로 바꾸거나 "
            f"documents.{setting} 를 설정하세요"
        )
    return index


def _record(
    question: str, answer: str, category: str | None, start: int, end: int, where: str
) -> FaqRecord:
    question, answer = question.strip(), answer.strip()
    if not question or not answer:
        raise DocumentError(f"FAQ 파일 {where}에 질문이나 답변이 비어 있습니다")
    return FaqRecord(question, answer, (category or "").strip() or None, start, end)


def read_csv(text: str, columns: FaqColumns, delimiter: str = ",") -> list[FaqRecord]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [cell.strip() for cell in next(reader, [])]
        q = _require(header, columns.question, "질문", "question_columns")
        a = _require(header, columns.answer, "답변", "answer_columns")
        c = _find(header, columns.category)
        records: list[FaqRecord] = []
        start = reader.line_num + 1
        for row in reader:
            end = reader.line_num
            if any(cell.strip() for cell in row):
                _check_width(row, len(header), start)
                category = row[c] if c is not None else None
                records.append(_record(row[q], row[a], category, start, end, f"{start}행"))
            start = end + 1
    except csv.Error as exc:
        raise DocumentError(f"CSV 형식 오류 ({reader.line_num}행): {exc}") from exc
    return _non_empty(records)


def _check_width(row: Sequence[str], width: int, line: int) -> None:
    extra_empty = len(row) > width and not any(cell.strip() for cell in row[width:])
    if len(row) != width and not extra_empty:
        raise DocumentError(
            f"FAQ 파일 {line}행의 열 개수({len(row)})가 머리글의 열 개수({width})와 다릅니다. "
            "쉼표가 든 값은 큰따옴표로 감싸야 합니다"
        )


def _from_mapping(item: object, columns: FaqColumns, start: int, end: int, where: str) -> FaqRecord:
    if not isinstance(item, Mapping):
        raise DocumentError(f"FAQ 파일 {where}가 JSON 객체가 아닙니다")
    keys = [str(key) for key in item]
    values = [item[key] for key in item]
    q = _require(keys, columns.question, "질문", "question_columns")
    a = _require(keys, columns.answer, "답변", "answer_columns")
    c = _find(keys, columns.category)
    category = None if c is None or values[c] is None else str(values[c])
    return _record(str(values[q] or ""), str(values[a] or ""), category, start, end, where)


def _loads(text: str, where: str) -> object:
    """json.loads; what it rejects becomes a DocumentError naming `where`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if where == _WHOLE_FILE:
            raise DocumentError(
                f"JSON 형식 오류 ({exc.lineno}행 {exc.colno}열): {exc.msg}"
            ) from exc
        raise DocumentError(f"{where}이 올바른 JSON이 아닙니다: {exc.msg}") from exc
    except (ValueError, RecursionError) as exc:  # a 5000-digit number, [[[[... past the stack
        raise DocumentError(
            f"{where}을 읽을 수 없습니다: 숫자가 너무 길거나 중첩이 너무 깊습니다"
        ) from exc


def read_json(text: str, columns: FaqColumns) -> list[FaqRecord]:
    data = _loads(text, _WHOLE_FILE)
    if isinstance(data, dict):  # {"faq": [...]}: an object holding one array of records
        arrays = [value for value in data.values() if isinstance(value, list)]
        data = arrays[0] if len(arrays) == 1 else None
    if not isinstance(data, list):
        raise DocumentError("JSON FAQ 파일은 질문/답변 객체의 배열이어야 합니다")
    records = [
        _from_mapping(item, columns, number, number, f"{number}번째 레코드")
        for number, item in enumerate(data, start=1)
    ]
    return _non_empty(records)


def read_jsonl(text: str, columns: FaqColumns) -> list[FaqRecord]:
    records: list[FaqRecord] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        item = _loads(line, f"JSONL {number}행")
        records.append(_from_mapping(item, columns, number, number, f"{number}행"))
    return _non_empty(records)


def _non_empty(records: list[FaqRecord]) -> list[FaqRecord]:
    if not records:
        raise DocumentError("FAQ 파일에 질문/답변 레코드가 하나도 없습니다")
    return records
