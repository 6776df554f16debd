"""One count of an upload's units everywhere: the card's "done/total" (progress messages)
ends at the registry's `units` (what indexing wrote, shown in the sidebar), also when some
units are too trivial to summarize."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ragcode.app import build_app
from ragcode.config import Settings
from ragcode.domain import SummaryState, user_scope
from ragcode.embeddings.local import LocalEmbedder
from ragcode.server.protocol import Progress
from ragcode.server.upload_summaries import UploadSummaries
from ragcode.uploads.sqlite import SqliteRegistry
from tests.scripted_llm import ScriptedLLM
from tests.server_support import BANK_PY

pytestmark = pytest.mark.integration


# Two units worth a summary and two trivial ones (a getter and a stub): the sidebar's count
# is 4 (and then some: the class); the card's total must be the same number.
def test_progress_counts_every_unit_the_registry_counts(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    core = build_app(
        Settings(data_dir=tmp_path / "data"), llm=ScriptedLLM(lambda m: "계좌 요약"),
        embedder=embedder,
    )  # fmt: skip
    registry = SqliteRegistry(tmp_path / "data" / "web.db")
    try:
        files = tmp_path / "upload" / "files"
        files.mkdir(parents=True)
        (files / "bank.py").write_bytes(BANK_PY)
        report = core.indexer.index(files, owner=user_scope(1), own_root=True)
        doc = registry.add("d1", 1, "bank.py", "code", files.resolve())
        registry.update(doc.id, state="summarizing", units=report.units_written)
        states = core.store.summary_states(str(files.resolve()))
        trivial = sum(state is SummaryState.TRIVIAL for state in states.values())
        assert trivial >= 2 and len(states) - trivial >= 2  # the case this test is about
        sent: list[Progress] = []
        summaries = UploadSummaries(
            core.store, core.summaries, lambda user, message: sent.append(message),
            patience_s=30.0, stopping=threading.Event(),
        )  # fmt: skip
        stored = registry.get(1, doc.id)
        assert stored is not None
        summaries.run(stored)
    finally:
        registry.close()
        core.close()
    assert sent and {m.total for m in sent} == {stored.units}
    # Trivial units are settled from the start; each summary then adds one.
    assert [m.done for m in sent] == list(range(trivial, stored.units + 1))
    assert sent[-1].remaining_s == 0
