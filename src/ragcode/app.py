"""Composition root: the only place that reads settings and picks adapters."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ragcode.config import Settings
from ragcode.embeddings.local import LocalEmbedder
from ragcode.embeddings.protocol import Embedder
from ragcode.ingest.entries import EntryBuilder
from ragcode.ingest.files import FileLimits
from ragcode.ingest.indexer import Indexer
from ragcode.ingest.summarize import Summarizer
from ragcode.ingest.summary_runner import SummaryRunner
from ragcode.llm import weights
from ragcode.llm.llamacpp import LlamaCppLLM
from ragcode.llm.protocol import LLM
from ragcode.retrieve.hybrid import HybridSearcher
from ragcode.store.sqlite_store import SqliteStore
from ragcode.text.analyzer import TextAnalyzer

log = logging.getLogger(__name__)

INDEX_FILE = "index.sqlite3"


def build_llm(settings: Settings) -> LLM:
    llm = settings.llm
    if llm.model_path is not None:
        return LlamaCppLLM(
            llm.model_path, name=llm.model_path.stem, n_ctx=llm.n_ctx,
            n_threads=llm.n_threads, seed=llm.seed,
        )  # fmt: skip
    model = weights.choose_model(llm.model)
    path = weights.assemble(model, settings.data_dir / "models")
    return LlamaCppLLM(
        path, name=model.name, n_ctx=llm.n_ctx, n_threads=llm.n_threads, seed=llm.seed
    )


def build_embedder(settings: Settings) -> Embedder:
    return LocalEmbedder(
        threads=settings.embeddings.threads, batch_size=settings.embeddings.batch_size
    )


@dataclass(slots=True)
class App:
    settings: Settings
    store: SqliteStore
    analyzer: TextAnalyzer
    embedder: Embedder
    indexer: Indexer
    summaries: SummaryRunner
    searcher: HybridSearcher

    def close(self) -> None:
        self.store.close()


def build_app(settings: Settings, llm: LLM | None = None, embedder: Embedder | None = None) -> App:
    """Wire the embedded product; `llm`/`embedder` replace the configured ones (tests, benches)."""
    data_dir: Path = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    store = SqliteStore(data_dir / INDEX_FILE)
    analyzer = TextAnalyzer()
    embedder = embedder or build_embedder(settings)
    builder = EntryBuilder(analyzer, embedder)
    limits = FileLimits(
        max_bytes=settings.index.max_file_bytes, max_line_length=settings.index.max_line_length
    )
    index_settings = settings.index

    def make_summarizer() -> Summarizer:
        return Summarizer(
            llm if llm is not None else build_llm(settings),
            max_tokens=index_settings.summary_max_tokens,
            max_chars=index_settings.summary_max_chars,
            max_code_chars=index_settings.summary_code_chars,
        )

    return App(
        settings=settings,
        store=store,
        analyzer=analyzer,
        embedder=embedder,
        indexer=Indexer(store, builder, limits),
        summaries=SummaryRunner(store, builder, make_summarizer),
        searcher=HybridSearcher(store, analyzer, embedder, settings.search),
    )
