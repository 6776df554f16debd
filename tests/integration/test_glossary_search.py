"""The glossary expansion inside search: through the real analyzer, the real embedded store
and the real local embedder, a Korean question finds English-named code by lexical search."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ragcode.app import App, build_app
from ragcode.config import Settings
from ragcode.domain import Hit
from ragcode.embeddings.local import LocalEmbedder
from ragcode.retrieve.hybrid import RetrieverChoice

pytestmark = pytest.mark.integration

HELPERS_PY = '''\
def remove_duplicates(items):
    """Keep the first occurrence of every value."""
    seen = set()
    return [x for x in items if not (x in seen or seen.add(x))]


def reverse_words(text):
    return " ".join(reversed(text.split()))


def is_valid_email(address):
    return "@" in address and "." in address.rsplit("@", 1)[-1]


def chunk_list(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]
'''

QUESTION = "리스트에서 중복된 값을 없애는 함수"
LEXICAL_ONLY = RetrieverChoice(lexical=True, vector=False, rerank=False)
LEXICAL_NO_EXPANSION = RetrieverChoice(
    lexical=True, vector=False, rerank=False, expand=False, glossary=False
)
NO_LLM_EXPANSION = RetrieverChoice(lexical=True, vector=False, rerank=False, expand=False)


@pytest.fixture
def indexed(
    settings: Settings, embedder: LocalEmbedder, tmp_path: Path
) -> Iterator[Callable[..., App]]:
    apps: list[App] = []

    def factory(glossary: bool, **search_settings: object) -> App:
        update = {"glossary_expansion": glossary, **search_settings}
        search = settings.search.model_copy(update=update)
        app = build_app(settings.model_copy(update={"search": search}), embedder=embedder)
        source = tmp_path / "src"
        source.mkdir(exist_ok=True)
        (source / "helpers.py").write_text(HELPERS_PY, encoding="utf-8")
        app.indexer.index(source)  # no summaries: English code, a Korean question
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.close()


def titles(hits: list[Hit]) -> list[str]:
    return [hit.record.title for hit in hits]


def list_names(hits: list[Hit]) -> set[str]:
    return {name for hit in hits for name in hit.scores.ranks}


def test_lexical_search_finds_english_code_only_with_the_glossary(
    indexed: Callable[[bool], App],
) -> None:
    app = indexed(True)
    plain = app.searcher.search(QUESTION, top_k=4, retrievers=LEXICAL_NO_EXPANSION)
    assert "remove_duplicates" not in titles(plain)
    expanded = app.searcher.search(QUESTION, top_k=4, retrievers=LEXICAL_ONLY)
    assert titles(expanded)[0] == "remove_duplicates"
    assert expanded[0].scores.ranks["glossary-lexical:identifiers"] == 1
    assert not any(name.startswith("glossary-vector:") for name in list_names(expanded))
    # `ragcode search --no-expand` turns the LLM expansion off; the glossary needs no model.
    no_llm = app.searcher.search(QUESTION, top_k=4, retrievers=NO_LLM_EXPANSION)
    assert titles(no_llm)[0] == "remove_duplicates"


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("문자열의 단어 순서를 뒤집기", "reverse_words"),
        ("배열을 일정한 크기로 나누기", "chunk_list"),
    ],
)
def test_hybrid_search_ranks_the_english_name_first(
    indexed: Callable[[bool], App], question: str, title: str
) -> None:
    hits = indexed(True).searcher.search(question, top_k=4)
    assert titles(hits)[0] == title
    assert "glossary-lexical:identifiers" in hits[0].scores.ranks
    assert any(name.startswith("glossary-vector:") for name in hits[0].scores.ranks)


def test_switched_off_there_is_no_glossary_expansion(indexed: Callable[[bool], App]) -> None:
    app = indexed(False)
    hits = app.searcher.search(QUESTION, top_k=4)
    assert not any(name.startswith("glossary-") for name in list_names(hits))
    lexical = app.searcher.search(QUESTION, top_k=4, retrievers=LEXICAL_ONLY)
    assert "remove_duplicates" not in titles(lexical)


def test_the_glossary_never_removes_a_hit_the_question_alone_keeps(
    indexed: Callable[..., App],
) -> None:
    """The nudge towards the glossary words lowers some units' cosine ("함수를 만들어줘" adds
    function/make/create to every question): with the cut-off between a unit's cosine to
    the question and to the nudged vector, the unit used to vanish with the glossary on (the
    web app's code answer then had no reference at all)."""
    question = "리스트에서 중복된 값을 없애는 함수를 만들어줘"
    probe = indexed(True, min_relevance=0.0).searcher
    alone = {h.record.title: h.scores.rerank for h in probe.search(question, top_k=10,
             retrievers=RetrieverChoice(glossary=False))}  # fmt: skip
    nudged = {h.record.title: h.scores.rerank for h in probe.search(question, top_k=10)}
    lowered = [title for title in alone if nudged[title] < alone[title]]
    assert lowered, (alone, nudged)  # the case this test is about exists here
    title = lowered[0]
    cutoff = (alone[title] + nudged[title]) / 2
    searcher = indexed(True, min_relevance=cutoff).searcher
    without = titles(
        searcher.search(question, top_k=10, retrievers=RetrieverChoice(glossary=False))
    )
    assert title in without
    with_glossary = titles(searcher.search(question, top_k=10))
    assert set(without) <= set(with_glossary)
