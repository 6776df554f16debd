"""Stop, regenerate, edit, references on/off, the models panel and typed commands, as a person
sees them (Playwright + Chromium over a real uvicorn; a scripted LLM: the real model's stop
is tests/integration/test_stop_real_model.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ragcode.app import build_app
from ragcode.config import Settings
from ragcode.embeddings.local import LocalEmbedder
from ragcode.history.protocol import NewTurn
from ragcode.llm.protocol import ChatMessage, LLMError
from ragcode.server.factory import create_app
from ragcode.server.protocol import DocumentSummaryMessage
from tests.artifacts import artifacts_dir
from tests.browser_support import sign_up
from tests.server_support import TEST_HOSTS, make_server
from tests.web_server import running_server

pytestmark = pytest.mark.e2e
LONG = "길게 써 줘"


@dataclass
class Numbered:
    """Answers "답 N: <question>" (N counts calls); the first answer to LONG streams slowly
    (400 pieces, 50 ms each) so that it can be stopped, noting when its stream is closed."""

    calls: int = 0
    closed: threading.Event = field(default_factory=threading.Event)
    pieces: int = 0

    @property
    def name(self) -> str:
        return "numbered"

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:  # fmt: skip
        self.calls += 1
        question = messages[-1].content
        if question == LONG and not self.closed.is_set():
            try:
                for n in range(400):
                    time.sleep(0.05)
                    self.pieces += 1
                    yield f"{n} "
            finally:
                self.closed.set()
            return
        yield f"답 {self.calls}: {question}"


@pytest.fixture
def chat(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[tuple[str, Numbered]]:
    llm = Numbered()
    core, api = make_server(tmp_path / "data", llm, embedder)
    with running_server(api) as base:
        yield base, llm
    core.close()


def ask(page: Any, question: str) -> None:
    page.fill("#input", question)
    page.press("#input", "Enter")


def wait_answers(page: Any, n: int) -> None:
    """Until `n` answers are finished on screen (each has its tools row)."""
    page.wait_for_function(
        "n => document.querySelectorAll('.message.assistant .tools').length === n"
        " && !document.querySelector('.stop-answer')",
        arg=n, timeout=30000,
    )  # fmt: skip


def answers(page: Any) -> list[str]:
    return [str(a) for a in page.locator(".message.assistant .bubble").all_inner_texts()]


def questions(page: Any) -> list[str]:
    return [str(q) for q in page.locator(".message.user .bubble").all_inner_texts()]


def test_stop_regenerate_and_edit(browser: Any, chat: tuple[str, Numbered]) -> None:
    url, llm = chat
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_up(page, url, "alice")
    ask(page, "첫 질문")
    wait_answers(page, 1)
    assert page.locator(".regenerate").count() == 1  # the last turn only

    # stop: the button shows while the answer streams, the model stops, "중지됨" shows
    ask(page, LONG)
    page.wait_for_selector(".stop-answer:visible")
    assert page.locator(".regenerate").count() == 0  # no longer the last turn
    page.wait_for_function(
        "() => document.querySelector('.bubble .stream')?.textContent.length > 8"
    )
    page.click(".stop-answer")
    page.wait_for_selector(".stopped-label")
    assert llm.closed.wait(5), "the model's stream was not closed"
    assert page.locator(".stopped-label").inner_text() == "중지됨"
    assert page.locator(".stop-answer").count() == 0
    stopped_text = answers(page)[-1]
    assert stopped_text.startswith("0 1 ") and llm.pieces < 100, (llm.pieces, stopped_text)

    # regenerate: the stopped answer gives way to a new one, in place
    page.click(".regenerate")
    page.wait_for_function(
        "() => document.querySelector('.message.assistant:last-child .bubble')"
        "?.textContent.startsWith('답 ')",
        timeout=30000,
    )
    wait_answers(page, 2)
    assert questions(page) == ["첫 질문", LONG]
    assert answers(page) == ["답 1: 첫 질문", f"답 3: {LONG}"]
    assert page.locator(".stopped-label").count() == 0

    # edit: the last question changes in place and its answer is asked again
    page.click(".edit-question")
    page.fill(".edit-input", "고친 질문")
    page.click(".edit-send")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.message.assistant .bubble')]"
        ".some(b => b.textContent === '답 4: 고친 질문')",
        timeout=30000,
    )
    wait_answers(page, 2)
    assert questions(page) == ["첫 질문", "고친 질문"]
    assert answers(page) == ["답 1: 첫 질문", "답 4: 고친 질문"]
    assert page.locator(".regenerate").count() == 1 and page.locator(".edit-question").count() == 1

    # the history agrees after a reload: two turns, the edited one last
    page.reload()
    page.wait_for_selector(".marker")
    assert questions(page) == ["첫 질문", "고친 질문"]
    assert answers(page) == ["답 1: 첫 질문", "답 4: 고친 질문"]
    page.screenshot(path=str(artifacts_dir() / "chat-regenerate-edit.png"))
    assert errors == []


def test_a_stopped_answer_is_marked_after_a_reload(
    browser: Any, chat: tuple[str, Numbered]
) -> None:
    url, _ = chat
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_up(page, url, "bob")
    page.click(".topbar .lang-toggle")  # English
    ask(page, LONG)
    page.wait_for_function(
        "() => document.querySelector('.bubble .stream')?.textContent.length > 4"
    )
    assert page.locator(".stop-answer").inner_text() == "■ Stop"
    page.click(".stop-answer")
    page.wait_for_selector(".stopped-label")
    assert page.locator(".stopped-label").inner_text() == "Stopped"
    page.reload()
    page.wait_for_selector(".marker")
    assert page.locator(".message.assistant.stopped .stopped-label").inner_text() == "Stopped"


@pytest.fixture
def served(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[tuple[str, Any]]:
    core, api = make_server(tmp_path / "data", Numbered(), embedder)
    with running_server(api) as base:
        yield base, api.state.server
    core.close()


def test_a_document_summary_takes_the_last_turns_actions(
    browser: Any, served: tuple[str, Any]
) -> None:
    """The server keeps a document's summary as a turn after the one shown last: neither may
    be asked again in place (the server would refuse the first; the second is no question)."""
    url, state = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_up(page, url, "carol")
    ask(page, "첫 질문")
    wait_answers(page, 1)
    assert page.locator(".regenerate").count() == 1
    (user_id,) = [r.user.id for r in state.accounts.list_users() if r.user.username == "carol"]
    summary: dict[str, Any] = {"document_id": "d1", "file": "a.md", "title": "a.md 요약"}
    state.history.add(NewTurn(user_id, "doc-summary:d1:a.md", "qa", "a.md 요약", "요약입니다"))
    state.hub.publish_threadsafe(user_id, DocumentSummaryMessage(**summary, phase="start"))
    state.hub.publish_threadsafe(
        user_id, DocumentSummaryMessage(**summary, phase="done", text="요약입니다")
    )
    page.wait_for_selector(".doc-summary .tools")
    assert page.locator(".regenerate").count() == 0
    assert page.locator(".edit-question").count() == 0

    page.reload()  # restored: the summary is the last turn and offers nothing either
    page.wait_for_selector(".marker")
    assert answers(page) == ["답 1: 첫 질문", "요약입니다"]
    assert page.locator(".regenerate").count() == 0
    assert page.locator(".edit-question").count() == 0
    assert errors == []


# --- references on/off, the models panel, typed commands -------------------------------
ENDPOINTS = [
    {"kind": "openai", "url": "http://ops:hunter2@127.0.0.1:1/v1", "model": "qwen-a",
     "api_key": "sk-live-123"},
    {"kind": "openai", "url": "http://127.0.0.1:1/v2", "model": "qwen-b"},
]  # fmt: skip
REFERENCE = {
    "path": "src/greeter.py", "name": "greet", "start_line": 1, "end_line": 4, "score": 0.91,
    "retrievers": ["vector", "lexical"], "code": "def greet(name):\n    return name",
    "language": "python", "summary": "인사말을 만든다",
}  # fmt: skip


@pytest.fixture
def pooled(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[tuple[str, Any]]:
    """A server whose answers would come from a pool of two endpoints nobody listens on."""
    settings = Settings(
        data_dir=tmp_path / "data", server={"allowed_hosts": TEST_HOSTS},
        llm={"endpoints": ENDPOINTS, "max_attempts": 1, "failure_threshold": 1,
             "cooldown_s": 600, "strategy": "round_robin"},
    )  # fmt: skip
    core = build_app(settings, embedder=embedder)
    api = create_app(core)
    with running_server(api) as base:
        yield base, api.state.server
    core.close()


def test_references_toggle_models_panel_and_typed_commands(
    browser: Any, pooled: tuple[str, Any]
) -> None:
    url, state = pooled
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_up(page, url, "admin")  # the first account: an admin
    (user_id,) = [r.user.id for r in state.accounts.list_users() if r.user.username == "admin"]
    state.history.add(
        NewTurn(user_id, "seed", "code", "greet 함수는?", "`greet`는 인사합니다.", [REFERENCE])
    )
    page.reload()
    page.wait_for_selector(".marker")
    cards = page.locator(".references")
    assert cards.is_visible() and page.locator("#refs-toggle").is_checked()

    page.uncheck("#refs-toggle")  # display only: the answer and the history keep them
    assert not cards.is_visible()
    page.reload()
    page.wait_for_selector(".marker")
    assert not page.locator(".references").is_visible()  # remembered
    assert not page.locator("#refs-toggle").is_checked()
    ask(page, "/refs on")
    page.wait_for_selector(".references", state="visible")
    assert page.locator("#notice").inner_text() == "참고 자료를 보여 줍니다."
    assert page.locator("#refs-toggle").is_checked() and page.input_value("#input") == ""
    ask(page, "참고 끄기")
    page.wait_for_selector(".references", state="hidden")

    # the models panel: names and health; the admin also sees where (no credentials)
    with pytest.raises(LLMError):
        list(state.core.llm.get().stream([ChatMessage("user", "안녕")], max_tokens=4))
    page.click("#models-button")
    page.wait_for_selector("#models-panel:not([hidden]) .models-endpoint")
    panel = page.locator("#models-panel")
    assert "qwen-a+qwen-b" in panel.inner_text()
    health = sorted(str(h) for h in page.locator(".models-endpoint .health").all_inner_texts())
    assert health == ["장애", "정상"], health
    locations = page.locator(".endpoint-location").all_inner_texts()
    assert locations == ["http://127.0.0.1:1/v1", "http://127.0.0.1:1/v2"]
    assert "hunter2" not in panel.inner_text() and "sk-live" not in page.content()
    page.screenshot(path=str(artifacts_dir() / "chat-models-panel.png"))
    page.click(".models-close")
    assert panel.is_hidden()
    ask(page, "/models")  # typed: the same panel
    page.wait_for_selector("#models-panel:not([hidden]) .models-endpoint")

    # a member sees names and health, not where the endpoints are
    member = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_up(member, url, "member")
    member.click("#models-button")
    member.wait_for_selector("#models-panel:not([hidden]) .models-endpoint")
    assert member.locator(".models-endpoint").count() == 2
    assert member.locator(".endpoint-location").count() == 0
    assert "127.0.0.1" not in member.locator("#models-panel").inner_text()

    # typed memory commands: memory cleared, the history stays on screen
    ask(page, "/clear")
    page.wait_for_selector(".marker.forgotten")
    ask(page, "메모리 삭제")
    page.wait_for_function("() => document.querySelectorAll('.marker.forgotten').length === 2")
    assert page.locator(".message.user .bubble").all_inner_texts() == ["greet 함수는?"]
    conversation = state.history.conversations(user_id)[0]
    assert conversation.forgotten == 1
    assert errors == []
