"""The no-model query expansion: Korean question words -> English identifier words."""

from __future__ import annotations

import time
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from ragcode.retrieve.glossary import (
    GLOSSARY_FILE,
    Glossary,
    GlossaryEntry,
    GlossaryExpander,
    build_glossary_expander,
    read_entries,
    shipped_entries,
)
from ragcode.text.analyzer import TextAnalyzer

pytestmark = pytest.mark.unit

# Korean morphemes that carry grammar, not meaning: a key that analyses to one of them
# alone would add its English words to nearly every question.
FUNCTION_MORPHEMES = {"하", "이", "있", "되", "것", "수", "등", "때", "중", "안", "위", "개"}


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return TextAnalyzer()


@pytest.fixture(scope="module")
def expander(analyzer: TextAnalyzer) -> GlossaryExpander:
    return build_glossary_expander(analyzer)


def words(expander: GlossaryExpander, question: str) -> list[str]:
    return (expander.expand(question) or "").split()


@pytest.mark.parametrize("question", ["리스트를 정렬한 결과", "정렬된 배열", "값을 정렬하는 방법"])
def test_conjugated_verbs_meet_their_entry(expander: GlossaryExpander, question: str) -> None:
    assert {"sort", "sorted"} <= set(words(expander, question))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("문자열을 뒤집어서 반환", {"string", "reverse"}),
        ("두 리스트를 합쳐서 돌려주는 함수", {"merge", "concat", "list"}),
        ("이메일 주소가 유효한지 검사", {"email", "valid", "validate", "check"}),
        ("숫자인지 확인하는 함수", {"number", "numeric", "is", "function"}),
        ("배열을 일정한 크기로 나눠 주는", {"split", "chunk", "array"}),
    ],
)
def test_question_words_map_to_code_words(
    expander: GlossaryExpander, question: str, expected: set[str]
) -> None:
    assert expected <= set(words(expander, question))


def test_a_compound_noun_wins_over_its_parts(expander: GlossaryExpander) -> None:
    # 문자열 is analysed 문자 + 열; 열 alone is a column.
    found = words(expander, "문자열 길이")
    assert "string" in found
    assert "column" not in found
    assert {"deep", "clone", "copy"} <= set(words(expander, "객체를 깊은 복사하기"))
    assert "shallow" not in words(expander, "객체를 깊은 복사하기")


def test_a_word_the_analyzer_drops_is_matched_on_the_text(expander: GlossaryExpander) -> None:
    # 첫 is a determiner, removed by the analyzer's stop-tags.
    assert {"first", "head"} <= set(words(expander, "첫 번째 요소를 가져오기"))
    assert "first" not in words(expander, "요소를 가져오기")


def test_unknown_words_give_nothing(expander: GlossaryExpander) -> None:
    assert expander.expand("오늘 점심 메뉴 추천해 줘") is None
    assert expander.expand("") is None


def test_english_in_the_question_is_kept(expander: GlossaryExpander) -> None:
    found = words(expander, "parse_config 함수에서 기본값 처리")
    assert {"parse_config", "parse", "config", "default"} <= set(found)
    assert expander.expand("sort a list of dicts") is None  # English speaks the code already


def test_terms_are_unique_and_bounded(analyzer: TextAnalyzer) -> None:
    entries = [GlossaryEntry("정렬", ("sort", "order")), GlossaryEntry("순서", ("order",))]
    expander = GlossaryExpander(Glossary(analyzer, entries), analyzer, max_terms=2)
    assert expander.expand("정렬 순서") == "sort order"
    bounded = GlossaryExpander(Glossary(analyzer, entries), analyzer, max_terms=1)
    assert bounded.expand("정렬 순서") == "sort"


def test_a_malformed_line_is_refused() -> None:
    assert read_entries("# comment\n정렬\tsort sorted\n") == [
        GlossaryEntry("정렬", ("sort", "sorted"))
    ]
    with pytest.raises(ValueError, match="line 2"):
        read_entries("정렬\tsort\n정렬 sort\n")


def test_the_shipped_glossary_is_large_and_well_formed(analyzer: TextAnalyzer) -> None:
    entries = shipped_entries()
    assert len(entries) >= 500
    for entry in entries:
        assert all(term.isascii() and term == term.lower() for term in entry.terms), entry
        tokens = analyzer.analyze_query(entry.key) if not entry.key.startswith("=") else []
        assert set(tokens) - FUNCTION_MORPHEMES or not tokens, entry


def test_the_expansion_costs_microseconds(expander: GlossaryExpander) -> None:
    expander.expand("정렬된 배열에서 중복을 제거하는 함수")  # warm the analyzer
    started = time.perf_counter()
    for _ in range(50):
        expander.expand("정렬된 배열에서 중복을 제거하는 함수")
    assert (time.perf_counter() - started) / 50 < 0.005  # ~0.4 ms measured on 2 cores


def test_the_glossary_ships_in_the_wheel() -> None:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    patterns = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]
    shipped = f"retrieve/data/{GLOSSARY_FILE}"
    assert any(fnmatch(shipped, pattern) for pattern in patterns["ragcode"])


def test_a_team_glossary_file_replaces_the_shipped_one(
    analyzer: TextAnalyzer, tmp_path: Path
) -> None:
    path = tmp_path / "terms.tsv"
    path.write_text("# our words\n결재\tapproval approve\n", encoding="utf-8")
    team = build_glossary_expander(analyzer, path)
    assert team.expand("결재 올리는 함수") == "approval approve"
    assert team.expand("리스트 정렬") is None  # the shipped entries are not used
    with pytest.raises(FileNotFoundError, match="glossary_file"):
        build_glossary_expander(analyzer, tmp_path / "missing.tsv")


def test_a_configured_weight_table_keeps_the_other_default_weights(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Setting one list weight used to replace the whole table: the glossary lists then
    weighed 1.0 instead of 1.5 / 0.5."""
    from ragcode.config import DEFAULT_LIST_WEIGHTS, GLOSSARY_LEXICAL_LISTS, Settings

    monkeypatch.setenv("RAGCODE_SEARCH__LIST_WEIGHTS", '{"lexical:code": 0.7}')
    weights = Settings().search.list_weights
    assert weights["lexical:code"] == 0.7
    assert weights[GLOSSARY_LEXICAL_LISTS[0]] == DEFAULT_LIST_WEIGHTS[GLOSSARY_LEXICAL_LISTS[0]]
    assert weights["lexical:summary"] == 2.0
