"""An upload's summary progress reaches its owner whoever writes the summaries: this process's
runner, or another replica or `ragcode worker` holding some of the upload's units."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ragcode.app import build_app
from ragcode.config import Settings
from ragcode.domain import SummaryState, user_scope
from ragcode.embeddings.local import LocalEmbedder
from ragcode.ingest.entries import EntryBuilder
from ragcode.server.protocol import Progress
from ragcode.server.upload_summaries import UploadSummaries
from ragcode.uploads.protocol import Document
from tests.integration.test_isolation import ALICE_CODE
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.integration

SECOND = b'''

def refund_card(card_id, amount):
    """Give money back to a card."""
    ledger = open_ledger(card_id)
    ledger.credit(amount)
    return ledger.balance
'''


def test_units_summarized_elsewhere_are_reported_and_the_upload_waits_for_them(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    core = build_app(
        Settings(data_dir=tmp_path / "data"), llm=ScriptedLLM(lambda m: "여기서 쓴 요약"),
        embedder=embedder,
    )  # fmt: skip
    try:
        files = tmp_path / "upload" / "files"
        files.mkdir(parents=True)
        (files / "payments.py").write_bytes(ALICE_CODE + SECOND)
        core.indexer.index(files, owner=user_scope(1), own_root=True)
        root = str(files.resolve())
        uids = sorted(core.store.summary_states(root))
        assert len(uids) >= 2
        # Another worker holds the first unit (its lease is long); it writes a while later.
        held = core.store.claim_summaries("elsewhere", 1, 300.0)
        assert len(held) == 1
        other = held[0]
        builder = EntryBuilder(core.analyzer, core.embedder)

        def write_elsewhere() -> None:
            time.sleep(1.5)
            tokens, vector = builder.summary_fields(other.record, "다른 곳에서 쓴 요약")
            assert core.store.set_summary(
                other.uid, summary="다른 곳에서 쓴 요약", state=SummaryState.DONE,
                tokens=tokens, vector=vector, model="remote", worker="elsewhere",
            )  # fmt: skip

        writer = threading.Thread(target=write_elsewhere)
        writer.start()
        sent: list[Progress] = []
        doc = Document("d1", 1, "payments.py", "code", files.resolve(), "summarizing", 0, None, 0)
        summaries = UploadSummaries(
            core.store, core.summaries, lambda user, message: sent.append(message),
            patience_s=30.0, stopping=threading.Event(),
        )  # fmt: skip
        started = time.monotonic()
        summaries.run(doc)
        writer.join()
        assert time.monotonic() - started >= 1.4  # it waited for the unit held elsewhere
        by_unit = {m.unit["name"]: m.summary for m in sent if m.unit}
        assert by_unit[other.record.title] == "다른 곳에서 쓴 요약"
        assert any(s and s.startswith("여기서 쓴 요약") for s in by_unit.values())
        total = len([u for u, s in core.store.summary_states(root).items()
                     if s is not SummaryState.TRIVIAL])  # fmt: skip
        assert [m.done for m in sent] == list(range(total + 1))
        assert all(m.total == total for m in sent)
    finally:
        core.close()


def test_a_stalled_holder_elsewhere_does_not_hold_the_upload_queue(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    core = build_app(
        Settings(data_dir=tmp_path / "data"), llm=ScriptedLLM(lambda m: "요약"), embedder=embedder
    )
    try:
        files = tmp_path / "upload" / "files"
        files.mkdir(parents=True)
        (files / "payments.py").write_bytes(ALICE_CODE)
        core.indexer.index(files, owner=user_scope(1), own_root=True)
        assert core.store.claim_summaries("stalled", 100, 300.0)  # never written
        doc = Document("d1", 1, "payments.py", "code", files.resolve(), "summarizing", 0, None, 0)
        summaries = UploadSummaries(
            core.store, core.summaries, lambda user, message: None,
            patience_s=1.0, stopping=threading.Event(),
        )  # fmt: skip
        started = time.monotonic()
        summaries.run(doc)
        assert time.monotonic() - started < 10.0
    finally:
        core.close()


def test_a_resumed_upload_reports_its_settled_units_without_a_burst_in_the_estimate(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    """Units summarized before a restart are reported at once, but they were not settled
    now: the time left must not be computed as if they had all finished in a second."""
    core = build_app(
        Settings(data_dir=tmp_path / "data"), llm=ScriptedLLM(lambda m: "요약"), embedder=embedder
    )
    try:
        files = tmp_path / "upload" / "files"
        files.mkdir(parents=True)
        (files / "payments.py").write_bytes(
            ALICE_CODE + SECOND + SECOND.replace(b"refund", b"void")
        )
        core.indexer.index(files, owner=user_scope(1), own_root=True)
        assert core.summaries.run(limit=1).written == 1  # before the restart
        sent: list[Progress] = []
        doc = Document("d1", 1, "payments.py", "code", files.resolve(), "summarizing", 0, None, 0)
        summaries = UploadSummaries(
            core.store, core.summaries, lambda user, message: sent.append(message),
            patience_s=30.0, stopping=threading.Event(),
        )  # fmt: skip
        summaries.run(doc)
    finally:
        core.close()
    assert [m.done for m in sent] == [0, 1, 2, 3] and {m.total for m in sent} == {3}
    # One summary in the queue's last ten minutes: 0.1 a minute, so 2 units take 20 minutes
    # by the queue's throughput; a burst of one unit "in a second" would say 2 seconds.
    assert sent[0].remaining_s == pytest.approx(3 * 600.0)
    assert sent[1].remaining_s == pytest.approx(2 * 600.0)
    assert sent[2].remaining_s is not None and sent[2].remaining_s > 0
    assert sent[3].remaining_s == 0
