"""Parallel summarization through a pool of endpoints, into the real store and embeddings."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from ragcode.app import App
from ragcode.domain import SummaryState
from ragcode.ingest.progress import SilentProgress, SummaryEvent
from ragcode.llm.openai_compat import OpenAICompatLLM
from ragcode.llm.pool import LLMPool, PoolPolicy
from ragcode.llm.protocol import ChatMessage
from tests.llm_servers import FakeOpenAIServer, Reply
from tests.sample_project import write_sample_project
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.integration


class Events(SilentProgress):
    def __init__(self) -> None:
        self.total = -1
        self.events: list[SummaryEvent] = []

    def summaries_started(self, total: int) -> None:
        self.total = total

    def summary_done(self, event: SummaryEvent) -> None:
        self.events.append(event)


@pytest.fixture
def servers() -> Iterator[list[FakeOpenAIServer]]:
    with ExitStack() as stack:
        yield [stack.enter_context(FakeOpenAIServer(Reply(delay_s=0.03))) for _ in range(2)]


def pool_of(servers: list[FakeOpenAIServer], per_endpoint: int = 2) -> LLMPool:
    return LLMPool(
        [OpenAICompatLLM(s.url, "fake-model", max_concurrency=per_endpoint) for s in servers],
        PoolPolicy(max_attempts=2, backoff_base_s=0.01),
    )


def states(app: App) -> dict[str, str]:
    rows = app.store._conn.execute("SELECT name, summary_state FROM units")  # type: ignore[attr-defined]  # the SQLite store's connection
    return {str(name): str(state) for name, state in rows}


def test_pool_summarizes_in_parallel_and_saves_everything(
    make_app: Callable[..., App], tmp_path: Path, servers: list[FakeOpenAIServer]
) -> None:
    app = make_app(pool_of(servers))
    app.indexer.index(write_sample_project(tmp_path / "project"))
    pending = app.store.status().summaries_pending
    progress = Events()
    report = app.summaries.run(progress)
    assert report.written == pending > 3 and report.failed == 0
    assert all(server.stats.requests > 0 for server in servers)  # spread over both
    assert max(server.stats.max_active for server in servers) == 2  # parallel, within bounds
    assert progress.total == pending
    assert [event.done for event in progress.events] == list(range(1, pending + 1))
    status = app.store.status()
    assert (status.summaries_pending, status.summaries_done) == (0, pending)
    hits = app.searcher.search("설정을 읽는다", top_k=3)
    assert hits and hits[0].summary is not None  # label stripped, stored, searchable
    assert hits[0].summary == "설정을 읽는다."


def test_failures_are_marked_counted_and_reported(
    make_app: Callable[..., App], tmp_path: Path, servers: list[FakeOpenAIServer]
) -> None:
    def reject_write_config(payload: dict[str, Any]) -> Reply | None:
        prompt = payload["messages"][-1]["content"]
        return Reply("status", status=400) if "write_config" in prompt else None

    for server in servers:
        server.responder = reject_write_config
    app = make_app(pool_of(servers))
    app.indexer.index(write_sample_project(tmp_path / "project"))
    progress = Events()
    report = app.summaries.run(progress)
    assert report.failed == 1
    assert app.store.status().summaries_failed == 1
    assert states(app)["write_config"] == SummaryState.FAILED
    failed = [event.record.title for event in progress.events if event.failed]
    assert failed == ["write_config"]
    assert len(progress.events) == progress.total


def test_same_code_in_two_files_costs_one_call(
    make_app: Callable[..., App], tmp_path: Path, servers: list[FakeOpenAIServer]
) -> None:
    project = tmp_path / "dup"
    project.mkdir()
    code = '''def parse_header(line):
    """Split a header line into a name and a value."""
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()
'''
    for name in ("a.py", "b.py", "c.py"):
        (project / name).write_text(code)
    app = make_app(pool_of(servers))
    app.indexer.index(project)
    report = app.summaries.run()
    # One request for the unit (description, terms and questions), nothing for the copies.
    assert sum(server.stats.requests for server in servers) == 1
    assert (report.written, report.from_cache, report.failed) == (1, 2, 0)
    assert app.store.status().summaries_done == 3


def test_single_generation_backend_runs_on_the_calling_thread(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    threads: set[int] = set()

    def answer(_: Sequence[ChatMessage]) -> str:
        threads.add(threading.get_ident())
        return "요약: 어떤 일을 한다."

    app = make_app(ScriptedLLM(answer))  # no max_concurrency: like llama.cpp, one at a time
    app.indexer.index(write_sample_project(tmp_path / "project"))
    report = app.summaries.run()
    assert report.written > 3
    assert threads == {threading.get_ident()}
