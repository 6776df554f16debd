"""Document collections through the real embeddings and store: add, ask, isolate, replace."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ragcode.app import App
from ragcode.chat.doc_answer import DocAnswer
from ragcode.domain import SummaryState
from ragcode.ingest.indexer import IndexInputError
from tests.doc_samples import image_only_pdf, pdf_bytes
from tests.sample_project import write_sample_project
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.integration

SAMPLE_FAQ = Path(__file__).resolve().parents[2] / "samples" / "bank_faq_ko.csv"
DOC_FORMATS = {"csv", "tsv", "json", "jsonl", "markdown", "text", "pdf", "docx"}


def units_of(app: App, path: str) -> list[tuple[str, str]]:
    rows = app.docs.store._conn.execute(  # type: ignore[attr-defined]  # the SQLite store's connection
        "SELECT name, summary_state FROM units WHERE collection = ? AND path = ?",
        (app.docs.collection, path),
    )
    return [(str(name), str(state)) for name, state in rows]


def ask(app: App, question: str) -> DocAnswer:
    final = list(app.document_assistant().ask(question))[-1]
    assert isinstance(final, DocAnswer)
    return final


def test_sample_faq_is_searchable_without_summaries(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    llm = ScriptedLLM(lambda m: "영업점 방문 없이 앱에서 만들 수 있습니다 [1].")
    app = make_app(llm)
    faq = tmp_path / "bank_faq_ko.csv"
    shutil.copy(SAMPLE_FAQ, faq)
    report = app.docs.indexer.index(faq)
    assert report.units_written >= 60 and not report.skipped
    status = app.docs.store.status()
    assert status.summaries_pending == 0 and status.units == report.units_written
    assert {state for _, state in units_of(app, "bank_faq_ko.csv")} == {SummaryState.TRIVIAL}
    assert app.summaries.run().written == 0 and not llm.calls  # no LLM call for documents

    hits = app.docs.searcher.search("지점에 가지 않고 휴대폰으로 통장을 만들 수 있나요", top_k=5)
    assert "영업점에 가지 않고 계좌를 만들 수 있나요?" in [h.record.title for h in hits]
    answer = ask(app, "지점에 가지 않고 휴대폰으로 통장을 만들 수 있나요")
    assert answer.answered and answer.cited == [1] and len(llm.calls) == 1
    no_answer = ask(app, "파이썬에서 리스트를 정렬하는 방법을 알려 주세요")
    assert not no_answer.answered and len(llm.calls) == 1  # refused without the LLM

    again = app.docs.indexer.index(faq)
    assert (again.files_unchanged, again.units_written) == (1, 0)


def test_code_and_documents_do_not_mix(make_app: Callable[..., App], tmp_path: Path) -> None:
    app = make_app(ScriptedLLM(lambda m: "요약"))
    app.indexer.index(write_sample_project(tmp_path / "project"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mail.md").write_text(
        "# 메일 발송 안내\n\n고객에게 이메일을 보내는 절차입니다. SMTP 서버를 씁니다.\n",
        encoding="utf-8",
    )
    app.docs.indexer.index(docs)
    question = "이메일을 보내는 방법"
    doc_hits = app.docs.searcher.search(question, top_k=10)
    code_hits = app.searcher.search(question, top_k=10)
    assert doc_hits and code_hits
    assert {h.record.language for h in doc_hits} <= DOC_FORMATS
    assert not {h.record.language for h in code_hits} & DOC_FORMATS
    assert app.store.status().files == 3 and app.docs.store.status().files == 1


def test_bad_files_are_skipped_whole_and_good_ones_indexed(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    app = make_app()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text("# 안내\n\n이체 한도는 하루 5천만 원입니다.\n", encoding="utf-8")
    (docs / "ragged.csv").write_text("질문,답변\n이체 한도는?,5천만 원\n카드,분실,신고\n", "utf-8")
    (docs / "locked.pdf").write_bytes(pdf_bytes([["secret"]], password="pw"))
    (docs / "scanned.pdf").write_bytes(image_only_pdf())
    report = app.docs.indexer.index(docs)
    reasons = {s.path: s.reason for s in report.skipped}
    assert set(reasons) == {"ragged.csv", "locked.pdf", "scanned.pdf"}
    assert "3행의 열 개수" in reasons["ragged.csv"]
    assert "암호" in reasons["locked.pdf"]
    assert "텍스트를 추출할 수 없습니다" in reasons["scanned.pdf"]
    for path in reasons:
        assert units_of(app, path) == []  # nothing half-indexed, not even the good first row
    assert units_of(app, "good.md") == [("안내", SummaryState.TRIVIAL)]
    assert {s.path for s in app.docs.store.status().skipped} == set(reasons)


def test_replace_and_remove_a_document(make_app: Callable[..., App], tmp_path: Path) -> None:
    app = make_app()
    docs = tmp_path / "docs"
    docs.mkdir()
    guide = docs / "guide.md"
    guide.write_text("# 이체\n\n예약이체를 할 수 있습니다.\n\n# 카드\n\n분실 신고.\n", "utf-8")
    (docs / "other.txt").write_text("환전은 앱에서 신청합니다.\n", encoding="utf-8")
    app.docs.indexer.index(docs)
    assert sorted(n for n, _ in units_of(app, "guide.md")) == ["이체", "카드"]

    guide.write_text("# 이체\n\n예약이체는 1년 뒤까지 됩니다.\n\n# 계좌\n\n비대면 개설.\n", "utf-8")
    report = app.docs.indexer.index(docs)
    assert (report.files_changed, report.files_unchanged) == (1, 1)
    assert sorted(n for n, _ in units_of(app, "guide.md")) == ["계좌", "이체"]
    hits = app.docs.searcher.search("카드 분실 신고", top_k=10)
    assert all("분실 신고." not in h.record.body for h in hits)

    guide.write_text("질문,답변\n", encoding="utf-8")  # now a broken file: old chunks go too
    guide.rename(docs / "guide.csv")
    app.docs.indexer.index(docs)
    assert units_of(app, "guide.md") == [] and units_of(app, "guide.csv") == []

    assert app.docs.indexer.remove(docs / "other.txt") == 1
    assert units_of(app, "other.txt") == []
    with pytest.raises(IndexInputError):
        app.docs.indexer.remove(docs / "other.txt")
    assert app.docs.store.status().units == 0
