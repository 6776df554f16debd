"""Incremental indexing through the real parser, analyzer, embeddings and SQLite store."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from ragcode.app import App
from ragcode.domain import SummaryState
from ragcode.ingest.indexer import IndexInputError
from ragcode.llm.protocol import ChatMessage
from tests.sample_project import write_sample_project
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.integration

KOREAN = {
    "read_config": "JSON 설정 파일을 읽어서 딕셔너리로 돌려준다.",
    "write_config": "설정 딕셔너리를 JSON 파일로 저장한다.",
    "Mailer": "SMTP 서버로 전자우편을 보내는 클래스이다.",
    "Mailer.send_email": "보낸 사람, 받는 사람, 제목, 본문으로 이메일 한 통을 발송한다.",
    "Mailer.__init__": "메일 서버 주소와 포트를 저장한다.",
    "checksum": "버퍼의 SHA-256 해시를 16진수 문자열로 계산한다.",
    "verifyChecksum": "버퍼의 해시가 기대값과 같은지 확인한다.",
}


def unit_name(messages: Sequence[ChatMessage]) -> str:
    match = re.search(r"이름: (\S+)", messages[-1].content)
    assert match, "the summary prompt names the unit"
    return match.group(1)


def korean_summary(messages: Sequence[ChatMessage]) -> str:
    description = KOREAN.get(unit_name(messages), "어떤 일을 하는 함수이다.")
    questions = "이 코드는 언제 쓰나요? / 이 코드는 언제 쓰나요? / 비슷한 기능 찾기"
    return f"요약: {description}\n질문: {questions}"


def summary_calls(llm: ScriptedLLM) -> int:
    return len(llm.calls)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_sample_project(tmp_path / "project")


def names(app: App, query: str) -> list[str]:
    return [hit.record.title for hit in app.searcher.search(query, top_k=5)]


def all_units(app: App) -> list[tuple[str, str]]:
    rows = app.store._conn.execute("SELECT path, name FROM units ORDER BY path, name")  # type: ignore[attr-defined]  # the SQLite store's connection
    return [(str(path), str(name)) for path, name in rows]


def test_index_then_search_before_summaries(make_app: Callable[..., App], project: Path) -> None:
    app = make_app(ScriptedLLM(korean_summary))
    report = app.indexer.index(project)
    assert report.files_changed == 3
    assert {s.path for s in report.skipped} == {"logo.png", "notes.md"}
    assert ("app/mailer.py", "Mailer.send_email") in all_units(app)
    # Code, identifiers and docstrings are searchable before any summary exists.
    assert names(app, "send an e-mail message")[0] == "Mailer.send_email"
    status = app.store.status()
    assert status.summaries_done == 0
    assert status.summaries_pending > 0
    assert status.summaries_trivial >= 1  # __repr__ costs no LLM call


def test_summaries_make_korean_questions_work(make_app: Callable[..., App], project: Path) -> None:
    llm = ScriptedLLM(korean_summary)
    app = make_app(llm)
    app.indexer.index(project)
    report = app.summaries.run()
    assert report.written == summary_calls(llm) > 0
    hits = app.searcher.search("이메일 발송하는 코드", top_k=3)
    assert hits[0].record.title == "Mailer.send_email"
    assert hits[0].summary is not None and hits[0].summary.startswith("보낸 사람")  # label stripped
    assert hits[0].summary.endswith("예상 질문: 이 코드는 언제 쓰나요? / 비슷한 기능 찾기")
    assert hits[0].scores.ranks.get("lexical:summary") == 1
    assert names(app, "설정 파일 저장")[0] == "write_config"


def test_unchanged_code_costs_no_llm_call(make_app: Callable[..., App], project: Path) -> None:
    llm = ScriptedLLM(korean_summary)
    app = make_app(llm)
    app.indexer.index(project)
    app.summaries.run()
    first_calls = summary_calls(llm)
    config = project / "app" / "config.py"
    config.write_text(
        config.read_text() + "\n\ndef reset_config(path):\n    write_config(path, {})\n"
    )
    report = app.indexer.index(project)
    assert (report.files_changed, report.files_unchanged) == (1, 2)
    app.summaries.run()
    # Only the new function is new code; read_config/write_config come from the cache.
    assert summary_calls(llm) - first_calls == 1
    assert app.store.status().summaries_pending == 0


def test_changed_and_deleted_files_leave_nothing_stale(
    make_app: Callable[..., App], project: Path
) -> None:
    app = make_app(ScriptedLLM(korean_summary))
    app.indexer.index(project)
    (project / "app" / "config.py").write_text("def load_settings():\n    return {}\n")
    (project / "web" / "checksum.js").unlink()
    report = app.indexer.index(project)
    assert report.files_removed == 1
    units = all_units(app)
    assert ("app/config.py", "load_settings") in units
    assert not any(name in {"read_config", "write_config", "checksum"} for _, name in units)
    assert "checksum" not in names(app, "sha256 checksum of a buffer")
    fts_rows = app.store._conn.execute("SELECT COUNT(*) FROM fts_code").fetchone()[0]  # type: ignore[attr-defined]  # the SQLite store's connection
    assert fts_rows == len(units)  # no orphan postings


def test_remove_file_and_directory(make_app: Callable[..., App], project: Path) -> None:
    app = make_app(ScriptedLLM(korean_summary))
    app.indexer.index(project)
    assert app.indexer.remove(project / "app" / "mailer.py") == 1
    assert not any(path == "app/mailer.py" for path, _ in all_units(app))
    app.indexer.remove(project)
    assert all_units(app) == []
    assert app.store.status().files == 0
    with pytest.raises(IndexInputError):
        app.indexer.remove(project)


def test_subdirectory_reuses_indexed_root(make_app: Callable[..., App], project: Path) -> None:
    app = make_app(ScriptedLLM(korean_summary))
    app.indexer.index(project)
    before = all_units(app)
    report = app.indexer.index(project / "app")
    assert report.files_unchanged == 2 and report.files_changed == 0
    assert all_units(app) == before  # same paths, no duplicates under a second root


def test_failed_summary_stays_searchable_and_is_retried(
    make_app: Callable[..., App], project: Path
) -> None:
    flaky = ScriptedLLM(
        korean_summary,
        fail_when=lambda m: unit_name(m) == "write_config",
    )
    app = make_app(flaky)
    app.indexer.index(project)
    report = app.summaries.run()
    assert report.failed == 1
    assert app.store.status().summaries_failed == 1
    assert "write_config" in names(app, "write the configuration dict to a JSON file")
    healthy = ScriptedLLM(korean_summary)
    app.summaries._summarizer = None
    app.summaries._summarizer_factory = lambda: _summarizer(healthy)
    retry = app.summaries.run()
    assert retry.written == 1 and retry.failed == 0
    assert app.store.status().summaries_failed == 0


def _summarizer(llm: ScriptedLLM):  # type: ignore[no-untyped-def]
    from ragcode.ingest.summarize import Summarizer

    return Summarizer(llm, max_tokens=100, max_chars=300, max_code_chars=4000)


def test_missing_path_is_a_clear_error(make_app: Callable[..., App], tmp_path: Path) -> None:
    app = make_app(ScriptedLLM(korean_summary))
    with pytest.raises(IndexInputError, match="경로를 찾을 수 없습니다"):
        app.indexer.index(tmp_path / "nope")


def test_states_are_consistent(make_app: Callable[..., App], project: Path) -> None:
    app = make_app(ScriptedLLM(korean_summary))
    app.indexer.index(project)
    app.summaries.run()
    states = {
        str(name): SummaryState(state)
        for name, state in app.store._conn.execute("SELECT name, summary_state FROM units")  # type: ignore[attr-defined]  # the SQLite store's connection
    }
    assert states["Mailer.__repr__"] == SummaryState.TRIVIAL
    assert states["Mailer.send_email"] == SummaryState.DONE
