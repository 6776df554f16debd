"""bench/bench_search.py times searches that find something: its synthetic store, searched
with the product's settings through the real encoder, gives non-empty final lists. Its
random vectors of before scored every unit under `search.min_relevance`, so every list was
empty and the latency figures were those of empty lists."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from ragcode.embeddings.local import LocalEmbedder
from ragcode.text.analyzer import TextAnalyzer

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))  # the bench imports its sibling console.py
    return importlib.import_module("bench_search")


@pytest.mark.parametrize("engine", ["fts5", "tantivy"])
def test_bench_queries_return_hits(
    bench: ModuleType, embedder: LocalEmbedder, tmp_path: Path, engine: str
) -> None:
    vocab = bench.build_vocabulary(TextAnalyzer(), embedder, np.random.default_rng(1234))
    factory = bench.EntryFactory(vocab, 1234)
    app = bench.open_app(tmp_path, engine, embedder)
    try:
        assert app.settings.search.min_relevance >= 0.2  # the product's cut-off, not lowered
        bench.grow(app, factory, 0, 1000, 200)
        if engine == "tantivy":
            with app.store.bulk_writes(wait_for_lexicon=True):
                pass
            assert app.store.lexical_engine_serving() == "tantivy"
        counts = [len(app.searcher.search(query, top_k=10)) for query in bench.QUERIES]
    finally:
        app.close()
    empty = sum(1 for count in counts if count == 0)
    assert empty <= len(counts) // 5, counts
    assert float(np.mean(counts)) >= 5.0, counts
