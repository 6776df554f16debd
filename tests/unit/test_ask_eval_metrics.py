"""Scoring of generated code in the ask eval (`ragcode.evaluation.ask`)."""

from __future__ import annotations

import pytest

from ragcode.chat.code_blocks import extract_code_blocks
from ragcode.evaluation.ask import (
    AskCase,
    code_parses,
    has_han,
    meets,
    parse_must_use,
    referenced_names,
    score_answer,
    summarize,
)

pytestmark = pytest.mark.unit

GROUPBY = AskCase("부서별로 묶는 코드", (("groupby",),))


def fenced(code: str, language: str = "python") -> str:
    return f"설명입니다.\n\n```{language}\n{code}\n```\n"


def test_a_call_of_the_required_symbol_is_a_right_use() -> None:
    answer = fenced("from toolz import groupby\n\nby_dept = groupby(lambda u: u['dept'], users)")
    outcome = score_answer(GROUPBY, answer, extract_code_blocks(answer), (), 2.0)
    assert outcome.right_symbols and outcome.parses and outcome.has_code
    assert outcome.invented == () and not outcome.han


def test_a_module_attribute_and_an_alias_count_as_uses() -> None:
    assert "groupby" in referenced_names("import toolz\ntoolz.groupby(len, words)")
    assert "groupby" in referenced_names("from toolz import groupby as gb\ngb(len, words)")


def test_another_symbol_or_an_import_alone_is_not_a_right_use() -> None:
    other = fenced("from toolz import countby\ncountby(len, words)")
    assert not score_answer(GROUPBY, other, extract_code_blocks(other), (), 1.0).right_symbols
    imported_only = fenced("from toolz import groupby\nresult = {}\nfor w in words:\n    pass")
    blocks = extract_code_blocks(imported_only)
    assert not score_answer(GROUPBY, imported_only, blocks, (), 1.0).right_symbols


def test_a_reimplementation_under_the_same_name_is_not_a_use() -> None:
    code = "def groupby(key, seq):\n    out = {}\n    return out\n\ngroupby(len, words)"
    assert "groupby" not in referenced_names(code)
    # The project's source copied from the context and cut off at the token limit (seen with
    # the 0.5B model): it does not parse, and its own definition is still not a use.
    copied = 'import toolz as tz\n\ndef groupby(key, seq):\n    """ Group\n\n    >>> groupby(len'
    assert "groupby" not in referenced_names(copied)
    assert "len" in referenced_names(copied)


def test_every_requirement_must_be_met_and_a_group_takes_any_of_its_names() -> None:
    needs = parse_must_use(["iterate", ["take", "nth"]])
    assert needs == (("iterate",), ("take", "nth"))
    assert meets(needs, {"iterate", "take"})
    assert meets(needs, {"iterate", "nth", "print"})
    assert not meets(needs, {"take", "nth"})  # the first requirement is missing
    assert not meets(needs, {"iterate"})  # no name of the group


@pytest.mark.parametrize("raw", [[], "groupby", [[]], [["take", 3]], None])
def test_a_malformed_requirement_list_is_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_must_use(raw)


def test_han_characters_are_found_and_hangul_is_not_han() -> None:
    assert has_han("# 创建 인덱스")
    assert has_han("값을 返回합니다")
    assert not has_han("# 인덱스를 만듭니다 (index 생성)")
    comment = fenced("from toolz import groupby\ngroupby(len, xs)  # 按长度分组")
    assert score_answer(GROUPBY, comment, extract_code_blocks(comment), (), 1.0).han


def test_code_that_does_not_parse_is_counted_and_its_names_still_read() -> None:
    broken = fenced("from toolz import groupby\nresult = groupby(len, words\nprint(result)")
    outcome = score_answer(GROUPBY, broken, extract_code_blocks(broken), (), 1.0)
    assert not outcome.parses
    assert outcome.right_symbols  # the identifiers of the non-import lines
    assert not code_parses([])  # no code: nothing parses
    assert not code_parses(["x = 1", "def f(:"])  # one bad block spoils the answer


def test_an_answer_without_python_code_has_no_code() -> None:
    prose = "toolz의 함수를 쓰면 됩니다."
    outcome = score_answer(GROUPBY, prose, extract_code_blocks(prose), (), 1.0)
    assert not outcome.has_code and not outcome.parses and not outcome.right_symbols
    shell = fenced("pip install toolz", "bash")
    assert not score_answer(GROUPBY, shell, extract_code_blocks(shell), (), 1.0).has_code


def test_the_summary_counts_each_measure() -> None:
    good = fenced("from toolz import groupby\ngroupby(len, xs)")
    han = fenced("from toolz import groupby\ngroupby(len, xs)  # 分组")
    broken = fenced("from toolz import group_by\ngroup_by(len, xs")
    outcomes = [
        score_answer(GROUPBY, good, extract_code_blocks(good), (), 2.0),
        score_answer(GROUPBY, han, extract_code_blocks(han), ["group_values"], 4.0),
        score_answer(GROUPBY, broken, extract_code_blocks(broken), (), 6.0, repaired=True),
        score_answer(GROUPBY, "모르겠습니다", [], (), 0.0),
    ]
    summary = summarize(outcomes)
    assert summary.questions == 4
    assert summary.with_code == 3
    assert summary.right_symbols == 2
    assert summary.invented == 1
    assert summary.han == 1
    assert summary.parses == 2
    assert summary.repaired == 1
    assert summary.mean_seconds == pytest.approx(3.0)
    assert outcomes[1].invented == ("group_values",)
