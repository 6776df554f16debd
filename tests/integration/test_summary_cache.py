"""The summary cache is keyed by (code hash, prompt version, model), on both backends: the same
code is summarized once per prompt version and model, a reused summary keeps the name of the
model that wrote it, and another model or an edited prompt summarizes the code again. Old
indexes keep their rows under the legacy prompt version: the migration of both stores is in
tests/integration/test_store_contract.py, two SQLite openers migrating at once here."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from ragcode import app as app_module
from ragcode.app import App, build_app
from ragcode.cli import main
from ragcode.config import IndexSettings, Settings, StoreSettings
from ragcode.embeddings.local import LocalEmbedder
from ragcode.ingest import summarize
from ragcode.ingest.summarize import summary_prompt_version
from ragcode.llm.protocol import LLM, ChatMessage
from ragcode.store import schema
from ragcode.store.protocol import LEGACY_PROMPT, CachedSummary
from ragcode.store.sqlite_store import SqliteStore
from tests.integration.test_summary_claims import unit_name, write_project
from tests.old_stores import OLD_UNITS, open_at_once, sqlite_schema, write_sqlite_v4
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.integration

BACKENDS = ["sqlite", "postgres"]
FUNCTIONS = 3  # per file: 2 files, 6 distinct units, none trivial


@dataclass
class ModelLLM(ScriptedLLM):
    """A scripted LLM that goes by the name of a model; its summaries say who wrote them."""

    model: str = "model-a"

    @property
    def name(self) -> str:
        return self.model


def llm_named(model: str) -> ModelLLM:
    def answer(messages: Sequence[ChatMessage]) -> str:
        return f"요약: {model} 모델이 쓴 {unit_name(messages)} 설명이다."

    return ModelLLM(answer, model=model)


AppMaker = Callable[..., App]


def version(questions: bool = True) -> str:
    """The prompt version of the default [index] settings (what the apps here run with)."""
    index = IndexSettings()
    return summary_prompt_version(
        questions=questions, max_tokens=index.summary_max_tokens,
        max_chars=index.summary_max_chars, max_code_chars=index.summary_code_chars,
    )  # fmt: skip


@pytest.fixture(params=BACKENDS)
def make_app(
    request: pytest.FixtureRequest, settings: Settings, embedder: LocalEmbedder
) -> Iterator[AppMaker]:
    """Apps on one store of the backend (as processes with different [llm] settings)."""
    if request.param == "postgres":
        url = request.getfixturevalue("pg_database")
        settings = settings.model_copy(update={"store": StoreSettings(url=url)})
    apps: list[App] = []

    def factory(llm: ModelLLM, *, questions: bool = True) -> App:
        index = settings.index.model_copy(update={"summary_questions": questions})
        app = build_app(settings.model_copy(update={"index": index}), llm=llm, embedder=embedder)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.close()


@pytest.fixture
def copies(tmp_path: Path) -> Callable[[str], Path]:
    """The same project under another root each time: the same code, so the same hashes."""

    def copy(name: str) -> Path:
        return write_project(tmp_path / name, files=2, functions=FUNCTIONS)

    return copy


def summaries_of(app: App, root: Path) -> dict[str, str | None]:
    states = app.store.summary_states(str(root.resolve()))
    assert states, f"nothing indexed under {root}"
    return {uid: unit.summary for uid, unit in app.store.get_units(list(states)).items()}


def cache_keys(app: App) -> set[tuple[str, str]]:
    return {(row.prompt, row.model) for row in app.store.export_summary_cache()}


def first_summarized(make_app: AppMaker, copies: Callable[[str], Path]) -> App:
    """An app whose model "model-a" has summarized (and cached) a first copy of the project."""
    app = make_app(llm_named("model-a"))
    app.indexer.index(copies("first"))
    app.summaries.run()
    return app


def test_a_reused_summary_keeps_the_model_that_wrote_it(
    make_app: AppMaker, copies: Callable[[str], Path]
) -> None:
    """The summary runner meets code it summarized before: no LLM call, and the cache row
    still names the model (it was rewritten as model "cache" before)."""
    llm = llm_named("model-a")
    app = make_app(llm)
    first, second = copies("first"), copies("second")
    app.indexer.index(first)
    app.indexer.index(second)  # nothing summarized yet: every unit waits for the runner
    units = 2 * FUNCTIONS
    assert app.summaries.run(limit=units).written == units  # the first root's units
    assert len(llm.calls) == units
    report = app.summaries.run()  # the second root's: the same code
    assert (report.written, report.from_cache, len(llm.calls)) == (0, units, units)
    assert set(summaries_of(app, second).values()) == set(summaries_of(app, first).values())
    assert cache_keys(app) == {(version(), "model-a")}
    assert all("model-a 모델이 쓴" in row.summary for row in app.store.export_summary_cache())


def test_indexing_reuses_a_summary_of_the_same_prompt_and_model(
    make_app: AppMaker, copies: Callable[[str], Path]
) -> None:
    llm = llm_named("model-a")
    app = make_app(llm)
    app.indexer.index(copies("first"))
    app.summaries.run()
    calls = len(llm.calls)
    second = copies("second")
    app.indexer.index(second)
    assert app.store.queue_status().ready == 0  # summarized as it was written
    assert all(text and "model-a" in text for text in summaries_of(app, second).values())
    assert app.summaries.run().written == 0 and len(llm.calls) == calls


def test_another_model_summarizes_the_code_again(
    make_app: AppMaker, copies: Callable[[str], Path]
) -> None:
    """Another [llm] model (a worker on another endpoint, a new embedded model) does not
    take the summaries of the first one: it writes its own, and both stay cached."""
    app_a = first_summarized(make_app, copies)
    llm_b = llm_named("model-b")
    app_b = make_app(llm_b)
    second = copies("second")
    app_b.indexer.index(second)
    assert app_b.store.queue_status().ready == 2 * FUNCTIONS  # nothing reused at indexing
    report = app_b.summaries.run()
    assert (report.written, report.from_cache) == (2 * FUNCTIONS, 0)
    assert len(llm_b.calls) == 2 * FUNCTIONS
    assert all(text and "model-b" in text for text in summaries_of(app_b, second).values())
    assert cache_keys(app_b) == {(version(), "model-a"), (version(), "model-b")}
    # The first model still finds its own summaries.
    third = copies("third")
    app_a.indexer.index(third)
    assert all(text and "model-a" in text for text in summaries_of(app_a, third).values())


def test_an_edited_prompt_summarizes_the_code_again(
    make_app: AppMaker, copies: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same model with another prompt version (any edit of the prompt's text changes
    it, tests/unit/test_summary_origin.py) writes the summaries anew."""
    first_summarized(make_app, copies)
    original = version()
    monkeypatch.setattr(summarize, "SUMMARY_PROMPT_VERSION", "summary-edited")
    llm = llm_named("model-a")
    edited = make_app(llm)
    edited.indexer.index(copies("second"))
    report = edited.summaries.run()
    assert (report.written, report.from_cache) == (2 * FUNCTIONS, 0) == (len(llm.calls), 0)
    assert cache_keys(edited) == {(original, "model-a"), (version(), "model-a")}
    assert original != version()


def test_the_prompt_without_questions_is_another_version(
    make_app: AppMaker, copies: Callable[[str], Path]
) -> None:
    """`index.summary_questions = false` sends another prompt: summaries with questions are
    not reused as summaries without them, nor the other way round."""
    first_summarized(make_app, copies)
    llm = llm_named("model-a")
    plain = make_app(llm, questions=False)
    plain.indexer.index(copies("second"))
    assert plain.summaries.run().written == 2 * FUNCTIONS == len(llm.calls)
    assert cache_keys(plain) == {(version(), "model-a"), (version(questions=False), "model-a")}


def test_a_model_without_a_name_caches_nothing(
    make_app: AppMaker, copies: Callable[[str], Path]
) -> None:
    """An endpoint whose model is "" (any model could be behind it): its summaries are
    written, but never cached nor taken from the cache (another unnamed model wrote those)."""
    first_summarized(make_app, copies)
    unnamed = llm_named("")
    app_u = make_app(unnamed)
    second = copies("second")
    app_u.indexer.index(second)
    assert app_u.store.queue_status().ready == 2 * FUNCTIONS
    assert app_u.summaries.run().written == 2 * FUNCTIONS == len(unnamed.calls)
    assert cache_keys(app_u) == {(version(), "model-a")}
    app_u.indexer.index(copies("third"))
    assert app_u.store.queue_status().ready == 2 * FUNCTIONS  # nothing reused
    report = app_u.summaries.run()
    assert (report.written, report.from_cache) == (2 * FUNCTIONS, 0)


class BuildCounter:
    """Stands in for app.build_llm: counts the LLMs built (none should be, to index)."""

    def __init__(self) -> None:
        self.built = 0

    def __call__(self, settings: Settings) -> LLM:
        self.built += 1
        raise AssertionError("the LLM was built")


def test_indexing_names_the_model_from_the_settings_without_building_it(
    settings: Settings, embedder: LocalEmbedder, copies: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The cache lookups of `ragcode index` and `repo sync` need the model's name only: the
    LLM (for the embedded model: its weights assembled, GBs on first use) is not built."""
    counter = BuildCounter()
    monkeypatch.setattr(app_module, "build_llm", counter)
    first = copies("first")
    app = build_app(settings, embedder=embedder)
    try:
        app.indexer.index(first)
        rows = app.store.export_summary_cache()
        assert rows == [] and app.store.queue_status().ready == 2 * FUNCTIONS
        hashes = {ref.record.code_hash for ref in app.store.units_needing_summary(
            include_failed=False, limit=100
        )}  # fmt: skip
        model = settings.llm.model  # the shipped model the settings choose
        app.store.import_summary_cache(
            [CachedSummary(h, version(), model, f"요약 {h[:6]}") for h in hashes]
        )
        second = copies("second")
        app.indexer.index(second)
        assert all(text and text.startswith("요약 ") for text in summaries_of(app, second).values())
    finally:
        app.close()
    assert counter.built == 0


@pytest.mark.parametrize(
    "how", [["--no-summaries"], ["--summaries-off"]], ids=["no-summaries", "index.summaries"]
)
def test_indexing_without_summaries_never_names_nor_builds_the_model(
    how: list[str], tmp_path: Path, embedder: LocalEmbedder, copies: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """`ragcode index --no-summaries` (or `index.summaries = false`) on a fresh data dir
    whose model file does not exist: no cache lookup, the model is neither named nor built,
    its file not touched."""
    counter = BuildCounter()
    named: list[Settings] = []
    monkeypatch.setattr(app_module, "build_llm", counter)
    monkeypatch.setattr(app_module, "llm_model_name", lambda s: named.append(s) or "x")  # type: ignore[func-returns-value]  # records the call, then names
    monkeypatch.setattr(app_module, "build_embedder", lambda _settings: embedder)
    absent = tmp_path / "absent" / "model.gguf"
    monkeypatch.setenv("RAGCODE_LLM__MODEL_PATH", str(absent))
    args = how
    if how == ["--summaries-off"]:
        monkeypatch.setenv("RAGCODE_INDEX__SUMMARIES", "false")
        args = []
    fresh = tmp_path / "fresh-data"
    code = main(["index", str(copies("first")), "--data-dir", str(fresh), *args])
    assert code == 0, capsys.readouterr().err
    assert (counter.built, named) == (0, [])
    assert not absent.parent.exists() and not (fresh / "models").exists()


def test_imported_rows_are_reused_only_under_their_own_key(
    make_app: AppMaker, copies: Callable[[str], Path]
) -> None:
    """What the evaluation and `ragcode migrate` do: rows exported from one store, imported
    into another, are found by the same prompt and model only; legacy rows never are."""
    source = first_summarized(make_app, copies)
    rows = source.store.export_summary_cache()
    assert len(rows) == 2 * FUNCTIONS
    source.store.import_summary_cache(
        [CachedSummary(row.code_hash, LEGACY_PROMPT, "model-b", "예전 요약") for row in rows]
    )
    source.store.import_summary_cache(
        [CachedSummary(row.code_hash, row.prompt, "model-b", "b의 요약") for row in rows[:2]]
    )
    llm = llm_named("model-b")
    other = make_app(llm)
    second = copies("second")
    other.indexer.index(second)
    assert other.store.queue_status().ready == 2 * FUNCTIONS - 2
    other.summaries.run()
    texts = list(summaries_of(other, second).values())
    assert texts.count("b의 요약") == 2 and "예전 요약" not in texts
    assert len(llm.calls) == 2 * FUNCTIONS - 2


def test_two_openers_of_a_version_5_index_migrate_the_cache_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both read version 5 before either moves the cache; the second finds it moved."""
    path = tmp_path / "index.sqlite3"
    rng = np.random.default_rng(0)
    write_sqlite_v4(path, {unit.uid: rng.normal(size=16) for unit in OLD_UNITS})
    assert open_at_once(path, monkeypatch, "_migrate_5_to_6") == []
    assert sqlite_schema(path)[0] == schema.SCHEMA_VERSION == 7
    store = SqliteStore(path)
    try:
        rows = store.export_summary_cache()
    finally:
        store.close()
    assert [(row.prompt, row.model, row.summary) for row in rows] == [
        (LEGACY_PROMPT, "m", "저장한다")
    ]
