"""Query expansion inside hybrid search: a Korean question reaches English identifiers."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from ragcode.app import App, build_app
from ragcode.config import Settings
from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import LLM, ChatMessage
from ragcode.retrieve import hybrid
from ragcode.retrieve.hybrid import RetrieverChoice
from ragcode.store.protocol import LEXICAL_FIELDS, VECTOR_FIELDS
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.integration

UTILS_PY = '''\
def flatten_nested_list(items):
    """Flatten arbitrarily nested lists into one flat list."""
    flat = []
    for item in items:
        if isinstance(item, list):
            flat.extend(flatten_nested_list(item))
        else:
            flat.append(item)
    return flat


def days_between_dates(start, end):
    """Number of days from start to end."""
    return (end - start).days


def hash_password(password, salt):
    """Hash a password with a salt using PBKDF2."""
    import hashlib
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 100_000)


def resize_image(image, width, height):
    """Resize an image to the given width and height."""
    return image.resize((width, height))
'''

QUESTION = "중첩된 리스트를 평탄하게 펼치는 함수"


@pytest.fixture
def expanding(
    settings: Settings, embedder: LocalEmbedder, tmp_path: Path
) -> Iterator[Callable[..., App]]:
    apps: list[App] = []

    def factory(llm: LLM | None = None) -> App:
        # The product gives up on an expansion after 30 s (the search goes on without it);
        # these tests are about what an expansion adds, and under a loaded CI the first call
        # (the model's load included) once took longer.
        search = settings.search.model_copy(
            update={"expand_query": True, "expansion_timeout_s": 300.0}
        )
        app = build_app(settings.model_copy(update={"search": search}), llm, embedder)
        source = tmp_path / "src"
        source.mkdir(exist_ok=True)
        (source / "utils.py").write_text(UTILS_PY, encoding="utf-8")
        app.indexer.index(source)  # no summaries: only English code and a Korean question
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.close()


def flatten_answer(messages: Sequence[ChatMessage]) -> str:
    return "flatten nested list" if messages[-1].content == QUESTION else "unrelated"


def test_the_expansion_adds_lexical_matches_on_english_identifiers(
    expanding: Callable[..., App],
) -> None:
    app = expanding(ScriptedLLM(flatten_answer))
    plain = app.searcher.search(QUESTION, top_k=4, retrievers=RetrieverChoice(expand=False))
    assert not any(name.startswith("lexical:") for hit in plain for name in hit.scores.ranks)
    hits = app.searcher.search(QUESTION, top_k=4)
    assert hits[0].record.title == "flatten_nested_list"
    assert hits[0].scores.ranks["expanded-lexical:identifiers"] == 1
    assert hits[0].scores.ranks["expanded-lexical:code"] == 1


def test_a_failing_llm_leaves_search_working(expanding: Callable[..., App]) -> None:
    llm = ScriptedLLM(flatten_answer, fail_when=lambda _messages: True)
    app = expanding(llm)
    hits = app.searcher.search(QUESTION, top_k=4)
    assert hits, "search answers without the expansion"
    assert not any(name.startswith("expanded-") for hit in hits for name in hit.scores.ranks)
    assert len(llm.calls) == 1


def test_the_embedded_model_expands_a_korean_question_into_code_words(
    expanding: Callable[..., App],
) -> None:
    app = expanding()  # the real embedded model
    hits = app.searcher.search(QUESTION, top_k=4)
    assert app.searcher.expander is not None
    ((question, expansion),) = app.searcher.expander.known()
    assert question == QUESTION
    assert any(word in expansion.lower() for word in ("flatten", "nested", "list"))
    assert hits[0].record.title == "flatten_nested_list"
    assert any(name.startswith("expanded-lexical:") for name in hits[0].scores.ranks)


@pytest.mark.parametrize(
    "choice",
    [RetrieverChoice(), RetrieverChoice(vector=False), RetrieverChoice(lexical=False)],
    ids=["both", "lexical-only", "vector-only"],
)
def test_the_fused_lists_keep_their_names_and_order(
    expanding: Callable[..., App], monkeypatch: pytest.MonkeyPatch, choice: RetrieverChoice
) -> None:
    """Per text (question, LLM expansion, glossary words): its lexical lists, then its vector
    lists, as before the vector lists of one field were asked for together (the RRF sums in
    this order; a vector list named after the wrong text would take another weight)."""
    fused: list[list[str]] = []
    real_fusion = hybrid.reciprocal_rank_fusion  # type: ignore[attr-defined]  # the name hybrid imports; spied on below

    def spy(lists: dict[str, object], **kwargs: object) -> object:
        fused.append(list(lists))
        return real_fusion(lists, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hybrid, "reciprocal_rank_fusion", spy)
    app = expanding(ScriptedLLM(flatten_answer))
    app.searcher.search(QUESTION, top_k=4, retrievers=choice)
    search = app.settings.search
    expected: list[str] = []
    for prefix, lexical_fields, vectors in (
        ("", LEXICAL_FIELDS, True),
        ("expanded-", search.expansion_lexical_fields, True),
        ("glossary-", search.glossary_lexical_fields, search.glossary_vector),
    ):
        if choice.lexical:
            expected += [f"{prefix}lexical:{field}" for field in lexical_fields]
        if choice.vector and vectors:
            expected += [f"{prefix}vector:{field}" for field in VECTOR_FIELDS]
    assert fused == [expected]
