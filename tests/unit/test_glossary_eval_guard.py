"""The shipped glossary (retrieve/data/ko_en_code_terms.tsv) stays general vocabulary.

A glossary that copied eval questions, or listed the gold functions' names, would answer
the evaluation instead of the user: these checks guard the no-model expansion's figures
the way tests/unit/test_expansion_prompts.py guards the LLM prompts'.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pytest

import ragcode.retrieve.glossary as glossary_module
from ragcode.retrieve.glossary import GLOSSARY_FILE, GlossaryEntry, shipped_entries
from tests.unit.test_expansion_prompts import eval_rows

pytestmark = pytest.mark.unit

# Measured 2026-12-02: 8% of the glossary's English words are also whole gold names
# (general words such as a "merge" or "flatten" function), covering a quarter of the gold
# names. A glossary written from the gold list would be mostly gold names.
MAX_GOLD_SHARE_OF_TERMS = 0.15
MAX_SHARE_OF_GOLD_COVERED = 0.5
MAX_KEY_WORDS = 3  # words and short phrases, not sentences
GLOSSARY_PATH = Path(glossary_module.__file__).parent / "data" / GLOSSARY_FILE


def gold_names() -> set[str]:
    """The last segment of every code gold name (`Class.method` -> `method`), lowercased."""
    names = set()
    for row in eval_rows():
        if row.get("name") and row.get("path") and not str(row["path"]).endswith(".csv"):
            names.add(str(row["name"]).split(".")[-1].lower())
    return names


def gold_shares(entries: Iterable[GlossaryEntry], gold: set[str]) -> tuple[float, float]:
    """(share of the glossary's words that are gold names, share of gold names covered)."""
    terms = {term for entry in entries for term in entry.terms}
    common = terms & gold
    return len(common) / len(terms), len(common) / len(gold)


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_glossary_is_not_a_list_of_gold_names() -> None:
    gold = gold_names()
    assert len(gold) > 200  # every code set is read (toolz, lodash-es, govalidator)
    of_terms, of_gold = gold_shares(shipped_entries(), gold)
    assert of_terms < MAX_GOLD_SHARE_OF_TERMS
    assert of_gold < MAX_SHARE_OF_GOLD_COVERED


def test_the_measure_catches_a_glossary_of_gold_names() -> None:
    gold = sorted(gold_names())
    copied = [GlossaryEntry(f"낱말{i}", (name,)) for i, name in enumerate(gold)]
    mixed = shipped_entries() + copied
    of_terms, of_gold = gold_shares(mixed, set(gold))
    assert of_terms >= MAX_GOLD_SHARE_OF_TERMS
    assert of_gold >= MAX_SHARE_OF_GOLD_COVERED


def test_no_eval_question_is_in_the_glossary() -> None:
    entries = shipped_entries()
    keys = {compact(entry.key) for entry in entries}
    for row in eval_rows():
        question = compact(str(row["q"]))
        assert question not in keys, row["q"]
    assert all(len(entry.key.split()) <= MAX_KEY_WORDS for entry in entries)


def shared_run(text: str, question: str, length: int) -> str | None:
    """A run of `length` characters of `question` found in `text` (spaces removed)."""
    return next(
        (question[i : i + length] for i in range(len(question) - length + 1)
         if question[i : i + length] in text),
        None,
    )  # fmt: skip


SHARED_RUN = 10  # characters: longer than any glossary phrase, shorter than a question


def test_no_line_of_the_glossary_file_shares_a_phrase_with_an_eval_question() -> None:
    """Comments included: the whole file, spaces removed, shares no run of 10 characters
    with any eval question (a copied or lightly edited question would)."""
    text = compact(GLOSSARY_PATH.read_text(encoding="utf-8"))
    found = {
        str(row["q"]): run
        for row in eval_rows()
        if (run := shared_run(text, compact(str(row["q"])), SHARED_RUN))
    }
    assert found == {}


def test_the_phrase_check_catches_a_copied_question() -> None:
    question = compact(str(next(iter(eval_rows()))["q"]))
    assert shared_run("정렬" + question[2:-1] + "하기", question, SHARED_RUN) is not None
