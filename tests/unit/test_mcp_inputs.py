"""The MCP tools' argument checks and unit look-up: Korean messages a caller can act on."""

from __future__ import annotations

import pytest

from ragcode.domain import Record, StoredRecord, SummaryState, UnitKind
from ragcode.mcp_server.inputs import (
    ToolInputError,
    check_code_language,
    check_language,
    check_query,
    check_text,
    check_top_k,
)
from ragcode.mcp_server.tools import _pick_unit

pytestmark = pytest.mark.unit


def stored(path: str, title: str, start: int) -> StoredRecord:
    record = Record(path, title, UnitKind.METHOD, "python", start, start + 1, f"def {title}(): ...")
    return StoredRecord(record, None, SummaryState.PENDING)


def test_queries_are_trimmed_and_empty_or_huge_ones_refused() -> None:
    assert check_query("  메일 보내기 \n") == "메일 보내기"
    with pytest.raises(ToolInputError, match=r"^검색어가 비어 있습니다"):
        check_query(" \t")
    with pytest.raises(ToolInputError, match=r"^질문이 비어 있습니다"):  # 이 after a consonant
        check_query("", "질문")
    with pytest.raises(ToolInputError, match=r"질문이 너무 깁니다: 4001자"):
        check_query("가" * 4001, "질문")
    with pytest.raises(ToolInputError, match=r"^경로가 비어 있습니다"):
        check_text("", "경로")


def test_languages_take_common_aliases_and_refuse_unknown_ones() -> None:
    assert check_language(None) is None and check_language(" ") is None
    assert [check_language(name) for name in ("Python", "py", "JS", "ts", "golang", "tsx")] == [
        "python", "python", "javascript", "typescript", "go", "tsx",
    ]  # fmt: skip
    with pytest.raises(ToolInputError, match=r"지원하지 않는 언어입니다: 'rust'.*go, java"):
        check_language("rust")


def test_top_k_stays_in_its_range() -> None:
    assert check_top_k(None, 50) is None
    assert check_top_k(1, 50) == 1 and check_top_k(50, 50) == 50
    for wrong in (0, -3, 51):
        with pytest.raises(ToolInputError, match=rf"top_k 는 1 이상 50 이하여야 합니다: {wrong}"):
            check_top_k(wrong, 50)


def test_a_unit_is_found_by_its_qualified_name_or_an_unambiguous_last_part() -> None:
    """Among the units of one file (the store's exact look-up by path); the hint naming other
    files that hold the name is the tool's (tests/integration/test_mcp_stdio.py)."""
    in_file = [
        stored("app/jobs.py", "Worker.run", 10),
        stored("app/jobs.py", "Scheduler.run", 30),
        stored("app/jobs.py", "Scheduler.stop", 40),
    ]
    picked = _pick_unit(in_file, "app/jobs.py", "Worker.run")
    assert picked is not None and picked.record.start_line == 10
    picked = _pick_unit(in_file, "app/jobs.py", "stop")
    assert picked is not None and picked.record.start_line == 40
    with pytest.raises(ToolInputError, match=r"단위가 여럿입니다: Worker\.run, Scheduler\.run"):
        _pick_unit(in_file, "app/jobs.py", "run")
    assert _pick_unit(in_file, "app/jobs.py", "pause") is None
    assert _pick_unit([], "app/main.py", "Scheduler.stop") is None


def test_code_languages_of_an_answer_are_the_choosable_ones() -> None:
    """ask_code's `language`: the web chat's choices (tsx is TypeScript); others refused."""
    assert [check_code_language(n) for n in (None, " ", "auto", "AUTO")] == [None] * 4
    assert [check_code_language(n) for n in ("JS", "ts", "tsx", "golang", "java")] == [
        "javascript", "typescript", "typescript", "go", "java",
    ]  # fmt: skip
    for unknown in ("cobol", "c", "csv"):
        with pytest.raises(
            ToolInputError, match=rf"^코드 언어로 고를 수 없는 언어입니다: '{unknown}'"
        ):
            check_code_language(unknown)
