"""Documents on multilingual-e5 (the default with local embeddings), code on USE."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ragcode.app import App, build_app
from ragcode.config import Settings
from ragcode.embeddings.local import LocalEmbedder
from ragcode.evaluation.dataset import load_dataset
from ragcode.evaluation.runner import CONFIGURATIONS, evaluate
from ragcode.store.protocol import EmbedderMismatchError
from tests.sample_project import write_sample_project

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_FAQ = ROOT / "samples" / "bank_faq_ko.csv"
EVAL_SET = ROOT / "eval" / "bank_faq_ko.jsonl"


def open_app(settings: Settings, embedder: LocalEmbedder, local_embedder: str) -> App:
    docs = settings.documents.model_copy(update={"local_embedder": local_embedder})
    return build_app(settings.model_copy(update={"documents": docs}), embedder=embedder)


def recorded_models(app: App) -> dict[str, str]:
    rows = app.store._conn.execute("SELECT key, value FROM meta WHERE key LIKE 'embedder:%'")  # type: ignore[attr-defined]  # the SQLite store's connection
    return {str(key): str(value) for key, value in rows}


@pytest.fixture
def faq(tmp_path: Path) -> Path:
    copy = tmp_path / "faq" / "bank_faq_ko.csv"
    copy.parent.mkdir()
    shutil.copy(SAMPLE_FAQ, copy)
    return copy


def test_documents_default_to_e5_and_code_stays_on_use(
    settings: Settings, embedder: LocalEmbedder, faq: Path, tmp_path: Path
) -> None:
    app = open_app(settings, embedder, "e5")
    try:
        app.docs.indexer.index(faq)
        app.indexer.index(write_sample_project(tmp_path / "project"))
        assert recorded_models(app) == {
            "embedder:docs": "multilingual-e5-small-q4",
            "embedder:code": "universal-sentence-encoder-multilingual-3",
        }
        metrics, _ = evaluate(app.docs.searcher, load_dataset(EVAL_SET), CONFIGURATIONS["hybrid"])
    finally:
        app.close()
    # The figures README reports for the shipped FAQ, with the calibrated cut-off.
    assert metrics.recall_at_5 >= 0.95
    assert metrics.no_answer_rate is not None and metrics.no_answer_rate >= 0.5


def test_refusal_retry_is_calibrated_per_document_model(
    settings: Settings, embedder: LocalEmbedder
) -> None:
    """e5 scores are calibrated (refusals above 0.90 are retried); USE has no calibration,
    so its refusals stand; an explicit setting wins over both."""
    expected = {"e5": 0.90, "use": None}
    for local_embedder, retry in expected.items():
        app = open_app(settings, embedder, local_embedder)
        try:
            assert app.docs.retry_relevance == retry
        finally:
            app.close()
    settings.documents.answer_retry_relevance = 2.0
    app = open_app(settings, embedder, "e5")
    try:
        assert app.docs.retry_relevance == 2.0
    finally:
        app.close()


def test_switching_the_document_model_asks_for_a_new_index_and_loses_nothing(
    settings: Settings, embedder: LocalEmbedder, faq: Path
) -> None:
    app = open_app(settings, embedder, "e5")
    try:
        app.docs.indexer.index(faq)
    finally:
        app.close()
    switched = open_app(settings, embedder, "use")
    try:
        with pytest.raises(EmbedderMismatchError, match="multilingual-e5-small-q4"):
            switched.docs.searcher.search("카드를 잃어버렸어요")
        with pytest.raises(EmbedderMismatchError):
            switched.docs.indexer.index(faq)
        assert switched.docs.store.status().units == 66, "the old index is intact"
        switched.docs.indexer.remove(faq)
        switched.docs.indexer.index(faq)  # emptied: the new model takes the collection
        hits = switched.docs.searcher.search("카드를 잃어버렸어요", top_k=3)
        assert hits and hits[0].record.title == "카드를 잃어버렸어요."
    finally:
        switched.close()
